//! A progress bar per table (rows, rows/s) while its batches stream, on a terminal only.

use async_trait::async_trait;
use futures::TryStreamExt;
use migrate_cli::progress::{Bar, bar};
use migrate_core::{BatchStream, Result, TableSource};

/// Wraps a source so each table's scan advances a bar by the rows it yields.
pub struct WithProgress<'a> {
    inner: &'a dyn TableSource,
    bar: Bar,
    started: std::time::Instant,
}

impl<'a> WithProgress<'a> {
    /// A bar labelled `table` counting up to `rows`.
    pub fn new(inner: &'a dyn TableSource, table: &str, rows: u64) -> Self {
        let bar = bar(table, Some(rows));
        bar.set_message("rows");
        Self { inner, bar, started: std::time::Instant::now() }
    }

    /// Clears the bar (the log line that follows says what was done) and returns how long the
    /// table took.
    pub fn finish(self) -> std::time::Duration {
        self.bar.finish_and_clear();
        self.started.elapsed()
    }

    /// `in 1.23 s (456,000 rows/s)`: how long `rows` took, for the log line after a table.
    pub fn took(rows: u64, elapsed: std::time::Duration) -> String {
        format!(
            "in {} ({})",
            migrate_cli::format::duration(elapsed),
            migrate_cli::format::rate(rows, elapsed, "rows")
        )
    }
}

#[async_trait]
impl TableSource for WithProgress<'_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn schema(&self, table: &str) -> Result<arrow::datatypes::SchemaRef> {
        self.inner.schema(table).await
    }

    async fn row_count(&self, table: &str) -> Result<u64> {
        self.inner.row_count(table).await
    }

    async fn scan(&self, table: &str, batch_size: usize) -> Result<BatchStream> {
        let bar = self.bar.clone();
        let batches = self.inner.scan(table, batch_size).await?;
        Ok(Box::pin(batches.inspect_ok(move |b| bar.inc(b.num_rows() as u64))))
    }
}
