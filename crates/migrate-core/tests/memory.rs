//! The in-memory twin and copy_table: commit only when every batch landed.

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use migrate_core::testing::FailsMidway;
use migrate_core::*;
use std::sync::Arc;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("ts", DataType::Int64, false)]))
}

fn rows(values: Vec<i64>) -> RecordBatch {
    RecordBatch::try_new(schema(), vec![Arc::new(Int64Array::from(values))]).unwrap()
}

fn values(t: &MemoryTables, table: &str) -> Vec<i64> {
    t.batches(table)
        .unwrap()
        .iter()
        .flat_map(|b| b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec())
        .collect()
}

#[tokio::test]
async fn copies_in_batches_and_fingerprints_match() {
    let (src, dst) = (MemoryTables::new(), MemoryTables::new());
    src.insert("t", schema(), vec![rows((0..10).collect())]).unwrap();
    assert_eq!(copy_table(&src, &dst, "t", 3, IfExists::Replace).await.unwrap(), 10);
    assert_eq!(dst.batches("t").unwrap().len(), 4, "10 rows in batches of 3");
    assert_eq!(
        Fingerprint::of(&src.batches("t").unwrap()).unwrap(),
        Fingerprint::of(&dst.batches("t").unwrap()).unwrap()
    );
}

#[tokio::test]
async fn replace_append_and_fail() {
    let (src, dst) = (MemoryTables::new(), MemoryTables::new());
    src.insert("t", schema(), vec![rows(vec![1, 2])]).unwrap();
    dst.insert("t", schema(), vec![rows(vec![9])]).unwrap();

    let err = copy_table(&src, &dst, "t", 10, IfExists::Fail).await.unwrap_err();
    assert!(matches!(err, CoreError::TableExists { .. }), "{err}");
    assert_eq!(values(&dst, "t"), vec![9]);

    assert_eq!(copy_table(&src, &dst, "t", 10, IfExists::Append).await.unwrap(), 2);
    assert_eq!(values(&dst, "t"), vec![9, 1, 2]);

    assert_eq!(copy_table(&src, &dst, "t", 10, IfExists::Replace).await.unwrap(), 2);
    assert_eq!(values(&dst, "t"), vec![1, 2]);
}

#[tokio::test]
async fn missing_table_is_named() {
    let err = MemoryTables::new().row_count("nope").await.unwrap_err();
    assert!(err.to_string().contains("\"nope\""), "{err}");
}

#[tokio::test]
async fn a_failing_source_leaves_the_previous_table_intact() {
    let dst = MemoryTables::new();
    dst.insert("t", schema(), vec![rows(vec![7, 8, 9])]).unwrap();
    for mode in [IfExists::Replace, IfExists::Append] {
        let err = copy_table(&FailsMidway::new(rows(vec![1, 2]), "disk on fire"), &dst, "t", 10, mode)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
        assert_eq!(values(&dst, "t"), vec![7, 8, 9]);
    }
}

#[tokio::test]
async fn batches_of_another_schema_are_refused() {
    let dst = MemoryTables::new();
    let mut load = dst.begin("t", schema(), IfExists::Replace).await.unwrap();
    let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let wrong = RecordBatch::try_new(other, vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
    assert!(matches!(load.write(wrong).await, Err(CoreError::SchemaMismatch { .. })));
    load.abort().await.unwrap();
    assert!(dst.batches("t").is_none());
}

#[tokio::test]
async fn the_memory_store_conforms() {
    migrate_core::testing::sink_conformance(&MemoryTables::new(), "mem", Default::default()).await;
}

#[tokio::test]
async fn the_memory_store_reads_as_a_conforming_source() {
    let tables = MemoryTables::new();
    let data = migrate_core::testing::common_types(&[1, 2, 3, 4, 5, 6]);
    tables.insert("common", data.schema(), vec![data.clone()]).unwrap();
    migrate_core::testing::source_conformance(&tables, "common", &data).await;
}
