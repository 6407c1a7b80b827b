//! Opening a location URL: `gs://` through the GCS JSON API, everything else through object_store.

use crate::error::Result;
use migrate_objects::{ObjectBackend, ObjectStoreBackend};
use std::sync::{Arc, OnceLock};
use store_gcs::{GcsBackend, GcsClient};

/// How two locations overlap: a copy between them would read what it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// The same location.
    Same,
    /// The target lies inside the source.
    TargetInSource,
    /// The source lies inside the target.
    SourceInTarget,
}

impl Overlap {
    /// Whether `source` and `target` overlap (as prefixes: `gs://b/p/` holds `gs://b/p/x/`, not
    /// `gs://b/p2/`).
    pub fn of(source: &str, target: &str) -> Option<Overlap> {
        let folder = |url: &str| format!("{}/", url.trim_end_matches('/'));
        let (s, t) = (folder(source), folder(target));
        if s == t {
            Some(Overlap::Same)
        } else if t.starts_with(&s) {
            Some(Overlap::TargetInSource)
        } else if s.starts_with(&t) {
            Some(Overlap::SourceInTarget)
        } else {
            None
        }
    }

    /// Why the run is refused, naming both locations.
    pub fn explain(self, source: &str, target: &str) -> String {
        match self {
            Overlap::Same => format!("source and target are the same location: {source}"),
            Overlap::TargetInSource => format!(
                "the target {target} lies inside the source {source}: the copy would write into the data it reads (and nest deeper on every run); choose a target outside the source"
            ),
            Overlap::SourceInTarget => format!(
                "the source {source} lies inside the target {target}: the target's view of its objects would include the source itself; choose locations that do not contain each other"
            ),
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::Overlap;

    #[test]
    fn nested_locations_overlap_siblings_do_not() {
        let cases = [
            ("gs://b/p/", "gs://b/p/backup/", Some(Overlap::TargetInSource)),
            ("gs://b/p", "gs://b/p/backup", Some(Overlap::TargetInSource)),
            ("gs://b/p/x/", "gs://b/p/", Some(Overlap::SourceInTarget)),
            ("gs://b/p/", "gs://b/", Some(Overlap::SourceInTarget)),
            ("gs://b/p/", "gs://b/p", Some(Overlap::Same)),
            ("gs://b/p/", "gs://b/p2/", None),
            ("gs://b/QPI_exports/", "gs://b/QPI_exports_old/", None),
            ("gs://b/p/", "gs://c/p/", None),
            ("file:///data/a/", "file:///data/a/b/", Some(Overlap::TargetInSource)),
        ];
        for (source, target, expected) in cases {
            assert_eq!(Overlap::of(source, target), expected, "{source} → {target}");
        }
    }
}
