//! The one error type of the bucket tools, and the exit code each kind maps to.

use migrate_cli::exit;

/// What can stop a bucket tool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BucketsError {
    /// Arguments that do not make a run.
    #[error("{0}")]
    Usage(String),
    /// The engine failed.
    #[error(transparent)]
    Objects(#[from] migrate_objects::ObjectsError),
    /// The GCS client could not be set up.
    #[error(transparent)]
    Gcs(#[from] store_gcs::GcsError),
    /// A local file could not be written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The file or directory.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl migrate_cli::Failure for BucketsError {
    fn exit_code(&self) -> u8 {
        match self {
            BucketsError::Usage(_) => exit::USAGE,
            BucketsError::Objects(migrate_objects::ObjectsError::InvalidLocation { .. }) => exit::USAGE,
            BucketsError::Gcs(
                store_gcs::GcsError::InvalidLocation { .. } | store_gcs::GcsError::Credentials(_),
            ) => exit::USAGE,
            _ => exit::FAILED,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = BucketsError> = std::result::Result<T, E>;
