//! The modern engine (ClickHouse 26.x in chdb behind scripts/clickhouse-modern-server) as the
//! official `clickhouse` crate sees a real server: its DEFAULTS (validation with
//! RowBinaryWithNamesAndTypes, LZ4 inserts, LZ4-framed responses), server-side parameters,
//! errors with the server's codes and HTTP statuses, and the identity header.

mod common;

use clickhouse::Client;
use common::{Bar, load_bars};
use migrate_testkit::{Engine, clickhouse_database_at, clickhouse_database_on};

#[tokio::test]
async fn the_crate_works_with_its_defaults() {
    let ch = clickhouse_database_on(Engine::Modern).await;
    let client = Client::default().with_url(&ch.url).with_database(&ch.database);
    let rows = load_bars(&client, 20_000).await;

    let got: Vec<Bar> = client.query("SELECT ?fields FROM bars ORDER BY ts").fetch_all().await.unwrap();
    assert_eq!(got, rows);
    let n: u64 = client
        .query_raw("SELECT count() FROM bars WHERE symbol = {s: String} AND trades >= {t: UInt32}")
        .param("s", "SYM3")
        .param("t", 10_000)
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(n, rows.iter().filter(|b| b.symbol == "SYM3" && b.trades >= 10_000).count() as u64);
    let version: String = client.query("SELECT version()").fetch_one().await.unwrap();
    assert!(version.starts_with("26."), "{version}");
}

#[tokio::test]
async fn errors_look_like_the_servers() {
    let ch = clickhouse_database_on(Engine::Modern).await;
    let client = Client::default().with_url(&ch.url).with_database(&ch.database);
    let err = client.query("SELECT * FROM no_such_table").execute().await.unwrap_err().to_string();
    assert!(err.contains("Code: 60. DB::Exception") && err.contains("UNKNOWN_TABLE"), "{err}");

    let http = reqwest::Client::new();
    let resp = http.post(&ch.url).body("SELECT * FROM no_such_db.t").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.headers().get("x-clickhouse-exception-code").is_some());
    let resp = http.post(&ch.url).body("SELEC 1").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp =
        http.post(format!("{}/?user=intruder&password=x", ch.url)).body("SELECT 1").send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("Code: 516"));
    // GET is read-only, as on the server.
    let resp = http.get(format!("{}/?query=CREATE%20DATABASE%20x_get", ch.url)).send().await.unwrap();
    assert!(resp.text().await.unwrap().contains("Code: 164"));
    // ON CLUSTER is what the engine cannot do: reported as the server reports an unknown cluster.
    let resp = http
        .post(&ch.url)
        .body("CREATE TABLE t ON CLUSTER replicated (a UInt8) ENGINE = Memory")
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("Code: 701"));
}

#[tokio::test]
#[should_panic(expected = "is the chdb-front, not clickhouse-server 18.16")]
async fn the_front_is_never_taken_for_the_old_server() {
    let modern = Engine::Modern.url();
    clickhouse_database_at(Engine::Legacy, &modern).await;
}

#[tokio::test]
#[should_panic(expected = "is not the chdb front")]
async fn the_old_server_is_never_taken_for_the_front() {
    let legacy = Engine::Legacy.url();
    clickhouse_database_at(Engine::Modern, &legacy).await;
}
