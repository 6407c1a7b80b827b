//! The Parquet directory: atomic files, a manifest that catches any change, streamed reads.

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use migrate_core::testing::FailsMidway;
use migrate_core::*;
use std::sync::Arc;
use store_parquet::{Manifest, ParquetDir, ParquetError};

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new("ts", DataType::Int64, false),
        Field::new("close", DataType::Float64, true),
    ]))
}

fn bars(n: i64) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("SYM{}", i % 5)))),
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| 1_700_000_000_000 + i))),
            Arc::new(Float64Array::from_iter((0..n).map(|i| (i % 7 != 0).then_some(i as f64 / 3.0)))),
        ],
    )
    .unwrap()
}

async fn export(dir: &ParquetDir, n: i64) -> MemoryTables {
    let source = MemoryTables::new();
    source.insert("bars_1m", schema(), vec![bars(n)]).unwrap();
    assert_eq!(copy_table(&source, dir, "bars_1m", 1000, IfExists::Replace).await.unwrap(), n as u64);
    source
}

#[tokio::test]
async fn round_trip_keeps_every_value_and_records_the_manifest() {
    let tmp = migrate_testkit::temp_dir();
    let dir = ParquetDir::new(tmp.path().join("export"));
    let source = export(&dir, 25_000).await;

    let manifest = dir.manifest().unwrap();
    let entry = manifest.entry("bars_1m").unwrap();
    assert_eq!((entry.rows, entry.file.as_str()), (25_000, "bars_1m.parquet"));
    assert_eq!(entry.bytes, std::fs::metadata(dir.file_for("bars_1m")).unwrap().len());
    assert_eq!(entry.sha256.len(), 64);
    assert_eq!(entry.schema[1].data_type, "Int64");
    dir.check(&["bars_1m".into()]).unwrap();

    assert_eq!(dir.row_count("bars_1m").await.unwrap(), 25_000);
    let back: Vec<RecordBatch> = dir.scan("bars_1m", 4096).await.unwrap().try_collect().await.unwrap();
    assert!(back.iter().all(|b| b.num_rows() <= 4096));
    assert_eq!(
        Fingerprint::of(&back).unwrap(),
        Fingerprint::of(&source.batches("bars_1m").unwrap()).unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "only the file and the manifest: {leftovers:?}");
}

#[tokio::test]
async fn check_catches_truncated_altered_and_missing_files() {
    let tmp = migrate_testkit::temp_dir();
    let dir = ParquetDir::new(tmp.path());
    export(&dir, 5_000).await;
    let file = dir.file_for("bars_1m");
    let good = std::fs::read(&file).unwrap();
    let tables = ["bars_1m".to_string()];

    std::fs::write(&file, &good[..good.len() - 10]).unwrap();
    let err = dir.check(&tables).unwrap_err();
    assert!(matches!(&err, ParquetError::Mismatch { detail, .. } if detail.contains("size")), "{err}");

    let mut altered = good.clone();
    altered[100] ^= 0xff;
    std::fs::write(&file, &altered).unwrap();
    let err = dir.check(&tables).unwrap_err();
    assert!(matches!(&err, ParquetError::Mismatch { detail, .. } if detail.contains("SHA-256")), "{err}");

    std::fs::remove_file(&file).unwrap();
    assert!(matches!(dir.check(&tables).unwrap_err(), ParquetError::Mismatch { .. }));

    std::fs::write(&file, &good).unwrap();
    dir.check(&tables).unwrap();
    let err = dir.check(&["klines_1m".to_string()]).unwrap_err();
    assert!(err.to_string().contains("bars_1m"), "names what the manifest has: {err}");

    std::fs::remove_file(dir.path().join("manifest.json")).unwrap();
    let err = dir.check(&tables).unwrap_err();
    assert!(matches!(err, store_parquet::ParquetError::NoManifest { .. }), "{err}");
    assert!(err.to_string().ends_with("manifest.json does not exist"), "{err}");
}

#[tokio::test]
async fn a_corrupt_file_is_reported_not_panicked_on() {
    let tmp = migrate_testkit::temp_dir();
    let dir = ParquetDir::new(tmp.path());
    export(&dir, 100).await;
    std::fs::write(dir.file_for("bars_1m"), b"PAR1 this is not parquet").unwrap();
    let err = dir.row_count("bars_1m").await.unwrap_err();
    assert!(err.to_string().contains("not a readable Parquet file"), "{err}");
}

#[tokio::test]
async fn a_failed_export_keeps_the_previous_file_and_leaves_no_partial() {
    let tmp = migrate_testkit::temp_dir();
    let dir = ParquetDir::new(tmp.path());
    export(&dir, 300).await;
    let before = std::fs::read(dir.file_for("bars_1m")).unwrap();
    let err =
        copy_table(&FailsMidway::new(bars(10), "connection lost"), &dir, "bars_1m", 100, IfExists::Replace)
            .await
            .unwrap_err();
    assert!(err.to_string().contains("connection lost"), "{err}");
    assert_eq!(std::fs::read(dir.file_for("bars_1m")).unwrap(), before);
    dir.check(&["bars_1m".into()]).unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");
    assert_eq!(Manifest::load(dir.path()).unwrap().tables.len(), 1);
}

#[tokio::test]
async fn parquet_passes_the_conformance_suite() {
    let dir = migrate_testkit::temp_dir();
    let caps = migrate_core::testing::SinkCapabilities { no_append: true, ..Default::default() };
    migrate_core::testing::sink_conformance(&ParquetDir::new(dir.path()), "pq", caps).await;
}
