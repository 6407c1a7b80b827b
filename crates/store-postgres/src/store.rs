//! PostgreSQL as a table sink (binary COPY into a staging table, swapped in one transaction)
//! and, for verification, a source (binary COPY out, decoded to the expected Arrow types).

use crate::columnwise::write_columnwise;
use crate::decode::{Raw, Reader};
use crate::encode::{HEADER, Prepared, TRAILER, check_numeric_fits, prepare};
use crate::error::{PgError, Result};
use crate::types::{ColumnPlan, plan_column};
use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use futures::TryStreamExt;
use migrate_core::convert::{PlanError, plan_columns, read_back_type};
use migrate_core::sql::{column_list, create_index_statements, quote_ident};
use migrate_core::{BatchStream, CoreError, IfExists, TableHints, TableLoad, TableSink};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgCopyIn, PgPool, PgPoolCopyExt, PgPoolOptions};
use sqlx::{AssertSqlSafe, Postgres};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes of encoded rows sent to the server at once: small enough that the server parses one
/// piece while the stream encodes the next.
const SEND_CHUNK: usize = 256 << 10;
/// Rows encoded at a time between checks of the send buffer.
const ROWS_PER_SLICE: usize = 2048;
/// Upper bound of concurrent COPY streams per load.
const MAX_COPY_STREAMS: usize = 8;

/// The default number of COPY streams: one per core, 2 to 4.
fn default_copy_streams() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

/// A PostgreSQL database as a migration target and, for verification, a source.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    label: String,
    hints: Arc<BTreeMap<String, TableHints>>,
    copy_streams: usize,
}

impl PostgresStore {
    /// Connects (the first connection is opened now, so a wrong host or password fails here).
    /// `label` names the database in messages and must not hold a password.
    pub async fn connect(options: PgConnectOptions, label: impl Into<String>) -> Result<Self> {
        let label = label.into();
        // One direct connection first: a refused connection or a wrong password is reported at
        // once and as itself, where a pool would retry until its timeout.
        let first = <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&options)
            .await
            .map_err(|e| PgError::Connect { target: label.clone(), detail: e.to_string() })?;
        let _ = sqlx::Connection::close(first).await;
        let copy_streams = default_copy_streams();
        let pool = PgPoolOptions::new()
            .max_connections((MAX_COPY_STREAMS + 2) as u32)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_lazy_with(options);
        Ok(Self { pool, label, hints: Arc::new(BTreeMap::new()), copy_streams })
    }

    /// Loads each table through `n` concurrent binary COPY streams (1 to 8; the default is one
    /// per core, 2 to 4): batches are encoded and sent in parallel.
    pub fn with_copy_streams(mut self, n: usize) -> Self {
        self.copy_streams = n.clamp(1, MAX_COPY_STREAMS);
        self
    }

    /// How many COPY streams a load uses.
    pub fn copy_streams(&self) -> usize {
        self.copy_streams
    }

    /// Per-table keys, indexes and column type overrides.
    pub fn with_hints(mut self, hints: BTreeMap<String, TableHints>) -> Self {
        self.hints = Arc::new(hints);
        self
    }

    /// The connection pool, for callers that run their own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The server's version string.
    pub async fn server_version(&self) -> Result<String> {
        sqlx::query_scalar("SHOW server_version").fetch_one(&self.pool).await.map_err(|e| self.sql_err("", e))
    }

    fn hints(&self, table: &str) -> TableHints {
        self.hints.get(table).cloned().unwrap_or_default()
    }

    fn sql_err(&self, table: &str, e: sqlx::Error) -> PgError {
        PgError::Sql { target: self.label.clone(), table: table.to_string(), detail: e.to_string() }
    }

    /// How `table` would be stored, or every column that cannot be stored without loss.
    pub fn plan(&self, table: &str, schema: &Schema) -> Result<Vec<ColumnPlan>> {
        plan_columns(schema, &self.hints(table).column_types, plan_column).map_err(|e| match e {
            PlanError::UnknownColumn(column) => PgError::UnknownColumn { table: table.into(), column },
            PlanError::Unsupported(columns) => PgError::Unsupported { table: table.into(), columns },
        })
    }

    /// Whether `table` exists in the search path.
    pub async fn table_exists(&self, table: &str) -> Result<bool> {
        let found: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(quote_ident(table))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.sql_err(table, e))?;
        Ok(found.is_some())
    }

    /// Exact row count.
    pub async fn row_count(&self, table: &str) -> Result<u64> {
        if !self.table_exists(table).await? {
            return Err(PgError::NotFound { table: table.into(), target: self.label.clone() });
        }
        let n: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", quote_ident(table))))
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.sql_err(table, e))?;
        Ok(n as u64)
    }

    /// Streams `table` as Arrow data of `expected` (normally the source's schema), so that equal
    /// data fingerprints equal. Dictionaries come back as their value type.
    pub async fn scan_as(&self, table: &str, expected: SchemaRef, batch_size: usize) -> Result<BatchStream> {
        if !self.table_exists(table).await? {
            return Err(PgError::NotFound { table: table.into(), target: self.label.clone() });
        }
        let plans = self.plan(table, &expected)?;
        let cols: Vec<String> = plans.iter().map(|p| quote_ident(&p.name)).collect();
        let sql = format!(
            "COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)",
            cols.join(", "),
            quote_ident(table)
        );
        let mut conn = self.pool.acquire().await.map_err(|e| self.sql_err(table, e))?;
        let out_schema = Arc::new(Schema::new(
            expected
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), read_back_type(f.data_type()), true))
                .collect::<Vec<_>>(),
        ));
        let (tx, rx) = tokio::sync::mpsc::channel::<migrate_core::Result<RecordBatch>>(2);
        let this = self.clone();
        let table = table.to_string();
        tokio::spawn(async move {
            let decoder = CopyDecoder::new(plans, expected, out_schema, batch_size.max(1));
            if !this.copy_out(&mut conn, &sql, &table, decoder, &tx).await {
                // A COPY left unfinished (the reader stopped early, or it failed) would confuse
                // the next query on this connection: close it rather than reuse it.
                conn.close_on_drop();
            }
        });
        Ok(Box::pin(futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
        )))
    }
}

