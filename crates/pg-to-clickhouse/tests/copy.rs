//! Batches moved from PostgreSQL into ClickHouse 18.16 and the modern engine: every batch of a
//! dataset's old rows, planned in keyset order, lands with the same count and fingerprint on
//! both sides; a value changed in ClickHouse shows as a different fingerprint.

use migrate_testkit::on_every_clickhouse;
use pg_to_clickhouse::copy::{Destination, clickhouse_content, copy_batch, postgres_content};
use pg_to_clickhouse::plan::{Position, horizon};
use pg_to_clickhouse::source::plan_batch;
use pg_to_clickhouse::testdata::{Options, statements};
use pg_to_clickhouse::{Tables, target};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};
use std::time::Duration;
use store_clickhouse::{ClickHouse, ClickHouseConfig};

#[tokio::test]
async fn every_batch_arrives_with_the_same_fingerprint_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let pg = migrate_testkit::pg_database().await;
        let mut conn = PgConnection::connect(&pg.url).await.unwrap();
        let max_age = Duration::from_secs(3600);
        let options = Options { records: 400, datasets: 2, equal_timestamps: true, max_age };
        for statement in statements(&options) {
            sqlx::query(AssertSqlSafe(statement)).execute(&mut conn).await.unwrap();
        }
        let server = ClickHouse::connect(ClickHouseConfig::parse(&db.url).unwrap().with_database(&db.database))
            .await
            .unwrap();
        target::ensure(&server, "migrated_data", None, Duration::from_secs(30)).await.unwrap();
        let tables = Tables::default();
        let now = chrono::Utc::now().timestamp_micros();
        let limit = horizon(now, max_age, None);
        let mut moved = 0u64;
        for (i, table) in tables.tables.iter().enumerate() {
            let mut after: Option<Position> = None;
            let mut id = (i as u64 + 1) * 1000;
            while let Some(batch) = plan_batch(&mut conn, "pg", table, "ds-0001", after.as_ref(), limit, 50).await.unwrap() {
                id += 1;
                let to = Destination { server: &server, target: "migrated_data", slug: "dataset-1", batch: id, migrated_at: 1_800_000_000 };
                let sent = copy_batch(&mut conn, "pg", table, "ds-0001", &batch, &to).await.unwrap();
                assert_eq!(sent, batch.rows, "{}: the planned rows were sent", table.name);
                let in_pg = postgres_content(&mut conn, "pg", table, "ds-0001", &batch).await.unwrap();
                let in_ch = clickhouse_content(&server, "migrated_data", id).await.unwrap();
                assert_eq!(in_pg, in_ch, "{} batch {id} on {}", table.name, db.engine.name());
                moved += sent;
                after = Some(batch.through);
            }
        }
        let old: i64 = sqlx::query(
            "SELECT (SELECT count(*) FROM dataset_access_audit WHERE dataset_id = 'ds-0001' AND occurred_at < now() - interval '1 hour') \
             + (SELECT count(*) FROM lifecycle_audit_log WHERE dataset_id = 'ds-0001' AND created_at < now() - interval '1 hour') \
             + (SELECT count(*) FROM lifecycle_job_runs WHERE dataset_id = 'ds-0001' AND started_at < now() - interval '1 hour')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
        assert_eq!(moved as i64, old, "every old row of the dataset moved once");
        let in_ch = db.execute(&format!("SELECT count() FROM {}.migrated_data", db.database)).await.unwrap();
        assert_eq!(in_ch.trim(), old.to_string());
        // One value changed in ClickHouse: its batch no longer matches.
        let before = clickhouse_content(&server, "migrated_data", 1001).await.unwrap();
        server
            .mutate("migrated_data", "UPDATE data = concat(data, ' ') WHERE __batch = 1001 AND record_key = (SELECT min(record_key) FROM migrated_data WHERE __batch = 1001)", Duration::from_secs(60))
            .await
            .unwrap();
        let after = clickhouse_content(&server, "migrated_data", 1001).await.unwrap();
        assert_eq!(after.rows, before.rows);
        assert_ne!(after.fingerprint, before.fingerprint, "{}", db.engine.name());
    })
    .await;
}
