//! What a listing says about one object, and the attributes a copy carries over.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One object as listed: its key relative to the location, size, content checksums where the
/// store keeps them, and the version a conditional delete or copy is pinned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectEntry {
    /// Key relative to the location's prefix (`qpi_answers_20240101/part-0.jsonl`).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC32C of the content, when the store reports one (GCS always does).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crc_b64")]
    pub crc32c: Option<u32>,
    /// MD5 of the content, when the store reports one (GCS composite objects have none).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "md5_hex")]
    pub md5: Option<[u8; 16]>,
    /// Version identifier: the GCS generation, an S3 version id or an ETag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Last modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<Utc>>,
}

impl ObjectEntry {
    /// An entry with only key and size known.
    pub fn new(key: impl Into<String>, size: u64) -> Self {
        Self { key: key.into(), size, crc32c: None, md5: None, version: None, updated: None }
    }

    /// The strongest checksum recorded, formatted as `algorithm:value`.
    pub fn checksum_label(&self) -> Option<String> {
        match (self.md5, self.crc32c) {
            (Some(md5), _) => Some(format!("md5:{}", hex::encode(md5))),
            (None, Some(crc)) => Some(format!("crc32c:{crc:08x}")),
            (None, None) => None,
        }
    }
}

/// Attributes carried over when an object is copied by streaming (server-side copies keep them
/// by themselves).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectAttrs {
    /// MIME type.
    pub content_type: Option<String>,
    /// Content encoding (e.g. `gzip`).
    pub content_encoding: Option<String>,
    /// Custom metadata.
    pub metadata: BTreeMap<String, String>,
}

mod crc_b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(crc) => s.serialize_str(&STANDARD.encode(crc.to_be_bytes())),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
        let bytes = STANDARD.decode(&text).map_err(serde::de::Error::custom)?;
        let bytes: [u8; 4] =
            bytes.try_into().map_err(|_| serde::de::Error::custom("crc32c must be 4 bytes of base64"))?;
        Ok(Some(u32::from_be_bytes(bytes)))
    }
}

mod md5_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<[u8; 16]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(md5) => s.serialize_str(&hex::encode(md5)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 16]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
        let mut out = [0u8; 16];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_round_trip_through_json() {
        let mut e = ObjectEntry::new("a/b.jsonl", 5);
        e.crc32c = Some(0x9a71bb4c);
        e.md5 = Some([7; 16]);
        e.version = Some("17".into());
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"crc32c\":\"mnG7TA==\""), "{json}");
        assert_eq!(serde_json::from_str::<ObjectEntry>(&json).unwrap(), e);
    }

    #[test]
    fn strongest_checksum_is_md5() {
        let mut e = ObjectEntry::new("k", 1);
        assert_eq!(e.checksum_label(), None);
        e.crc32c = Some(1);
        assert_eq!(e.checksum_label().as_deref(), Some("crc32c:00000001"));
        e.md5 = Some([0; 16]);
        assert!(e.checksum_label().unwrap().starts_with("md5:"));
    }
}
