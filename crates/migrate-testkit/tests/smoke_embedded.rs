//! The embedded engines the tools use: DuckDB (to Arrow and Parquet), SQLite through sqlx,
//! Parquet written and read with arrow.

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::sync::Arc;

fn bars_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("ts", DataType::Int64, false),
        Field::new("close", DataType::Float64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["BTCUSDT", "ETHUSDT", "Ünïcode ✓"])),
            Arc::new(Int64Array::from(vec![1_700_000_000_000, 1_700_000_001_000, 1_700_000_002_000])),
            Arc::new(Float64Array::from(vec![Some(37000.5), None, Some(f64::NAN)])),
        ],
    )
    .unwrap()
}

#[test]
fn parquet_round_trip_with_arrow() {
    let dir = migrate_testkit::temp_dir();
    let path = dir.path().join("bars.parquet");
    let batch = bars_batch();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1);
    let got = &batches[0];
    assert_eq!(got.schema(), batch.schema());
    assert_eq!(got.column(0).as_ref(), batch.column(0).as_ref());
    assert_eq!(got.column(1).as_ref(), batch.column(1).as_ref());
    let close = got.column(2).as_any().downcast_ref::<Float64Array>().unwrap();
    assert_eq!(close.value(0), 37000.5);
    assert!(close.is_null(1));
    assert!(close.value(2).is_nan());
}

#[test]
fn duckdb_queries_to_arrow_and_reads_parquet() {
    let dir = migrate_testkit::temp_dir();
    let path = dir.path().join("bars.parquet");
    let batch = bars_batch();
    let mut writer =
        ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!("CREATE VIEW bars AS SELECT * FROM read_parquet('{}')", path.display()))
        .unwrap();
    let count: i64 = conn.query_row("SELECT count(*) FROM bars", [], |r| r.get(0)).unwrap();
    assert_eq!(count, 3);

    let mut stmt = conn.prepare("SELECT symbol, ts FROM bars ORDER BY ts").unwrap();
    let batches: Vec<RecordBatch> = stmt.stream_arrow([]).unwrap().map(Result::unwrap).collect();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 3);
    let symbols = batches[0].column(0).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(symbols.value(2), "Ünïcode ✓");

    let version: String = conn.query_row("SELECT version()", [], |r| r.get(0)).unwrap();
    assert!(version.starts_with('v'), "{version}");
}

#[tokio::test]
async fn sqlite_through_sqlx_on_a_file() {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
    use sqlx::{ConnectOptions, Row};

    let dir = migrate_testkit::temp_dir();
    let mut conn: SqliteConnection = SqliteConnectOptions::new()
        .filename(dir.path().join("rehearsal.db"))
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE bars (symbol TEXT NOT NULL, ts INTEGER NOT NULL, close REAL)")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut tx = sqlx::Connection::begin(&mut conn).await.unwrap();
    for i in 0..100i64 {
        sqlx::query("INSERT INTO bars VALUES (?, ?, ?)")
            .bind("BTCUSDT")
            .bind(1_700_000_000_000 + i)
            .bind(i as f64)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let row = sqlx::query("SELECT count(*), sum(close) FROM bars").fetch_one(&mut conn).await.unwrap();
    assert_eq!(row.get::<i64, _>(0), 100);
    assert_eq!(row.get::<f64, _>(1), 4950.0);
}