impl PostgresStore {
    /// Runs `sql` (a `COPY … TO STDOUT (FORMAT binary)`) on `conn` and sends the decoded
    /// batches, or the error, to `tx`. `true` when the COPY ran to its end.
    async fn copy_out(
        &self,
        conn: &mut PoolConnection<Postgres>,
        sql: &str,
        table: &str,
        mut decoder: CopyDecoder,
        tx: &tokio::sync::mpsc::Sender<migrate_core::Result<RecordBatch>>,
    ) -> bool {
        let decode_err =
            |detail: String| -> CoreError { PgError::Decode { table: table.into(), detail }.into() };
        let mut chunks = match conn.copy_out_raw(sql).await {
            Ok(chunks) => chunks,
            Err(e) => {
                let _ = tx.send(Err(self.sql_err(table, e).into())).await;
                return false;
            }
        };
        loop {
            let chunk = match chunks.try_next().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Err(self.sql_err(table, e).into())).await;
                    return false;
                }
            };
            match decoder.feed(&chunk) {
                Ok(batches) => {
                    for b in batches {
                        if tx.send(Ok(b)).await.is_err() {
                            return false; // the reader went away
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(decode_err(e.to_string()))).await;
                    return false;
                }
            }
        }
        match decoder.finish() {
            Ok(Some(b)) => {
                let _ = tx.send(Ok(b)).await;
            }
            Ok(None) => {}
            Err(e) => {
                let _ = tx.send(Err(decode_err(e.to_string()))).await;
            }
        }
        true
    }
}

/// Turns the bytes of a binary COPY into record batches, across chunk boundaries.
struct CopyDecoder {
    plans: Vec<ColumnPlan>,
    expected: SchemaRef,
    out_schema: SchemaRef,
    batch_size: usize,
    pending: Vec<u8>,
    header_seen: bool,
    raw: Vec<Raw>,
    rows: usize,
}

