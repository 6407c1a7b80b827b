//! PostgreSQL target against the real server (a database per test): every supported type
//! round-trips exactly through binary COPY, loads are atomic, lossy values are refused.

use arrow::array::*;
use arrow::datatypes::*;
use futures::TryStreamExt;
use migrate_core::testing::batch_of as batch;
use migrate_core::*;
use sqlx::postgres::PgConnectOptions;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use store_postgres::{PgError, PostgresStore};

async fn store(pg: &migrate_testkit::TestPg) -> PostgresStore {
    PostgresStore::connect(PgConnectOptions::from_str(&pg.url).unwrap(), pg.name.clone()).await.unwrap()
}

fn every_type() -> RecordBatch {
    let ints: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
        Some(vec![Some(1), None, Some(-3)]),
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
        ("i32", Arc::new(Int32Array::from(vec![i32::MIN, 0, i32::MAX]))),
        ("i64", Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(i64::MAX)]))),
        ("u16", Arc::new(UInt16Array::from(vec![0, 1, u16::MAX]))),
        ("u32", Arc::new(UInt32Array::from(vec![0, 1, u32::MAX]))),
        ("u64", Arc::new(UInt64Array::from(vec![0, 1, u64::MAX]))),
        ("f32", Arc::new(Float32Array::from(vec![1.5, f32::INFINITY, f32::NAN]))),
        ("f64", Arc::new(Float64Array::from(vec![Some(f64::NEG_INFINITY), None, Some(f64::NAN)]))),
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
        ("d", Arc::new(Date32Array::from(vec![Some(0), Some(19_723), Some(-719_162)]))),
        ("t", Arc::new(Time64MicrosecondArray::from(vec![0, 1, 86_399_999_999]))),
        ("ts_ms", Arc::new(TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), None, Some(-1)]))),
        ("ts_ns", Arc::new(TimestampNanosecondArray::from(vec![1_700_000_000_123_456_000, 0, -1_000]))),
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
                IntervalMonthDayNano::new(1, 2, 3_000),
                IntervalMonthDayNano::new(-14, 0, 1_000),
                IntervalMonthDayNano::new(0, 0, 0),
            ])),
        ),
        ("ints", ints),
        ("obj", strukt),
        ("enum", Arc::new(dict)),
    ])
}

async fn read_back(store: &PostgresStore, table: &str, expected: SchemaRef) -> Vec<RecordBatch> {
    store.scan_as(table, expected, 2).await.unwrap().try_collect().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_supported_type_round_trips_exactly() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    let data = every_type();
    let source = MemoryTables::new();
    source.insert("all_types", data.schema(), vec![data.clone()]).unwrap();
    assert_eq!(copy_table(&source, &store, "all_types", 2, IfExists::Replace).await.unwrap(), 3);

    let back = read_back(&store, "all_types", data.schema()).await;
    let joined = arrow::compute::concat_batches(&back[0].schema(), &back).unwrap();
    for (i, field) in data.schema().fields().iter().enumerate() {
        let want = arrow::compute::cast(data.column(i), &convert::value_type(field.data_type())).unwrap();
        assert_eq!(
            Fingerprint::of([&batch(vec![("c", joined.column(i).clone())])]).unwrap(),
            Fingerprint::of([&batch(vec![("c", want)])]).unwrap(),
            "column {}: got {:?}",
            field.name(),
            joined.column(i)
        );
    }
    assert_eq!(Fingerprint::of(&back).unwrap(), Fingerprint::of([&data]).unwrap());
    let types: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = 'all_types' ORDER BY ordinal_position",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let types: BTreeMap<String, String> = types.into_iter().collect();
    assert_eq!(types["u64"], "numeric");
    assert_eq!(types["ts_tz"], "timestamp with time zone");
    assert_eq!(types["ints"], "ARRAY");
}

fn ts_ns(values: Vec<i64>) -> RecordBatch {
    batch(vec![("ts", Arc::new(TimestampNanosecondArray::from(values)))])
}

/// The column type a refused value's error says would store it.
fn value_fix(err: &CoreError) -> String {
    match err {
        CoreError::Store { source, .. } => match source.downcast_ref::<PgError>() {
            Some(PgError::Value { columns, .. }) if columns.len() == 1 => columns[0].fix.to_string(),
            other => panic!("not a value error: {other:?}"),
        },
        other => panic!("not a store error: {other}"),
    }
}

async fn load(store: &PostgresStore, b: RecordBatch, mode: IfExists) -> Result<u64> {
    let source = MemoryTables::new();
    source.insert("bars", b.schema(), vec![b]).unwrap();
    copy_table(&source, store, "bars", 1000, mode).await
}

