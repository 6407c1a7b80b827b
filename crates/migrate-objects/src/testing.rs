//! The conformance suite every [`ObjectBackend`] runs, and a failure-injecting wrapper for
//! engine tests (feature `testing`).

use crate::backend::{ByteStream, DeleteOutcome, ObjectBackend};
use crate::copy::copy_object;
use crate::entry::{ObjectAttrs, ObjectEntry};
use crate::error::{ObjectsError, Result};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Writes `data` at `key` (overwriting), panicking on failure.
pub async fn put_bytes(backend: &dyn ObjectBackend, key: &str, data: &[u8]) -> ObjectEntry {
    put_with(backend, key, data, &ObjectAttrs::default()).await
}

async fn put_with(backend: &dyn ObjectBackend, key: &str, data: &[u8], attrs: &ObjectAttrs) -> ObjectEntry {
    let chunks: Vec<Result<Bytes>> = data.chunks(1 << 20).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let stream = futures::stream::iter(chunks).boxed();
    backend.put(key, attrs, stream, false).await.unwrap_or_else(|e| panic!("put {key}: {e}"))
}

/// Reads a whole object, panicking on failure.
pub async fn read_bytes(backend: &dyn ObjectBackend, key: &str) -> Vec<u8> {
    let (_, stream) = backend.get(key).await.unwrap_or_else(|e| panic!("get {key}: {e}"));
    let chunks: Vec<Bytes> = stream.try_collect().await.unwrap_or_else(|e| panic!("read {key}: {e}"));
    chunks.concat()
}

/// Every key under a location, in listing order.
pub async fn keys(backend: &dyn ObjectBackend) -> Vec<String> {
    backend.list().map_ok(|e| e.key).try_collect().await.expect("listing")
}

/// What a store can do, where stores legitimately differ.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// Content type and metadata survive a put.
    pub keeps_attributes: bool,
    /// A server-side copy onto an existing key fails (GCS enforces `ifGenerationMatch=0` on
    /// `rewrite`; the fake-gcs-server emulator ignores it).
    pub copy_refuses_existing: bool,
}

/// The conformance suite: `a` and `b` are two empty locations of one store.
pub async fn conformance(a: Arc<dyn ObjectBackend>, b: Arc<dyn ObjectBackend>, caps: Capabilities) {
    let (a, b) = (a.as_ref(), b.as_ref());
    assert!(keys(a).await.is_empty(), "{} must start empty", a.url());
    assert!(a.url().ends_with('/'), "a location URL ends with /: {}", a.url());

    // Listing: ascending byte order, sizes, nested and non-ASCII keys.
    let names = ["a-b", "a.b", "a/b", "a0", "day_20240101/part 1.jsonl", "über/ä.csv"];
    for (i, k) in names.iter().rev().enumerate() {
        put_bytes(a, k, &vec![b'x'; i + 1]).await;
    }
    let listed: Vec<ObjectEntry> = a.list().try_collect().await.expect("listing");
    assert_eq!(listed.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), names, "listing order");
    assert_eq!(listed[0].size, names.len() as u64);
    assert!(keys(b).await.is_empty(), "locations are separate");

    // head and get.
    assert_eq!(a.head("nope").await.unwrap(), None);
    let head = a.head("a/b").await.unwrap().expect("a/b exists");
    assert_eq!(head.size, 4);
    assert_eq!(read_bytes(a, "a/b").await, b"xxxx");
    assert!(
        matches!(a.get("nope").await, Err(ObjectsError::NotFound { .. })),
        "get of a missing key is NotFound"
    );

    // Attributes survive where the store keeps them.
    let attrs = ObjectAttrs {
        content_type: Some("application/x-ndjson".into()),
        content_encoding: None,
        metadata: [("origin".to_string(), "qpi".to_string())].into(),
    };
    put_with(a, "typed.jsonl", b"{}\n", &attrs).await;
    let (got, _) = a.get("typed.jsonl").await.unwrap();
    if caps.keeps_attributes {
        assert_eq!(got.content_type, attrs.content_type);
        assert_eq!(got.metadata.get("origin").map(String::as_str), Some("qpi"));
    }

    // Writes that must not replace an existing object.
    let once = futures::stream::iter([Ok(Bytes::from_static(b"new"))]).boxed();
    let err = a
        .put("a/b", &ObjectAttrs::default(), once, true)
        .await
        .expect_err("only_if_absent on an existing key");
    assert!(matches!(err, ObjectsError::Changed { .. }), "{err}");
    assert_eq!(read_bytes(a, "a/b").await, b"xxxx", "not replaced");

    // Large objects stream through (more than one upload chunk).
    let big: Vec<u8> = (0..9 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
    let e = put_bytes(a, "big.bin", &big).await;
    assert_eq!(e.size, big.len() as u64);
    assert!(read_bytes(a, "big.bin").await == big, "large object round trip");

    // Copy to the other location, server-side or streamed; then pinned deletes.
    let src = a.head("day_20240101/part 1.jsonl").await.unwrap().unwrap();
    let (copied, _) = copy_object(a, b, &src, &src.key, None).await.expect("copy");
    assert_eq!(copied.size, src.size);
    assert_eq!(read_bytes(b, &src.key).await, read_bytes(a, &src.key).await);
    if caps.copy_refuses_existing {
        let again = copy_object(a, b, &src, &src.key, None).await;
        assert!(
            matches!(again, Err(ObjectsError::Changed { .. })),
            "a copy does not replace silently: {again:?}"
        );
    }

    let listed_b = b.head(&src.key).await.unwrap().unwrap();
    put_bytes(b, &src.key, b"changed content").await;
    assert_eq!(b.delete_if_unchanged(&listed_b).await.unwrap(), DeleteOutcome::KeptChanged);
    let current = b.head(&src.key).await.unwrap().unwrap();
    assert_eq!(b.delete_if_unchanged(&current).await.unwrap(), DeleteOutcome::Deleted);
    assert_eq!(b.delete_if_unchanged(&current).await.unwrap(), DeleteOutcome::AlreadyGone);

    // Siblings share the store, not the prefix.
    let side = a.sibling("_migration_manifests").expect("sibling");
    assert!(side.url().ends_with("_migration_manifests/"), "{}", side.url());
    put_bytes(side.as_ref(), "m.jsonl", b"{}").await;
    assert_eq!(keys(side.as_ref()).await, vec!["m.jsonl"]);
    assert!(!keys(a).await.iter().any(|k| k.contains("m.jsonl")));
    let gone = side.head("m.jsonl").await.unwrap().unwrap();
    side.delete_if_unchanged(&gone).await.unwrap();

    // Clean up what the suite wrote.
    for e in a.list().try_collect::<Vec<_>>().await.unwrap() {
        a.delete_if_unchanged(&e).await.unwrap();
    }
}

