//! The one error type of `store-parquet`.

use std::path::PathBuf;

/// What can go wrong with the Parquet directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParquetError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A Parquet file is unreadable or corrupt.
    #[error("{path} is not a readable Parquet file: {detail}")]
    Corrupt {
        /// The file or directory.
        path: PathBuf,
        /// What the server or library said.
        detail: String,
    },

    /// The directory holds no export: its manifest does not exist.
    #[error("{path} does not exist")]
    NoManifest {
        /// Where the manifest should be.
        path: PathBuf,
    },

    /// The manifest cannot be read or is malformed.
    #[error("manifest {path}: {detail}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// A file does not match its manifest entry.
    #[error("{path} does not match manifest.json: {detail}")]
    Mismatch {
        /// The file or directory.
        path: PathBuf,
        /// What the server or library said.
        detail: String,
    },

    /// The table has no file in the directory.
    #[error("no Parquet file for table {table:?} in {dir} (manifest lists: {known})")]
    NotFound {
        /// The table.
        table: String,
        /// The directory.
        dir: PathBuf,
        /// The names that do exist.
        known: String,
    },

    /// Writing Parquet failed.
    #[error("writing {path}: {detail}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What the server or library said.
        detail: String,
    },
}

impl From<ParquetError> for migrate_core::CoreError {
    fn from(e: ParquetError) -> Self {
        match e {
            ParquetError::NotFound { table, dir, .. } => {
                migrate_core::CoreError::TableNotFound { table, store: dir.display().to_string() }
            }
            other => migrate_core::CoreError::Store { store: "parquet".into(), source: Box::new(other) },
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ParquetError> = std::result::Result<T, E>;
