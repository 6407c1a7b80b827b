//! Checksums of migration files that ignore what editors and checkouts change (line endings,
//! trailing whitespace) and nothing else. The algorithm's name is stored beside each value.

use sha2::{Digest, Sha256};

/// The checksum algorithm: SHA-256 over the text with `\r\n` and `\r` as `\n`, each line's
/// trailing whitespace removed and trailing empty lines dropped.
pub const ALGORITHM: &str = "sha256-normalized-v1";

/// A file's checksum with the algorithm that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// How it was computed ([`ALGORITHM`]).
    pub algorithm: &'static str,
    /// Lowercase hex digest.
    pub hex: String,
}

/// The text a checksum is computed over.
pub fn normalize(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
    let kept = lines.iter().rposition(|l| !l.is_empty()).map_or(0, |last| last + 1);
    lines[..kept].join("\n")
}

/// The checksum of a migration file's text.
pub fn checksum(text: &str) -> Checksum {
    Checksum { algorithm: ALGORITHM, hex: hex::encode(Sha256::digest(normalize(text).as_bytes())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_trailing_whitespace_are_not_drift_but_any_real_change_is() {
        let original = "CREATE TABLE t (id UInt64)\nENGINE = MergeTree ORDER BY id;\n";
        let same = [
            "CREATE TABLE t (id UInt64)\r\nENGINE = MergeTree ORDER BY id;\r\n",
            "CREATE TABLE t (id UInt64)   \nENGINE = MergeTree ORDER BY id;\t\n\n\n",
            "CREATE TABLE t (id UInt64)\rENGINE = MergeTree ORDER BY id;",
        ];
        for text in same {
            assert_eq!(checksum(text), checksum(original), "{text:?}");
        }
        let different = [
            "CREATE TABLE t (id UInt32)\nENGINE = MergeTree ORDER BY id;\n",
            " CREATE TABLE t (id UInt64)\nENGINE = MergeTree ORDER BY id;\n",
            "CREATE TABLE t (id UInt64)\n\nENGINE = MergeTree ORDER BY id;\n",
        ];
        for text in different {
            assert_ne!(checksum(text), checksum(original), "{text:?}");
        }
        assert_eq!(checksum("").algorithm, "sha256-normalized-v1");
        assert_eq!(checksum("x").hex.len(), 64);
    }
}
