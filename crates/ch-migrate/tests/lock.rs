//! The migration lock on every engine (ClickHouse 18.16 and the modern engine) and on the
//! two-node cluster: one holder at a time, waiters told who holds it, stale leases taken over,
//! forced unlocks naming whom they removed.

use ch_migrate::lock::{Lock, LockError};
use migrate_testkit::{TestClickHouse, clickhouse_cluster, on_every_clickhouse};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use store_clickhouse::{ClickHouse, ClickHouseConfig};

async fn server(url: &str, database: &str) -> ClickHouse {
    ClickHouse::connect(ClickHouseConfig::parse(url).unwrap().with_database(database)).await.unwrap()
}

async fn lock_on(db: &TestClickHouse, lease: Duration) -> Lock {
    let lock = Lock::new(server(&db.url, &db.database).await, "schema_migrations_lock", None, lease);
    lock.ensure().await.unwrap();
    lock
}

#[tokio::test(flavor = "multi_thread")]
async fn one_holder_and_waiters_told_who_holds_it() {
    on_every_clickhouse(|db| async move {
        let lock = lock_on(&db, Duration::from_secs(30)).await;
        let held = lock.acquire(Duration::from_secs(5)).await.unwrap();
        let other = lock_on(&db, Duration::from_secs(30)).await;
        let refused = other.acquire(Duration::from_millis(800)).await.unwrap_err();
        let LockError::Held { holder, .. } = &refused else { panic!("{refused}") };
        assert_eq!((holder.id.as_str(), holder.pid), (held.id.as_str(), std::process::id()), "{}", db.engine);
        assert!(refused.to_string().contains("unlock --force"), "{refused}");
        held.renew().await.unwrap();
        held.release().await.unwrap();
        let next = other.acquire(Duration::from_secs(5)).await.unwrap();
        assert_eq!(other.holders().await.unwrap()[0].id, next.id);
        next.release().await.unwrap();
        assert!(other.holders().await.unwrap().is_empty(), "released: no live claim");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_lease_is_taken_over_and_force_unlock_names_the_holder() {
    on_every_clickhouse(|db| async move {
        let lock = lock_on(&db, Duration::from_secs(2)).await;
        let dead = lock.acquire(Duration::from_secs(5)).await.unwrap();
        let dead_id = dead.id.clone();
        drop(dead); // never renewed nor released: its holder "crashed"
        let taken = lock.acquire(Duration::from_secs(20)).await.unwrap();
        assert_ne!(taken.id, dead_id, "{}: the stale claim ran out", db.engine);
        let removed = lock.force_unlock().await.unwrap();
        assert_eq!(removed.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), [taken.id.as_str()]);
        let lost = taken.renew().await.unwrap_err().to_string();
        assert!(lost.contains("lock was lost"), "{lost}");
    })
    .await;
}

async fn contend(servers: Vec<ClickHouse>, cluster: Option<&'static str>) {
    let inside = Arc::new(AtomicBool::new(false));
    let turns = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let lock = Lock::new(
            servers[i % servers.len()].clone(),
            "schema_migrations_lock",
            cluster,
            Duration::from_secs(30),
        );
        let (inside, turns) = (inside.clone(), turns.clone());
        tasks.push(tokio::spawn(async move {
            let lease = lock.acquire(Duration::from_secs(60)).await.unwrap();
            assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
            tokio::time::sleep(Duration::from_millis(50)).await;
            turns.fetch_add(1, Ordering::SeqCst);
            inside.store(false, Ordering::SeqCst);
            lease.release().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(turns.load(Ordering::SeqCst), 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_appliers_take_turns_on_every_engine() {
    on_every_clickhouse(|db| async move {
        lock_on(&db, Duration::from_secs(30)).await;
        contend(vec![server(&db.url, &db.database).await], None).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn appliers_on_both_nodes_of_a_cluster_take_turns() {
    let cluster = clickhouse_cluster().await;
    let first = server(&cluster.nodes[0], &cluster.database).await;
    let second = server(&cluster.nodes[1], &cluster.database).await;
    Lock::new(first.clone(), "schema_migrations_lock", Some("replicated"), Duration::from_secs(30))
        .ensure()
        .await
        .unwrap();
    contend(vec![first, second], Some("replicated")).await;
}
