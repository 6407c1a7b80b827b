//! Helpers for stores' tests (feature `testing`): record batches from named columns, and a
//! source that fails midway, as a killed export or a lost connection would.

use crate::error::{CoreError, Result};
use crate::table::{BatchStream, TableSource};
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use std::sync::Arc;

/// A batch from `(name, column)` pairs, every field nullable.
pub fn batch_of(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols.into_iter().map(|(_, a)| a).collect())
        .expect("columns of equal length")
}

/// A source that yields one batch, then fails with `message`.
pub struct FailsMidway {
    batch: RecordBatch,
    message: &'static str,
}

impl FailsMidway {
    /// Yields `batch`, then the error `message`.
    pub fn new(batch: RecordBatch, message: &'static str) -> Self {
        Self { batch, message }
    }
}

#[async_trait]
impl TableSource for FailsMidway {
    fn describe(&self) -> String {
        "failing".into()
    }

    async fn schema(&self, _: &str) -> Result<SchemaRef> {
        Ok(self.batch.schema())
    }

    async fn row_count(&self, _: &str) -> Result<u64> {
        Ok(self.batch.num_rows() as u64)
    }

    async fn scan(&self, _: &str, _: usize) -> Result<BatchStream> {
        let err = CoreError::Store { store: "failing".into(), source: self.message.into() };
        Ok(Box::pin(futures::stream::iter(vec![Ok(self.batch.clone()), Err(err)])))
    }
}

/// What a store under the conformance suite can do, where stores legitimately differ.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkCapabilities {
    /// The name a load's staging table has, given the table's (`_migrate_staging_t`), when the
    /// store stages loads in a table of its own: the suite checks none is left behind.
    pub staging: Option<fn(&str) -> String>,
    /// The store replaces whole tables only (a Parquet file): append must be refused.
    pub no_append: bool,
    /// Columns of [`common_types`] the store cannot hold without loss (ClickHouse 18.16 has no
    /// sub-second timestamps): the round trip asserts that the load is refused before anything
    /// is written, naming each of them, and then round-trips the other columns.
    pub refused: &'static [&'static str],
}

/// The table every scenario of the suite loads: every common scalar type, with nulls.
pub fn common_types(rows: &[i64]) -> RecordBatch {
    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray,
        TimestampMicrosecondArray,
    };
    let n = |i: &i64| if i % 5 == 4 { None } else { Some(*i) };
    let decimal =
        Decimal128Array::from(rows.iter().map(|i| n(i).map(|v| v as i128 * 1001)).collect::<Vec<_>>())
            .with_precision_and_scale(18, 3)
            .expect("valid precision");
    batch_of(vec![
        ("id", Arc::new(Int64Array::from(rows.to_vec())) as ArrayRef),
        (
            "small",
            Arc::new(Int32Array::from(rows.iter().map(|i| n(i).map(|v| v as i32 - 7)).collect::<Vec<_>>())),
        ),
        (
            "price",
            Arc::new(Float64Array::from(
                rows.iter().map(|i| n(i).map(|v| v as f64 * 0.25)).collect::<Vec<_>>(),
            )),
        ),
        ("amount", Arc::new(decimal)),
        (
            "flag",
            Arc::new(BooleanArray::from(rows.iter().map(|i| n(i).map(|v| v % 2 == 0)).collect::<Vec<_>>())),
        ),
        (
            "name",
            Arc::new(StringArray::from(
                rows.iter().map(|i| n(i).map(|v| format!("ünïcødé {v}"))).collect::<Vec<_>>(),
            )),
        ),
        (
            "day",
            Arc::new(Date32Array::from(
                rows.iter().map(|i| n(i).map(|v| 19_000 + v as i32)).collect::<Vec<_>>(),
            )),
        ),
        (
            "at",
            Arc::new(TimestampMicrosecondArray::from(
                rows.iter().map(|i| n(i).map(|v| 1_700_000_000_000_000 + v * 1_000_001)).collect::<Vec<_>>(),
            )),
        ),
    ])
}

