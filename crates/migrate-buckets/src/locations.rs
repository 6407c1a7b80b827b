//! Opening a location URL: `gs://` through the GCS JSON API, everything else through object_store.

use crate::error::Result;
use migrate_objects::{ObjectBackend, ObjectStoreBackend};
use std::sync::{Arc, OnceLock};
use store_gcs::{GcsBackend, GcsClient};

/// Opens locations, sharing one GCS client (and its connection pool) between them.
#[derive(Debug, Default)]
pub struct Locations {
    gcs: OnceLock<GcsClient>,
}

impl Locations {
    /// An opener; the GCS client is built on first use, from `STORAGE_EMULATOR_HOST` or the
    /// usual Google credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// An opener with a given GCS client.
    pub fn with_gcs(client: GcsClient) -> Self {
        let gcs = OnceLock::new();
        let _ = gcs.set(client);
        Self { gcs }
    }

    /// Opens `url`: `gs://bucket/prefix/`, `file:///dir/`, `memory://name/prefix/`, `s3://bucket/prefix/`.
    pub fn open(&self, url: &str) -> Result<Arc<dyn ObjectBackend>> {
        if url.starts_with("gs://") {
            let client = match self.gcs.get() {
                Some(c) => c.clone(),
                None => {
                    let c = GcsClient::from_env()?;
                    self.gcs.get_or_init(|| c).clone()
                }
            };
            return Ok(Arc::new(GcsBackend::open(client, url)?));
        }
        Ok(Arc::new(ObjectStoreBackend::open(url)?))
    }
}
