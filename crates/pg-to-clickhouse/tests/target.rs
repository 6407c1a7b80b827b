//! The target table created on ClickHouse 18.16 and the modern engine, and on the test cluster
//! as Replicated tables behind a Distributed one: a row written through it is read on both nodes.

use migrate_testkit::{clickhouse_cluster, on_every_clickhouse};
use pg_to_clickhouse::target::ensure;
use std::time::Duration;
use store_clickhouse::{ClickHouse, ClickHouseConfig};

async fn server(url: &str, database: &str) -> ClickHouse {
    ClickHouse::connect(ClickHouseConfig::parse(url).unwrap().with_database(database)).await.unwrap()
}

const ROW: &str = "(__migrated_at, __source_table, __dataset_slug, __partition_key, __batch, dataset_id, record_time, record_time_us, record_key, data) \
     VALUES (now(), 'dataset_access_audit', 'dataset-1', 'dataset-1/dataset_access_audit', 1, 'ds-0001', toDateTime(1700000000), 1700000000000001, '7', '{\"id\":7}')";

#[tokio::test]
async fn created_once_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let server = server(&db.url, &db.database).await;
        for _ in 0..2 {
            ensure(&server, "migrated_data", None, Duration::from_secs(30)).await.unwrap();
        }
        db.execute(&format!("INSERT INTO {}.migrated_data {ROW}", db.database)).await.unwrap();
        let got = db
            .execute(&format!(
                "SELECT __partition_key, record_time_us, data FROM {}.migrated_data",
                db.database
            ))
            .await
            .unwrap();
        assert_eq!(
            got.trim(),
            "dataset-1/dataset_access_audit\t1700000000000001\t{\"id\":7}",
            "{}",
            db.engine.name()
        );
    })
    .await;
}

#[tokio::test]
async fn on_a_cluster_replicated_tables_behind_a_distributed_one() {
    let cluster = clickhouse_cluster().await;
    let first = server(&cluster.nodes[0], &cluster.database).await;
    ensure(&first, "migrated_data", Some("replicated"), Duration::from_secs(60)).await.unwrap();
    // Written through the Distributed table, synchronously, then read from each replica.
    let config = ClickHouseConfig::parse(&cluster.nodes[0])
        .unwrap()
        .with_database(&cluster.database)
        .with_setting("insert_distributed_sync", "1");
    let writer = ClickHouse::connect(config).await.unwrap();
    writer.execute(format!("INSERT INTO {}.migrated_data {ROW}", cluster.database)).await.unwrap();
    // Replication is asynchronous: each replica fetches the part, then holds the row.
    for node in 0..2 {
        cluster
            .execute(node, &format!("SYSTEM SYNC REPLICA {}.migrated_data_local", cluster.database))
            .await
            .unwrap();
        let count = cluster
            .execute(node, &format!("SELECT count() FROM {}.migrated_data_local", cluster.database))
            .await
            .unwrap();
        assert_eq!(count.trim(), "1", "node {} holds the replicated row", node + 1);
    }
}
