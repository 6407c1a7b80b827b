//! [`ObjectBackend`] over any `object_store::ObjectStore`: `file://`, `memory://`, `s3://`.

use crate::backend::{ByteStream, DeleteOutcome, ObjectBackend};
use crate::entry::{ObjectAttrs, ObjectEntry};
use crate::error::{ObjectsError, Result};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    WriteMultipart,
};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Objects up to this size are written with one request; larger ones as multipart uploads.
const SINGLE_PUT_LIMIT: usize = 8 * 1024 * 1024;

/// A location in an `object_store` store: a container root (bucket, parent directory or named
/// in-memory store) and a prefix under it.
#[derive(Clone)]
pub struct ObjectStoreBackend {
    store: Arc<dyn ObjectStore>,
    /// URL of the container root, ending in `/` (`memory://name/`, `file:///data/`).
    container_url: String,
    /// Path of the container root inside the store (`""` or `data/`).
    root: String,
    /// Prefix under the root, empty or ending in `/`.
    prefix: String,
    /// Whether the store lists in key order (local directories do not).
    sorted_listing: bool,
    /// Whether `copy` is a real server-side copy (local copies are hard links: streamed instead).
    server_side_copy: bool,
    /// Whether the store keeps content type and metadata (local files do not).
    keeps_attributes: bool,
}

impl std::fmt::Debug for ObjectStoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStoreBackend").field("url", &self.url()).finish()
    }
}

/// Named in-memory stores, shared in the process so `memory://a/x/` and `memory://a/y/` are one
/// store (and copies between them are server-side).
fn memory_store(name: &str) -> Arc<dyn ObjectStore> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<InMemory>>>> = OnceLock::new();
    let mut stores = STORES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    stores.entry(name.to_string()).or_insert_with(|| Arc::new(InMemory::new())).clone()
}

/// `""` or `p/` for a prefix given with or without its slashes: a location's prefix always ends
/// at a `/`, so `QPI_exports` never matches `QPI_exports_old/`.
pub fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() { String::new() } else { format!("{trimmed}/") }
}

impl ObjectStoreBackend {
    /// Opens `file:///dir/`, `memory://name/prefix/` or `s3://bucket/prefix/` (S3 settings from
    /// the usual `AWS_*` environment variables).
    pub fn open(url: &str) -> Result<Self> {
        let invalid =
            |reason: &str| ObjectsError::InvalidLocation { url: url.to_string(), reason: reason.into() };
        let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        match parsed.scheme() {
            "file" => {
                let dir = parsed.to_file_path().map_err(|_| invalid("not an absolute file path"))?;
                let dir = dir.to_string_lossy().trim_end_matches('/').to_string();
                let (parent, name) = dir.rsplit_once('/').ok_or_else(|| invalid("no directory"))?;
                if name.is_empty() {
                    return Err(invalid("the file system root cannot be a location"));
                }
                let root = normalize_prefix(parent);
                Ok(Self {
                    store: Arc::new(LocalFileSystem::new()),
                    container_url: format!("file:///{root}"),
                    root,
                    prefix: normalize_prefix(name),
                    sorted_listing: false,
                    server_side_copy: false,
                    keeps_attributes: false,
                })
            }
            "memory" => {
                let name = parsed.host_str().unwrap_or_default();
                if name.is_empty() {
                    return Err(invalid("expected memory://name/prefix/"));
                }
                Ok(Self {
                    store: memory_store(name),
                    container_url: format!("memory://{name}/"),
                    root: String::new(),
                    prefix: normalize_prefix(parsed.path()),
                    sorted_listing: true,
                    server_side_copy: true,
                    keeps_attributes: true,
                })
            }
            "s3" => {
                let bucket = parsed.host_str().unwrap_or_default();
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| invalid(&e.to_string()))?;
                Ok(Self {
                    store: Arc::new(store),
                    container_url: format!("s3://{bucket}/"),
                    root: String::new(),
                    prefix: normalize_prefix(parsed.path()),
                    sorted_listing: true,
                    server_side_copy: true,
                    keeps_attributes: true,
                })
            }
            other => Err(invalid(&format!(
                "unsupported scheme {other}:// here (use gs://, file://, memory:// or s3://)"
            ))),
        }
    }

    /// A location over a store built elsewhere (`sorted_listing`: whether it lists in key order).
    pub fn from_store(
        store: Arc<dyn ObjectStore>,
        container_url: &str,
        prefix: &str,
        sorted_listing: bool,
    ) -> Self {
        Self {
            store,
            container_url: format!("{}/", container_url.trim_end_matches('/')),
            root: String::new(),
            prefix: normalize_prefix(prefix),
            sorted_listing,
            server_side_copy: true,
            keeps_attributes: true,
        }
    }

    fn path(&self, key: &str) -> Result<Path> {
        let full = format!("{}{}{}", self.root, self.prefix, key);
        Path::parse(&full).map_err(|e| ObjectsError::InvalidLocation {
            url: format!("{}{}", self.url(), key),
            reason: format!("not a valid object path for this store: {e}"),
        })
    }

    fn entry_of(&self, meta: object_store::ObjectMeta) -> Result<ObjectEntry> {
        let full = meta.location.as_ref();
        let base = format!("{}{}", self.root, self.prefix);
        let key = full.strip_prefix(&base).ok_or_else(|| ObjectsError::Store {
            operation: format!("listing {}", self.url()),
            detail: format!("the store returned {full}, outside the prefix"),
            transient: false,
        })?;
        Ok(ObjectEntry {
            key: key.to_string(),
            size: meta.size,
            crc32c: None,
            md5: None,
            version: meta.version.or(meta.e_tag),
            updated: Some(meta.last_modified),
        })
    }

    fn list_prefix(&self) -> Option<Path> {
        let base = format!("{}{}", self.root, self.prefix);
        let base = base.trim_end_matches('/');
        (!base.is_empty()).then(|| Path::from(base))
    }

    async fn list_unsorted(&self) -> Result<Vec<ObjectEntry>> {
        let mut entries: Vec<ObjectEntry> = self
            .store
            .list(self.list_prefix().as_ref())
            .map_err(|e| ObjectsError::from_object_store(format!("listing {}", self.url()), e))
            .and_then(|meta| futures::future::ready(self.entry_of(meta)))
            .try_collect()
            .await?;
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }
}