#[tokio::test(flavor = "multi_thread")]
async fn nanoseconds_are_refused_with_the_bigint_override_and_the_previous_table_stays() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    load(&store, ts_ns(vec![1_000, 2_000]), IfExists::Replace).await.unwrap();
    let err = load(&store, ts_ns(vec![3_000, 3_001]), IfExists::Replace).await.unwrap_err();
    assert!(err.to_string().contains("column ts"), "{err}");
    assert_eq!(value_fix(&err), "bigint", "the column type that stores it: {err}");
    assert_eq!(store.row_count("bars").await.unwrap(), 2);
    assert!(!store.table_exists("_migrate_staging_bars").await.unwrap());

    let mut column_types = BTreeMap::new();
    column_types.insert("ts".to_string(), "bigint".to_string());
    let mut hints = BTreeMap::new();
    hints.insert("bars".to_string(), TableHints { column_types, ..Default::default() });
    let store = store.with_hints(hints);
    let exact = ts_ns(vec![3_000, 3_001]);
    load(&store, exact.clone(), IfExists::Replace).await.unwrap();
    let back = read_back(&store, "bars", exact.schema()).await;
    assert_eq!(Fingerprint::of(&back).unwrap(), Fingerprint::of([&exact]).unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_in_text_is_refused() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    let b = batch(vec![("s", Arc::new(StringArray::from(vec!["a\0b"])))]);
    let err = load(&store, b, IfExists::Replace).await.unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
    assert_eq!(value_fix(&err), "bytea", "{err}");
    assert!(!store.table_exists("bars").await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_and_indexes_are_added_after_loading() {
    let pg = migrate_testkit::pg_database().await;
    let mut hints = BTreeMap::new();
    hints.insert(
        "bars".to_string(),
        TableHints { primary_key: vec!["ts".into()], indexes: vec![vec!["ts".into()]], ..Default::default() },
    );
    let store = store(&pg).await.with_hints(hints);
    load(&store, ts_ns(vec![1_000, 2_000]), IfExists::Replace).await.unwrap();
    load(&store, ts_ns(vec![3_000]), IfExists::Replace).await.unwrap();
    let names: Vec<String> =
        sqlx::query_scalar("SELECT indexname::text FROM pg_indexes WHERE tablename = 'bars' ORDER BY 1")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(names, vec!["bars_pkey", "idx_bars_ts"]);
    let err = load(&store, ts_ns(vec![5_000, 5_000]), IfExists::Replace).await.unwrap_err();
    assert!(err.to_string().contains("duplicate") || err.to_string().contains("unique"), "{err}");
    assert_eq!(store.row_count("bars").await.unwrap(), 1, "the failed swap left the previous table");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_is_reported_without_the_password() {
    let options = PgConnectOptions::from_str("postgres://nobody:s3cret-pw@127.0.0.1:5432/postgres").unwrap();
    let err = PostgresStore::connect(options, "postgresql://nobody:****@127.0.0.1:5432/postgres")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PgError::Connect { .. }), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_types_are_refused_before_writing() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    let union = DataType::Union(
        UnionFields::try_new(vec![0], vec![Field::new("a", DataType::Int32, true)]).unwrap(),
        UnionMode::Dense,
    );
    let schema = Schema::new(vec![Field::new("ok", DataType::Int64, true), Field::new("u", union, true)]);
    let err = store.plan("weird", &schema).unwrap_err();
    assert!(
        matches!(&err, PgError::Unsupported { columns, .. } if columns.len() == 1 && columns[0].column == "u"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_spread_over_several_copy_streams_all_land_once() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await.with_copy_streams(3);
    assert_eq!(store.copy_streams(), 3);
    let batches: Vec<RecordBatch> = (0..10).map(|b| ids(((b * 1000)..(b * 1000 + 1000)).collect())).collect();
    let schema = batches[0].schema();
    let mut load = store.begin("spread", schema.clone(), IfExists::Replace).await.unwrap();
    for b in &batches {
        load.write(b.clone()).await.unwrap();
    }
    assert_eq!(load.commit().await.unwrap(), 10_000);
    let back = read_back(&store, "spread", schema).await;
    let (mut expected, mut got) = (Fingerprint::default(), Fingerprint::default());
    batches.iter().for_each(|b| expected.update(b).unwrap());
    back.iter().for_each(|b| got.update(b).unwrap());
    assert_eq!(got, expected, "every row once, whatever stream carried it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_batch_in_one_stream_stops_them_all_and_keeps_the_previous_table() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await.with_copy_streams(3);
    load(&store, ts_ns(vec![1_000, 2_000]), IfExists::Replace).await.unwrap();
    let good = |i: i64| ts_ns((0..500).map(|r| (i * 500 + r) * 1_000).collect());
    let mut pending = store.begin("bars", good(0).schema(), IfExists::Replace).await.unwrap();
    let mut failed = None;
    for i in 0..40 {
        let b = if i == 5 { ts_ns(vec![3_001]) } else { good(i) };
        if let Err(e) = pending.write(b).await {
            failed = Some(e);
            break;
        }
    }
    let err = match failed {
        Some(e) => {
            pending.abort().await.unwrap();
            e
        }
        None => pending.commit().await.unwrap_err(),
    };
    let text = err.to_string();
    assert!(
        text.contains("column ts") && text.contains("nanoseconds"),
        "the failing stream's own error: {text}"
    );
    assert_eq!(store.row_count("bars").await.unwrap(), 2);
    assert!(!store.table_exists("_migrate_staging_bars").await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_stopped_early_leaves_no_connection_in_the_middle_of_a_copy() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    load(&store, ids((0..200_000).collect()), IfExists::Replace).await.unwrap();
    let schema = ids(vec![0]).schema();
    for _ in 0..4 {
        // As `--sample` does: the first rows, then the stream is dropped.
        let mut rows = store.scan_as("bars", schema.clone(), 10).await.unwrap();
        assert_eq!(rows.try_next().await.unwrap().unwrap().num_rows(), 10);
        drop(rows);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(store.table_exists("bars").await.unwrap());
        assert_eq!(store.row_count("bars").await.unwrap(), 200_000);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_is_one_copy_stream_per_core_from_two_to_four() {
    let pg = migrate_testkit::pg_database().await;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    assert_eq!(store(&pg).await.copy_streams(), cores.clamp(2, 4));
    assert_eq!(store(&pg).await.with_copy_streams(0).copy_streams(), 1, "at least one");
    assert_eq!(store(&pg).await.with_copy_streams(50).copy_streams(), 8, "at most eight");
}

fn ids(values: Vec<i64>) -> RecordBatch {
    batch(vec![("id", Arc::new(Int64Array::from(values)) as ArrayRef)])
}

fn prices(values: Vec<f64>) -> RecordBatch {
    batch(vec![("close", Arc::new(Float64Array::from(values)) as ArrayRef)])
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_keeps_grants_comments_and_owner_and_views_that_would_be_dropped_stop_it() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    let sql = |q: &'static str| sqlx::raw_sql(q).execute(store.pool());
    load(&store, prices(vec![1.0]), IfExists::Replace).await.unwrap();
    sql("COMMENT ON TABLE bars IS 'daily bars'; COMMENT ON COLUMN bars.close IS 'close, USD'").await.unwrap();
    sql("GRANT SELECT ON bars TO PUBLIC").await.unwrap();

    load(&store, prices(vec![2.0, 3.0]), IfExists::Replace).await.unwrap();
    let (comment, column_comment, public_select): (Option<String>, Option<String>, bool) = sqlx::query_as(
        "SELECT obj_description('bars'::regclass, 'pg_class'), col_description('bars'::regclass, 1), \
                has_table_privilege('public', 'bars', 'SELECT')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(comment.as_deref(), Some("daily bars"));
    assert_eq!(column_comment.as_deref(), Some("close, USD"));
    assert!(public_select, "the grant survives the swap");
    assert_eq!(store.row_count("bars").await.unwrap(), 2);

    sql("CREATE VIEW bars_report AS SELECT close FROM bars").await.unwrap();
    assert_eq!(store.dependent_views("bars").await.unwrap(), vec!["bars_report".to_string()]);
    let err = load(&store, prices(vec![4.0]), IfExists::Replace).await.unwrap_err();
    assert!(err.to_string().contains("view bars_report depends on table bars"), "names the view: {err}");
    assert_eq!(store.row_count("bars").await.unwrap(), 2, "the previous table stays");
    assert!(!store.table_exists("_migrate_staging_bars").await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_passes_the_conformance_suite() {
    let pg = migrate_testkit::pg_database().await;
    let caps = migrate_core::testing::SinkCapabilities {
        staging: Some(|t| format!("_migrate_staging_{t}")),
        ..Default::default()
    };
    migrate_core::testing::sink_conformance(&store(&pg).await, "pg", caps).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgresql_reads_as_a_conforming_source() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    let data = migrate_core::testing::common_types(&(0..25).collect::<Vec<_>>());
    load_table(&store, "common", data.clone()).await;
    migrate_core::testing::source_conformance(&store, "common", &data).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn columns_without_a_binary_form_here_are_read_as_their_text() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    sqlx::raw_sql(
        "CREATE TABLE events (id bigint NOT NULL, payload jsonb, ref uuid, amount numeric, tags text[]);
         INSERT INTO events VALUES (1, '{\"a\": [1, 2]}', '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', 12345678901234567890.123, '{x,y}'),
                                   (2, NULL, NULL, NULL, NULL);",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let schema = TableSource::schema(&store, "events").await.unwrap();
    let types: Vec<String> = schema.fields().iter().map(|f| f.data_type().to_string()).collect();
    assert_eq!(types, ["Int64", "Utf8", "Utf8", "Utf8", "List(Utf8)"], "{schema:?}");
    assert!(!schema.field(0).is_nullable());
    let batches: Vec<RecordBatch> =
        TableSource::scan(&store, "events", 10).await.unwrap().try_collect().await.unwrap();
    let first = &batches[0];
    assert_eq!(first.column(1).as_string::<i32>().value(0), r#"{"a": [1, 2]}"#);
    assert_eq!(first.column(2).as_string::<i32>().value(0), "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    assert_eq!(first.column(3).as_string::<i32>().value(0), "12345678901234567890.123");
    assert!(first.column(1).is_null(1));
}

async fn load_table(store: &PostgresStore, table: &str, data: RecordBatch) {
    let source = MemoryTables::new();
    source.insert(table, data.schema(), vec![data]).unwrap();
    copy_table(&source, store, table, 7, IfExists::Replace).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn keyset_pages_read_every_row_once_in_a_shared_snapshot() {
    use store_postgres::KeyRange;
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    // Ten rows, several with the same time: only (time, id) orders them exactly.
    sqlx::raw_sql(
        "CREATE TABLE audit (id bigint PRIMARY KEY, at timestamptz NOT NULL, action text);
         INSERT INTO audit SELECT i, timestamptz '2024-01-01 00:00:00+00' + (i / 3) * interval '1 hour', 'a' || i
           FROM generate_series(1, 10) i;",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let snapshot = store.snapshot().await.unwrap();
    // Written after the snapshot: invisible to reads in it.
    sqlx::raw_sql("INSERT INTO audit VALUES (11, '2023-12-31 00:00:00+00', 'late')")
        .execute(store.pool())
        .await
        .unwrap();

    let mut range = KeyRange {
        time: "at".into(),
        keys: vec!["id".into()],
        before: Some("2024-01-01 03:00:00+00".into()),
        limit: Some(3),
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let batches: Vec<RecordBatch> = store
            .scan_range("audit", &range, Some(&snapshot), 100)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let ids: Vec<i64> =
            batches.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect();
        let Some(last) = batches.last().filter(|b| b.num_rows() > 0) else { break };
        let at = last.column(1).as_primitive::<TimestampMicrosecondType>().value(last.num_rows() - 1);
        let at = chrono::DateTime::from_timestamp_micros(at).unwrap().to_rfc3339();
        range.after = Some(vec![at, ids.last().unwrap().to_string()]);
        seen.extend(ids);
    }
    snapshot.release().await;
    assert_eq!(
        seen,
        (1..=8).collect::<Vec<_>>(),
        "every row before the bound once, in order, not the late one"
    );
    let now: Vec<RecordBatch> = store
        .scan_range(
            "audit",
            &KeyRange { time: "at".into(), keys: vec!["id".into()], ..Default::default() },
            None,
            100,
        )
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        now[0].column(0).as_primitive::<Int64Type>().value(0),
        11,
        "outside the snapshot the late row shows"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_streams_its_own_columns_in_its_order_and_snapshot() {
    let pg = migrate_testkit::pg_database().await;
    let store = store(&pg).await;
    sqlx::raw_sql(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, amount numeric(12, 2));
         CREATE TABLE customers (id int PRIMARY KEY, name text);
         INSERT INTO customers VALUES (1, 'ada'), (2, 'grace');
         INSERT INTO orders SELECT i, 1 + i % 2, i * 1.25 FROM generate_series(1, 9) i;",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let snapshot = store.snapshot().await.unwrap();
    sqlx::raw_sql("INSERT INTO orders VALUES (10, 1, 99)").execute(store.pool()).await.unwrap();
    let query = "SELECT o.id, c.name, o.amount, o.amount * 2 AS doubled FROM orders o \
                 JOIN customers c ON c.id = o.customer WHERE o.id > 3 ORDER BY o.id DESC;";
    let batches: Vec<RecordBatch> =
        store.scan_query(query, Some(&snapshot), 2).await.unwrap().try_collect().await.unwrap();
    snapshot.release().await;
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "name", "amount", "doubled"]);
    assert_eq!(schema.field(2).data_type(), &DataType::Decimal128(12, 2), "typmod kept");
    let ids: Vec<i64> =
        batches.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect();
    assert_eq!(
        ids,
        [9, 8, 7, 6, 5, 4],
        "the query's filter and order, not the row written after the snapshot"
    );
    assert!(batches.iter().all(|b| b.num_rows() <= 2));

    let bad =
        store.scan_query("SELECT nope FROM orders", None, 10).await.err().expect("an unknown column fails");
    assert!(bad.to_string().contains("nope"), "{bad}");
}
