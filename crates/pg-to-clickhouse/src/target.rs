//! The ClickHouse side: the seed's single `migrated_data` table. Each row keeps its source
//! table's row as JSON text (`data`), the columns every source has, typed (`dataset_id`, the
//! row's time in seconds and exactly in microseconds, its key as text), and the seed's
//! enrichment (`__migrated_at`, `__source_table`, `__dataset_slug`, `__partition_key`), and the
//! ledger's id of the batch that wrote it (`__batch`: verifying or clearing a batch selects it).
//! Partitioned by dataset and source table, as the seed says. On a cluster: a Replicated table
//! on every host (`<target>_local`) with a Distributed table in front. The cluster's name is an
//! identifier (checked with the settings).

use std::time::Duration;
use store_clickhouse::sql::{literal, qualified};
use store_clickhouse::{ChError, ClickHouse};

const COLUMNS: &str = "__migrated_at DateTime, __source_table String, __dataset_slug String, \
     __partition_key String, __batch UInt64, dataset_id String, record_time DateTime, record_time_us Int64, \
     record_key String, data String";

/// The columns a batch writes, in order (RowBinary).
pub const INSERT_COLUMNS: &str = "__migrated_at, __source_table, __dataset_slug, __partition_key, __batch, \
     dataset_id, record_time, record_time_us, record_key, data";

const SORTING: &str =
    "PARTITION BY __partition_key ORDER BY (__dataset_slug, __source_table, record_time_us, record_key)";

/// `__partition_key` of a dataset's table: `slug/table`.
pub fn partition_key(slug: &str, table: &str) -> String {
    format!("{slug}/{table}")
}

/// The statements that create the target in `database` (when missing): one MergeTree table, or
/// on `cluster` a ReplicatedMergeTree `<target>_local` on every host and a Distributed
/// `<target>` in front of it.
pub fn ddl(database: &str, target: &str, cluster: Option<&str>) -> Vec<String> {
    match cluster {
        None => vec![format!(
            "CREATE TABLE IF NOT EXISTS {} ({COLUMNS}) ENGINE = MergeTree {SORTING}",
            qualified(database, target)
        )],
        Some(cluster) => {
            let local = format!("{target}_local");
            vec![
                format!(
                    "CREATE TABLE IF NOT EXISTS {} ON CLUSTER {cluster} ({COLUMNS}) ENGINE = ReplicatedMergeTree({}, '{{replica}}') {SORTING}",
                    qualified(database, &local),
                    literal(&format!("/clickhouse/tables/{{shard}}/{database}/{local}"))
                ),
                format!(
                    "CREATE TABLE IF NOT EXISTS {} ON CLUSTER {cluster} ({COLUMNS}) ENGINE = Distributed({}, {}, {}, cityHash64(__dataset_slug))",
                    qualified(database, target),
                    literal(cluster),
                    literal(database),
                    literal(&local)
                ),
            ]
        }
    }
}

/// Creates the target when missing (waiting up to `timeout` for every host of a cluster).
pub async fn ensure(
    server: &ClickHouse,
    target: &str,
    cluster: Option<&str>,
    timeout: Duration,
) -> Result<(), ChError> {
    for statement in ddl(server.database(), target, cluster) {
        match cluster {
            Some(cluster) => drop(server.on_cluster(&statement, cluster, timeout).await?),
            None => server.execute(statement).await?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_on_one_node_and_replicated_behind_distributed_on_a_cluster() {
        let single = ddl("archive", "migrated_data", None);
        assert_eq!(single.len(), 1);
        assert!(single[0].contains("ENGINE = MergeTree PARTITION BY __partition_key"), "{}", single[0]);
        let cluster = ddl("archive", "migrated_data", Some("replicated"));
        assert!(cluster[0].contains("`migrated_data_local` ON CLUSTER replicated ("), "{}", cluster[0]);
        assert!(
            cluster[0].contains("'/clickhouse/tables/{shard}/archive/migrated_data_local'"),
            "{}",
            cluster[0]
        );
        assert!(
            cluster[1].contains(
                "Distributed('replicated', 'archive', 'migrated_data_local', cityHash64(__dataset_slug))"
            ),
            "{}",
            cluster[1]
        );
        assert_eq!(partition_key("dataset-1", "lifecycle_job_runs"), "dataset-1/lifecycle_job_runs");
    }
}