/// ONE conformance suite for every table store that loads tables and reads them back: the
/// in-memory twin, Parquet, SQLite, PostgreSQL (and each store to come). Each scenario uses
/// tables of its own named `<prefix>_…`, so a suite can share a database with other tests.
///
/// - common types round-trip with equal content fingerprints;
/// - replace, append and fail, and a rerun of replace that duplicates nothing;
/// - a source failing midway, and a load dropped without commit, leave the previous table as
///   it was and no staging table behind;
/// - a batch whose schema differs from the load's is refused;
/// - a missing table is reported as such.
pub async fn sink_conformance<S>(store: &S, prefix: &str, caps: SinkCapabilities)
where
    S: crate::TableSink + crate::TableReadBack,
{
    round_trip(store, &format!("{prefix}_round_trip"), caps).await;
    modes_and_rerun(store, &format!("{prefix}_modes"), caps).await;
    failures_keep_the_previous_table(store, &format!("{prefix}_failures"), caps).await;
    schema_mismatch_is_refused(store, &format!("{prefix}_schema"), caps).await;
    missing_table(store, &format!("{prefix}_missing")).await;
}

async fn load(
    store: &dyn crate::TableSink,
    table: &str,
    batch: RecordBatch,
    mode: crate::IfExists,
) -> Result<u64> {
    let source = crate::MemoryTables::new();
    source.insert(table, batch.schema(), vec![batch])?;
    crate::copy_table(&source, store, table, 3, mode).await
}

async fn fingerprint_of<S: crate::TableReadBack + ?Sized>(
    store: &S,
    table: &str,
    schema: SchemaRef,
) -> crate::Fingerprint {
    let batches = store.scan_as(table, schema, 4).await.unwrap_or_else(|e| panic!("{table} reads back: {e}"));
    crate::fingerprint_stream(batches).await.unwrap_or_else(|e| panic!("{table} fingerprints: {e}"))
}

/// [`common_types`] without the columns the store refuses.
pub fn storable_types(rows: &[i64], caps: SinkCapabilities) -> RecordBatch {
    let all = common_types(rows);
    let keep: Vec<usize> = (0..all.num_columns())
        .filter(|i| !caps.refused.contains(&all.schema().field(*i).name().as_str()))
        .collect();
    all.project(&keep).expect("columns of the batch")
}

async fn round_trip<S: crate::TableSink + crate::TableReadBack>(
    store: &S,
    table: &str,
    caps: SinkCapabilities,
) {
    if !caps.refused.is_empty() {
        let all = common_types(&[1, 2]);
        let refused = store.begin(table, all.schema(), crate::IfExists::Replace).await;
        let message = match refused {
            Ok(load) => {
                let _ = load.abort().await;
                panic!("{table}: the store should refuse {:?} before writing", caps.refused)
            }
            Err(e) => e.to_string(),
        };
        for column in caps.refused {
            assert!(message.contains(column), "{table}: the refusal names {column}: {message}");
        }
        assert!(!store.exists(table).await.unwrap(), "{table}: nothing written by a refused load");
    }
    let data = storable_types(&(0..10).collect::<Vec<_>>(), caps);
    let written = load(store, table, data.clone(), crate::IfExists::Replace).await;
    assert_eq!(written.unwrap_or_else(|e| panic!("{table} loads: {e}")), 10);
    assert!(store.exists(table).await.unwrap(), "{table} exists after its load");
    assert_eq!(store.count_rows(table).await.unwrap(), 10);
    let expected = crate::Fingerprint::of([&data]).unwrap();
    assert_eq!(
        fingerprint_of(store, table, data.schema()).await,
        expected,
        "{table}: content equal after the round trip"
    );
}

async fn modes_and_rerun<S: crate::TableSink + crate::TableReadBack>(
    store: &S,
    table: &str,
    caps: SinkCapabilities,
) {
    use crate::IfExists::{Append, Fail, Replace};
    let first = storable_types(&[1, 2, 3], caps);
    load(store, table, first.clone(), Replace).await.unwrap();
    load(store, table, first.clone(), Replace).await.unwrap();
    assert_eq!(store.count_rows(table).await.unwrap(), 3, "{table}: a rerun of replace duplicates nothing");
    let appended = load(store, table, storable_types(&[4, 5], caps), Append).await;
    let rows = if caps.no_append {
        assert!(appended.is_err(), "{table}: append is refused by a store that cannot append");
        vec![1, 2, 3]
    } else {
        appended.unwrap_or_else(|e| panic!("{table} appends: {e}"));
        vec![1, 2, 3, 4, 5]
    };
    assert_eq!(store.count_rows(table).await.unwrap(), rows.len() as u64, "{table}: rows after append");
    let expected = crate::Fingerprint::of([&storable_types(&rows, caps)]).unwrap();
    assert_eq!(fingerprint_of(store, table, first.schema()).await, expected);
    let refused = load(store, table, first, Fail).await;
    assert!(matches!(refused, Err(CoreError::TableExists { .. })), "{table}: fail mode refuses: {refused:?}");
    assert_eq!(
        store.count_rows(table).await.unwrap(),
        rows.len() as u64,
        "{table}: untouched by the refused load"
    );
}

