//! What the server can do, probed once when connecting. Every decision that depends on the
//! server's version (types, EXCHANGE, how to wait for a mutation) reads this one value.

use std::collections::BTreeSet;

/// A ClickHouse version, `26.9.2.1` or `18.16.1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major (year for current releases).
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl Version {
    /// Parses the first three numbers of `version()`.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
        Some(Version {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next().flatten().unwrap_or(0),
        })
    }

    /// Whether this is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// One host of a cluster, as `system.clusters` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterHost {
    /// The cluster's name.
    pub cluster: String,
    /// Shard number, from 1.
    pub shard: u32,
    /// Replica number within the shard, from 1.
    pub replica: u32,
    /// Host name.
    pub host: String,
    /// Native protocol port.
    pub port: u16,
    /// Whether this is the server we are connected to.
    pub is_local: bool,
}

/// The server's version and what it supports, probed once.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// `version()`.
    pub version: Version,
    /// The full version string.
    pub version_text: String,
    /// Input formats (`RowBinary`, `Native`, `Parquet`…).
    pub input_formats: BTreeSet<String>,
    /// Output formats.
    pub output_formats: BTreeSet<String>,
    /// Data type families (`DateTime64`, `Bool`, `Map`…), aliases included.
    pub types: BTreeSet<String>,
    /// The settings among those the tools use that this server knows.
    pub settings: BTreeSet<String>,
    /// Columns of `system.mutations` (`latest_fail_reason` is missing on old servers).
    pub mutation_columns: BTreeSet<String>,
    /// The engine of the configured database (`Ordinary`, `Atomic`, `Replicated`, `Memory`).
    pub database_engine: String,
    /// Hosts of every cluster the server knows.
    pub clusters: Vec<ClusterHost>,
}

/// The settings whose presence the tools check.
pub const PROBED_SETTINGS: &[&str] = &[
    "mutations_sync",
    "alter_sync",
    "replication_alter_partitions_sync",
    "insert_deduplication_token",
    "distributed_ddl_task_timeout",
    "distributed_ddl_output_mode",
    "allow_experimental_low_cardinality_type",
    "database_atomic_wait_for_drop_and_detach_synchronously",
    "async_insert",
    "lightweight_deletes_sync",
];

impl Capabilities {
    /// Whether the server knows the data type family `name`.
    pub fn has_type(&self, name: &str) -> bool {
        self.types.contains(name)
    }

    /// Whether the server knows the setting `name` (only [`PROBED_SETTINGS`] are probed).
    pub fn has_setting(&self, name: &str) -> bool {
        self.settings.contains(name)
    }

    /// `EXCHANGE TABLES a AND b`: atomic swap, in databases of the Atomic family.
    pub fn exchange_tables(&self) -> bool {
        self.version.at_least(20, 8) && matches!(self.database_engine.as_str(), "Atomic" | "Replicated")
    }

    /// `mutations_sync`: ALTER … UPDATE/DELETE can wait for themselves.
    pub fn mutations_sync(&self) -> bool {
        self.has_setting("mutations_sync")
    }

    /// `TTL` on tables and columns (absent from 18.16).
    pub fn ttl(&self) -> bool {
        self.version.at_least(19, 6)
    }

    /// `system.mutations.latest_fail_reason`.
    pub fn mutation_fail_reason(&self) -> bool {
        self.mutation_columns.contains("latest_fail_reason")
    }

    /// The names of the clusters this server is a member of.
    pub fn cluster_names(&self) -> BTreeSet<&str> {
        self.clusters.iter().map(|h| h.cluster.as_str()).collect()
    }

    /// The hosts of `cluster` (empty when the server does not know it).
    pub fn cluster(&self, cluster: &str) -> Vec<&ClusterHost> {
        self.clusters.iter().filter(|h| h.cluster == cluster).collect()
    }

