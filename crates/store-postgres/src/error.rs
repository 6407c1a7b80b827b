//! The one error type of `store-postgres`.

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

    /// A column type has no lossless PostgreSQL form.
    #[error(
        "table {table}, column {column}: {data_type} cannot be stored in PostgreSQL ({why}); \
         fix: set table_options.{table}.column_types.{column} to {fix} in the config"
    )]
    Unsupported { table: String, column: String, data_type: String, why: String, fix: String },

    /// A value cannot be stored without loss (the load was abandoned, the target untouched).
    #[error(
        "table {table}, column {column}: {why}; the previous table is untouched. \
         Fix: set table_options.{table}.column_types.{column} to {fix} in the config"
    )]
    Value { table: String, column: String, why: String, fix: String },

    /// Data read back does not decode as expected.
    #[error("table {table}: cannot read back: {detail}")]
    Decode { table: String, detail: String },

    /// A type override names a column the table does not have.
    #[error("table_options.{table}.column_types names column {column:?}, which {table} does not have")]
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
