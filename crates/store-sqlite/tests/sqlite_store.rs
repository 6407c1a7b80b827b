//! SQLite target: every supported type round-trips exactly, loads are atomic, lossy values stop
//! the load with the override that fixes them.

use arrow::array::*;
use arrow::datatypes::*;
use futures::TryStreamExt;
use migrate_core::testing::batch_of as batch;
use migrate_core::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use store_sqlite::{SqliteError, SqliteStore};

fn every_type() -> RecordBatch {
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
        Some(vec![]),
    ]));
    let strukt: ArrayRef = Arc::new(StructArray::new(
        Fields::from(vec![Field::new("x", DataType::Int64, true), Field::new("y", DataType::Utf8, true)]),
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
            Arc::new(StringArray::from(vec!["a", "b", "ç"])),
        ],
        None,
    ));
    let dict: DictionaryArray<UInt8Type> = vec![Some("up"), None, Some("down")].into_iter().collect();
    batch(vec![
        ("b", Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]))),
        ("i8", Arc::new(Int8Array::from(vec![i8::MIN, 0, i8::MAX]))),
        ("i64", Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)]))),
        ("u32", Arc::new(UInt32Array::from(vec![0, 1, u32::MAX]))),
        ("u64", Arc::new(UInt64Array::from(vec![0, 1, i64::MAX as u64]))),
        ("f32", Arc::new(Float32Array::from(vec![1.5, f32::INFINITY, -0.25]))),
        ("f64", Arc::new(Float64Array::from(vec![Some(f64::NEG_INFINITY), None, Some(1e-300)]))),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![Some(12345), Some(-1), None])
                    .with_precision_and_scale(18, 3)
                    .unwrap(),
            ),
        ),
        (
            "huge",
            Arc::new(
                Decimal128Array::from(vec![i128::MAX / 10, 0, -7]).with_precision_and_scale(38, 0).unwrap(),
            ),
        ),
        ("s", Arc::new(StringArray::from(vec![Some("héllo ✓ 🦀"), Some(""), None]))),
        ("bin", Arc::new(BinaryArray::from(vec![Some(b"\x00\xff".as_slice()), None, Some(b"".as_slice())]))),
        ("d", Arc::new(Date32Array::from(vec![Some(0), Some(19_723), None]))),
        ("t", Arc::new(Time64MicrosecondArray::from(vec![0, 1, 86_399_999_999]))),
        (
            "ts_ns",
            Arc::new(TimestampNanosecondArray::from(vec![Some(1_700_000_000_123_456_789), None, Some(-1)])),
        ),
        (
            "ts_tz",
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_700_000_000_000_001, 0, -62_135_596_800_000_000])
                    .with_timezone("UTC"),
            ),
        ),
        ("dur", Arc::new(DurationMillisecondArray::from(vec![1, -2, 3]))),
        (
            "iv",
            Arc::new(IntervalMonthDayNanoArray::from(vec![
                IntervalMonthDayNano::new(1, 2, 3),
                IntervalMonthDayNano::new(-14, 0, 1_000),
                IntervalMonthDayNano::new(0, 0, 0),
            ])),
        ),
        ("list", list),
        ("obj", strukt),
        ("enum", Arc::new(dict)),
    ])
}

async fn read_back(store: &SqliteStore, table: &str, expected: SchemaRef) -> Vec<RecordBatch> {
    store.scan_as(table, expected, 2).unwrap().try_collect().await.unwrap()
}

#[tokio::test]
async fn every_supported_type_round_trips_exactly() {
    let dir = migrate_testkit::temp_dir();
    let store = SqliteStore::new(dir.path().join("t.db"));
    let data = every_type();
    let source = MemoryTables::new();
    source.insert("all_types", data.schema(), vec![data.clone()]).unwrap();
    assert_eq!(copy_table(&source, &store, "all_types", 2, IfExists::Replace).await.unwrap(), 3);

    let back = read_back(&store, "all_types", data.schema()).await;
    assert_eq!(back.iter().map(RecordBatch::num_rows).sum::<usize>(), 3);
    assert_eq!(Fingerprint::of(&back).unwrap(), Fingerprint::of([&data]).unwrap());
    // Column by column too, so a failure names the column.
    let joined = arrow::compute::concat_batches(&back[0].schema(), &back).unwrap();
    for (i, field) in data.schema().fields().iter().enumerate() {
        let one = |a: ArrayRef| Fingerprint::of([&batch(vec![("c", a)])]).unwrap();
        assert_eq!(
            one(joined.column(i).clone()),
            one(data.column(i).clone()),
            "column {}: {:?}",
            field.name(),
            joined.column(i)
        );
    }
    let declared: BTreeMap<String, String> =
        store.declared_columns("all_types").unwrap().into_iter().collect();
    assert_eq!(declared["dec"], "TEXT", "decimals must keep TEXT affinity");
    assert_eq!(declared["ts_tz"], "TIMESTAMPTZ");
}

fn bars(values: Vec<f64>) -> RecordBatch {
    batch(vec![("close", Arc::new(Float64Array::from(values)))])
}

