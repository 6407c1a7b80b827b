//! store-clickhouse against the real engines: ClickHouse 18.16 and the modern engine (26.x),
//! each test body run on both ([`on_every_clickhouse`]). What an engine lacks is asserted to be
//! reported, never skipped.

use arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use futures::TryStreamExt;
use migrate_core::testing::{SinkCapabilities, batch_of, common_types, sink_conformance, source_conformance};
use migrate_core::{Fingerprint, IfExists, MemoryTables, TableHints, TableReadBack, copy_table};
use migrate_testkit::{Engine, TestClickHouse, on_every_clickhouse};
use std::collections::BTreeMap;
use std::sync::Arc;
use store_clickhouse::{ChError, ClickHouseConfig, ClickHouseStore, staging_name};

fn config(db: &TestClickHouse) -> ClickHouseConfig {
    ClickHouseConfig::parse(&db.url).unwrap().with_database(&db.database)
}

async fn store(db: &TestClickHouse) -> ClickHouseStore {
    ClickHouseStore::connect(config(db)).await.unwrap_or_else(|e| panic!("{}: {e}", db.engine))
}

/// 18.16 has no DateTime64: the suite's microsecond timestamps must be refused there.
fn refused_on(engine: Engine) -> &'static [&'static str] {
    match engine {
        Engine::Legacy => &["at"],
        Engine::Modern => &[],
    }
}

async fn load(
    store: &ClickHouseStore,
    table: &str,
    batch: RecordBatch,
    mode: IfExists,
) -> migrate_core::Result<u64> {
    let source = MemoryTables::new();
    source.insert(table, batch.schema(), vec![batch])?;
    copy_table(&source, store, table, 1000, mode).await
}

async fn fingerprint(
    store: &ClickHouseStore,
    table: &str,
    schema: arrow::datatypes::SchemaRef,
) -> Fingerprint {
    migrate_core::fingerprint_stream(store.scan_as(table, schema, 7000).await.unwrap()).await.unwrap()
}

#[tokio::test]
async fn passes_the_conformance_suite_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        let caps = SinkCapabilities {
            staging: Some(staging_name),
            no_append: false,
            refused: refused_on(db.engine),
        };
        assert_eq!(
            store.server().capabilities().has_type("DateTime64"),
            caps.refused.is_empty(),
            "{}: DateTime64 is probed as the suite expects",
            db.engine
        );
        sink_conformance(&store, "ch", caps).await;
    })
    .await;
}

#[tokio::test]
async fn reads_tables_as_a_source_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        // Columns whose ClickHouse type reads back as the same Arrow type on both engines.
        let data = common_types(&(0..25).collect::<Vec<_>>());
        let data = data.project(&[0, 1, 2, 3, 5, 6]).unwrap();
        load(&store, "src", data.clone(), IfExists::Replace).await.unwrap();
        source_conformance(&store, "src", &data).await;
    })
    .await;
}

#[tokio::test]
async fn a_million_rows_go_in_and_come_back_equal_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        let rows = 1_000_000i64;
        let schema = common_types(&[0]).schema();
        // Days past 2149-06-06 (day 65535) do not fit 18.16's Date: leave `day` to the suite there.
        let left_out = |name: &str| {
            refused_on(db.engine).contains(&name) || (db.engine == Engine::Legacy && name == "day")
        };
        let keep: Vec<usize> =
            (0..schema.fields().len()).filter(|i| !left_out(schema.field(*i).name())).collect();
        let batches: Vec<RecordBatch> = (0..rows)
            .step_by(50_000)
            .map(|start| common_types(&(start..start + 50_000).collect::<Vec<_>>()).project(&keep).unwrap())
            .collect();
        let expected = Fingerprint::of(&batches).unwrap();
        let schema = batches[0].schema();
        let source = MemoryTables::new();
        source.insert("big", schema.clone(), batches).unwrap();
        let written = copy_table(&source, &store, "big", 50_000, IfExists::Replace).await.unwrap();
        assert_eq!(written, rows as u64);
        assert_eq!(store.count_rows("big").await.unwrap(), rows as u64);
        assert_eq!(fingerprint(&store, "big", schema).await, expected, "{}: 1M rows equal", db.engine);
    })
    .await;
}

