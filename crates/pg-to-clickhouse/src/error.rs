//! The crate's error.

/// What went wrong, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting has a value it cannot have.
    #[error("{name}={value:?}: {why}")]
    Setting {
        /// The environment variable.
        name: String,
        /// Its value as given.
        value: String,
        /// What is wrong and what is expected.
        why: String,
    },
    /// The tables file cannot be read or is wrong.
    #[error("tables file {path}: {why}")]
    Tables {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A batch cannot move to the stage asked for.
    #[error("batch {batch}: {why}")]
    Ledger {
        /// The batch (dataset, table and key range).
        batch: String,
        /// Why not.
        why: String,
    },
    /// PostgreSQL refused or could not be reached.
    #[error("PostgreSQL {target}: {source}")]
    Postgres {
        /// The server (password masked).
        target: String,
        /// What the driver said.
        source: sqlx::Error,
    },
    /// ClickHouse refused or could not be reached.
    #[error(transparent)]
    ClickHouse(#[from] store_clickhouse::ChError),
    /// Rows could not be written to ClickHouse.
    #[error("writing to ClickHouse {target}: {message}")]
    Insert {
        /// The server and table.
        target: String,
        /// What the client said.
        message: String,
    },
}
