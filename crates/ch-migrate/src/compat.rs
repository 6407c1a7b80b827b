//! Statements the connected server cannot run, found before anything runs: features newer than
//! the server (TTL, CODEC, skip indexes, `CREATE INDEX`, `ADD COLUMN IF NOT EXISTS`, `RENAME
//! COLUMN`, `EXCHANGE TABLES`) by version, and types by the server's own list of type families.
//! A migration set written for current releases is flagged on 18.16 statement by statement.

use store_clickhouse::Capabilities;

/// A feature a statement uses and the version that has it.
struct Feature {
    /// What the statement contains (upper case, spaces normalised).
    marker: &'static str,
    /// What to call it.
    name: &'static str,
    /// First version with it.
    since: (u32, u32),
}

const FEATURES: &[Feature] = &[
    Feature { marker: " TTL ", name: "TTL", since: (19, 6) },
    Feature { marker: "CODEC(", name: "CODEC", since: (19, 1) },
    Feature { marker: "CREATE INDEX ", name: "CREATE INDEX", since: (23, 1) },
    Feature { marker: " INDEX ", name: "skip indexes (INDEX … TYPE …)", since: (19, 6) },
    Feature { marker: " IF NOT EXISTS ", name: "ADD COLUMN/INDEX IF NOT EXISTS", since: (19, 1) },
    Feature { marker: " RENAME COLUMN ", name: "RENAME COLUMN", since: (20, 4) },
    Feature { marker: "EXCHANGE TABLES ", name: "EXCHANGE TABLES", since: (20, 8) },
    Feature { marker: " MODIFY SETTING ", name: "MODIFY SETTING", since: (19, 1) },
];

/// Type families worth naming when the server lacks them.
const TYPES: &[&str] = &[
    "DateTime64",
    "Date32",
    "Map",
    "Bool",
    "Int128",
    "Int256",
    "UInt128",
    "UInt256",
    "IPv4",
    "IPv6",
    "JSON",
    "Object",
    "LowCardinality",
];

/// Why `statement` cannot run on a server with `caps`, one line per missing feature.
pub fn unsupported(statement: &str, caps: &Capabilities) -> Vec<String> {
    let text = format!(" {} ", statement.split_whitespace().collect::<Vec<_>>().join(" "));
    let upper = text.to_ascii_uppercase();
    let version = &caps.version_text;
    let mut found = Vec::new();
    for f in FEATURES {
        let applies = match f.marker {
            // ADD … IF NOT EXISTS only (CREATE TABLE IF NOT EXISTS is old).
            " IF NOT EXISTS " => {
                upper.contains(" ADD COLUMN IF NOT EXISTS ") || upper.contains(" ADD INDEX IF NOT EXISTS ")
            }
            // Skip indexes inside CREATE TABLE or ADD INDEX, not CREATE INDEX (named apart).
            " INDEX " => {
                !upper.contains("CREATE INDEX ") && upper.contains(" INDEX ") && upper.contains(" TYPE ")
            }
            marker => upper.contains(marker),
        };
        if applies && !caps.version.at_least(f.since.0, f.since.1) {
            found.push(format!(
                "{} needs ClickHouse {}.{} or newer (this server: {version})",
                f.name, f.since.0, f.since.1
            ));
        }
    }
    for t in TYPES {
        let used = text.contains(&format!(" {t}("))
            || text.contains(&format!(" {t},"))
            || text.contains(&format!(" {t})"))
            || text.contains(&format!(" {t} "))
            || text.contains(&format!("({t}("));
        if used && !caps.has_type(t) {
            found.push(format!("type {t} does not exist on ClickHouse {version}"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(version: &str, types: &[&str]) -> Capabilities {
        Capabilities::of(version, types).unwrap()
    }

    #[test]
    fn old_servers_get_each_feature_named() {
        let old = caps("18.16.1", &["DateTime", "String", "UInt32"]);
        let modern = caps("26.9.2.1", &["DateTime", "DateTime64", "Map", "Bool", "String"]);
        let create = "CREATE TABLE IF NOT EXISTS events (id UInt32, at DateTime64(3), m Map(String, UInt32)) \
                      ENGINE = MergeTree() ORDER BY id TTL at + INTERVAL 1 YEAR";
        let found = unsupported(create, &old);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("TTL needs ClickHouse 19.6"), "{found:?}");
        assert!(
            found.iter().any(|f| f.contains("type DateTime64"))
                && found.iter().any(|f| f.contains("type Map"))
        );
        assert!(unsupported(create, &modern).is_empty());
        let index = "CREATE INDEX idx ON events (event_type) TYPE bloom_filter GRANULARITY 1";
        assert_eq!(
            unsupported(index, &old),
            ["CREATE INDEX needs ClickHouse 23.1 or newer (this server: 18.16.1)"]
        );
        assert!(unsupported("CREATE TABLE IF NOT EXISTS t (x UInt32) ENGINE = Memory", &old).is_empty());
        assert_eq!(unsupported("ALTER TABLE t ADD COLUMN IF NOT EXISTS y UInt32", &old).len(), 1);
    }
}
