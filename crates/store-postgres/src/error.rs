//! The one error type of `store-postgres`.

use migrate_core::convert::{UnsupportedColumn, ValueColumn, list_unsupported, list_values};

/// What can go wrong with the PostgreSQL target. `target` is the masked URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// Could not connect.
    #[error("Failed to connect to POSTGRESQL database {target}: {detail}")]
    Connect {
        /// The target, with its password masked.
        target: String,
        /// What the server or library said.
        detail: String,
    },

    /// A statement failed.
    #[error("PostgreSQL {target}, table {table}: {detail}")]
    Sql {
        /// The target, with its password masked.
        target: String,
        /// The table.
        table: String,
        /// What the server or library said.
        detail: String,
    },

    /// Columns with no lossless PostgreSQL form: every one of the table's, at once.
    #[error("table {table}: PostgreSQL cannot store these columns without loss: {}", list_unsupported(.columns))]
    Unsupported {
        /// The table.
        table: String,
        /// Every column concerned.
        columns: Vec<UnsupportedColumn>,
    },

    /// Values that cannot be stored without loss (the previous table is untouched): every such column of the
    /// batch that showed them, at once.
    #[error("table {table}, {}; the previous table is untouched", list_values(.columns))]
    Value {
        /// The table.
        table: String,
        /// Each column, the first value it cannot hold and the column type that would.
        columns: Vec<ValueColumn>,
    },

    /// Data read back does not decode as expected.
    #[error("table {table}: cannot read back: {detail}")]
    Decode {
        /// The table.
        table: String,
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

    /// A key range that does not fit the table's order columns.
    #[error("table {table}: {detail}")]
    Range {
        /// The table.
        table: String,
        /// What does not fit.
        detail: String,
    },

    /// The table does not exist.
    #[error("table {table:?} does not exist in {target}")]
    NotFound {
        /// The table.
        table: String,
        /// The target, with its password masked.
        target: String,
    },

    /// The COPY was already finished or aborted.
    #[error("the load was already finished")]
    Finished,

    /// A COPY stream stopped without saying why (a crashed task).
    #[error("binary COPY failed: {0}")]
    Copy(String),
}

/// Result alias for this crate.
pub type Result<T, E = PgError> = std::result::Result<T, E>;
