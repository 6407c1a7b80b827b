//! The ClickHouse test cluster for real: ON CLUSTER DDL answered by every host, a Replicated
//! table copied to the other replica through ZooKeeper, a Distributed table over two shards.

use std::time::{Duration, Instant};

/// Polls `sql` on node `n` until it answers `expected`, for at most 20 seconds.
async fn eventually(cluster: &migrate_testkit::TestCluster, n: usize, sql: &str, expected: &str) {
    let started = Instant::now();
    loop {
        let got = cluster.execute(n, sql).await.unwrap();
        if got.trim() == expected {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "node {n}: {sql} gave {got:?}, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn on_cluster_ddl_replication_and_distribution() {
    let cluster = migrate_testkit::clickhouse_cluster().await;
    let db = &cluster.database;
    let hosts = cluster
        .execute(
            0,
            &format!(
                "CREATE TABLE {db}.r ON CLUSTER replicated (id UInt64) \
                 ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{db}/r', '{{replica}}') ORDER BY id"
            ),
        )
        .await
        .unwrap();
    assert_eq!(hosts.lines().count(), 2, "one status line per host: {hosts}");
    assert!(hosts.lines().all(|l| l.split('\t').nth(2) == Some("0")), "every host succeeded: {hosts}");

    cluster.execute(0, &format!("INSERT INTO {db}.r VALUES (1), (2), (3)")).await.unwrap();
    eventually(&cluster, 1, &format!("SELECT count() FROM {db}.r"), "3").await;

    cluster
        .execute(
            0,
            &format!("CREATE TABLE {db}.local ON CLUSTER sharded (id UInt64) ENGINE = MergeTree ORDER BY id"),
        )
        .await
        .unwrap();
    cluster
        .execute(0, &format!("CREATE TABLE {db}.dist ON CLUSTER sharded AS {db}.local ENGINE = Distributed(sharded, {db}, local, id)"))
        .await
        .unwrap();
    cluster.execute(0, &format!("INSERT INTO {db}.dist VALUES (1), (2), (3), (4)")).await.unwrap();
    eventually(&cluster, 0, &format!("SELECT count() FROM {db}.dist"), "4").await;
    eventually(&cluster, 1, &format!("SELECT count() FROM {db}.local"), "2").await;
}
