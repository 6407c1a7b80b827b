//! The object migration engine: move one prefix of a bucket to another location and prove it.
//!
//! Steps, each usable on its own:
//! 1. [`survey`]: one pass over both sorted listings gives each side's [`LayoutReport`]
//!    (kinds, date partitions, gaps, critical files) and the [`PlanSummary`] (copy, skip,
//!    conflict, extra).
//! 2. [`copy()`]: copies what is missing, concurrently, server-side where both locations are in
//!    one store; a re-run copies only what is still missing.
//! 3. [`verify()`]: every source object must be in the target with equal size and content
//!    checksum (provider CRC32C/MD5, or a streamed hash where a side has none).
//! 4. [`check_deletion`] and [`delete_from_manifest`]: refuse unless a fresh verification passes,
//!    write a manifest, delete exactly its objects, each only if unchanged; [`restore`] undoes.
//!
//! Stores implement [`ObjectBackend`]; [`ObjectStoreBackend`] covers `file://`, `memory://` and
//! `s3://` through `object_store`, and `store-gcs` provides `gs://` over the GCS JSON API.
//!
//! ```
//! # tokio_test_block(async {
//! use migrate_objects::{CopyOptions, NoProgress, ObjectStoreBackend, copy, verify};
//! use migrate_objects::testing::put_bytes;
//! let old = ObjectStoreBackend::open("memory://docs/QPI_exports/").unwrap();
//! let new = ObjectStoreBackend::open("memory://docs/qpi_exports/").unwrap();
//! put_bytes(&old, "qpi_answers_20240101/part-0.jsonl", b"{\"a\":1}\n").await;
//! let copied = copy(&old, &new, CopyOptions::default(), &NoProgress).await.unwrap();
//! assert_eq!(copied.copied.objects, 1);
//! let report = verify(&old, &new, 4, &NoProgress, &mut |_| Ok(())).await.unwrap();
//! assert!(report.passed());
//! # });
//! # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```

#![warn(missing_docs)]

mod backend;
mod checksum;
mod copy;
mod delete;
mod entry;
mod error;
mod join;
mod layout;
mod manifest;
mod object_store_backend;
mod plan;
mod references;
mod report;
mod restore;
mod verify;

#[cfg(feature = "testing")]
pub mod testing;

pub use backend::{ByteStream, DeleteOutcome, ObjectBackend};
pub use checksum::{Comparison, Evidence, compare, compare_reported};
pub use copy::{CopyOptions, CopyPath, CopyReport, RECORD, copy, copy_object, copy_with_retries};
pub use delete::{DeletionCheck, DeletionReport, check_deletion, delete_from_manifest};
pub use entry::{ObjectAttrs, ObjectEntry};
pub use error::{ObjectsError, Result};
pub use join::{Pair, join};
pub use layout::{
    CriticalKind, DATA_KINDS, DatePartition, FileKind, KindCount, LayoutAnalyzer, LayoutReport, SeriesReport,
    date_partition,
};
pub use manifest::{Manifest, ManifestSummary, ManifestWriter};
pub use object_store_backend::{ObjectStoreBackend, normalize_prefix};
pub use plan::{Action, PlanSummary, Survey, decide, survey};
pub use references::{Reference, ReferenceKind, ReferencePattern, SCAN_LIMITS, scan as scan_references};
pub use report::{Capped, LIST_CAP, NoProgress, Problem, Progress, Tally};
pub use restore::{RestoreReport, restore};
pub use verify::{VerifyReport, verify, verify_copy};