async fn load(store: &SqliteStore, b: RecordBatch, mode: IfExists) -> Result<u64> {
    let source = MemoryTables::new();
    source.insert("bars", b.schema(), vec![b]).unwrap();
    copy_table(&source, store, "bars", 1000, mode).await
}

async fn closes(store: &SqliteStore) -> Vec<f64> {
    let back = read_back(store, "bars", bars(vec![]).schema()).await;
    back.iter().flat_map(|b| b.column(0).as_primitive::<Float64Type>().values().to_vec()).collect()
}

#[tokio::test]
async fn nan_stops_the_load_and_keeps_the_previous_table() {
    let dir = migrate_testkit::temp_dir();
    let store = SqliteStore::new(dir.path().join("t.db"));
    load(&store, bars(vec![1.0, 2.0]), IfExists::Replace).await.unwrap();
    let err = load(&store, bars(vec![3.0, f64::NAN]), IfExists::Replace).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("column close") && text.contains("NaN"), "{text}");
    match &err {
        CoreError::Store { source, .. } => assert!(
            matches!(source.downcast_ref::<SqliteError>(), Some(SqliteError::Value { columns, .. }) if columns.len() == 1 && columns[0].fix == "TEXT"),
            "the column type that stores it: {text}"
        ),
        other => panic!("not a store error: {other}"),
    }
    assert_eq!(closes(&store).await, vec![1.0, 2.0]);
    assert!(!store.table_exists("_migrate_staging_bars").unwrap());

    // The override named in the error works, and NaN survives.
    let mut hints = BTreeMap::new();
    let mut column_types = BTreeMap::new();
    column_types.insert("close".to_string(), "TEXT".to_string());
    hints.insert("bars".to_string(), TableHints { column_types, ..Default::default() });
    let store = store.with_hints(hints);
    load(&store, bars(vec![3.0, f64::NAN]), IfExists::Replace).await.unwrap();
    let back = closes(&store).await;
    assert_eq!(back[0], 3.0);
    assert!(back[1].is_nan());
}

#[tokio::test]
async fn unsigned_values_above_i64_are_refused() {
    let dir = migrate_testkit::temp_dir();
    let store = SqliteStore::new(dir.path().join("t.db"));
    let b = batch(vec![("n", Arc::new(UInt64Array::from(vec![u64::MAX])))]);
    let source = MemoryTables::new();
    source.insert("big", b.schema(), vec![b]).unwrap();
    let err = copy_table(&source, &store, "big", 10, IfExists::Replace).await.unwrap_err();
    assert!(err.to_string().contains("2^63-1"), "{err}");
    assert!(!store.table_exists("big").unwrap());
}

#[tokio::test]
async fn keys_and_indexes_are_created_after_loading() {
    let dir = migrate_testkit::temp_dir();
    let path = dir.path().join("t.db");
    let mut hints = BTreeMap::new();
    hints.insert(
        "bars".to_string(),
        TableHints {
            primary_key: vec!["close".into()],
            indexes: vec![vec!["close".into()]],
            ..Default::default()
        },
    );
    let store = SqliteStore::new(&path).with_hints(hints);
    load(&store, bars(vec![1.0, 2.0]), IfExists::Replace).await.unwrap();
    load(&store, bars(vec![3.0]), IfExists::Replace).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").unwrap();
    let names: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(names, vec!["idx_bars_close", "pk_bars"]);
    let err = load(&store, bars(vec![3.0, 3.0]), IfExists::Replace).await.unwrap_err();
    assert!(err.to_string().to_lowercase().contains("unique"), "{err}");
    assert_eq!(closes(&store).await, vec![3.0]);
}

#[tokio::test]
async fn unsupported_types_and_bad_overrides_are_refused_before_writing() {
    let dir = migrate_testkit::temp_dir();
    let store = SqliteStore::new(dir.path().join("t.db"));
    let union = DataType::Union(
        UnionFields::try_new(vec![0], vec![Field::new("a", DataType::Int32, true)]).unwrap(),
        UnionMode::Dense,
    );
    let schema = Schema::new(vec![Field::new("ok", DataType::Int64, true), Field::new("u", union, true)]);
    let err = store.plan("weird", &schema).unwrap_err();
    assert!(
        matches!(&err, SqliteError::Unsupported { columns, .. } if columns.len() == 1 && columns[0].column == "u"),
        "{err}"
    );

    let mut hints = BTreeMap::new();
    let mut column_types = BTreeMap::new();
    column_types.insert("nope".to_string(), "TEXT".to_string());
    hints.insert("weird".to_string(), TableHints { column_types, ..Default::default() });
    let err = store.with_hints(hints).plan("weird", &schema).unwrap_err();
    assert!(err.to_string().contains("\"nope\""), "{err}");
    assert!(!dir.path().join("t.db").exists(), "planning writes nothing");
}

#[tokio::test]
async fn sqlite_passes_the_conformance_suite() {
    let dir = migrate_testkit::temp_dir();
    let store = SqliteStore::new(dir.path().join("conformance.db"));
    let caps = migrate_core::testing::SinkCapabilities {
        staging: Some(|t| format!("_migrate_staging_{t}")),
        ..Default::default()
    };
    migrate_core::testing::sink_conformance(&store, "sq", caps).await;
}
