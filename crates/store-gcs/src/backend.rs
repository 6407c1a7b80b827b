//! `gs://` locations for the object migration engine ([`migrate_objects::ObjectBackend`]).

use crate::client::GcsClient;
use crate::error::GcsError;
use crate::location::GcsLocation;
use crate::object::ObjectMeta;
use crate::objects::CopyConditions;
use crate::upload::{CHUNK_SIZE, UploadOptions};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use migrate_objects::{
    ByteStream, DeleteOutcome, ObjectAttrs, ObjectBackend, ObjectEntry, ObjectsError, normalize_prefix,
};
use std::any::Any;
use std::sync::Arc;

/// A bucket prefix on GCS (or an emulator), as an [`ObjectBackend`]. Copies between two
/// locations of the same endpoint are server-side `rewrite`s; deletes are pinned to the listed
/// generation. A copy onto a key that is absent is conditioned on `ifGenerationMatch=0`, which
/// GCS enforces and the fake-gcs-server emulator ignores (the engine plans from fresh listings,
/// so only a concurrent writer could slip through there).
#[derive(Debug, Clone)]
pub struct GcsBackend {
    client: GcsClient,
    bucket: String,
    prefix: String,
}

fn to_objects_error(e: GcsError) -> ObjectsError {
    match e {
        GcsError::NotFound { bucket, name } => {
            ObjectsError::NotFound { url: format!("gs://{bucket}/{name}") }
        }
        GcsError::PreconditionFailed { bucket, name } => ObjectsError::Changed {
            url: format!("gs://{bucket}/{name}"),
            detail: "generation precondition failed".into(),
        },
        GcsError::Transport { .. } => {
            ObjectsError::Store { operation: "GCS".into(), detail: e.to_string(), transient: true }
        }
        GcsError::Http { status, .. } if status == 429 || status >= 500 => {
            ObjectsError::Store { operation: "GCS".into(), detail: e.to_string(), transient: true }
        }
        other => ObjectsError::Store { operation: "GCS".into(), detail: other.to_string(), transient: false },
    }
}

impl GcsBackend {
    /// The location `gs://bucket/prefix/` through `client`.
    pub fn new(client: GcsClient, location: &GcsLocation) -> Self {
        Self { client, bucket: location.bucket.clone(), prefix: normalize_prefix(&location.prefix) }
    }

    /// Parses `url` and opens it through `client`.
    pub fn open(client: GcsClient, url: &str) -> Result<Self, ObjectsError> {
        let location = GcsLocation::parse(url)
            .map_err(|e| ObjectsError::InvalidLocation { url: url.to_string(), reason: e.to_string() })?;
        Ok(Self::new(client, &location))
    }

    fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn entry(&self, meta: ObjectMeta) -> Result<ObjectEntry, ObjectsError> {
        let key = meta.name.strip_prefix(&self.prefix).ok_or_else(|| ObjectsError::Store {
            operation: format!("listing {}", self.url()),
            detail: format!("GCS returned {}, outside the prefix", meta.name),
            transient: false,
        })?;
        Ok(ObjectEntry {
            key: key.to_string(),
            size: meta.size,
            crc32c: meta.crc32c,
            md5: meta.md5,
            version: Some(meta.generation.to_string()),
            updated: meta.updated,
        })
    }

    fn generation(entry: &ObjectEntry) -> Option<i64> {
        entry.version.as_deref().and_then(|v| v.parse().ok())
    }
}

#[async_trait]
impl ObjectBackend for GcsBackend {
    fn url(&self) -> String {
        format!("gs://{}/{}", self.bucket, self.prefix)
    }

    fn list(&self) -> BoxStream<'_, Result<ObjectEntry, ObjectsError>> {
        self.client
            .list(&self.bucket, &self.prefix)
            .map(move |item| item.map_err(to_objects_error).and_then(|meta| self.entry(meta)))
            .boxed()
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectEntry>, ObjectsError> {
        match self.client.head(&self.bucket, &self.name(key)).await.map_err(to_objects_error)? {
            Some(meta) => Ok(Some(self.entry(meta)?)),
            None => Ok(None),
        }
    }