fn attrs_of(attributes: &Attributes) -> ObjectAttrs {
    let mut attrs = ObjectAttrs::default();
    for (key, value) in attributes {
        match key {
            Attribute::ContentType => attrs.content_type = Some(value.to_string()),
            Attribute::ContentEncoding => attrs.content_encoding = Some(value.to_string()),
            Attribute::Metadata(name) => {
                attrs.metadata.insert(name.to_string(), value.to_string());
            }
            _ => {}
        }
    }
    attrs
}

fn attributes_of(attrs: &ObjectAttrs) -> Attributes {
    let mut out = Attributes::new();
    if let Some(ct) = &attrs.content_type {
        out.insert(Attribute::ContentType, AttributeValue::from(ct.clone()));
    }
    if let Some(ce) = &attrs.content_encoding {
        out.insert(Attribute::ContentEncoding, AttributeValue::from(ce.clone()));
    }
    for (k, v) in &attrs.metadata {
        out.insert(Attribute::Metadata(k.clone().into()), AttributeValue::from(v.clone()));
    }
    out
}

#[async_trait]
impl ObjectBackend for ObjectStoreBackend {
    fn url(&self) -> String {
        format!("{}{}", self.container_url, self.prefix)
    }

    fn list(&self) -> BoxStream<'_, Result<ObjectEntry>> {
        if !self.sorted_listing {
            return futures::stream::once(self.list_unsorted())
                .map_ok(|entries| futures::stream::iter(entries.into_iter().map(Ok)))
                .try_flatten()
                .boxed();
        }
        self.store
            .list(self.list_prefix().as_ref())
            .map(move |item| {
                item.map_err(|e| ObjectsError::from_object_store(format!("listing {}", self.url()), e))
                    .and_then(|meta| self.entry_of(meta))
            })
            .boxed()
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectEntry>> {
        match self.store.head(&self.path(key)?).await {
            Ok(meta) => Ok(Some(self.entry_of(meta)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(ObjectsError::from_object_store(format!("reading {}{key}", self.url()), e)),
        }
    }

    async fn get(&self, key: &str) -> Result<(ObjectAttrs, ByteStream)> {
        let url = format!("{}{key}", self.url());
        let result = self
            .store
            .get(&self.path(key)?)
            .await
            .map_err(|e| ObjectsError::from_object_store(format!("reading {url}"), e))?;
        let attrs = attrs_of(&result.attributes);
        let stream = result
            .into_stream()
            .map_err(move |e| ObjectsError::from_object_store(format!("reading {url}"), e));
        Ok((attrs, stream.boxed()))
    }

    async fn put(
        &self,
        key: &str,
        attrs: &ObjectAttrs,
        mut data: ByteStream,
        only_if_absent: bool,
    ) -> Result<ObjectEntry> {
        let path = self.path(key)?;
        let url = format!("{}{key}", self.url());
        let attributes = if self.keeps_attributes { attributes_of(attrs) } else { Attributes::new() };
        let op = || format!("writing {url}");
        // Small objects: one conditional put. Large ones: a multipart upload (no condition).
        let mut head: Vec<Bytes> = Vec::new();
        let mut buffered = 0usize;
        let mut rest = None;
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            buffered += chunk.len();
            head.push(chunk);
            if buffered > SINGLE_PUT_LIMIT {
                rest = Some(data);
                break;
            }
        }
        match rest {
            None => {
                let mode = if only_if_absent { PutMode::Create } else { PutMode::Overwrite };
                let opts = PutOptions { mode, attributes, ..Default::default() };
                let payload: PutPayload = head.into_iter().collect();
                self.store
                    .put_opts(&path, payload, opts)
                    .await
                    .map_err(|e| ObjectsError::from_object_store(op(), e))?;
            }
            Some(mut rest) => {
                if only_if_absent && self.head(key).await?.is_some() {
                    return Err(ObjectsError::Changed { url, detail: "it exists already".into() });
                }
                let opts = object_store::PutMultipartOptions { attributes, ..Default::default() };
                let upload = self
                    .store
                    .put_multipart_opts(&path, opts)
                    .await
                    .map_err(|e| ObjectsError::from_object_store(op(), e))?;
                let mut writer = WriteMultipart::new(upload);
                for chunk in head {
                    writer.put(chunk);
                }
                let outcome: Result<()> = async {
                    while let Some(chunk) = rest.next().await {
                        writer
                            .wait_for_capacity(4)
                            .await
                            .map_err(|e| ObjectsError::from_object_store(op(), e))?;
                        writer.put(chunk?);
                    }
                    Ok(())
                }
                .await;
                match outcome {
                    Ok(()) => {
                        writer.finish().await.map_err(|e| ObjectsError::from_object_store(op(), e))?;
                    }
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(e);
                    }
                }
            }
        }
        self.head(key).await?.ok_or(ObjectsError::NotFound { url })
    }

