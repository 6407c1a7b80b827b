//! Deciding whether two objects hold the same bytes: the providers' checksums where both sides
//! have a common one, otherwise a streamed hash of the side(s) that lack it.

use crate::backend::ObjectBackend;
use crate::entry::ObjectEntry;
use crate::error::Result;
use futures::StreamExt;
use md5::Digest as _;
use serde::Serialize;

/// How equality was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// Both stores reported the same CRC32C.
    ProviderCrc32c,
    /// Both stores reported the same MD5.
    ProviderMd5,
    /// At least one side was read and hashed.
    StreamedHash,
}

/// The verdict on one pair of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Same size and same content checksum.
    Same(Evidence),
    /// Different: why (size or which checksum).
    Different(String),
}

/// A checksum algorithm the engine can compute while streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algo {
    Crc32c,
    Md5,
}

/// A computed or reported content checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sum {
    Crc32c(u32),
    Md5([u8; 16]),
}

fn reported(entry: &ObjectEntry, algo: Algo) -> Option<Sum> {
    match algo {
        Algo::Crc32c => entry.crc32c.map(Sum::Crc32c),
        Algo::Md5 => entry.md5.map(Sum::Md5),
    }
}

/// Compares what the listings say, without reading content. `None`: a read is needed.
pub fn compare_reported(source: &ObjectEntry, target: &ObjectEntry) -> Option<Comparison> {
    if source.size != target.size {
        return Some(Comparison::Different(format!("size {} ≠ {}", source.size, target.size)));
    }
    let mut evidence = None;
    for (algo, ev, name) in
        [(Algo::Md5, Evidence::ProviderMd5, "md5"), (Algo::Crc32c, Evidence::ProviderCrc32c, "crc32c")]
    {
        if let (Some(a), Some(b)) = (reported(source, algo), reported(target, algo)) {
            if a != b {
                return Some(Comparison::Different(format!("{name} differs")));
            }
            evidence.get_or_insert(ev);
        }
    }
    evidence.map(Comparison::Same)
}

/// Compares two objects of two locations, reading content only where the listings cannot
/// decide (a side without checksums is hashed with the algorithm the other side reports, so
/// only one side is read when the other is a GCS object).
pub async fn compare(
    source: &dyn ObjectBackend,
    s: &ObjectEntry,
    target: &dyn ObjectBackend,
    t: &ObjectEntry,
) -> Result<Comparison> {
    if let Some(verdict) = compare_reported(s, t) {
        return Ok(verdict);
    }
    let algo = if s.md5.is_some() || t.md5.is_some() {
        Algo::Md5
    } else if s.crc32c.is_some() || t.crc32c.is_some() {
        Algo::Crc32c
    } else {
        Algo::Md5
    };
    let a = match reported(s, algo) {
        Some(sum) => sum,
        None => hash_object(source, &s.key, algo).await?,
    };
    let b = match reported(t, algo) {
        Some(sum) => sum,
        None => hash_object(target, &t.key, algo).await?,
    };
    Ok(if a == b {
        Comparison::Same(Evidence::StreamedHash)
    } else {
        Comparison::Different(format!(
            "content differs ({} of the bytes read)",
            if algo == Algo::Md5 { "md5" } else { "crc32c" }
        ))
    })
}

async fn hash_object(backend: &dyn ObjectBackend, key: &str, algo: Algo) -> Result<Sum> {
    let (_, mut stream) = backend.get(key).await?;
    let mut crc = 0u32;
    let mut md5 = md5::Md5::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        match algo {
            Algo::Crc32c => crc = crc32c::crc32c_append(crc, &chunk),
            Algo::Md5 => md5.update(&chunk),
        }
    }
    Ok(match algo {
        Algo::Crc32c => Sum::Crc32c(crc),
        Algo::Md5 => Sum::Md5(md5.finalize().into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: u64, crc: Option<u32>, md5: Option<u8>) -> ObjectEntry {
        let mut e = ObjectEntry::new("k", size);
        e.crc32c = crc;
        e.md5 = md5.map(|b| [b; 16]);
        e
    }

    #[test]
    fn size_difference_decides_first() {
        assert!(matches!(
            compare_reported(&entry(1, Some(1), None), &entry(2, Some(1), None)),
            Some(Comparison::Different(_))
        ));
    }

    #[test]
    fn provider_checksums_decide_when_both_sides_have_one() {
        assert_eq!(
            compare_reported(&entry(1, Some(1), Some(3)), &entry(1, Some(1), Some(3))),
            Some(Comparison::Same(Evidence::ProviderMd5))
        );
        assert_eq!(
            compare_reported(&entry(1, Some(1), None), &entry(1, Some(1), Some(3))),
            Some(Comparison::Same(Evidence::ProviderCrc32c))
        );
        assert!(matches!(
            compare_reported(&entry(1, Some(1), Some(3)), &entry(1, Some(2), Some(3))),
            Some(Comparison::Different(_))
        ));
    }

    #[test]
    fn no_common_checksum_needs_a_read() {
        assert_eq!(compare_reported(&entry(1, None, None), &entry(1, Some(1), Some(3))), None);
        assert_eq!(compare_reported(&entry(1, None, Some(3)), &entry(1, Some(1), None)), None);
    }
}
