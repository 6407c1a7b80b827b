//! Uploads: one request for small objects, resumable sessions for streams.

use crate::client::{GcsClient, segment};
use crate::error::{GcsError, Result};
use crate::object::ObjectMeta;
use crate::objects::parse_object;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;

/// Resumable chunks must be multiples of 256 KiB; 8 MiB keeps memory bounded and requests few.
pub const CHUNK_SIZE: usize = 32 * 256 * 1024;

/// How an object is written.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    /// Content type (default `application/octet-stream`).
    pub content_type: Option<String>,
    /// Custom metadata.
    pub metadata: BTreeMap<String, String>,
    /// Write only if the object has this generation (`Some(0)`: only if it does not exist).
    pub if_generation_match: Option<i64>,
}

impl UploadOptions {
    fn content_type(&self) -> &str {
        self.content_type.as_deref().unwrap_or("application/octet-stream")
    }

    fn resource_json(&self, name: &str) -> serde_json::Value {
        serde_json::json!({
            "name": name,
            "contentType": self.content_type(),
            "metadata": self.metadata,
        })
    }
}

const BOUNDARY: &str = "migrate-upload-boundary-7f3a9c";

impl GcsClient {
    /// Uploads `data` in one multipart request (metadata and content together).
    pub async fn upload(
        &self,
        bucket: &str,
        name: &str,
        data: Bytes,
        opts: &UploadOptions,
    ) -> Result<ObjectMeta> {
        let what = format!("uploading gs://{bucket}/{name}");
        let mut params = vec![("uploadType", "multipart".to_string()), ("projection", "noAcl".to_string())];
        if let Some(g) = opts.if_generation_match {
            params.push(("ifGenerationMatch", g.to_string()));
        }
        let url = self.url_with(&format!("/upload/storage/v1/b/{}/o", segment(bucket)), &params);
        let mut body = BytesMut::with_capacity(data.len() + 512);
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--{BOUNDARY}\r\nContent-Type: {}\r\n\r\n",
                opts.resource_json(name),
                opts.content_type()
            )
            .as_bytes(),
        );
        body.extend_from_slice(&data);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let body = body.freeze();
        let resp = self
            .send(&what, Method::POST, &url, |r| {
                r.header("content-type", format!("multipart/related; boundary={BOUNDARY}")).body(body.clone())
            })
            .await?;
        let resp = Self::check(&what, bucket, name, resp).await?;
        parse_object(&what, resp).await
    }

    /// Uploads a stream of any length through a resumable session, [`CHUNK_SIZE`] at a time:
    /// memory stays bounded by one chunk, and a chunk that fails transiently is sent again.
    pub async fn upload_stream<S, E>(
        &self,
        bucket: &str,
        name: &str,
        mut data: S,
        opts: &UploadOptions,
    ) -> Result<ObjectMeta>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let what = format!("uploading gs://{bucket}/{name}");
        let session = self.start_resumable(&what, bucket, name, opts).await?;
        let mut offset: u64 = 0;
        let mut pending = BytesMut::with_capacity(CHUNK_SIZE);
        let mut finished = false;
        loop {
            while pending.len() < CHUNK_SIZE && !finished {
                match data.next().await {
                    Some(Ok(b)) => pending.extend_from_slice(&b),
                    Some(Err(e)) => {
                        return Err(GcsError::Protocol {
                            what,
                            detail: format!("the data to upload failed to read: {e}"),
                        });
                    }
                    None => finished = true,
                }
            }
            let take = if finished { pending.len() } else { CHUNK_SIZE };
            let chunk = pending.split_to(take).freeze();
            let total = finished.then(|| offset + chunk.len() as u64);
            match self.put_chunk(&what, bucket, name, &session, offset, chunk, total, opts).await? {
                ChunkOutcome::Done(meta) => return Ok(meta),
                ChunkOutcome::Persisted(next) => offset = next,
            }
            if finished {
                return Err(GcsError::Protocol {
                    what,
                    detail: "the final chunk was accepted but the upload did not complete".into(),
                });
            }
        }
    }

    async fn start_resumable(
        &self,
        what: &str,
        bucket: &str,
        name: &str,
        opts: &UploadOptions,
    ) -> Result<String> {
        let mut params = vec![("uploadType", "resumable".to_string()), ("name", name.to_string())];
        if let Some(g) = opts.if_generation_match {
            params.push(("ifGenerationMatch", g.to_string()));
        }
        let url = self.url_with(&format!("/upload/storage/v1/b/{}/o", segment(bucket)), &params);
        let body = opts.resource_json(name).to_string();
        let resp = self
            .send(what, Method::POST, &url, |r| {
                r.header("content-type", "application/json; charset=UTF-8")
                    .header("x-upload-content-type", opts.content_type())
                    .body(body.clone())
            })
            .await?;
        let resp = Self::check(what, bucket, name, resp).await?;
        resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string).ok_or_else(|| {
            GcsError::Protocol {
                what: what.to_string(),
                detail: "resumable upload started without a Location header".into(),
            }
        })
    }

    /// Sends `chunk` at `offset`; re-sends whatever part GCS did not persist.
    #[allow(clippy::too_many_arguments)]
    async fn put_chunk(
        &self,
        what: &str,
        bucket: &str,
        name: &str,
        session: &str,
        offset: u64,
        chunk: Bytes,
        total: Option<u64>,
        opts: &UploadOptions,
    ) -> Result<ChunkOutcome> {
        let end = offset + chunk.len() as u64;
        let mut sent_from = offset;
        loop {
            let part = chunk.slice((sent_from - offset) as usize..);
            let range = match (part.is_empty(), total) {
                (true, Some(t)) => format!("bytes */{t}"),
                (_, Some(t)) => format!("bytes {sent_from}-{}/{t}", end - 1),
                (_, None) => format!("bytes {sent_from}-{}/*", end - 1),
            };
            let resp = self
                .send(what, Method::PUT, session, |r| {
                    r.header("content-range", range.as_str())
                        .header("content-type", opts.content_type())
                        .body(part.clone())
                })
                .await?;
            if resp.status() == StatusCode::PERMANENT_REDIRECT {
                let persisted = persisted_bytes(resp.headers().get("range").and_then(|v| v.to_str().ok()));
                if persisted >= end {
                    return Ok(ChunkOutcome::Persisted(end));
                }
                if persisted < sent_from || persisted < offset {
                    return Err(GcsError::Protocol {
                        what: what.to_string(),
                        detail: format!(
                            "server went back to byte {persisted} after {sent_from} was acknowledged"
                        ),
                    });
                }
                sent_from = persisted;
                continue;
            }
            let resp = Self::check(what, bucket, name, resp).await?;
            return Ok(ChunkOutcome::Done(parse_object(what, resp).await?));
        }
    }
}

enum ChunkOutcome {
    Persisted(u64),
    Done(ObjectMeta),
}

/// Bytes persisted according to a `Range: bytes=0-N` header (0 when absent).
fn persisted_bytes(range: Option<&str>) -> u64 {
    range
        .and_then(|r| r.strip_prefix("bytes=0-"))
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(0, |last| last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_header_parsing() {
        assert_eq!(persisted_bytes(None), 0);
        assert_eq!(persisted_bytes(Some("bytes=0-262143")), 262_144);
        assert_eq!(persisted_bytes(Some("garbage")), 0);
    }

    #[test]
    fn chunk_size_is_a_multiple_of_256_kib() {
        assert_eq!(CHUNK_SIZE % (256 * 1024), 0);
    }
}
