//! The one error type of the bucket tools, and exit codes.

/// Exit codes, the documented contract of every bucket tool.
pub mod exit {
    /// Done; in sync.
    pub const OK: u8 = 0;
    /// Failed (I/O, store errors, objects that could not be copied or deleted).
    pub const FAILED: u8 = 1;
    /// Usage or configuration error.
    pub const USAGE: u8 = 2;
    /// Source and target differ (verification mismatch, conflicts).
    pub const DIFFERENT: u8 = 3;
    /// A safety check or the confirmation refused the deletion; nothing was deleted.
    pub const REFUSED: u8 = 4;
}

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
        what: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl BucketsError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> u8 {
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
