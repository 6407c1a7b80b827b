//! The one error type of `store-postgres`.

use migrate_core::convert::{UnsupportedColumn, list_unsupported};

/// What can go wrong with the PostgreSQL target. `target` is the masked URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// Could not connect.
    #[error("Failed to connect to POSTGRESQL database {target}: {detail}")]
    Connect { target: String, detail: String },

    /// A statement failed.
    #[error("PostgreSQL {target}, table {table}: {detail}")]
    Sql { target: String, table: String, detail: String },

    /// Columns with no lossless PostgreSQL form: every one of the table's, at once.
    #[error("table {table}: PostgreSQL cannot store these columns without loss: {}", list_unsupported(.columns))]
    Unsupported { table: String, columns: Vec<UnsupportedColumn> },

    /// A value cannot be stored without loss (the load was abandoned, the target untouched);
    /// `fix` is the column type that would store it.
    #[error("table {table}, column {column}: {why}; the previous table is untouched")]
    Value { table: String, column: String, why: String, fix: String },

    /// Data read back does not decode as expected.
    #[error("table {table}: cannot read back: {detail}")]
    Decode { table: String, detail: String },

    /// A type override names a column the table does not have.
    #[error("a column type override names column {column:?}, which table {table} does not have")]
    UnknownColumn { table: String, column: String },

    /// The table does not exist.
    #[error("table {table:?} does not exist in {target}")]
    NotFound { table: String, target: String },

    /// The COPY was already finished or aborted.
    #[error("the load was already finished")]
    Finished,

    /// A COPY stream stopped without saying why (a crashed task).
    #[error("binary COPY failed: {0}")]
    Copy(String),
}

/// Result alias for this crate.
pub type Result<T, E = PgError> = std::result::Result<T, E>;
