//! The store interface the engine runs on: one location (a bucket or directory plus a prefix).

use crate::entry::{ObjectAttrs, ObjectEntry};
use crate::error::Result;
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A stream of object content.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// What happened to a conditional delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The object was deleted.
    Deleted,
    /// The object was already gone.
    AlreadyGone,
    /// The object no longer matched the expected version or size, so it was kept.
    KeptChanged,
}

/// One location in an object store: everything under a prefix of a bucket or directory.
///
/// Keys are relative to the prefix. Required methods only; the engine builds plan, copy, verify
/// and delete on top. Every implementation runs the conformance suite in
/// `migrate_objects::testing` (feature `testing`).
#[async_trait]
pub trait ObjectBackend: Send + Sync + fmt::Debug + 'static {
    /// The location as a URL (`gs://bucket/prefix/`, `file:///dir/`, `memory://name/prefix/`).
    fn url(&self) -> String;

    /// Streams every object under the prefix in ascending byte order of key.
    fn list(&self) -> BoxStream<'_, Result<ObjectEntry>>;

    /// One object's entry, `None` when absent.
    async fn head(&self, key: &str) -> Result<Option<ObjectEntry>>;

    /// Streams an object's content, with the attributes a copy should carry over.
    async fn get(&self, key: &str) -> Result<(ObjectAttrs, ByteStream)>;

    /// Writes an object from a stream (atomically: readers see the old object or the whole new
    /// one). With `only_if_absent`, fails with [`ObjectsError::Changed`](crate::ObjectsError)
    /// where the store can enforce it.
    async fn put(
        &self,
        key: &str,
        attrs: &ObjectAttrs,
        data: ByteStream,
        only_if_absent: bool,
    ) -> Result<ObjectEntry>;

    /// Copies `entry` from `source` into this location without the bytes passing through this
    /// process, when both are in one store that can do that. `Ok(None)` means it cannot: the
    /// caller streams instead. The copy is pinned to the entry's version where the store can.
    async fn copy_from_same_store(
        &self,
        source: &dyn ObjectBackend,
        entry: &ObjectEntry,
        target_key: &str,
        replace: Option<&ObjectEntry>,
    ) -> Result<Option<ObjectEntry>>;

    /// Deletes `expected.key` only if it still matches `expected` (version where the store keeps
    /// versions, else size and checksum).
    async fn delete_if_unchanged(&self, expected: &ObjectEntry) -> Result<DeleteOutcome>;

    /// Another prefix of the same bucket or container (where manifests are kept).
    fn sibling(&self, prefix: &str) -> Result<Arc<dyn ObjectBackend>>;

    /// For `copy_from_same_store`: lets an implementation recognise its own kind.
    fn as_any(&self) -> &dyn Any;
}