#[tokio::test]
async fn overrides_store_what_the_default_mapping_refuses() {
    on_every_clickhouse(|db| async move {
        let at: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_700_000_000_123_456, -1_000_001]).with_timezone("UTC"),
        );
        let data = batch_of(vec![("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef), ("at", at)]);
        let plain = store(&db).await;
        let refused = load(&plain, "ts", data.clone(), IfExists::Replace).await;
        match db.engine {
            Engine::Legacy => {
                let e = refused.unwrap_err().to_string();
                assert!(e.contains("no DateTime64") && e.contains("Int64"), "{e}");
                assert!(!plain.exists("ts").await.unwrap());
            }
            Engine::Modern => assert_eq!(refused.unwrap(), 2),
        }
        let hints = TableHints {
            column_types: BTreeMap::from([("at".to_string(), "Int64".to_string())]),
            ..Default::default()
        };
        let with_override = plain.clone().with_hints(BTreeMap::from([("ts".to_string(), hints)]));
        load(&with_override, "ts", data.clone(), IfExists::Replace).await.unwrap();
        assert_eq!(fingerprint(&with_override, "ts", data.schema()).await, Fingerprint::of([&data]).unwrap());
    })
    .await;
}

#[tokio::test]
async fn values_a_column_cannot_hold_are_refused_and_the_table_kept() {
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        let day = |d: i32| batch_of(vec![("d", Arc::new(Date32Array::from(vec![d])) as ArrayRef)]);
        load(&store, "days", day(19_000), IfExists::Replace).await.unwrap();
        // 1900-01-01: before Date's first day on 18.16; Date32 holds it on the modern engine.
        let outcome = load(&store, "days", day(-25_567), IfExists::Replace).await;
        match db.engine {
            Engine::Legacy => {
                let e = outcome.unwrap_err().to_string();
                assert!(
                    e.contains("column d") && e.contains("outside Date") && e.contains("untouched"),
                    "{e}"
                );
                assert_eq!(
                    fingerprint(&store, "days", day(0).schema()).await,
                    Fingerprint::of([&day(19_000)]).unwrap()
                );
                assert!(!store.exists(&staging_name("days")).await.unwrap());
            }
            Engine::Modern => {
                outcome.unwrap();
                assert_eq!(
                    fingerprint(&store, "days", day(0).schema()).await,
                    Fingerprint::of([&day(-25_567)]).unwrap()
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn replace_keeps_the_engine_and_sorting_key_of_the_table() {
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        let data = batch_of(vec![
            ("id", Arc::new(Int64Array::from(vec![3, 1, 2])) as ArrayRef),
            ("name", Arc::new(StringArray::from(vec!["c", "a", "b"])) as ArrayRef),
        ]);
        store
            .server()
            .execute(format!(
                "CREATE TABLE {}.keep (id Int64, name String) ENGINE = ReplacingMergeTree ORDER BY id",
                db.database
            ))
            .await
            .unwrap();
        load(&store, "keep", data.clone(), IfExists::Replace).await.unwrap();
        let create =
            store.server().fetch_text(format!("SHOW CREATE TABLE {}.keep", db.database)).await.unwrap();
        assert!(create.contains("ReplacingMergeTree") && create.contains("ORDER BY id"), "{create}");
        assert_eq!(store.count_rows("keep").await.unwrap(), 3);
    })
    .await;
}

#[tokio::test]
async fn server_errors_carry_codes_and_advice_and_hide_the_password() {
    on_every_clickhouse(|db| async move {
        let wrong = config(&db).with_user("nobody_here").with_password("hunter2");
        let e = ClickHouseStore::connect(wrong).await.unwrap_err();
        let text = e.to_string();
        assert!(matches!(e.code(), Some(516 | 192 | 193)), "{}: {text}", db.engine);
        assert!(!e.is_retryable());
        assert!(
            text.contains("****") && !text.contains("hunter2") && text.contains("CLICKHOUSE_PASSWORD"),
            "{text}"
        );

        let e =
            ClickHouseStore::connect(config(&db).with_database("no_such_database_here")).await.unwrap_err();
        assert_eq!(e.code(), Some(81), "{e}");

        let store = store(&db).await;
        let e = store.server().execute("SELECT * FROM no_such_table_here").await.unwrap_err();
        assert_eq!(e.code(), Some(60), "{e}");
        let ChError::Server { error, .. } = &e else { panic!("{e:?}") };
        assert_eq!(error.name, "UNKNOWN_TABLE");
        let missing = store.count_rows("no_such_table_here").await;
        assert!(matches!(missing, Err(migrate_core::CoreError::TableNotFound { .. })), "{missing:?}");
    })
    .await;
}

#[tokio::test]
async fn capabilities_are_probed_once_and_differ_by_engine() {
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        let caps = store.server().capabilities();
        match db.engine {
            Engine::Legacy => {
                assert_eq!((caps.version.major, caps.version.minor), (18, 16));
                assert!(
                    !caps.ttl()
                        && !caps.exchange_tables()
                        && !caps.mutations_sync()
                        && !caps.has_type("DateTime64")
                );
                assert!(caps.input_formats.contains("RowBinary") && !caps.input_formats.contains("Parquet"));
            }
            Engine::Modern => {
                assert!(caps.version.at_least(24, 1), "{}", caps.version);
                assert!(
                    caps.ttl()
                        && caps.exchange_tables()
                        && caps.mutations_sync()
                        && caps.has_type("DateTime64")
                );
                assert!(
                    caps.has_setting("insert_deduplication_token") && caps.input_formats.contains("Parquet")
                );
                assert!(caps.cluster_names().is_empty(), "the modern engine has no clusters");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn mutations_are_waited_for_and_failures_surface() {
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        let server = store.server();
        let data = batch_of(vec![
            ("id", Arc::new(Int64Array::from((0..100).collect::<Vec<_>>())) as ArrayRef),
            ("v", Arc::new(Int64Array::from((0..100).collect::<Vec<_>>())) as ArrayRef),
        ]);
        server
            .execute(format!(
                "CREATE TABLE {}.m (id Int64, v Int64) ENGINE = MergeTree ORDER BY id",
                db.database
            ))
            .await
            .unwrap();
        load(&store, "m", data, IfExists::Append).await.unwrap();
        server.mutate("m", "DELETE WHERE id >= 40", std::time::Duration::from_secs(30)).await.unwrap();
        assert_eq!(
            store.count_rows("m").await.unwrap(),
            40,
            "{}: the delete is done when mutate returns",
            db.engine
        );
        let failing =
            server.mutate("m", "UPDATE v = throwIf(id > 5) WHERE 1", std::time::Duration::from_secs(3)).await;
        let e = failing.unwrap_err().to_string();
        assert!(
            e.contains("throwIf") || e.contains("not done after 3s") || e.contains("Code: 395"),
            "{}: {e}",
            db.engine
        );
        // Leave no stuck mutation behind for the database drop.
        let _ =
            server.execute(format!("KILL MUTATION WHERE database = '{}' AND table = 'm'", db.database)).await;
    })
    .await;
}

#[tokio::test]
async fn scans_stream_in_batches_of_the_asked_size() {
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        let data = common_types(&(0..1000).collect::<Vec<_>>()).project(&[0, 5]).unwrap();
        load(&store, "batches", data.clone(), IfExists::Replace).await.unwrap();
        let sizes: Vec<usize> = store
            .scan_as("batches", data.schema(), 300)
            .await
            .unwrap()
            .map_ok(|b| b.num_rows())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 1000);
        assert!(sizes.iter().all(|n| *n <= 300), "{sizes:?}");
    })
    .await;
}

