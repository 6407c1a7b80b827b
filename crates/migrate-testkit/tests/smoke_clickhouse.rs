//! The official `clickhouse` crate against the real server: DDL, typed insert and select.

mod common;

use clickhouse::Client;
use common::{Bar, load_bars};

fn client(ch: &migrate_testkit::TestClickHouse) -> Client {
    // Validation asks for RowBinaryWithNamesAndTypes, which 18.16 lacks (docs/clickhouse-compat.md).
    Client::default().with_url(&ch.url).with_database(&ch.database).with_validation(false)
}

#[tokio::test]
async fn typed_insert_and_select() {
    let ch = migrate_testkit::clickhouse_database().await;
    let client = client(&ch);
    let rows = load_bars(&client, 1000).await;

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
