//! DuckDB as a table source: files opened read-only, temporary views, streamed scans.

use arrow::array::RecordBatch;
use futures::TryStreamExt;
use migrate_core::{CoreError, Fingerprint, TableSource};
use store_duckdb::{DuckDbError, DuckDbOptions, DuckDbSource, RelationKind};

fn lake(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("lake.duckdb");
    let conn = duckdb::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE klines_1m AS SELECT 'BTCUSDT' AS symbol, 1700000000000 + i * 60000 AS ts, i * 1.5 AS close
         FROM range(10000) t(i);",
    )
    .unwrap();
    path
}

#[tokio::test]
async fn file_is_opened_read_only_and_takes_temporary_views() {
    let dir = migrate_testkit::temp_dir();
    let path = lake(dir.path());
    let before = std::fs::read(&path).unwrap();
    let duck = DuckDbSource::open(
        Some(&path),
        &DuckDbOptions { threads: Some(2), memory_limit: Some("1GB".into()) },
    )
    .unwrap();
    duck.register_view("klines_btc", "SELECT * FROM klines_1m WHERE symbol = 'BTCUSDT'").unwrap();
    let relations = duck.relations().unwrap();
    assert_eq!(relations.len(), 2, "{relations:?}");
    assert_eq!((relations[0].name.as_str(), relations[0].kind), ("klines_btc", RelationKind::View));
    assert_eq!((relations[1].name.as_str(), relations[1].kind), ("klines_1m", RelationKind::Table));
    assert_eq!(duck.row_count("klines_btc").await.unwrap(), 10_000);
    let err = duck.execute("CREATE TABLE x (a INT)", "a write").unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("read-only") || err.to_string().contains("read only"),
        "{err}"
    );
    drop(duck);
    assert_eq!(std::fs::read(&path).unwrap(), before, "the source file must not change");
}

#[tokio::test]
async fn scans_in_batches_of_the_requested_size() {
    let duck = DuckDbSource::open(None, &DuckDbOptions::default()).unwrap();
    duck.register_view("numbers", "SELECT range AS n, range::VARCHAR AS s FROM range(10000)").unwrap();
    let batches: Vec<RecordBatch> = duck.scan("numbers", 3000).await.unwrap().try_collect().await.unwrap();
    let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes, vec![3000, 3000, 3000, 1000]);
    let schema = duck.schema("numbers").await.unwrap();
    assert_eq!(schema.field(0).name(), "n");
    assert_eq!(batches[0].schema().fields(), schema.fields());
}

#[tokio::test]
async fn scan_order_does_not_change_the_fingerprint() {
    let duck = DuckDbSource::open(None, &DuckDbOptions::default()).unwrap();
    duck.register_view("a", "SELECT range AS n, (range * 7 % 13)::DOUBLE AS x FROM range(5000)").unwrap();
    duck.register_view("b", "SELECT * FROM a ORDER BY x DESC, n").unwrap();
    let fp = |t: &'static str| {
        let duck = duck.clone();
        async move {
            let batches: Vec<RecordBatch> = duck.scan(t, 1024).await.unwrap().try_collect().await.unwrap();
            Fingerprint::of(&batches).unwrap()
        }
    };
    assert_eq!(fp("a").await, fp("b").await);
}

#[tokio::test]
async fn a_dropped_scan_releases_the_connection() {
    let duck = DuckDbSource::open(None, &DuckDbOptions::default()).unwrap();
    duck.register_view("big", "SELECT range AS n FROM range(1000000)").unwrap();
    let mut scan = duck.scan("big", 1000).await.unwrap();
    assert_eq!(scan.try_next().await.unwrap().unwrap().num_rows(), 1000);
    drop(scan);
    // The producer notices the dropped reader and gives the connection back.
    assert_eq!(duck.row_count("big").await.unwrap(), 1_000_000);
}

#[tokio::test]
async fn missing_things_are_named() {
    let dir = migrate_testkit::temp_dir();
    let missing = dir.path().join("nope.duckdb");
    let err = DuckDbSource::open(Some(&missing), &DuckDbOptions::default()).unwrap_err();
    assert!(matches!(err, DuckDbError::Missing(_)), "{err}");
    assert!(!missing.exists(), "opening must not create a database");

    let duck = DuckDbSource::open(None, &DuckDbOptions::default()).unwrap();
    match duck.row_count("bars_1s").await {
        Err(CoreError::TableNotFound { table, .. }) => assert_eq!(table, "bars_1s"),
        other => panic!("expected TableNotFound, got {other:?}"),
    }
    let err =
        duck.register_view("broken", "SELECT * FROM read_parquet('/nonexistent/*.parquet')").unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
}

#[tokio::test]
async fn column_types_are_duckdbs_own() {
    let duck = DuckDbSource::open(None, &DuckDbOptions::default()).unwrap();
    duck.register_view("t", "SELECT 1::HUGEINT AS h, 1.5::DECIMAL(18,3) AS d, now()::TIMESTAMPTZ AS z")
        .unwrap();
    let types: Vec<String> = duck.columns("t").unwrap().into_iter().map(|c| c.duckdb_type).collect();
    assert_eq!(types, vec!["HUGEINT", "DECIMAL(18,3)", "TIMESTAMP WITH TIME ZONE"]);
    assert!(duck.version().unwrap().starts_with('v'));
}

#[tokio::test]
async fn insertion_order_can_be_let_go_without_changing_the_content() {
    let dir = migrate_testkit::temp_dir();
    let duck = DuckDbSource::open(Some(&lake(dir.path())), &DuckDbOptions::default()).unwrap();
    let setting = |duck: &DuckDbSource| {
        duck.query_i64("SELECT current_setting('preserve_insertion_order')::INT", "the setting").unwrap()
    };
    let fingerprint = |duck: DuckDbSource| async move {
        let mut fp = Fingerprint::default();
        let mut batches = duck.scan("klines_1m", 1000).await.unwrap();
        while let Some(b) = batches.try_next().await.unwrap() {
            fp.update(&b).unwrap();
        }
        fp
    };
    assert_eq!(setting(&duck), Some(1));
    let ordered = fingerprint(duck.clone()).await;
    duck.keep_insertion_order(false).unwrap();
    assert_eq!(setting(&duck), Some(0));
    let unordered = fingerprint(duck.clone()).await;
    assert_eq!(unordered.rows, 10_000);
    assert_eq!(unordered, ordered);
    duck.keep_insertion_order(true).unwrap();
    assert_eq!(setting(&duck), Some(1));
}

#[tokio::test]
async fn duckdb_reads_as_a_conforming_source() {
    let dir = migrate_testkit::temp_dir();
    let data = migrate_core::testing::common_types(&(0..25).collect::<Vec<_>>());
    let path = dir.path().join("common.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), data.schema(), None)
            .unwrap();
    writer.write(&data).unwrap();
    writer.close().unwrap();
    let duck = DuckDbSource::open(None, &DuckDbOptions::default()).unwrap();
    duck.register_view("common", &format!("SELECT * FROM read_parquet('{}')", path.display())).unwrap();
    migrate_core::testing::source_conformance(&duck, "common", &data).await;
}