    async fn copy_from_same_store(
        &self,
        source: &dyn ObjectBackend,
        entry: &ObjectEntry,
        target_key: &str,
        replace: Option<&ObjectEntry>,
    ) -> Result<Option<ObjectEntry>> {
        let Some(src) = source.as_any().downcast_ref::<ObjectStoreBackend>() else { return Ok(None) };
        if !self.server_side_copy || !Arc::ptr_eq(&self.store, &src.store) {
            return Ok(None);
        }
        let from = src.path(&entry.key)?;
        let to = self.path(target_key)?;
        let op = format!("copying {}{} to {}{target_key}", src.url(), entry.key, self.url());
        let result = match replace {
            None => self.store.copy_if_not_exists(&from, &to).await,
            Some(_) => self.store.copy(&from, &to).await,
        };
        match result {
            Ok(()) => {}
            Err(object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. }) => {
                return Ok(None);
            }
            Err(e) => return Err(ObjectsError::from_object_store(op, e)),
        }
        self.head(target_key).await
    }

    async fn delete_if_unchanged(&self, expected: &ObjectEntry) -> Result<DeleteOutcome> {
        let Some(current) = self.head(&expected.key).await? else { return Ok(DeleteOutcome::AlreadyGone) };
        let same_version = expected.version.is_none() || current.version == expected.version;
        if current.size != expected.size || !same_version {
            return Ok(DeleteOutcome::KeptChanged);
        }
        match self.store.delete(&self.path(&expected.key)?).await {
            Ok(()) => Ok(DeleteOutcome::Deleted),
            Err(object_store::Error::NotFound { .. }) => Ok(DeleteOutcome::AlreadyGone),
            Err(e) => {
                Err(ObjectsError::from_object_store(format!("deleting {}{}", self.url(), expected.key), e))
            }
        }
    }

    fn sibling(&self, prefix: &str) -> Result<Arc<dyn ObjectBackend>> {
        Ok(Arc::new(Self { prefix: normalize_prefix(prefix), ..self.clone() }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
