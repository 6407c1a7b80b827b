//! The store itself: connection, configuration, type plans and existence checks. Reading a
//! table back lives in [`crate::read`], loading one in [`crate::load`].

use crate::error::{PgError, Result};
use crate::types::{ColumnPlan, plan_column};
use arrow::datatypes::Schema;
use migrate_core::TableHints;
use migrate_core::convert::{PlanError, plan_columns};
use migrate_core::sql::quote_ident;
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Bytes of encoded rows sent to the server at once: small enough that the server parses one
/// piece while the stream encodes the next.
pub(crate) const SEND_CHUNK: usize = 256 << 10;
/// Rows encoded at a time between checks of the send buffer.
pub(crate) const ROWS_PER_SLICE: usize = 2048;
/// Upper bound of concurrent COPY streams per load.
pub(crate) const MAX_COPY_STREAMS: usize = 8;

/// The default number of COPY streams: one per core, 2 to 4.
fn default_copy_streams() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

/// A PostgreSQL database as a migration target and, for verification, a source.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    pub(crate) label: String,
    pub(crate) hints: Arc<BTreeMap<String, TableHints>>,
    pub(crate) copy_streams: usize,
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

    pub(crate) fn hints(&self, table: &str) -> TableHints {
        self.hints.get(table).cloned().unwrap_or_default()
    }

    /// A failed statement as an error: the server's message with its DETAIL and HINT (which
    /// name, say, the views that block a drop).
    pub(crate) fn sql_err(&self, table: &str, e: sqlx::Error) -> PgError {
        let detail = match &e {
            sqlx::Error::Database(db) => match db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                Some(pg) => {
                    let mut text = pg.message().to_string();
                    for extra in [pg.detail(), pg.hint()].into_iter().flatten() {
                        text.push_str(" (");
                        text.push_str(extra.trim_end());
                        text.push(')');
                    }
                    text
                }
                None => db.message().to_string(),
            },
            other => other.to_string(),
        };
        PgError::Sql { target: self.label.clone(), table: table.to_string(), detail }
    }

    /// How `table` would be stored, or every column that cannot be stored without loss.
    pub fn plan(&self, table: &str, schema: &Schema) -> Result<Vec<ColumnPlan>> {
        plan_columns(schema, &self.hints(table), plan_column).map_err(|e| match e {
            PlanError::UnknownColumn { hint, column } => {
                PgError::UnknownColumn { table: table.into(), hint, column }
            }
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
}

#[async_trait::async_trait]
impl migrate_core::TableReadBack for PostgresStore {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn exists(&self, table: &str) -> migrate_core::Result<bool> {
        Ok(self.table_exists(table).await?)
    }

    async fn count_rows(&self, table: &str) -> migrate_core::Result<u64> {
        Ok(self.row_count(table).await?)
    }

    async fn scan_as(
        &self,
        table: &str,
        schema: arrow::datatypes::SchemaRef,
        batch_size: usize,
    ) -> migrate_core::Result<migrate_core::BatchStream> {
        Ok(PostgresStore::scan_as(self, table, schema, batch_size).await?)
    }
}
