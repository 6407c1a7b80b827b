//! sqlx against the real PostgreSQL, including COPY ... FROM STDIN in text and binary form.

use sqlx::{Connection, PgConnection, Row};

#[tokio::test]
async fn copy_from_stdin_text_and_binary() {
    let pg = migrate_testkit::pg_database().await;
    let mut conn = PgConnection::connect(&pg.url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE bars (symbol text NOT NULL, ts bigint NOT NULL, close double precision)")
        .execute(&mut conn)
        .await
        .unwrap();

    let mut copy = conn.copy_in_raw("COPY bars (symbol, ts, close) FROM STDIN").await.unwrap();
    copy.send(b"BTCUSDT\t1700000000000\t37000.5\nETHUSDT\t1700000000000\t\\N\n".as_slice()).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 2);

    // Binary COPY: header, one tuple (3 fields), trailer.
    let mut buf = Vec::new();
    buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.extend_from_slice(&3i16.to_be_bytes());
    for field in
        [b"SOLUSDT".to_vec(), 1_700_000_060_000i64.to_be_bytes().to_vec(), 58.25f64.to_be_bytes().to_vec()]
    {
        buf.extend_from_slice(&(field.len() as i32).to_be_bytes());
        buf.extend_from_slice(&field);
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    let mut copy =
        conn.copy_in_raw("COPY bars (symbol, ts, close) FROM STDIN (FORMAT binary)").await.unwrap();
    copy.send(buf).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), 1);

    let rows =
        sqlx::query("SELECT symbol, ts, close FROM bars ORDER BY symbol").fetch_all(&mut conn).await.unwrap();
    let got: Vec<(String, i64, Option<f64>)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(
        got,
        vec![
            ("BTCUSDT".into(), 1_700_000_000_000, Some(37000.5)),
            ("ETHUSDT".into(), 1_700_000_000_000, None),
            ("SOLUSDT".into(), 1_700_000_060_000, Some(58.25)),
        ]
    );
}

#[tokio::test]
async fn each_test_gets_its_own_database() {
    let a = migrate_testkit::pg_database().await;
    let b = migrate_testkit::pg_database().await;
    assert_ne!(a.name, b.name);
    let mut conn = PgConnection::connect(&a.url).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut conn).await.unwrap();
    assert_eq!(name, a.name);
}
