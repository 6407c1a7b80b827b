//! The one error type of `migrate-core`.

use arrow::datatypes::DataType;

/// Errors of the engine. Store crates map their own failures into [`CoreError::Store`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A column's type has no canonical encoding for fingerprints.
    #[error("column {column:?} has type {data_type}, which verification cannot fingerprint yet")]
    UnsupportedType {
        /// The column.
        column: String,
        /// Its type.
        data_type: DataType,
    },

    /// The table does not exist in the store.
    #[error("table {table:?} does not exist in {store}")]
    TableNotFound {
        /// The table.
        table: String,
        /// The store, as it names itself.
        store: String,
    },

    /// The target already has the table and the load mode forbids touching it.
    #[error("table {table:?} already exists in {store}")]
    TableExists {
        /// The table.
        table: String,
        /// The store, as it names itself.
        store: String,
    },

    /// Batches whose schema differs from the one the load started with.
    #[error("table {table:?}: batch schema does not match the table schema ({detail})")]
    SchemaMismatch {
        /// The table.
        table: String,
        /// What the server or library said.
        detail: String,
    },

    /// Arrow failed on data it was given.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),

    /// A store failed; `store` names it, `source` says why.
    #[error("{store}: {source}")]
    Store {
        /// The store, as it names itself.
        store: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Result alias for this crate.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
