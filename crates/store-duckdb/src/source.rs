//! The DuckDB connection and its [`TableSource`] implementation.

use crate::error::{DuckDbError, Result};
use arrow::compute::BatchCoalescer;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use duckdb::{AccessMode, Config, Connection};
use migrate_core::{BatchStream, CoreError, TableSource, blocking_batches};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Settings applied when the database is opened.
#[derive(Debug, Clone, Default)]
pub struct DuckDbOptions {
    /// Worker threads (DuckDB's default, one per core, when `None`).
    pub threads: Option<u32>,
    /// Memory limit such as `2GB` (DuckDB's default when `None`).
    pub memory_limit: Option<String>,
}

/// Whether a relation is a stored table or a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// A base table.
    Table,
    /// A view (including the temporary views registered from the config).
    View,
}

/// A table or view visible in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Its name.
    pub name: String,
    /// Table or view.
    pub kind: RelationKind,
}

/// One column as DuckDB describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// DuckDB's type name (`DECIMAL(18,3)`, `TIMESTAMP_NS`, `STRUCT(a INTEGER)`, …).
    pub duckdb_type: String,
}

/// A DuckDB database used as a source. Clones share one connection; scans run one at a time
/// on it (DuckDB parallelises each query itself), because the views registered from the config
/// are temporary views of that connection (the file is opened read-only).
#[derive(Clone)]
pub struct DuckDbSource {
    conn: Arc<Mutex<Connection>>,
    label: String,
}

impl std::fmt::Debug for DuckDbSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckDbSource").field("label", &self.label).finish()
    }
}

pub use migrate_core::sql::quote_ident;

impl DuckDbSource {
    /// Opens `path` read-only, or an in-memory database when `path` is `None`.
    pub fn open(path: Option<&Path>, options: &DuckDbOptions) -> Result<Self> {
        let (conn, label) = match path {
            Some(p) => {
                if !p.exists() {
                    return Err(DuckDbError::Missing(p.to_path_buf()));
                }
                let open_err = |source| DuckDbError::Open { path: p.display().to_string(), source };
                let config = Config::default().access_mode(AccessMode::ReadOnly).map_err(open_err)?;
                (Connection::open_with_flags(p, config).map_err(open_err)?, format!("duckdb:{}", p.display()))
            }
            None => (
                Connection::open_in_memory()
                    .map_err(|source| DuckDbError::Open { path: ":memory:".into(), source })?,
                "duckdb::memory:".to_string(),
            ),
        };
        let source = Self { conn: Arc::new(Mutex::new(conn)), label };
        if let Some(t) = options.threads {
            source.execute(&format!("SET threads = {t}"), "the threads setting")?;
        }
        if let Some(m) = &options.memory_limit {
            source.execute(
                &format!("SET memory_limit = '{}'", m.replace('\'', "''")),
                "the memory_limit setting",
            )?;
        }
        Ok(source)
    }

    /// Whether scans return rows in the order they were inserted (DuckDB's default). Turning
    /// it off spares DuckDB the work of keeping order across its threads; do it only where the
    /// consumer ignores order (an order-independent fingerprint, a load through several streams).
    pub fn keep_insertion_order(&self, keep: bool) -> Result<()> {
        self.execute(
            &format!("SET preserve_insertion_order = {keep}"),
            "the preserve_insertion_order setting",
        )
    }

    /// `duckdb:/path/to/file.duckdb` or `duckdb::memory:`.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    /// Runs a statement that returns no rows.
    pub fn execute(&self, sql: &str, what: &str) -> Result<()> {
        self.lock().execute_batch(sql).map_err(|source| DuckDbError::Query { what: what.to_string(), source })
    }

    /// Registers (or replaces) a temporary view.
    pub fn register_view(&self, name: &str, sql: &str) -> Result<()> {
        let stmt = format!("CREATE OR REPLACE TEMP VIEW {} AS {sql}", quote_ident(name));
        self.lock()
            .execute_batch(&stmt)
            .map_err(|source| DuckDbError::View { view: name.to_string(), source })
    }

