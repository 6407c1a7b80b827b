//! Google Cloud Storage for migrate, over the JSON API.
//!
//! Bucket migrations need what the JSON API offers and object_store's GCS client (XML API)
//! does not expose: listings with CRC32C/MD5 and generations, server-side copy by `rewrite`,
//! and writes and deletes conditioned on a generation. The JSON API is also what the GCS
//! emulator (`fake-gcs-server`) serves, so the same code runs against production and in tests.
//! Credentials come from object_store's Google chain (application default credentials,
//! `GOOGLE_APPLICATION_CREDENTIALS`, the metadata server); `STORAGE_EMULATOR_HOST` selects an
//! emulator with no credentials, as Google's own client libraries do.
//!
//! ```no_run
//! # async fn demo() -> store_gcs::Result<()> {
//! use futures::TryStreamExt;
//! let gcs = store_gcs::GcsClient::from_env()?;
//! let mut listing = std::pin::pin!(gcs.list("data-bucket-dev", "QPI_exports/"));
//! while let Some(object) = listing.try_next().await? {
//!     println!("{} {} bytes crc32c={:?}", object.name, object.size, object.crc32c);
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod backend;
mod bucket;
mod client;
mod error;
mod location;
mod object;
mod objects;
mod upload;

pub use backend::GcsBackend;
pub use client::{GOOGLE_ENDPOINT, GcsClient, RetryPolicy, emulator_endpoint};
pub use error::{GcsError, Result};
pub use location::GcsLocation;
pub use object::{ObjectMeta, decode_crc32c, encode_crc32c};
pub use objects::CopyConditions;
pub use upload::{CHUNK_SIZE, UploadOptions};
