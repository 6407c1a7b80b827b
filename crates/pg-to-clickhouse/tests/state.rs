//! The ledger and watermarks in the test PostgreSQL: a batch recorded as writing, then verified
//! with its watermark advanced in one transaction; verifying twice refused, nothing changed.

use pg_to_clickhouse::ledger::{Batch, Content, Stage};
use pg_to_clickhouse::plan::Position;
use pg_to_clickhouse::state::State;
use pg_to_clickhouse::testdata::{Options, statements};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::time::Duration;

#[tokio::test]
async fn a_batch_is_recorded_then_verified_with_its_watermark() {
    let pg = migrate_testkit::pg_database().await;
    let mut conn = PgConnection::connect(&pg.url).await.unwrap();
    let options =
        Options { records: 1, datasets: 1, equal_timestamps: false, max_age: Duration::from_secs(3600) };
    for statement in statements(&options) {
        sqlx::query(AssertSqlSafe(statement)).execute(&mut conn).await.unwrap();
    }
    let state = State {
        watermarks: "migration_watermarks".into(),
        ledger: "migration_batches".into(),
        target: "pg".into(),
    };
    state.ensure(&mut conn).await.unwrap();
    state.ensure(&mut conn).await.unwrap();
    assert_eq!(state.watermark(&mut conn, "ds-0001", "dataset_access_audit").await.unwrap(), None);

    let through = Position { time: 1_700_000_000_123_456, key: vec!["42".into()] };
    let content = Content { rows: 42, fingerprint: "42:1:2".into() };
    let batch = Batch::planned("ds-0001", "dataset_access_audit", None, through.clone(), content);
    let id = state.record_writing(&mut conn, &batch).await.unwrap();
    let open = state.open_batches(&mut conn, "ds-0001", "dataset_access_audit").await.unwrap();
    assert_eq!(open, [(id, batch.clone())], "read back as written");

    state.verify_and_advance(&mut conn, id, &batch).await.unwrap();
    assert_eq!(
        state.watermark(&mut conn, "ds-0001", "dataset_access_audit").await.unwrap(),
        Some(through.clone())
    );
    let open = state.open_batches(&mut conn, "ds-0001", "dataset_access_audit").await.unwrap();
    assert!(matches!(open[0].1.stage, Stage::Verified { .. }), "{open:?}");

    let next = Batch::planned(
        "ds-0001",
        "dataset_access_audit",
        Some(through.clone()),
        Position { time: through.time + 1, key: vec!["50".into()] },
        Content { rows: 8, fingerprint: "8:3:4".into() },
    );
    let twice = state.verify_and_advance(&mut conn, id, &next).await.unwrap_err();
    assert!(twice.to_string().contains("is not writing"), "{twice}");
    assert_eq!(
        state.watermark(&mut conn, "ds-0001", "dataset_access_audit").await.unwrap(),
        Some(through),
        "the refused transaction changed nothing"
    );
}
