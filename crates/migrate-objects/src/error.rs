//! The one error type of this crate.

/// What can go wrong moving objects between stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectsError {
    /// A location URL that cannot be used.
    #[error("invalid location {url:?}: {reason}")]
    InvalidLocation {
        /// The location URL.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// The object does not exist.
    #[error("{url} does not exist")]
    NotFound {
        /// The location URL.
        url: String,
    },

    /// A precondition (generation, version or absence) did not hold: the object changed.
    #[error("{url} changed since it was recorded ({detail})")]
    Changed {
        /// The location URL.
        url: String,
        /// What the server or library said.
        detail: String,
    },

    /// The store refused or failed an operation.
    #[error("{operation} failed: {detail}")]
    Store {
        /// What was being done.
        operation: String,
        /// What the server or library said.
        detail: String,
        /// Whether a retry may succeed.
        transient: bool,
    },

    /// A listing arrived out of order, so the plan could not be computed safely.
    #[error("the listing of {url} is not sorted ({previous:?} came before {next:?}); refusing to plan on it")]
    UnsortedListing {
        /// The location URL.
        url: String,
        /// The key listed before.
        previous: String,
        /// The key listed after it.
        next: String,
    },

    /// A local file (log, manifest, code tree) could not be read or written.
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

    /// A manifest file that cannot be used.
    #[error("manifest {path} line {line}: {detail}")]
    Manifest {
        /// The file or directory.
        path: String,
        /// The line number (1-based).
        line: usize,
        /// What the server or library said.
        detail: String,
    },
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
