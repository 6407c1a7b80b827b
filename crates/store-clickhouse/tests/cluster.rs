//! ON CLUSTER DDL and loads into Replicated tables, on the two-node 18.16 cluster of the test
//! services (cluster `replicated`: one shard, two replicas); and the refusal of ON CLUSTER by
//! a server without the cluster (the modern engine has none).

use arrow::array::{ArrayRef, Int64Array};
use migrate_core::testing::batch_of;
use migrate_core::{IfExists, MemoryTables, TableReadBack, copy_table};
use migrate_testkit::{Engine, TestCluster, clickhouse_cluster, clickhouse_database_on};
use std::sync::Arc;
use std::time::Duration;
use store_clickhouse::{ChError, ClickHouseConfig, ClickHouseStore};

async fn node(cluster: &TestCluster, n: usize) -> ClickHouseStore {
    let config = ClickHouseConfig::parse(&cluster.nodes[n]).unwrap().with_database(&cluster.database);
    ClickHouseStore::connect(config).await.unwrap()
}

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn on_cluster_ddl_reports_every_host() {
    let cluster = clickhouse_cluster().await;
    let first = node(&cluster, 0).await;
    let server = first.server();
    assert_eq!(server.capabilities().cluster("replicated").len(), 2, "both replicas are members");
    let db = &cluster.database;
    let create = format!(
        "CREATE TABLE {db}.events ON CLUSTER replicated (id Int64) \
         ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{db}/events', '{{replica}}') ORDER BY id"
    );
    let hosts = server.on_cluster(&create, "replicated", WAIT).await.unwrap();
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    assert!(hosts.iter().all(|h| h.status == 0), "{hosts:?}");

    let alter = format!("ALTER TABLE {db}.events ON CLUSTER replicated ADD COLUMN note String");
    let hosts = server.on_cluster(&alter, "replicated", WAIT).await.unwrap();
    assert_eq!(hosts.len(), 2);
    for n in [0, 1] {
        let columns = node(&cluster, n).await.columns("events").await.unwrap();
        assert_eq!(columns.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["id", "note"], "node {n}");
    }

    // The same CREATE again fails: the failing host is named with the server's code (18.16
    // stops at the first host that fails; current servers list every host).
    let again = server.on_cluster(&create, "replicated", WAIT).await.unwrap_err();
    let ChError::Cluster { hosts, .. } = &again else { panic!("{again:?}") };
    assert!(
        !hosts.is_empty()
            && hosts.iter().all(|h| h.contains("127.0.0.1:182") && h.contains("failed with code 57")),
        "{again}"
    );

    let drop = format!("DROP TABLE {db}.events ON CLUSTER replicated");
    assert_eq!(server.on_cluster(&drop, "replicated", WAIT).await.unwrap().len(), 2);
    for n in [0, 1] {
        assert!(!node(&cluster, n).await.exists("events").await.unwrap(), "node {n}");
    }

    let unknown = server.on_cluster("SELECT 1", "no_such_cluster", WAIT).await.unwrap_err().to_string();
    assert!(
        unknown.contains("not a member of such a cluster") && unknown.contains("replicated"),
        "{unknown}"
    );
}

#[tokio::test]
async fn loads_into_a_replicated_table_reach_the_other_replica() {
    let cluster = clickhouse_cluster().await;
    let first = node(&cluster, 0).await;
    let db = &cluster.database;
    let create = format!(
        "CREATE TABLE {db}.facts ON CLUSTER replicated (id Int64) \
         ENGINE = ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{db}/facts', '{{replica}}') ORDER BY id"
    );
    first.server().on_cluster(&create, "replicated", WAIT).await.unwrap();
    let data = batch_of(vec![("id", Arc::new(Int64Array::from((0..500).collect::<Vec<_>>())) as ArrayRef)]);
    let source = MemoryTables::new();
    source.insert("facts", data.schema(), vec![data.clone()]).unwrap();
    assert_eq!(copy_table(&source, &first, "facts", 100, IfExists::Append).await.unwrap(), 500);

    let second = node(&cluster, 1).await;
    second.server().execute(format!("SYSTEM SYNC REPLICA {db}.facts")).await.unwrap();
    assert_eq!(second.count_rows("facts").await.unwrap(), 500, "replicated to the second node");

    // Replacing it on one host would split the replicas: refused, nothing changed.
    let refused = copy_table(&source, &first, "facts", 100, IfExists::Replace).await.unwrap_err().to_string();
    assert!(refused.contains("ReplicatedMergeTree") && refused.contains("append"), "{refused}");
    assert_eq!(first.count_rows("facts").await.unwrap(), 500);
}

#[tokio::test]
async fn a_server_without_clusters_refuses_on_cluster() {
    let db = clickhouse_database_on(Engine::Modern).await;
    let config = ClickHouseConfig::parse(&db.url).unwrap().with_database(&db.database);
    let store = ClickHouseStore::connect(config).await.unwrap();
    let e = store
        .server()
        .on_cluster("CREATE TABLE t ON CLUSTER replicated (a UInt8) ENGINE = Memory", "replicated", WAIT)
        .await
        .unwrap_err();
    assert!(matches!(e, ChError::NotSupported { .. }), "{e:?}");
    assert!(e.to_string().contains("known: none"), "{e}");
}
