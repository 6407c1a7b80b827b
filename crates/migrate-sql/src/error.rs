//! The one error type of `migrate-sql`, with the exit code each kind maps to and the advice
//! this tool gives (the store crates only state facts).

use crate::config::TargetKind;
use migrate_cli::{Failure, exit};
use migrate_core::CoreError;
use migrate_core::convert::{Remedy, UnsupportedColumn, ValueColumn};
use std::path::PathBuf;

/// Everything that can stop a migration, each saying what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigRead {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The config file is not valid.
    #[error("invalid config {path}: {detail}")]
    ConfigInvalid {
        /// The file or directory.
        path: PathBuf,
        /// What the server or library said.
        detail: String,
    },

    /// No target database was configured anywhere.
    #[error(
        "No database.url configured in config.yml and no target in the environment: set CRYPTO_DB_URL \
         (e.g. sqlite:///./migration-rehearsal.db), or CRYPTO_DB_USER/CRYPTO_DB_PASS/CRYPTO_DB_HOST/CRYPTO_DB_NAME, \
         or database.url in the config"
    )]
    NoTarget,

    /// Some of the `CRYPTO_DB_*` parts are set, not all of them.
    #[error("{} set but {} not: the target database is incompletely configured", and_list(.set), and_list(.missing))]
    PartialTarget {
        /// The variables that are set.
        set: Vec<&'static str>,
        /// The ones missing.
        missing: Vec<&'static str>,
    },

    /// A target URL that cannot be used (shown masked).
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl {
        /// The location URL.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// Could not connect to the target (URL shown masked).
    #[error("Failed to connect to {dialect} database {url}: {detail}")]
    Connect {
        /// The target database kind.
        dialect: &'static str,
        /// The location URL.
        url: String,
        /// What the server or library said.
        detail: String,
    },

    /// A table asked for does not exist in the source.
    #[error("table {table:?} not found in {source_name}; known tables and views: {known}")]
    UnknownTable {
        /// The table.
        table: String,
        /// The source, as it names itself.
        source_name: String,
        /// The names that do exist.
        known: String,
    },

    /// The import directory holds no export (no manifest.json).
    #[error("{dir} holds no export: {dir}/manifest.json does not exist; nothing was imported")]
    NoExport {
        /// The import directory.
        dir: PathBuf,
    },

    /// The intermediate files do not match their manifest.
    #[error("{file}: {problem}; nothing was imported")]
    Manifest {
        /// The directory or file.
        file: PathBuf,
        /// What is wrong with it.
        problem: String,
    },

    /// `table_options` entries that name columns their tables do not have; nothing was written.
    #[error("{}; nothing was written", .problems.join("; "))]
    TableOptions {
        /// One sentence per entry.
        problems: Vec<String>,
    },

    /// Columns the target cannot hold without loss, in every table asked for; nothing was written.
    #[error("{dialect} cannot store these columns without loss: {}; nothing was written", table_columns(.columns))]
    Unsupported {
        /// The target database kind.
        dialect: &'static str,
        /// Every column concerned.
        columns: Vec<(String, UnsupportedColumn)>,
    },

    /// Source and target differ after a migration.
    #[error("verification failed: {0}")]
    VerifyMismatch(String),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// DuckDB failed.
    #[error("DuckDB: {0}")]
    DuckDb(String),

    /// Parquet failed.
    #[error("Parquet {path}: {detail}")]
    Parquet {
        /// The file or directory.
        path: PathBuf,
        /// What the server or library said.
        detail: String,
    },

    /// The target database failed.
    #[error("{dialect}: {detail}")]
    Target {
        /// The target database kind.
        dialect: &'static str,
        /// What the server or library said.
        detail: String,
    },

    /// A worker task stopped without an answer (a bug: please report it).
    #[error("a worker task stopped: {0}")]
    Task(String),

    /// The engine failed.
    #[error(transparent)]
    Core(#[from] migrate_core::CoreError),
}

/// `A`, `A and B`, `A, B and C`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn table_columns(columns: &[(String, UnsupportedColumn)]) -> String {
    columns.iter().map(|(table, c)| format!("{table}.{c}")).collect::<Vec<_>>().join(", ")
}

/// One plain sentence on how the config stores `table.column` instead.
fn column_advice(table: &str, column: &str, fix: &Remedy) -> String {
    match fix {
        Remedy::Exclude => format!(
            "Leave {table}.{column} out, or cast it to a supported type, in a view (views: in the config)."
        ),
        Remedy::OneOf(types) => {
            format!("Set table_options.{table}.column_types.{column} in the config to one of: {types}.")
        }
    }
}