/// Wraps a location and fails every write after the first `writes_allowed` ones, like a copy
/// killed midway.
#[derive(Debug)]
pub struct FailsAfter {
    inner: Arc<dyn ObjectBackend>,
    writes_allowed: usize,
    writes: AtomicUsize,
}

impl FailsAfter {
    /// Lets `writes_allowed` puts or copies through, then fails.
    pub fn new(inner: Arc<dyn ObjectBackend>, writes_allowed: usize) -> Self {
        Self { inner, writes_allowed, writes: AtomicUsize::new(0) }
    }

    fn admit(&self) -> Result<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) < self.writes_allowed {
            Ok(())
        } else {
            Err(ObjectsError::Store {
                operation: "write".into(),
                detail: "killed (test)".into(),
                transient: false,
            })
        }
    }
}

#[async_trait]
impl ObjectBackend for FailsAfter {
    fn url(&self) -> String {
        self.inner.url()
    }
    fn list(&self) -> BoxStream<'_, Result<ObjectEntry>> {
        self.inner.list()
    }
    async fn head(&self, key: &str) -> Result<Option<ObjectEntry>> {
        self.inner.head(key).await
    }
    async fn get(&self, key: &str) -> Result<(ObjectAttrs, ByteStream)> {
        self.inner.get(key).await
    }
    async fn put(
        &self,
        key: &str,
        attrs: &ObjectAttrs,
        data: ByteStream,
        only_if_absent: bool,
    ) -> Result<ObjectEntry> {
        self.admit()?;
        self.inner.put(key, attrs, data, only_if_absent).await
    }
    async fn copy_from_same_store(
        &self,
        source: &dyn ObjectBackend,
        entry: &ObjectEntry,
        target_key: &str,
        replace: Option<&ObjectEntry>,
    ) -> Result<Option<ObjectEntry>> {
        self.admit()?;
        self.inner.copy_from_same_store(source, entry, target_key, replace).await
    }
    async fn delete_if_unchanged(&self, expected: &ObjectEntry) -> Result<DeleteOutcome> {
        self.inner.delete_if_unchanged(expected).await
    }
    fn sibling(&self, prefix: &str) -> Result<Arc<dyn ObjectBackend>> {
        self.inner.sibling(prefix)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
