//! Planning batches against the test PostgreSQL: 35 rows sharing one time with batches of 10,
//! with and without a key; rows past the horizon left alone; an open transaction seen.

use pg_to_clickhouse::plan::Position;
use pg_to_clickhouse::source::{oldest_open_transaction, plan_batch};
use pg_to_clickhouse::tables::SourceTable;
use sqlx::{Connection, PgConnection};

const T: i64 = 1_700_000_000_000_000; // 2023-11-14, in microseconds

async fn setup() -> (migrate_testkit::TestPg, PgConnection) {
    let pg = migrate_testkit::pg_database().await;
    let mut conn = PgConnection::connect(&pg.url).await.unwrap();
    for sql in [
        "CREATE TABLE keyed (id bigint PRIMARY KEY, dataset_id text NOT NULL, at timestamptz NOT NULL)",
        "CREATE TABLE keyless (dataset_id text NOT NULL, at timestamptz NOT NULL, v int)",
        // 35 rows at T, 5 at T + 1 s, 3 at T + 1 h (past the horizon), 2 of another dataset.
        "INSERT INTO keyed SELECT g, 'a', 'epoch'::timestamptz + (1700000000 + CASE WHEN g <= 35 THEN 0 WHEN g <= 40 THEN 1 ELSE 3600 END) * interval '1 second' FROM generate_series(1, 43) g",
        "INSERT INTO keyed SELECT g, 'b', 'epoch'::timestamptz + 1700000000 * interval '1 second' FROM generate_series(100, 101) g",
        "INSERT INTO keyless SELECT dataset_id, at, id FROM keyed",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
    }
    (pg, conn)
}

fn table(name: &str, key: &[&str]) -> SourceTable {
    SourceTable {
        name: name.into(),
        time_column: "at".into(),
        key: key.iter().map(|k| k.to_string()).collect(),
        dataset_column: "dataset_id".into(),
    }
}

/// Every batch of `table` for dataset `a` before the horizon T + 10 s: (rows, through).
async fn batches(conn: &mut PgConnection, table: &SourceTable) -> Vec<(u64, Position)> {
    let mut after: Option<Position> = None;
    let mut out = Vec::new();
    while let Some(batch) =
        plan_batch(conn, "test", table, "a", after.as_ref(), T + 10_000_000, 10).await.unwrap()
    {
        assert_eq!(batch.after, after);
        out.push((batch.rows, batch.through.clone()));
        after = Some(batch.through);
        assert!(out.len() < 20, "the batches end");
    }
    out
}

#[tokio::test]
async fn a_keyed_table_cuts_inside_a_timestamp_and_a_keyless_one_never_does() {
    let (_pg, mut conn) = setup().await;
    let keyed = batches(&mut conn, &table("keyed", &["id"])).await;
    let rows: Vec<u64> = keyed.iter().map(|(n, _)| *n).collect();
    assert_eq!(rows, [10, 10, 10, 10], "40 rows before the horizon, cut by key");
    assert_eq!(keyed[0].1, Position { time: T, key: vec!["10".into()] });
    assert_eq!(keyed[3].1, Position { time: T + 1_000_000, key: vec!["40".into()] });

    let keyless = batches(&mut conn, &table("keyless", &[])).await;
    assert_eq!(
        keyless,
        [(35, Position { time: T, key: vec![] }), (5, Position { time: T + 1_000_000, key: vec![] })],
        "the 35 rows of one time move together"
    );
}

#[tokio::test]
async fn an_open_transaction_is_seen_and_a_missing_key_column_named() {
    let (pg, mut conn) = setup().await;
    let mut other = PgConnection::connect(&pg.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut other).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut other).await.unwrap();
    let oldest = oldest_open_transaction(&mut conn, "test").await.unwrap();
    let now = chrono::Utc::now().timestamp_micros();
    assert!(oldest.is_some_and(|t| t <= now), "{oldest:?}");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    let wrong =
        plan_batch(&mut conn, "test", &table("keyed", &["nope"]), "a", None, T, 10).await.unwrap_err();
    assert!(wrong.to_string().contains("key column nope is not a column"), "{wrong}");
}