/// Advice for a store's own error, found behind the engine's.
fn store_advice(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use store_postgres::PgError;
    use store_sqlite::SqliteError;
    // The override is for this target only, so a fix for SQLite leaves PostgreSQL's mapping be.
    let values = |target: TargetKind, table: &str, columns: &[ValueColumn]| {
        let advice = columns.iter().map(|c| {
            format!(
                "Set table_options.{table}.column_types.{} to {{{}: {}}} in the config to store it without loss.",
                c.column,
                target.key(),
                c.fix
            )
        });
        advice.collect::<Vec<_>>().join("\n")
    };
    let unknown = |table: &str, column: &str| {
        format!("Correct or remove the entry naming {column:?} in the config's table_options.{table}.")
    };
    let unsupported = |table: &str, columns: &[UnsupportedColumn]| {
        columns.iter().map(|c| column_advice(table, &c.column, &c.fix)).collect::<Vec<_>>().join("\n")
    };
    if let Some(e) = e.downcast_ref::<PgError>() {
        return match e {
            PgError::Value { table, columns } => Some(values(TargetKind::Postgresql, table, columns)),
            PgError::UnknownColumn { table, column, .. } => Some(unknown(table, column)),
            PgError::Unsupported { table, columns } => Some(unsupported(table, columns)),
            _ => None,
        };
    }
    if let Some(e) = e.downcast_ref::<SqliteError>() {
        return match e {
            SqliteError::Value { table, columns } => Some(values(TargetKind::Sqlite, table, columns)),
            SqliteError::UnknownColumn { table, column, .. } => Some(unknown(table, column)),
            SqliteError::Unsupported { table, columns } => Some(unsupported(table, columns)),
            _ => None,
        };
    }
    None
}

const IF_EXISTS: &str =
    "Pass --if-exists replace to swap the table atomically, or --if-exists append to add rows.";

impl SqlError {
    /// The error for an export directory that `check` or `manifest` refused.
    pub fn from_manifest(dir: &std::path::Path, e: store_parquet::ParquetError) -> SqlError {
        match e {
            store_parquet::ParquetError::NoManifest { .. } => SqlError::NoExport { dir: dir.to_path_buf() },
            e => SqlError::Manifest { file: dir.to_path_buf(), problem: e.to_string() },
        }
    }
}

impl Failure for SqlError {
    /// 2 usage or configuration, 3 verification found a difference, 1 anything else.
    fn exit_code(&self) -> u8 {
        match self {
            SqlError::ConfigRead { .. }
            | SqlError::ConfigInvalid { .. }
            | SqlError::NoTarget
            | SqlError::PartialTarget { .. }
            | SqlError::NoExport { .. }
            | SqlError::TableOptions { .. }
            | SqlError::InvalidUrl { .. }
            | SqlError::UnknownTable { .. }
            | SqlError::Unsupported { .. } => exit::USAGE,
            SqlError::VerifyMismatch(_) => exit::DIFFERENT,
            _ => exit::FAILED,
        }
    }

    fn advice(&self) -> Option<String> {
        match self {
            SqlError::Unsupported { columns, .. } => Some(
                columns
                    .iter()
                    .map(|(t, c)| column_advice(t, &c.column, &c.fix))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            SqlError::PartialTarget { missing, .. } => Some(format!(
                "Set {} as well, or unset every CRYPTO_DB_* part to use CRYPTO_DB_URL or database.url.",
                and_list(missing)
            )),
            SqlError::TableOptions { .. } => {
                Some("Correct or remove those entries in the config's table_options.".into())
            }
            SqlError::NoExport { dir } => Some(format!(
                "Run the export first (migrate-sql --mode export --output {}), then import from that directory.",
                dir.display()
            )),
            SqlError::Manifest { .. } => Some(
                "Run the export again (migrate-sql --mode export --output DIR), then import from DIR.".into(),
            ),
            SqlError::DuckDb(detail) if detail.contains("TIME ZONE") && detail.contains("INTERVAL") => Some(
                "The embedded DuckDB is built without ICU: cast the TIMESTAMPTZ to TIMESTAMP (UTC) before adding an INTERVAL, e.g. ts::TIMESTAMP + INTERVAL 1 DAY.".into(),
            ),
            SqlError::Core(CoreError::TableExists { .. }) => Some(IF_EXISTS.into()),
            SqlError::Core(CoreError::Store { source, .. }) => store_advice(source.as_ref()),
            _ => None,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = SqlError> = std::result::Result<T, E>;
