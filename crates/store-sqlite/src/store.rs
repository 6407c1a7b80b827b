//! The SQLite database file: table sink (one transaction per table) and table source.

use crate::convert::{Bindable, RawColumn, to_bindable};
use crate::error::{Result, SqliteError};
use crate::types::{ColumnPlan, plan_column};
use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use migrate_core::convert::{PlanError, ValueColumn, plan_columns, read_back_type};
use migrate_core::sql::{column_list, create_index_statements, quote_ident};
use migrate_core::{
    BatchStream, CoreError, IfExists, TableHints, TableLoad, TableSink, TableSource, blocking_batches,
};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bound parameters per INSERT statement stay under SQLite's default limit of 32766.
const MAX_PARAMS: usize = 32_000;
/// Rows per multi-row INSERT (fewer when the table is wide).
const MAX_ROWS_PER_INSERT: usize = 256;

/// A SQLite database file as a migration target and, for verification, a source.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    hints: Arc<BTreeMap<String, TableHints>>,
}

impl SqliteStore {
    /// The database at `path` (created on the first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), hints: Arc::new(BTreeMap::new()) }
    }

    /// Per-table keys, indexes and column type overrides.
    pub fn with_hints(mut self, hints: BTreeMap<String, TableHints>) -> Self {
        self.hints = Arc::new(hints);
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn hints(&self, table: &str) -> TableHints {
        self.hints.get(table).cloned().unwrap_or_default()
    }

    /// How `table` would be stored, or every column that cannot be stored without loss.
    /// Pure: call it for every table before writing anything.
    pub fn plan(&self, table: &str, schema: &Schema) -> Result<Vec<ColumnPlan>> {
        plan_columns(schema, &self.hints(table), plan_column).map_err(|e| match e {
            PlanError::UnknownColumn { hint, column } => {
                SqliteError::UnknownColumn { table: table.into(), hint, column }
            }
            PlanError::Unsupported(columns) => SqliteError::Unsupported { table: table.into(), columns },
        })
    }

    fn open(&self, flags: OpenFlags) -> Result<Connection> {
        Connection::open_with_flags(&self.path, flags)
            .map_err(|e| SqliteError::Open { path: self.path.clone(), detail: e.to_string() })
    }

    /// Whether `table` exists.
    pub fn table_exists(&self, table: &str) -> Result<bool> {
        if !self.path.exists() {
            return Ok(false);
        }
        let conn = self.open(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        table_exists(&conn, table).map_err(|e| self.sql_err(table, e))
    }

    /// The declared type of each column of `table`, in order.
    pub fn declared_columns(&self, table: &str) -> Result<Vec<(String, String)>> {
        let conn = self.open(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        declared_columns(&conn, table).map_err(|e| self.sql_err(table, e))
    }

    fn sql_err(&self, table: &str, e: rusqlite::Error) -> SqliteError {
        SqliteError::Sql { path: self.path.clone(), table: table.to_string(), detail: e.to_string() }
    }

    /// Streams `table` as Arrow data of `expected` (normally the source's schema), so that
    /// equal data fingerprints equal. Dictionaries come back as their value type.
    pub fn scan_as(&self, table: &str, expected: SchemaRef, batch_size: usize) -> Result<BatchStream> {
        if !self.table_exists(table)? {
            return Err(SqliteError::NotFound { table: table.into(), path: self.path.clone() });
        }
        let plans = self.plan(table, &expected)?;
        let this = self.clone();
        let table = table.to_string();
        Ok(blocking_batches(move |out| {
            let conn = this.open(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let cols: Vec<String> = plans.iter().map(|p| quote_ident(&p.name)).collect();
            let sql = format!("SELECT {} FROM {}", cols.join(", "), quote_ident(&table));
            let mut stmt = conn.prepare(&sql).map_err(|e| this.sql_err(&table, e))?;
            let mut rows = stmt.query([]).map_err(|e| this.sql_err(&table, e))?;
            let out_schema = Arc::new(Schema::new(
                expected
                    .fields()
                    .iter()
                    .map(|f| Field::new(f.name(), read_back_type(f.data_type()), true))
                    .collect::<Vec<_>>(),
            ));
            let new_raw = || plans.iter().map(|p| RawColumn::for_storage(p.storage)).collect::<Vec<_>>();
            let mut raw = new_raw();
            let mut n = 0usize;
            let flush = |raw: Vec<RawColumn>| -> Result<RecordBatch> {
                let columns = raw
                    .into_iter()
                    .zip(&plans)
                    .zip(expected.fields())
                    .map(|((r, p), f)| {
                        r.finish(p.storage, f.data_type()).map_err(|e| SqliteError::Decode {
                            table: table.clone(),
                            column: p.name.clone(),
                            detail: e.to_string(),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                RecordBatch::try_new(out_schema.clone(), columns).map_err(|e| SqliteError::Decode {
                    table: table.clone(),
                    column: "*".into(),
                    detail: e.to_string(),
                })
            };
            while let Some(row) = rows.next().map_err(|e| this.sql_err(&table, e))? {
                for (i, col) in raw.iter_mut().enumerate() {
                    let v = row.get_ref(i).map_err(|e| this.sql_err(&table, e))?;
                    col.push(v).map_err(|detail| SqliteError::Decode {
                        table: table.clone(),
                        column: plans[i].name.clone(),
                        detail,
                    })?;
                }
                n += 1;
                if n == batch_size.max(1) {
                    if !out.send(flush(std::mem::replace(&mut raw, new_raw()))?) {
                        return Ok(());
                    }
                    n = 0;
                }
            }
            if n > 0 {
                out.send(flush(raw)?);
            }
            Ok(())
        }))
    }
}

fn table_exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [table], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
}

fn declared_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({})", quote_ident(table)))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    rows.collect()
}

/// The Arrow type a declared SQLite type reads as when no source schema is known.
fn arrow_type_for_declared(declared: &str) -> DataType {
    let d = declared.to_ascii_uppercase();
    if d == "BOOLEAN" {
        DataType::Boolean
    } else if d.contains("INT") {
        DataType::Int64
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        DataType::Float64
    } else if d.contains("BLOB") {
        DataType::Binary
    } else {
        DataType::Utf8
    }
}

#[async_trait]
impl TableSource for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    async fn schema(&self, table: &str) -> migrate_core::Result<SchemaRef> {
        if !self.table_exists(table)? {
            return Err(SqliteError::NotFound { table: table.into(), path: self.path.clone() }.into());
        }
        let fields: Vec<Field> = self
            .declared_columns(table)?
            .into_iter()
            .map(|(name, declared)| Field::new(name, arrow_type_for_declared(&declared), true))
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }

    async fn row_count(&self, table: &str) -> migrate_core::Result<u64> {
        if !self.table_exists(table)? {
            return Err(SqliteError::NotFound { table: table.into(), path: self.path.clone() }.into());
        }
        let conn = self.open(OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {}", quote_ident(table)), [], |r| r.get(0))
            .map_err(|e| self.sql_err(table, e))?;
        Ok(n as u64)
    }

    async fn scan(&self, table: &str, batch_size: usize) -> migrate_core::Result<BatchStream> {
        let schema = TableSource::schema(self, table).await?;
        Ok(self.scan_as(table, schema, batch_size)?)
    }
}

#[async_trait]
impl TableSink for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    async fn begin(
        &self,
        table: &str,
        schema: SchemaRef,
        if_exists: IfExists,
    ) -> migrate_core::Result<Box<dyn TableLoad>> {
        let plans = self.plan(table, &schema)?;
        let (batches_tx, batches_rx) = sync_channel::<RecordBatch>(2);
        let (decision_tx, decision_rx) = sync_channel::<bool>(1);
        let job = LoadJob {
            store: self.clone(),
            table: table.to_string(),
            plans,
            if_exists,
            hints: self.hints(table),
        };
        let thread = std::thread::Builder::new()
            .name(format!("sqlite-load-{table}"))
            .spawn(move || job.run(batches_rx, decision_rx))
            .map_err(|e| SqliteError::Open { path: self.path.clone(), detail: e.to_string() })?;
        Ok(Box::new(SqliteLoad { batches: Some(batches_tx), decision: decision_tx, thread: Some(thread) }))
    }
}

/// A load in progress: batches go to the writer thread, which holds one transaction open.
struct SqliteLoad {
    batches: Option<SyncSender<RecordBatch>>,
    decision: SyncSender<bool>,
    thread: Option<JoinHandle<Result<u64>>>,
}

impl SqliteLoad {
    fn finish(&mut self, commit: bool) -> Result<u64> {
        self.batches.take();
        let _ = self.decision.send(commit);
        match self.thread.take() {
            Some(t) => t.join().unwrap_or(Err(SqliteError::Panicked)),
            None => Err(SqliteError::Panicked),
        }
    }
}

impl Drop for SqliteLoad {
    /// A load dropped without commit (a cancelled task) rolls back like an abort.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.finish(false);
        }
    }
}

#[async_trait]
impl TableLoad for SqliteLoad {
    async fn write(&mut self, batch: RecordBatch) -> migrate_core::Result<()> {
        let sent = self.batches.as_ref().is_some_and(|tx| tx.send(batch).is_ok());
        if sent {
            return Ok(());
        }
        // The writer stopped early: its error says why.
        Err(match self.finish(false) {
            Err(e) => e.into(),
            Ok(_) => SqliteError::Panicked.into(),
        })
    }

    async fn commit(self: Box<Self>) -> migrate_core::Result<u64> {
        Ok(finish_off_thread(self, true).await?)
    }

    async fn abort(self: Box<Self>) -> migrate_core::Result<()> {
        match finish_off_thread(self, false).await {
            Ok(_) | Err(SqliteError::Aborted) => Ok(()),
            Err(SqliteError::Value { .. }) | Err(SqliteError::Sql { .. }) => Ok(()), // already rolled back
            Err(e) => Err(e.into()),
        }
    }
}

/// Waits for the writer thread without blocking the async runtime.
async fn finish_off_thread(mut load: Box<SqliteLoad>, commit: bool) -> Result<u64> {
    tokio::task::spawn_blocking(move || load.finish(commit)).await.unwrap_or(Err(SqliteError::Panicked))
}

/// The writer thread's work for one table.
struct LoadJob {
    store: SqliteStore,
    table: String,
    plans: Vec<ColumnPlan>,
    if_exists: IfExists,
    hints: TableHints,
}

impl LoadJob {
    fn run(self, batches: Receiver<RecordBatch>, decision: Receiver<bool>) -> Result<u64> {
        let mut conn = self.store.open(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        let err = |e: rusqlite::Error| self.store.sql_err(&self.table, e);
        // Bulk-load settings: the whole load is one transaction, so a crash rolls it back.
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;")
            .map_err(err)?;
        let exists = table_exists(&conn, &self.table).map_err(err)?;
        if exists && self.if_exists == IfExists::Fail {
            return Err(SqliteError::Exists { table: self.table.clone(), path: self.store.path.clone() });
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let staging = format!("_migrate_staging_{}", self.table);
        let columns: Vec<String> =
            self.plans.iter().map(|p| format!("{} {}", quote_ident(&p.name), p.declared)).collect();
        tx.execute_batch(&format!(
            "DROP TABLE IF EXISTS {s}; CREATE TABLE {s} ({});",
            columns.join(", "),
            s = quote_ident(&staging)
        ))
        .map_err(err)?;
        let rows = self.insert_all(&tx, &staging, batches)?;
        // Everything is staged: wait for commit or abort.
        if !decision.recv().unwrap_or(false) {
            return Err(SqliteError::Aborted); // dropping `tx` rolls back
        }
        let (s, t) = (quote_ident(&staging), quote_ident(&self.table));
        if exists && self.if_exists == IfExists::Append {
            tx.execute_batch(&format!("INSERT INTO {t} SELECT * FROM {s}; DROP TABLE {s};")).map_err(err)?;
        } else {
            tx.execute_batch(&format!("DROP TABLE IF EXISTS {t}; ALTER TABLE {s} RENAME TO {t};"))
                .map_err(err)?;
            for statement in index_statements(&self.table, &self.hints) {
                tx.execute_batch(&statement).map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(rows)
    }

    fn insert_all(
        &self,
        tx: &rusqlite::Transaction<'_>,
        staging: &str,
        batches: Receiver<RecordBatch>,
    ) -> Result<u64> {
        let err = |e: rusqlite::Error| self.store.sql_err(&self.table, e);
        let ncols = self.plans.len().max(1);
        let per_insert = (MAX_PARAMS / ncols).clamp(1, MAX_ROWS_PER_INSERT);
        let insert_sql = |rows: usize| {
            let one = format!("({})", vec!["?"; ncols].join(","));
            format!("INSERT INTO {} VALUES {}", quote_ident(staging), vec![one; rows].join(","))
        };
        let mut full = tx.prepare(&insert_sql(per_insert)).map_err(err)?;
        let mut total = 0u64;
        for batch in batches {
            // Every column of the batch is checked, so all the columns that need an override
            // are reported at once.
            let mut columns = Vec::with_capacity(self.plans.len());
            let mut problems = Vec::new();
            for (col, plan) in batch.columns().iter().zip(&self.plans) {
                match to_bindable(col, plan.storage) {
                    Ok(c) => columns.push(c),
                    Err(p) => {
                        problems.push(ValueColumn { column: plan.name.clone(), why: p.why, fix: p.fix })
                    }
                }
            }
            if !problems.is_empty() {
                return Err(SqliteError::Value { table: self.table.clone(), columns: problems });
            }
            let n = batch.num_rows();
            let mut row = 0;
            while row + per_insert <= n {
                bind_rows(&mut full, &columns, row, per_insert).map_err(err)?;
                full.raw_execute().map_err(err)?;
                row += per_insert;
            }
            if row < n {
                let mut rest = tx.prepare_cached(&insert_sql(n - row)).map_err(err)?;
                bind_rows(&mut rest, &columns, row, n - row).map_err(err)?;
                rest.raw_execute().map_err(err)?;
            }
            total += n as u64;
        }
        Ok(total)
    }
}

fn bind_rows(
    stmt: &mut rusqlite::Statement<'_>,
    columns: &[Bindable],
    first: usize,
    rows: usize,
) -> rusqlite::Result<()> {
    let mut idx = 1;
    for row in first..first + rows {
        for col in columns {
            match col {
                Bindable::Null => stmt.raw_bind_parameter(idx, rusqlite::types::Null)?,
                Bindable::Integer(a) if a.is_valid(row) => stmt.raw_bind_parameter(idx, a.value(row))?,
                Bindable::Real(a) if a.is_valid(row) => stmt.raw_bind_parameter(idx, a.value(row))?,
                Bindable::Text(a) if a.is_valid(row) => stmt.raw_bind_parameter(idx, a.value(row))?,
                Bindable::Blob(a) if a.is_valid(row) => stmt.raw_bind_parameter(idx, a.value(row))?,
                _ => stmt.raw_bind_parameter(idx, rusqlite::types::Null)?,
            }
            idx += 1;
        }
    }
    Ok(())
}

/// `CREATE [UNIQUE] INDEX` statements for the configured key and indexes. SQLite cannot add a
/// primary key to an existing table; a unique index on the key columns enforces the same.
fn index_statements(table: &str, hints: &TableHints) -> Vec<String> {
    let mut out = Vec::new();
    if !hints.primary_key.is_empty() {
        out.push(format!(
            "CREATE UNIQUE INDEX {} ON {} ({})",
            quote_ident(&format!("pk_{table}")),
            quote_ident(table),
            column_list(&hints.primary_key)
        ));
    }
    out.extend(create_index_statements(table, &hints.indexes));
    out
}

impl From<SqliteError> for CoreError {
    fn from(e: SqliteError) -> Self {
        match e {
            SqliteError::NotFound { table, path } => {
                CoreError::TableNotFound { table, store: path.display().to_string() }
            }
            SqliteError::Exists { table, path } => {
                CoreError::TableExists { table, store: path.display().to_string() }
            }
            other => CoreError::Store { store: "sqlite".into(), source: Box::new(other) },
        }
    }
}

#[async_trait]
impl migrate_core::TableReadBack for SqliteStore {
    fn describe(&self) -> String {
        TableSource::describe(self)
    }

    async fn exists(&self, table: &str) -> migrate_core::Result<bool> {
        Ok(self.table_exists(table)?)
    }

    async fn count_rows(&self, table: &str) -> migrate_core::Result<u64> {
        TableSource::row_count(self, table).await
    }

    async fn scan_as(
        &self,
        table: &str,
        schema: SchemaRef,
        batch_size: usize,
    ) -> migrate_core::Result<BatchStream> {
        Ok(SqliteStore::scan_as(self, table, schema, batch_size)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_statements_for_keys_and_indexes() {
        let hints = TableHints {
            primary_key: vec!["symbol".into(), "ts".into()],
            indexes: vec![vec!["ts".into()]],
            column_types: Default::default(),
        };
        assert_eq!(
            index_statements("bars", &hints),
            vec![
                "CREATE UNIQUE INDEX \"pk_bars\" ON \"bars\" (\"symbol\", \"ts\")".to_string(),
                "CREATE INDEX \"idx_bars_ts\" ON \"bars\" (\"ts\")".to_string(),
            ]
        );
    }

    #[test]
    fn declared_types_read_back() {
        assert_eq!(arrow_type_for_declared("UBIGINT"), DataType::Int64);
        assert_eq!(arrow_type_for_declared("REAL"), DataType::Float64);
        assert_eq!(arrow_type_for_declared("TIMESTAMP"), DataType::Utf8);
        assert_eq!(arrow_type_for_declared("BOOLEAN"), DataType::Boolean);
    }
}