impl CopyDecoder {
    fn new(plans: Vec<ColumnPlan>, expected: SchemaRef, out_schema: SchemaRef, batch_size: usize) -> Self {
        let raw = plans.iter().map(|p| Raw::new(&p.encoding)).collect();
        Self {
            plans,
            expected,
            out_schema,
            batch_size,
            pending: Vec::new(),
            header_seen: false,
            raw,
            rows: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<Vec<RecordBatch>, arrow::error::ArrowError> {
        self.pending.extend_from_slice(chunk);
        let mut done = Vec::new();
        let mut consumed = 0;
        if !self.header_seen {
            if self.pending.len() < HEADER.len() {
                return Ok(done);
            }
            if !self.pending.starts_with(&HEADER[..11]) {
                return Err(arrow::error::ArrowError::ParseError("not a binary COPY stream".into()));
            }
            let ext = u32::from_be_bytes(self.pending[15..19].try_into().unwrap_or_default()) as usize;
            if self.pending.len() < 19 + ext {
                return Ok(done);
            }
            consumed = 19 + ext;
            self.header_seen = true;
        }
        // One list of a tuple's fields (offset and length, None for NULL), reused for every tuple.
        let mut fields: Vec<Option<(usize, usize)>> = Vec::with_capacity(self.plans.len());
        loop {
            let mut r = Reader::new(&self.pending[consumed..]);
            let Ok(count) = r.i16() else { break };
            if count == -1 {
                consumed += 2;
                break;
            }
            // Parse the whole tuple before appending, so a tuple split across chunks waits.
            fields.clear();
            let mut complete = true;
            for _ in 0..count {
                match r.field() {
                    // Where the field sits in `pending`, so the list borrows nothing.
                    Ok(f) => fields.push(f.map(|f| (consumed + r.position() - f.len(), f.len()))),
                    Err(_) => {
                        complete = false;
                        break;
                    }
                }
            }
            if !complete {
                break;
            }
            if fields.len() != self.plans.len() {
                return Err(arrow::error::ArrowError::ParseError(format!(
                    "tuple has {} fields, expected {}",
                    fields.len(),
                    self.plans.len()
                )));
            }
            for ((raw, plan), field) in self.raw.iter_mut().zip(&self.plans).zip(fields.drain(..)) {
                let field = field.map(|(start, len)| &self.pending[start..start + len]);
                raw.push(field, &plan.encoding)?;
            }
            consumed += r.position();
            self.rows += 1;
            if self.rows == self.batch_size {
                done.push(self.flush()?);
            }
        }
        self.pending.drain(..consumed);
        Ok(done)
    }

    fn flush(&mut self) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
        let raw =
            std::mem::replace(&mut self.raw, self.plans.iter().map(|p| Raw::new(&p.encoding)).collect());
        self.rows = 0;
        let columns = raw
            .into_iter()
            .zip(&self.plans)
            .zip(self.expected.fields())
            .map(|((r, p), f)| r.finish(&p.encoding, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        RecordBatch::try_new(self.out_schema.clone(), columns)
    }

    fn finish(mut self) -> std::result::Result<Option<RecordBatch>, arrow::error::ArrowError> {
        if !self.pending.is_empty() {
            return Err(arrow::error::ArrowError::ParseError("the COPY stream ended mid-tuple".into()));
        }
        if self.rows == 0 { Ok(None) } else { self.flush().map(Some) }
    }
}

#[async_trait]
impl TableSink for PostgresStore {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn begin(
        &self,
        table: &str,
        schema: SchemaRef,
        if_exists: IfExists,
    ) -> migrate_core::Result<Box<dyn TableLoad>> {
        let plans = self.plan(table, &schema)?;
        let exists = self.table_exists(table).await?;
        if exists && if_exists == IfExists::Fail {
            return Err(CoreError::TableExists { table: table.into(), store: self.label.clone() });
        }
        let staging = format!("_migrate_staging_{table}");
        let columns: Vec<String> =
            plans.iter().map(|p| format!("{} {}", quote_ident(&p.name), p.sql_type)).collect();
        // A staging table left by a killed run is dropped first; the target is not touched.
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {s}; CREATE TABLE {s} ({});",
            columns.join(", "),
            s = quote_ident(&staging)
        )))
        .execute(&self.pool)
        .await
        .map_err(|e| self.sql_err(table, e))?;
        let plans = Arc::new(plans);
        // One queue for all streams: whichever stream is free takes the next batch.
        let (tx, rx) = tokio::sync::mpsc::channel(self.copy_streams);
        let queue = Arc::new(tokio::sync::Mutex::new(rx));
        let stop = Arc::new(AtomicBool::new(false));
        let mut streams = Vec::with_capacity(self.copy_streams);
        for _ in 0..self.copy_streams {
            // Each stream opens its COPY now, so a refused connection fails the load here.
            let copy_sql = format!("COPY {} FROM STDIN (FORMAT binary)", quote_ident(&staging));
            let opened = self.pool.copy_in_raw(&copy_sql).await;
            let copy = match opened {
                Ok(copy) => copy,
                Err(e) => {
                    stop.store(true, Ordering::SeqCst);
                    drop(tx);
                    join_all(streams).await.ok();
                    let _ = self.drop_staging(table, &staging).await;
                    return Err(self.sql_err(table, e).into());
                }
            };
            let job = CopyStream {
                store: self.clone(),
                table: table.to_string(),
                plans: plans.clone(),
                queue: queue.clone(),
                stop: stop.clone(),
            };
            streams.push(tokio::spawn(job.run(copy)));
        }
        Ok(Box::new(PgLoad {
            store: self.clone(),
            table: table.to_string(),
            staging,
            exists,
            if_exists,
            queue: Some(tx),
            stop,
            streams,
        }))
    }
}