    async fn get(&self, key: &str) -> Result<(ObjectAttrs, ByteStream), ObjectsError> {
        let name = self.name(key);
        let meta = self
            .client
            .head(&self.bucket, &name)
            .await
            .map_err(to_objects_error)?
            .ok_or_else(|| ObjectsError::NotFound { url: format!("gs://{}/{name}", self.bucket) })?;
        let attrs =
            ObjectAttrs { content_type: meta.content_type, content_encoding: None, metadata: meta.metadata };
        let stream = self.client.download(&self.bucket, &name).await.map_err(to_objects_error)?;
        Ok((attrs, stream.map_err(to_objects_error).boxed()))
    }

    async fn put(
        &self,
        key: &str,
        attrs: &ObjectAttrs,
        mut data: ByteStream,
        only_if_absent: bool,
    ) -> Result<ObjectEntry, ObjectsError> {
        let name = self.name(key);
        if only_if_absent && self.head(key).await?.is_some() {
            // The emulator ignores ifGenerationMatch on uploads; GCS itself enforces it below too.
            return Err(ObjectsError::Changed {
                url: format!("gs://{}/{name}", self.bucket),
                detail: "it exists already".into(),
            });
        }
        let opts = UploadOptions {
            content_type: attrs.content_type.clone(),
            metadata: attrs.metadata.clone(),
            if_generation_match: only_if_absent.then_some(0),
        };
        let mut head = BytesMut::new();
        while head.len() <= CHUNK_SIZE {
            match data.next().await {
                Some(chunk) => head.extend_from_slice(&chunk?),
                None => {
                    let meta = self
                        .client
                        .upload(&self.bucket, &name, head.freeze(), &opts)
                        .await
                        .map_err(to_objects_error)?;
                    return self.entry(meta);
                }
            }
        }
        let first = futures::stream::once(async move { Ok::<Bytes, ObjectsError>(head.freeze()) });
        let stream = first.chain(data);
        let meta = self
            .client
            .upload_stream(&self.bucket, &name, Box::pin(stream), &opts)
            .await
            .map_err(to_objects_error)?;
        self.entry(meta)
    }

    async fn copy_from_same_store(
        &self,
        source: &dyn ObjectBackend,
        entry: &ObjectEntry,
        target_key: &str,
        replace: Option<&ObjectEntry>,
    ) -> Result<Option<ObjectEntry>, ObjectsError> {
        let Some(src) = source.as_any().downcast_ref::<GcsBackend>() else { return Ok(None) };
        if src.client.endpoint() != self.client.endpoint() {
            return Ok(None);
        }
        let conditions = CopyConditions {
            if_source_generation_match: Self::generation(entry),
            if_generation_match: match replace {
                Some(existing) => Self::generation(existing),
                None => Some(0),
            },
        };
        let meta = self
            .client
            .rewrite(&src.bucket, &src.name(&entry.key), &self.bucket, &self.name(target_key), conditions)
            .await
            .map_err(to_objects_error)?;
        Ok(Some(self.entry(meta)?))
    }

    async fn delete_if_unchanged(&self, expected: &ObjectEntry) -> Result<DeleteOutcome, ObjectsError> {
        // Checked here as well as by ifGenerationMatch: the emulator does not enforce the latter.
        let Some(current) = self.head(&expected.key).await? else { return Ok(DeleteOutcome::AlreadyGone) };
        let generation = Self::generation(expected);
        if current.size != expected.size || (generation.is_some() && current.version != expected.version) {
            return Ok(DeleteOutcome::KeptChanged);
        }
        match self.client.delete(&self.bucket, &self.name(&expected.key), generation).await {
            Ok(()) => Ok(DeleteOutcome::Deleted),
            Err(GcsError::NotFound { .. }) => Ok(DeleteOutcome::AlreadyGone),
            Err(GcsError::PreconditionFailed { .. }) => Ok(DeleteOutcome::KeptChanged),
            Err(e) => Err(to_objects_error(e)),
        }
    }

    fn sibling(&self, prefix: &str) -> Result<Arc<dyn ObjectBackend>, ObjectsError> {
        Ok(Arc::new(Self { prefix: normalize_prefix(prefix), ..self.clone() }))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