#[tokio::test]
async fn lists_and_dictionaries_round_trip_on_every_engine() {
    use arrow::array::{DictionaryArray, ListArray};
    use arrow::datatypes::Int32Type;
    on_every_clickhouse(|db| async move {
        let store = store(&db).await;
        let tags: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None, Some(3)]),
            Some(vec![]),
            Some(vec![Some(-7)]),
        ]));
        let kind: ArrayRef = Arc::new(DictionaryArray::<Int32Type>::from_iter([Some("a"), None, Some("a")]));
        let mut data =
            batch_of(vec![("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef), ("tags", tags)]);
        // A NULL list has no ClickHouse form: the field says it never is one.
        let schema = arrow::datatypes::Schema::new(vec![
            data.schema().field(0).clone(),
            data.schema().field(1).clone().with_nullable(false),
            arrow::datatypes::Field::new("kind", kind.data_type().clone(), true),
        ]);
        data = RecordBatch::try_new(
            Arc::new(schema),
            vec![data.column(0).clone(), data.column(1).clone(), kind],
        )
        .unwrap();
        load(&store, "nested", data.clone(), IfExists::Replace).await.unwrap();
        let create =
            store.server().fetch_text(format!("SHOW CREATE TABLE {}.nested", db.database)).await.unwrap();
        let low_cardinality = create.contains("LowCardinality");
        assert_eq!(low_cardinality, db.engine == Engine::Modern, "{create}");
        let expected = Fingerprint::of([&data]).unwrap();
        assert_eq!(fingerprint(&store, "nested", data.schema()).await, expected, "{}", db.engine);
    })
    .await;
}
