//! What the ClickHouse smoke tests share: a `bars` table of typed rows loaded through the
//! official `clickhouse` crate.

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};

/// One row of `bars`.
#[derive(Debug, Clone, PartialEq, Row, Serialize, Deserialize)]
pub struct Bar {
    pub symbol: String,
    pub ts: i64,
    pub close: f64,
    pub trades: u32,
}

/// Creates `bars` through `client` and inserts `n` rows (typed insert); returns them.
pub async fn load_bars(client: &Client, n: i64) -> Vec<Bar> {
    client
        .query("CREATE TABLE bars (symbol String, ts Int64, close Float64, trades UInt32) ENGINE = MergeTree ORDER BY (symbol, ts)")
        .execute()
        .await
        .unwrap();
    let rows: Vec<Bar> = (0..n)
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
    rows
}
