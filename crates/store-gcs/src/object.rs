//! Object metadata as the JSON API reports it.

use crate::error::{GcsError, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One object's listing entry: identity, size and the provider's content checksums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Bucket holding the object.
    pub bucket: String,
    /// Full object name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC32C of the content (always present on GCS).
    pub crc32c: Option<u32>,
    /// MD5 of the content (absent for composite objects).
    pub md5: Option<[u8; 16]>,
    /// Generation: changes whenever the object's content is replaced.
    pub generation: i64,
    /// Last update time.
    pub updated: Option<DateTime<Utc>>,
    /// Content type, when set.
    pub content_type: Option<String>,
    /// Custom metadata.
    pub metadata: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// MD5 as lowercase hex, when known.
    pub fn md5_hex(&self) -> Option<String> {
        self.md5.map(hex_lower)
    }
}

fn hex_lower(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The JSON form of an object resource (only the fields we use).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectResource {
    bucket: String,
    name: String,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    crc32c: Option<String>,
    #[serde(default)]
    md5_hash: Option<String>,
    #[serde(default)]
    generation: Option<String>,
    #[serde(default)]
    updated: Option<DateTime<Utc>>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
}

impl ObjectResource {
    pub(crate) fn into_meta(self) -> Result<ObjectMeta> {
        let bad = |detail: String| GcsError::Protocol {
            what: format!("gs://{}/{}", self.bucket, self.name),
            detail,
        };
        let size = match &self.size {
            Some(s) => s.parse().map_err(|_| bad(format!("size {s:?} is not a number")))?,
            None => 0,
        };
        let generation = match &self.generation {
            Some(g) => g.parse().map_err(|_| bad(format!("generation {g:?} is not a number")))?,
            None => 0,
        };
        let crc32c = match &self.crc32c {
            Some(c) => {
                Some(decode_crc32c(c).ok_or_else(|| bad(format!("crc32c {c:?} is not base64 of 4 bytes")))?)
            }
            None => None,
        };
        let md5 = match &self.md5_hash {
            Some(m) => {
                Some(decode_md5(m).ok_or_else(|| bad(format!("md5Hash {m:?} is not base64 of 16 bytes")))?)
            }
            None => None,
        };
        Ok(ObjectMeta {
            bucket: self.bucket,
            name: self.name,
            size,
            crc32c,
            md5,
            generation,
            updated: self.updated,
            content_type: self.content_type,
            metadata: self.metadata.unwrap_or_default(),
        })
    }
}

/// Decodes GCS's base64 big-endian CRC32C.
pub fn decode_crc32c(b64: &str) -> Option<u32> {
    let bytes: [u8; 4] = B64.decode(b64).ok()?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// Encodes a CRC32C the way GCS reports it.
pub fn encode_crc32c(crc: u32) -> String {
    B64.encode(crc.to_be_bytes())
}

fn decode_md5(b64: &str) -> Option<[u8; 16]> {
    B64.decode(b64).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_listing_entry() {
        let json = r#"{"kind":"storage#object","name":"a/b c.txt","bucket":"probe1","size":"5",
            "contentType":"text/plain","crc32c":"mnG7TA==","md5Hash":"XUFAKrxLKna5cZ2REBfFkg==",
            "generation":"1795242740080235","updated":"2026-11-21T06:32:20.080198Z",
            "metadata":{"k":"v"}}"#;
        let meta = serde_json::from_str::<ObjectResource>(json).unwrap().into_meta().unwrap();
        assert_eq!(meta.size, 5);
        assert_eq!(meta.crc32c, Some(crc32c::crc32c(b"hello")));
        assert_eq!(meta.md5_hex().as_deref(), Some("5d41402abc4b2a76b9719d911017c592"));
        assert_eq!(meta.generation, 1795242740080235);
        assert_eq!(meta.metadata.get("k").map(String::as_str), Some("v"));
    }

    #[test]
    fn composite_objects_have_no_md5() {
        let json = r#"{"name":"c","bucket":"b","size":"1","crc32c":"AAAAAA==","generation":"1"}"#;
        let meta = serde_json::from_str::<ObjectResource>(json).unwrap().into_meta().unwrap();
        assert_eq!(meta.md5, None);
        assert_eq!(meta.crc32c, Some(0));
    }

    #[test]
    fn malformed_checksum_is_an_error_not_a_panic() {
        let json = r#"{"name":"c","bucket":"b","size":"1","crc32c":"!!","generation":"1"}"#;
        let err = serde_json::from_str::<ObjectResource>(json).unwrap().into_meta().unwrap_err();
        assert!(err.to_string().contains("crc32c"), "{err}");
    }

    #[test]
    fn crc32c_round_trips() {
        assert_eq!(decode_crc32c(&encode_crc32c(0xdead_beef)), Some(0xdead_beef));
    }
}
