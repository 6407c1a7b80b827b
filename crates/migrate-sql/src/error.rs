//! The one error type of `migrate-sql`, with the exit code each kind maps to.

use std::path::PathBuf;

/// Everything that can stop a migration, each saying what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The config file is not valid.
    #[error("invalid config {path}: {detail}")]
    ConfigInvalid { path: PathBuf, detail: String },

    /// No target database was configured anywhere.
    #[error(
        "No database.url configured in config.yml and no target in the environment: set CRYPTO_DB_URL \
         (e.g. sqlite:///./migration-rehearsal.db), or CRYPTO_DB_USER/CRYPTO_DB_PASS/CRYPTO_DB_HOST/CRYPTO_DB_NAME, \
         or database.url in the config"
    )]
    NoTarget,

    /// A target URL that cannot be used (shown masked).
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// Could not connect to the target (URL shown masked).
    #[error("Failed to connect to {dialect} database {url}: {detail}")]
    Connect { dialect: &'static str, url: String, detail: String },

    /// A table asked for does not exist in the source.
    #[error("table {table:?} not found in {source_name}; known tables and views: {known}")]
    UnknownTable { table: String, source_name: String, known: String },

    /// The intermediate files do not match their manifest.
    #[error("{file}: {problem}; re-run the export (nothing was imported)")]
    Manifest { file: PathBuf, problem: String },

    /// Source and target differ after a migration.
    #[error("verification failed: {0}")]
    VerifyMismatch(String),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// DuckDB failed.
    #[error("DuckDB: {0}")]
    DuckDb(String),

    /// Parquet failed.
    #[error("Parquet {path}: {detail}")]
    Parquet { path: PathBuf, detail: String },

    /// The target database failed.
    #[error("{dialect}: {detail}")]
    Target { dialect: &'static str, detail: String },

    /// A worker task stopped without an answer (a bug: please report it).
    #[error("a worker task stopped: {0}")]
    Task(String),

    /// The engine failed.
    #[error(transparent)]
    Core(#[from] migrate_core::CoreError),
}

impl SqlError {
    /// The documented exit code: 2 usage or configuration, 3 verification mismatch, 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            SqlError::ConfigRead { .. }
            | SqlError::ConfigInvalid { .. }
            | SqlError::NoTarget
            | SqlError::InvalidUrl { .. }
            | SqlError::UnknownTable { .. } => 2,
            SqlError::VerifyMismatch(_) => 3,
            _ => 1,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = SqlError> = std::result::Result<T, E>;