    /// The SQL that probes a server; each yields rows of `kind \t value…` for [`Self::from_rows`].
    pub(crate) fn probe_queries(database: &str) -> Vec<String> {
        let settings = PROBED_SETTINGS.iter().map(|s| crate::sql::literal(s)).collect::<Vec<_>>().join(", ");
        let db = crate::sql::literal(database);
        vec![
            "SELECT 'version', version()".into(),
            "SELECT 'input', name FROM system.formats WHERE is_input".into(),
            "SELECT 'output', name FROM system.formats WHERE is_output".into(),
            "SELECT 'type', name FROM system.data_type_families".into(),
            format!("SELECT 'setting', name FROM system.settings WHERE name IN ({settings})"),
            "SELECT 'mutation_column', name FROM system.columns WHERE database = 'system' AND table = 'mutations'".into(),
            format!("SELECT 'database_engine', engine FROM system.databases WHERE name = {db}"),
            "SELECT 'cluster', cluster, toString(shard_num), toString(replica_num), host_name, toString(port), toString(is_local) FROM system.clusters".into(),
        ]
    }

    /// The capabilities of a server of `version` (`18.16.1`) with these type families and
    /// nothing else probed: how tests and offline checks describe a server they do not have.
    /// `None` when `version` is not a version.
    pub fn of(version: &str, types: &[&str]) -> Option<Capabilities> {
        let mut rows = vec![vec!["version".to_string(), version.to_string()]];
        rows.extend(types.iter().map(|t| vec!["type".to_string(), t.to_string()]));
        Capabilities::from_rows(&rows)
    }

    /// Builds the capabilities from the probe's rows (`kind`, values…): how `connect` makes
    /// them, and how tests describe a server they do not have (`["version", "18.16.1"]`,
    /// `["type", "DateTime64"]`, `["setting", "mutations_sync"]`…). `None` without a version.
    pub fn from_rows(rows: &[Vec<String>]) -> Option<Capabilities> {
        let mut caps = Capabilities {
            version: Version { major: 0, minor: 0, patch: 0 },
            version_text: String::new(),
            input_formats: BTreeSet::new(),
            output_formats: BTreeSet::new(),
            types: BTreeSet::new(),
            settings: BTreeSet::new(),
            mutation_columns: BTreeSet::new(),
            database_engine: String::new(),
            clusters: Vec::new(),
        };
        for row in rows {
            let value = || row.get(1).cloned().unwrap_or_default();
            match row.first().map(String::as_str) {
                Some("version") => {
                    caps.version_text = value();
                    caps.version = Version::parse(&caps.version_text)?;
                }
                Some("input") => drop(caps.input_formats.insert(value())),
                Some("output") => drop(caps.output_formats.insert(value())),
                Some("type") => drop(caps.types.insert(value())),
                Some("setting") => drop(caps.settings.insert(value())),
                Some("mutation_column") => drop(caps.mutation_columns.insert(value())),
                Some("database_engine") => caps.database_engine = value(),
                Some("cluster") if row.len() >= 7 => caps.clusters.push(ClusterHost {
                    cluster: row[1].clone(),
                    shard: row[2].parse().unwrap_or(0),
                    replica: row[3].parse().unwrap_or(0),
                    host: row[4].clone(),
                    port: row[5].parse().unwrap_or(0),
                    is_local: row[6] == "1",
                }),
                _ => {}
            }
        }
        (caps.version.major > 0).then_some(caps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = Version::parse("18.16.1").unwrap();
        assert!(v.at_least(18, 16) && !v.at_least(19, 1));
        assert!(Version::parse("26.9.2.1").unwrap().at_least(24, 3));
        assert!(Version::parse("x").is_none());
    }

    #[test]
    fn decisions_from_rows() {
        let row = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let old =
            Capabilities::from_rows(&[row(&["version", "18.16.1"]), row(&["database_engine", "Ordinary"])])
                .unwrap();
        assert!(!old.exchange_tables() && !old.ttl() && !old.mutations_sync() && !old.mutation_fail_reason());
        let modern = Capabilities::from_rows(&[
            row(&["version", "26.9.2.1"]),
            row(&["database_engine", "Atomic"]),
            row(&["setting", "mutations_sync"]),
            row(&["mutation_column", "latest_fail_reason"]),
            row(&["cluster", "c", "1", "2", "h", "9000", "1"]),
        ])
        .unwrap();
        assert!(
            modern.exchange_tables()
                && modern.ttl()
                && modern.mutations_sync()
                && modern.mutation_fail_reason()
        );
        assert_eq!(modern.cluster("c")[0].replica, 2);
        assert!(Capabilities::from_rows(&[]).is_none());
    }
}
