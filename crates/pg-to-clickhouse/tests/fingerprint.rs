//! The batch fingerprint agrees between PostgreSQL and ClickHouse (18.16 and the modern engine)
//! on the same rows in any order, with duplicates, and on none.

use migrate_testkit::on_every_clickhouse;
use pg_to_clickhouse::fingerprint;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

const ROWS: [&str; 5] =
    [r#"{"a":1}"#, r#"{"b":"x"}"#, r#"{"a":1}"#, r#"{"é":"ü","n":null}"#, r#"{"big":12345678901234}"#];

async fn postgres(conn: &mut PgConnection, rows: &[&str]) -> String {
    let values = if rows.is_empty() {
        "SELECT NULL::text AS j WHERE false".to_string()
    } else {
        rows.iter()
            .map(|r| format!("SELECT '{}'::text AS j", r.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    };
    let sql = format!("SELECT {} FROM ({values}) AS t", fingerprint::postgres("t.j"));
    sqlx::query(AssertSqlSafe(sql)).fetch_one(conn).await.unwrap().get::<String, _>(0)
}

#[tokio::test]
async fn postgres_and_clickhouse_agree_on_every_engine() {
    let pg = migrate_testkit::pg_database().await;
    let mut conn = PgConnection::connect(&pg.url).await.unwrap();
    let in_postgres = postgres(&mut conn, &ROWS).await;
    let reversed: Vec<&str> = ROWS.iter().rev().copied().collect();
    assert_eq!(postgres(&mut conn, &reversed).await, in_postgres, "order does not matter");
    assert_eq!(postgres(&mut conn, &[]).await, "0:0:0");
    assert_ne!(postgres(&mut conn, &ROWS[..4]).await, in_postgres);
    let expected = in_postgres.clone();
    on_every_clickhouse(move |db| {
        let expected = expected.clone();
        async move {
            let list =
                ROWS.iter().map(|r| format!("'{}'", r.replace('\'', "\\'"))).collect::<Vec<_>>().join(", ");
            let sql =
                format!("SELECT {} FROM (SELECT arrayJoin([{list}]) AS j)", fingerprint::clickhouse("j"));
            assert_eq!(db.execute(&sql).await.unwrap().trim(), expected, "{}", db.engine.name());
            let none = format!("SELECT {} FROM (SELECT 'x' AS j) WHERE 0", fingerprint::clickhouse("j"));
            assert_eq!(db.execute(&none).await.unwrap().trim(), "0:0:0", "{}", db.engine.name());
        }
    })
    .await;
}
