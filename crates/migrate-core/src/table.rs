//! Tables as streams of Arrow record batches: where they come from and where they go.

use crate::error::{CoreError, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use futures::stream::BoxStream;

/// A stream of record batches; memory stays bounded by one batch whatever the table size.
pub type BatchStream = BoxStream<'static, Result<RecordBatch>>;

/// Runs `produce` on a blocking thread and streams what it sends. At most two batches wait in
/// the channel, so a fast producer (a database read, a file decode) never runs ahead of the
/// consumer by more than that. `produce` should stop when `send` fails (the reader went away);
/// an error it returns arrives as the stream's last item.
pub fn blocking_batches<F>(produce: F) -> BatchStream
where
    F: FnOnce(&BatchSender) -> Result<()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
    tokio::task::spawn_blocking(move || {
        let sender = BatchSender(tx);
        if let Err(e) = produce(&sender) {
            let _ = sender.0.blocking_send(Err(e));
        }
    });
    Box::pin(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }))
}

/// The sending side handed to a [`blocking_batches`] producer.
pub struct BatchSender(tokio::sync::mpsc::Sender<Result<RecordBatch>>);

impl BatchSender {
    /// Sends one batch, waiting while the consumer is behind. `false` when it went away.
    pub fn send(&self, batch: RecordBatch) -> bool {
        self.0.blocking_send(Ok(batch)).is_ok()
    }
}

/// Something tables can be read from (DuckDB, Parquet, PostgreSQL, ClickHouse, memory).
#[async_trait]
pub trait TableSource: Send + Sync {
    /// A short name for messages (`duckdb:/data/lake.duckdb`); never holds credentials.
    fn describe(&self) -> String;

    /// The table's schema as Arrow sees it.
    async fn schema(&self, table: &str) -> Result<SchemaRef>;

    /// The number of rows, from metadata where the store keeps it exact, else by counting.
    async fn row_count(&self, table: &str) -> Result<u64>;

    /// Streams the table in batches of about `batch_size` rows.
    async fn scan(&self, table: &str, batch_size: usize) -> Result<BatchStream>;
}

/// What to do when the target table already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfExists {
    /// Load into a staging table and swap it in atomically (the old table stays until then).
    #[default]
    Replace,
    /// Add the rows to the existing table, atomically.
    Append,
    /// Refuse before writing anything.
    Fail,
}

/// Per-table hints for SQL targets, from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableHints {
    /// Primary key columns, applied after loading.
    pub primary_key: Vec<String>,
    /// Indexes to create after loading, each a list of columns.
    pub indexes: Vec<Vec<String>>,
    /// Column name → target SQL type, overriding the default mapping.
    pub column_types: std::collections::BTreeMap<String, String>,
}

/// Something tables can be written to.
#[async_trait]
pub trait TableSink: Send + Sync {
    /// A short name for messages; never holds credentials.
    fn describe(&self) -> String;

    /// Starts loading `table`; nothing is visible to readers until [`TableLoad::commit`].
    async fn begin(&self, table: &str, schema: SchemaRef, if_exists: IfExists) -> Result<Box<dyn TableLoad>>;
}

/// One table being loaded: write batches, then commit (all rows appear) or abort (none do).
#[async_trait]
pub trait TableLoad: Send {
    /// Appends one batch; its schema must be the one the load began with.
    async fn write(&mut self, batch: RecordBatch) -> Result<()>;

    /// Makes every written row visible at once and returns how many were written.
    async fn commit(self: Box<Self>) -> Result<u64>;

    /// Drops everything written; the target is as it was before [`TableSink::begin`].
    async fn abort(self: Box<Self>) -> Result<()>;
}

/// Streams `table` from `source` into `sink` (committing only when every batch landed) and
/// returns the rows written. A failure aborts the load, leaving the target as it was.
pub async fn copy_table(
    source: &dyn TableSource,
    sink: &dyn TableSink,
    table: &str,
    batch_size: usize,
    if_exists: IfExists,
) -> Result<u64> {
    use futures::TryStreamExt;
    let schema = source.schema(table).await?;
    let mut batches = source.scan(table, batch_size).await?;
    let mut load = sink.begin(table, schema, if_exists).await?;
    loop {
        let next = match batches.try_next().await {
            Ok(next) => next,
            Err(e) => return Err(abort_after(load, e, sink).await),
        };
        let Some(batch) = next else { break };
        if let Err(e) = load.write(batch).await {
            return Err(abort_after(load, e, sink).await);
        }
    }
    load.commit().await
}

/// Aborts `load` after `cause`; reports both when the abort fails too.
async fn abort_after(load: Box<dyn TableLoad>, cause: CoreError, sink: &dyn TableSink) -> CoreError {
    match load.abort().await {
        Ok(()) => cause,
        Err(abort) => CoreError::Store {
            store: sink.describe(),
            source: format!("{cause}; aborting the load failed too: {abort}").into(),
        },
    }
}
