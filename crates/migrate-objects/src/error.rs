//! The one error type of this crate.

/// What can go wrong moving objects between stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectsError {
    /// A location URL that cannot be used.
    #[error("invalid location {url:?}: {reason}")]
    InvalidLocation { url: String, reason: String },

    /// The object does not exist.
    #[error("{url} does not exist")]
    NotFound { url: String },

    /// A precondition (generation, version or absence) did not hold: the object changed.
    #[error("{url} changed since it was recorded ({detail})")]
    Changed { url: String, detail: String },

    /// The store refused or failed an operation.
    #[error("{operation} failed: {detail}")]
    Store { operation: String, detail: String, transient: bool },

    /// A listing arrived out of order, so the plan could not be computed safely.
    #[error("the listing of {url} is not sorted ({previous:?} came before {next:?}); refusing to plan on it")]
    UnsortedListing { url: String, previous: String, next: String },

    /// A local file (log, manifest, code tree) could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        what: String,
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// A manifest file that cannot be used.
    #[error("manifest {path} line {line}: {detail}")]
    Manifest { path: String, line: usize, detail: String },
}

impl ObjectsError {
    /// Whether retrying the same operation may succeed (throttling, 5xx, broken connections).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store { transient: true, .. })
    }

    /// An error from an object_store call.
    pub fn from_object_store(operation: impl Into<String>, err: object_store::Error) -> Self {
        let operation = operation.into();
        match err {
            object_store::Error::NotFound { path, .. } => Self::NotFound { url: path },
            object_store::Error::Precondition { path, source }
            | object_store::Error::AlreadyExists { path, source } => {
                Self::Changed { url: path, detail: source.to_string() }
            }
            other => {
                let transient = matches!(other, object_store::Error::Generic { .. });
                Self::Store { operation, detail: other.to_string(), transient }
            }
        }
    }

    pub(crate) fn io(what: &str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io { what: what.to_string(), path: path.display().to_string(), source }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ObjectsError> = std::result::Result<T, E>;
