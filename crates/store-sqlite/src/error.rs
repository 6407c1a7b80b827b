//! The one error type of `store-sqlite`.

use migrate_core::convert::{UnsupportedColumn, ValueColumn, list_unsupported, list_values};

use std::path::PathBuf;

/// What can go wrong with the SQLite target.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// The database file could not be opened.
    #[error("cannot open SQLite database {path}: {detail}")]
    Open {
        /// The file or directory.
        path: PathBuf,
        /// What the server or library said.
        detail: String,
    },

    /// A statement failed.
    #[error("SQLite {path}, table {table}: {detail}")]
    Sql {
        /// The file or directory.
        path: PathBuf,
        /// The table.
        table: String,
        /// What the server or library said.
        detail: String,
    },

    /// Columns with no lossless SQLite form: every one of the table's, at once.
    #[error("table {table}: SQLite cannot store these columns without loss: {}", list_unsupported(.columns))]
    Unsupported {
        /// The table.
        table: String,
        /// Every column concerned.
        columns: Vec<UnsupportedColumn>,
    },

    /// Values that cannot be stored without loss (nothing was written): every such column of the
    /// batch that showed them, at once.
    #[error("table {table}, {}; nothing was written", list_values(.columns))]
    Value {
        /// The table.
        table: String,
        /// Each column, the first value it cannot hold and the column type that would.
        columns: Vec<ValueColumn>,
    },

    /// A stored value does not read back as the expected type.
    #[error("table {table}, column {column}: cannot read back: {detail}")]
    Decode {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What the server or library said.
        detail: String,
    },

    /// A hint (primary key, index, column type override) names a column the table does not have.
    #[error("the {hint} names column {column:?}, which table {table} does not have")]
    UnknownColumn {
        /// The table.
        table: String,
        /// Which hint: `primary key`, `index` or `column type override`.
        hint: &'static str,
        /// The column.
        column: String,
    },

    /// The table does not exist.
    #[error("table {table:?} does not exist in {path}")]
    NotFound {
        /// The table.
        table: String,
        /// The file or directory.
        path: PathBuf,
    },

    /// The table exists and the load was asked to fail in that case.
    #[error("table {table:?} already exists in {path}")]
    Exists {
        /// The table.
        table: String,
        /// The file or directory.
        path: PathBuf,
    },

    /// The load was aborted on request (nothing was written).
    #[error("the load was aborted; nothing was written")]
    Aborted,

    /// The writer thread died.
    #[error("the SQLite writer thread stopped unexpectedly; nothing was written")]
    Panicked,
}

/// Result alias for this crate.
pub type Result<T, E = SqliteError> = std::result::Result<T, E>;
