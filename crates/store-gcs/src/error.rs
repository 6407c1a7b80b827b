//! The one error type of this crate.

/// What can go wrong talking to Google Cloud Storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GcsError {
    /// The object or bucket does not exist.
    #[error("gs://{bucket}/{name} does not exist")]
    NotFound {
        /// The bucket.
        bucket: String,
        /// The object name.
        name: String,
    },

    /// A generation precondition did not hold (the object changed since it was recorded).
    #[error("gs://{bucket}/{name} changed since it was recorded (generation precondition failed)")]
    PreconditionFailed {
        /// The bucket.
        bucket: String,
        /// The object name.
        name: String,
    },

    /// The credentials were refused.
    #[error(
        "GCS refused the credentials for {what} (HTTP {status}): check GOOGLE_APPLICATION_CREDENTIALS \
         or run `gcloud auth application-default login`; for an emulator set STORAGE_EMULATOR_HOST"
    )]
    Unauthorized {
        /// What was being done.
        what: String,
        /// The HTTP status.
        status: u16,
    },

    /// Any other non-success answer.
    #[error("GCS {what} failed with HTTP {status}: {message}")]
    Http {
        /// What was being done.
        what: String,
        /// The HTTP status.
        status: u16,
        /// What the server said.
        message: String,
    },

    /// The server could not be reached or the connection broke.
    #[error("cannot reach GCS at {endpoint} for {what}: {source}")]
    Transport {
        /// The endpoint called.
        endpoint: String,
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// Credentials could not be loaded from the usual Google sources.
    #[error(
        "could not load Google credentials ({0}); set GOOGLE_APPLICATION_CREDENTIALS to a key file, \
         run `gcloud auth application-default login`, or set STORAGE_EMULATOR_HOST for an emulator"
    )]
    Credentials(#[source] object_store::Error),

    /// The server answered something this client does not understand.
    #[error("unexpected GCS answer for {what}: {detail}")]
    Protocol {
        /// What was being done.
        what: String,
        /// What the server or library said.
        detail: String,
    },

    /// A `gs://` URL or endpoint that cannot be used.
    #[error("invalid GCS location {input:?}: {reason}")]
    InvalidLocation {
        /// What was given.
        input: String,
        /// Why it cannot be used.
        reason: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = GcsError> = std::result::Result<T, E>;
