//! The official `clickhouse` crate against the real server: DDL, typed insert and select.

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
struct Bar {
    symbol: String,
    ts: i64,
    close: f64,
    trades: u32,
}

fn client(ch: &migrate_testkit::TestClickHouse) -> Client {
    // Validation asks for RowBinaryWithNamesAndTypes, which 18.16 lacks (docs/clickhouse-compat.md).
    Client::default().with_url(&ch.url).with_database(&ch.database).with_validation(false)
}

#[tokio::test]
async fn typed_insert_and_select() {
    let ch = migrate_testkit::clickhouse_database().await;
    let client = client(&ch);
    client
        .query("CREATE TABLE bars (symbol String, ts Int64, close Float64, trades UInt32) ENGINE = MergeTree ORDER BY (symbol, ts)")
        .execute()
        .await
        .unwrap();
    let rows: Vec<Bar> = (0..1000)
        .map(|i| Bar {
            symbol: format!("SYM{}", i % 7),
            ts: 1_700_000_000_000 + i,
            close: i as f64 / 4.0,
            trades: i as u32,
        })
        .collect();
    let mut insert = client.insert::<Bar>("bars").await.unwrap();
    for row in &rows {
        insert.write(row).await.unwrap();
    }
    insert.end().await.unwrap();

    let count: u64 = client.query("SELECT count() FROM bars").fetch_one().await.unwrap();
    assert_eq!(count, 1000);
    let mut got: Vec<Bar> =
        client.query("SELECT symbol, ts, close, trades FROM bars ORDER BY ts").fetch_all().await.unwrap();
    got.sort_by_key(|b| b.ts);
    assert_eq!(got, rows);
}

#[tokio::test]
async fn server_version_is_readable() {
    let ch = migrate_testkit::clickhouse_database().await;
    let version: String = client(&ch).query("SELECT version()").fetch_one().await.unwrap();
    assert!(version.split('.').next().unwrap().parse::<u32>().unwrap() >= 18, "{version}");
}
