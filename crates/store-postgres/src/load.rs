//! Loading a table: binary COPY streams into a staging table, swapped in with keys and
//! indexes in one transaction on commit.

use crate::columnwise::write_columnwise;
use crate::encode::{HEADER, TRAILER, check_numeric_fits, prepare};
use crate::error::{PgError, Result};
use crate::store::{PostgresStore, ROWS_PER_SLICE, SEND_CHUNK};
use crate::types::ColumnPlan;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use migrate_core::convert::{ValueColumn, ValueProblem};
use migrate_core::sql::{column_list, create_index_statements, quote_ident};
use migrate_core::{CoreError, IfExists, TableHints, TableLoad, TableSink};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgCopyIn, PgPoolCopyExt};
use sqlx::{AssertSqlSafe, Postgres};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    let problem = |plan: &ColumnPlan, p: ValueProblem| ValueColumn {
        column: plan.name.clone(),
        why: p.why,
        fix: p.fix,
    };
    let value_error = |columns: Vec<ValueColumn>| PgError::Value { table: table.to_string(), columns };
    // Every column of the batch is checked, so all the columns that need an override are
    // reported at once.
    let mut prepared = Vec::with_capacity(plans.len());
    let mut problems = Vec::new();
    for (col, plan) in batch.columns().iter().zip(plans) {
        match prepare(col, &plan.encoding).and_then(|p| check_numeric_fits(&p, &plan.sql_type).map(|()| p)) {
            Ok(p) => prepared.push(p),
            Err(p) => problems.push(problem(plan, p)),
        }
    }
    if !problems.is_empty() {
        return Err(value_error(problems));
    }
    if write_columnwise(&prepared, batch.num_rows(), buffer) {
        return Ok(());
    }
    let ncols = (plans.len() as i16).to_be_bytes();
    for row in 0..batch.num_rows() {
        buffer.extend_from_slice(&ncols);
        for (col, plan) in prepared.iter().zip(plans) {
            col.write_field(row, buffer).map_err(|p| value_error(vec![problem(plan, p)]))?;
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
    /// Puts the loaded rows in place inside `tx`: appended, or the staging table renamed over
    /// the old one, which hands its owner, grants and comments on, then keys and indexes.
    async fn swap(&self, tx: &mut sqlx::Transaction<'_, sqlx::Postgres>) -> Result<()> {
        let (s, t) = (quote_ident(&self.staging), quote_ident(&self.table));
        let mut sql = String::new();
        if self.exists && self.if_exists == IfExists::Append {
            sql = format!("INSERT INTO {t} SELECT * FROM {s}; DROP TABLE {s};");
        } else {
            let carried = match self.exists {
                true => crate::carry::carry_over(&self.store, tx, &self.table, &self.staging).await?,
                false => Vec::new(),
            };
            sql.push_str(&format!("DROP TABLE IF EXISTS {t}; ALTER TABLE {s} RENAME TO {t};"));
            let hints = self.store.hints(&self.table);
            let keys = key_statements(&self.table, &hints);
            if !keys.is_empty() {
                tracing::info!(
                    "{}: swapping the new table in and building {}…",
                    self.table,
                    migrate_core::sql::describe_keys(&hints)
                );
            }
            for statement in carried.iter().chain(&keys) {
                sql.push_str(statement);
                sql.push(';');
            }
            if !carried.is_empty() {
                tracing::info!(
                    "{}: owner, grants and comments of the replaced table carried over ({} statements)",
                    self.table,
                    carried.len()
                );
            }
        }
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut **tx)
            .await
            .map_err(|e| self.store.sql_err(&self.table, e))?;
        Ok(())
    }

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
        // One transaction: readers see the old table or the new one, never a mix.
        let mut tx = self.store.pool.begin().await.map_err(|e| self.store.sql_err(&self.table, e))?;
        let swapped = self.swap(&mut tx).await;
        match swapped {
            Ok(()) => tx.commit().await.map_err(|e| self.store.sql_err(&self.table, e))?,
            Err(e) => {
                let _ = tx.rollback().await;
                let _ = self.drop_staging().await;
                return Err(e.into());
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