/// One COPY stream: takes batches from the shared queue, encodes them a slice at a time and
/// sends each piece as soon as it is full, so the server parses one piece while the next is
/// encoded.
struct CopyStream {
    store: PostgresStore,
    table: String,
    plans: Arc<Vec<ColumnPlan>>,
    queue: Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<RecordBatch>>>,
    /// Set when the load is abandoned or any stream failed: every stream aborts its COPY.
    stop: Arc<AtomicBool>,
}

impl CopyStream {
    async fn run(self, mut copy: PgCopyIn<PoolConnection<Postgres>>) -> Result<u64> {
        let outcome = self.send_batches(&mut copy).await;
        if let Err(e) = outcome {
            self.stop.store(true, Ordering::SeqCst);
            let _ = copy.abort("migrate: load aborted").await;
            return Err(e);
        }
        copy.finish().await.map_err(|e| self.store.sql_err(&self.table, e))
    }

    async fn send_batches(&self, copy: &mut PgCopyIn<PoolConnection<Postgres>>) -> Result<()> {
        copy.send(HEADER).await.map_err(|e| self.store.sql_err(&self.table, e))?;
        let mut buffer = Vec::with_capacity(SEND_CHUNK + (1 << 16));
        loop {
            let next = self.queue.lock().await.recv().await;
            if self.stop.load(Ordering::SeqCst) {
                return Err(PgError::Finished);
            }
            let Some(batch) = next else { break };
            let mut offset = 0;
            while offset < batch.num_rows() {
                let rows = ROWS_PER_SLICE.min(batch.num_rows() - offset);
                encode_rows(&batch.slice(offset, rows), &self.plans, &self.table, &mut buffer)?;
                offset += rows;
                if buffer.len() >= SEND_CHUNK {
                    copy.send(buffer.as_slice()).await.map_err(|e| self.store.sql_err(&self.table, e))?;
                    buffer.clear();
                }
            }
        }
        buffer.extend_from_slice(&TRAILER);
        copy.send(buffer.as_slice()).await.map_err(|e| self.store.sql_err(&self.table, e))?;
        Ok(())
    }
}

/// Appends `batch`'s rows, binary COPY encoded, to `buffer`.
fn encode_rows(batch: &RecordBatch, plans: &[ColumnPlan], table: &str, buffer: &mut Vec<u8>) -> Result<()> {
    let value_error = |plan: &ColumnPlan, p: migrate_core::convert::ValueProblem| PgError::Value {
        table: table.to_string(),
        column: plan.name.clone(),
        why: p.why,
        fix: p.fix.to_string(),
    };
    let prepared = batch
        .columns()
        .iter()
        .zip(plans)
        .map(|(col, plan)| {
            let prepared = prepare(col, &plan.encoding).map_err(|p| value_error(plan, p))?;
            check_numeric_fits(&prepared, &plan.sql_type).map_err(|p| value_error(plan, p))?;
            Ok(prepared)
        })
        .collect::<Result<Vec<Prepared>>>()?;
    if write_columnwise(&prepared, batch.num_rows(), buffer) {
        return Ok(());
    }
    let ncols = (plans.len() as i16).to_be_bytes();
    for row in 0..batch.num_rows() {
        buffer.extend_from_slice(&ncols);
        for (col, plan) in prepared.iter().zip(plans) {
            col.write_field(row, buffer).map_err(|p| value_error(plan, p))?;
        }
    }
    Ok(())
}

/// Waits for a stream's outcome (a crashed task becomes an error).
async fn join(stream: tokio::task::JoinHandle<Result<u64>>) -> Result<u64> {
    stream.await.map_err(|e| PgError::Copy(format!("a COPY stream stopped: {e}")))?
}