    /// Tables and views of the user's schemas (views first, each group by name).
    pub fn relations(&self) -> Result<Vec<Relation>> {
        let sql = "SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'
                   UNION ALL
                   SELECT table_name, 'table' FROM duckdb_tables() WHERE NOT internal AND schema_name = 'main'
                   ORDER BY 2 DESC, 1";
        let conn = self.lock();
        let query_err = |source| DuckDbError::Query { what: "the list of tables".into(), source };
        let mut stmt = conn.prepare(sql).map_err(query_err)?;
        let rows = stmt
            .query_map([], |r| {
                let kind: String = r.get(1)?;
                Ok(Relation {
                    name: r.get(0)?,
                    kind: if kind == "view" { RelationKind::View } else { RelationKind::Table },
                })
            })
            .map_err(query_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(query_err)
    }

    fn ensure_exists(&self, table: &str) -> Result<()> {
        if self.relations()?.iter().any(|r| r.name == table) {
            Ok(())
        } else {
            Err(DuckDbError::NotFound { table: table.to_string(), database: self.label.clone() })
        }
    }

    /// The columns of a table or view with DuckDB's own type names.
    pub fn columns(&self, table: &str) -> Result<Vec<ColumnInfo>> {
        self.ensure_exists(table)?;
        let sql = format!("DESCRIBE SELECT * FROM {}", quote_ident(table));
        let conn = self.lock();
        let query_err = |source| DuckDbError::Query { what: table.to_string(), source };
        let mut stmt = conn.prepare(&sql).map_err(query_err)?;
        let rows = stmt
            .query_map([], |r| Ok(ColumnInfo { name: r.get(0)?, duckdb_type: r.get(1)? }))
            .map_err(query_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(query_err)
    }

    /// The first column of the first row of `sql` as an integer (`None` when NULL or no row).
    pub fn query_i64(&self, sql: &str, what: &str) -> Result<Option<i64>> {
        let conn = self.lock();
        let query_err = |source| DuckDbError::Query { what: what.to_string(), source };
        let mut stmt = conn.prepare(sql).map_err(query_err)?;
        let mut rows = stmt.query([]).map_err(query_err)?;
        match rows.next().map_err(query_err)? {
            Some(row) => row.get::<_, Option<i64>>(0).map_err(query_err),
            None => Ok(None),
        }
    }

    /// DuckDB's version (`v1.4.0`).
    pub fn version(&self) -> Result<String> {
        self.lock()
            .query_row("SELECT version()", [], |r| r.get(0))
            .map_err(|source| DuckDbError::Query { what: "version()".into(), source })
    }

    /// The Arrow schema of any query's result.
    pub async fn query_schema(&self, sql: String) -> Result<SchemaRef> {
        let conn = self.conn.clone();
        run_blocking(move || {
            let conn = lock(&conn);
            let query_err = |source| DuckDbError::Query { what: sql.clone(), source };
            let mut stmt = conn.prepare(&format!("SELECT * FROM ({sql}) LIMIT 0")).map_err(query_err)?;
            let stream = stmt.stream_arrow([]).map_err(query_err)?;
            Ok(stream.get_schema())
        })
        .await
    }

    /// Streams any query's result in batches of `batch_size` rows (the last may be smaller).
    /// The query runs on a blocking thread; at most two batches wait in the channel, so memory
    /// stays bounded however large the result.
    pub async fn scan_query(&self, sql: String, batch_size: usize) -> Result<BatchStream> {
        let schema = self.query_schema(sql.clone()).await?;
        let conn = self.conn.clone();
        Ok(blocking_batches(move |out| {
            let conn = lock(&conn);
            let query_err = |source| DuckDbError::Query { what: sql.clone(), source };
            let mut stmt = conn.prepare(&sql).map_err(query_err)?;
            let mut coalescer = BatchCoalescer::new(schema, batch_size.max(1));
            for batch in stmt.stream_arrow([]).map_err(query_err)? {
                coalescer.push_batch(batch.map_err(query_err)?).map_err(DuckDbError::from)?;
                while let Some(full) = coalescer.next_completed_batch() {
                    if !out.send(full) {
                        return Ok(()); // the reader went away: stop quietly
                    }
                }
            }
            coalescer.finish_buffered_batch().map_err(DuckDbError::from)?;
            while let Some(rest) = coalescer.next_completed_batch() {
                if !out.send(rest) {
                    return Ok(());
                }
            }
            Ok(())
        }))
    }
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves the connection usable: DuckDB statements are atomic.
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn run_blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

#[async_trait]
impl TableSource for DuckDbSource {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn schema(&self, table: &str) -> migrate_core::Result<SchemaRef> {
        self.ensure_exists(table)?;
        Ok(self.query_schema(format!("SELECT * FROM {}", quote_ident(table))).await?)
    }

    async fn row_count(&self, table: &str) -> migrate_core::Result<u64> {
        self.ensure_exists(table)?;
        let sql = format!("SELECT count(*) FROM {}", quote_ident(table));
        let this = self.clone();
        let what = table.to_string();
        let n = run_blocking(move || this.query_i64(&sql, &what)).await?;
        Ok(n.unwrap_or(0) as u64)
    }

    async fn scan(&self, table: &str, batch_size: usize) -> Result<BatchStream, CoreError> {
        self.ensure_exists(table)?;
        Ok(self.scan_query(format!("SELECT * FROM {}", quote_ident(table)), batch_size).await?)
    }
}
