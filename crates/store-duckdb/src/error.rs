//! The one error type of `store-duckdb`.

use std::path::PathBuf;

/// What can go wrong reading from DuckDB.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DuckDbError {
    /// The database file does not exist (DuckDB would otherwise create an empty one).
    #[error("DuckDB database {0} does not exist; check duckdb.path in the config")]
    Missing(PathBuf),

    /// DuckDB could not open the database.
    #[error("cannot open DuckDB database {path}: {source}")]
    Open {
        /// The file or directory.
        path: String,
        /// The underlying error.
        #[source]
        source: duckdb::Error,
    },

    /// A view's SQL failed.
    #[error("cannot create view {view}: {source}")]
    View {
        /// The view.
        view: String,
        /// The underlying error.
        #[source]
        source: duckdb::Error,
    },

    /// The table or view does not exist.
    #[error("table or view {table:?} not found in {database}")]
    NotFound {
        /// The table.
        table: String,
        /// The database.
        database: String,
    },

    /// A query failed.
    #[error("DuckDB query on {what} failed: {source}")]
    Query {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: duckdb::Error,
    },

    /// Arrow failed while reshaping batches.
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl From<DuckDbError> for migrate_core::CoreError {
    fn from(e: DuckDbError) -> Self {
        match e {
            DuckDbError::NotFound { table, database } => {
                migrate_core::CoreError::TableNotFound { table, store: database }
            }
            other => migrate_core::CoreError::Store { store: "duckdb".into(), source: Box::new(other) },
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = DuckDbError> = std::result::Result<T, E>;