/// Waits for every stream; the rows they sent, or the first error that says what went wrong
/// (a stream stopped because another failed only reports [`PgError::Finished`]).
async fn join_all(streams: Vec<tokio::task::JoinHandle<Result<u64>>>) -> Result<u64> {
    let mut rows = 0;
    let mut failure: Option<PgError> = None;
    for stream in streams {
        match join(stream).await {
            Ok(n) => rows += n,
            Err(e) => {
                if failure.as_ref().is_none_or(|f| matches!(f, PgError::Finished)) {
                    failure = Some(e);
                }
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(rows),
    }
}

/// Binary COPY streams into the staging table; commit swaps it in.
struct PgLoad {
    store: PostgresStore,
    table: String,
    staging: String,
    exists: bool,
    if_exists: IfExists,
    /// The streams' shared queue; `None` once closed.
    queue: Option<tokio::sync::mpsc::Sender<RecordBatch>>,
    stop: Arc<AtomicBool>,
    streams: Vec<tokio::task::JoinHandle<Result<u64>>>,
}

impl PostgresStore {
    /// Drops `staging`, the staging table of a load into `table`, if it exists.
    async fn drop_staging(&self, table: &str, staging: &str) -> Result<()> {
        sqlx::raw_sql(AssertSqlSafe(format!("DROP TABLE IF EXISTS {}", quote_ident(staging))))
            .execute(&self.pool)
            .await
            .map_err(|e| self.sql_err(table, e))?;
        Ok(())
    }
}

impl PgLoad {
    async fn drop_staging(&self) -> Result<()> {
        self.store.drop_staging(&self.table, &self.staging).await
    }

    /// Closes the queue and waits for every stream: the rows sent, or the error of the stream
    /// that failed.
    async fn close(&mut self) -> Result<u64> {
        self.queue = None;
        join_all(std::mem::take(&mut self.streams)).await
    }

    /// Stops every stream (aborting their COPYs), drops the staging table and returns the error
    /// that made a stream fail, if one did.
    async fn abandon(&mut self) -> Option<PgError> {
        self.stop.store(true, Ordering::SeqCst);
        let failure = self.close().await.err();
        let _ = self.drop_staging().await;
        failure.filter(|e| !matches!(e, PgError::Finished))
    }
}

#[async_trait]
impl TableLoad for PgLoad {
    async fn write(&mut self, batch: RecordBatch) -> migrate_core::Result<()> {
        let sent = match &self.queue {
            Some(queue) if !self.stop.load(Ordering::SeqCst) => queue.send(batch).await.is_ok(),
            _ => false,
        };
        if !sent {
            // A stream failed: its error says why; the others stop too.
            let err =
                self.abandon().await.unwrap_or_else(|| PgError::Copy("a COPY stream ended early".into()));
            return Err(err.into());
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> migrate_core::Result<u64> {
        let rows = match self.close().await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = self.drop_staging().await;
                return Err(e.into());
            }
        };
        let (s, t) = (quote_ident(&self.staging), quote_ident(&self.table));
        let swap = if self.exists && self.if_exists == IfExists::Append {
            format!("INSERT INTO {t} SELECT * FROM {s}; DROP TABLE {s};")
        } else {
            let mut sql = format!("DROP TABLE IF EXISTS {t}; ALTER TABLE {s} RENAME TO {t};");
            for statement in key_statements(&self.table, &self.store.hints(&self.table)) {
                sql.push_str(&statement);
                sql.push(';');
            }
            sql
        };
        // One transaction: readers see the old table or the new one, never a mix.
        let mut tx = self.store.pool.begin().await.map_err(|e| self.store.sql_err(&self.table, e))?;
        let swapped = sqlx::raw_sql(AssertSqlSafe(swap)).execute(&mut *tx).await;
        match swapped {
            Ok(_) => tx.commit().await.map_err(|e| self.store.sql_err(&self.table, e))?,
            Err(e) => {
                let _ = tx.rollback().await;
                let _ = self.drop_staging().await;
                return Err(self.store.sql_err(&self.table, e).into());
            }
        }
        Ok(rows)
    }

    async fn abort(mut self: Box<Self>) -> migrate_core::Result<()> {
        self.abandon().await;
        Ok(())
    }
}

/// `ALTER TABLE … ADD PRIMARY KEY` and `CREATE INDEX` statements for the configured hints.
fn key_statements(table: &str, hints: &TableHints) -> Vec<String> {
    let mut out = Vec::new();
    if !hints.primary_key.is_empty() {
        out.push(format!(
            "ALTER TABLE {} ADD PRIMARY KEY ({})",
            quote_ident(table),
            column_list(&hints.primary_key)
        ));
    }
    out.extend(create_index_statements(table, &hints.indexes));
    out
}

impl From<PgError> for CoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::NotFound { table, target } => CoreError::TableNotFound { table, store: target },
            other => CoreError::Store { store: "postgresql".into(), source: Box::new(other) },
        }
    }
}
