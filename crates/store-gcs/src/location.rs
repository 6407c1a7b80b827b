//! `gs://bucket/prefix` locations.

use crate::error::{GcsError, Result};
use std::fmt;

/// A bucket and an object-name prefix, parsed from `gs://bucket/prefix/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GcsLocation {
    /// Bucket name.
    pub bucket: String,
    /// Object-name prefix inside the bucket (may be empty; no leading slash).
    pub prefix: String,
}

impl GcsLocation {
    /// Parses `gs://bucket` or `gs://bucket/some/prefix/`.
    pub fn parse(input: &str) -> Result<Self> {
        let invalid =
            |reason: &str| GcsError::InvalidLocation { input: input.to_string(), reason: reason.to_string() };
        let rest =
            input.strip_prefix("gs://").ok_or_else(|| invalid("expected a URL starting with gs://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("the bucket name is empty"));
        }
        let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
        if bucket.len() < 3 || bucket.len() > 222 || !bucket.chars().all(valid_char) {
            return Err(invalid(
                "bucket names are 3-222 characters of lowercase letters, digits, '-', '_' and '.'",
            ));
        }
        Ok(Self { bucket: bucket.to_string(), prefix: prefix.to_string() })
    }

    /// The full object name of `relative` under this prefix.
    pub fn object_name(&self, relative: &str) -> String {
        format!("{}{}", self.prefix, relative)
    }
}

impl fmt::Display for GcsLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gs://{}/{}", self.bucket, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let l = GcsLocation::parse("gs://data-bucket-prod/QPI_exports/").unwrap();
        assert_eq!(l.bucket, "data-bucket-prod");
        assert_eq!(l.prefix, "QPI_exports/");
        assert_eq!(l.to_string(), "gs://data-bucket-prod/QPI_exports/");
        assert_eq!(l.object_name("a/b.jsonl"), "QPI_exports/a/b.jsonl");
    }

    #[test]
    fn bucket_only() {
        let l = GcsLocation::parse("gs://abc").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("abc", ""));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in ["s3://abc/x", "gs://", "gs:///x", "gs://AB/x", "gs://a/x", "data-bucket/x"] {
            assert!(GcsLocation::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