async fn failures_keep_the_previous_table<S: crate::TableSink + crate::TableReadBack>(
    store: &S,
    table: &str,
    caps: SinkCapabilities,
) {
    let before = storable_types(&[1, 2, 3], caps);
    load(store, table, before.clone(), crate::IfExists::Replace).await.unwrap();
    let expected = fingerprint_of(store, table, before.schema()).await;
    let no_staging_left = || async {
        if let Some(staging) = caps.staging {
            let name = staging(table);
            assert!(!store.exists(&name).await.unwrap(), "{table}: staging table {name} left behind");
        }
    };

    let failing = FailsMidway::new(storable_types(&[7, 8, 9], caps), "connection lost");
    let err = crate::copy_table(&failing, store, table, 2, crate::IfExists::Replace).await;
    assert!(err.is_err(), "{table}: a failing source fails the load");
    assert_eq!(
        fingerprint_of(store, table, before.schema()).await,
        expected,
        "{table}: previous table intact"
    );
    no_staging_left().await;

    let mut dropped = store.begin(table, before.schema(), crate::IfExists::Replace).await.unwrap();
    dropped.write(storable_types(&[7, 8, 9], caps)).await.unwrap();
    dropped.abort().await.unwrap();
    assert_eq!(
        fingerprint_of(store, table, before.schema()).await,
        expected,
        "{table}: aborted load left no trace"
    );
    no_staging_left().await;
}

async fn schema_mismatch_is_refused<S: crate::TableSink + crate::TableReadBack>(
    store: &S,
    table: &str,
    caps: SinkCapabilities,
) {
    let data = storable_types(&[1, 2], caps);
    let mut pending = store.begin(table, data.schema(), crate::IfExists::Replace).await.unwrap();
    let other = batch_of(vec![("id", Arc::new(arrow::array::StringArray::from(vec!["x"])) as ArrayRef)]);
    let written = pending.write(other).await;
    let outcome = match written {
        Ok(()) => pending.commit().await.map(|_| ()),
        Err(e) => {
            let _ = pending.abort().await;
            Err(e)
        }
    };
    assert!(outcome.is_err(), "{table}: a batch of another schema is refused");
    assert!(!store.exists(table).await.unwrap(), "{table}: nothing half-written");
}

async fn missing_table<S: crate::TableSink + crate::TableReadBack>(store: &S, table: &str) {
    assert!(!store.exists(table).await.unwrap());
    let err = store.count_rows(table).await;
    assert!(matches!(err, Err(CoreError::TableNotFound { .. })), "{table}: {err:?}");
}

/// The source half of the conformance suite, for stores that are read from (DuckDB, and the
/// sinks' own scans): `table` holds exactly `expected`'s rows. Its schema names the same
/// columns, its batches have the schema's types, its row count and content fingerprint match, and a table that does not exist is
/// reported as such.
pub async fn source_conformance(source: &dyn TableSource, table: &str, expected: &RecordBatch) {
    let schema = source.schema(table).await.unwrap_or_else(|e| panic!("{table}: schema: {e}"));
    let names = |s: &Schema| s.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>();
    assert_eq!(names(&schema), names(&expected.schema()), "{table}: columns");
    assert_eq!(source.row_count(table).await.unwrap(), expected.num_rows() as u64, "{table}: rows");
    let types = |s: &Schema| s.fields().iter().map(|f| f.data_type().clone()).collect::<Vec<_>>();
    let mut scanned = source.scan(table, 3).await.unwrap_or_else(|e| panic!("{table}: scan: {e}"));
    use futures::TryStreamExt;
    while let Some(batch) = scanned.try_next().await.unwrap_or_else(|e| panic!("{table}: scan: {e}")) {
        assert_eq!(
            types(&batch.schema()),
            types(&schema),
            "{table}: batches have the types schema() announced"
        );
    }
    for batch_size in [1, 4, 10_000] {
        let batches = source.scan(table, batch_size).await.unwrap_or_else(|e| panic!("{table}: scan: {e}"));
        let fp = crate::fingerprint_stream(batches).await.unwrap_or_else(|e| panic!("{table}: {e}"));
        assert_eq!(
            fp,
            crate::Fingerprint::of([expected]).unwrap(),
            "{table}: content, batches of {batch_size}"
        );
    }
    let missing = source.row_count("no_such_table_anywhere").await;
    assert!(matches!(missing, Err(CoreError::TableNotFound { .. })), "a missing table: {missing:?}");
}
