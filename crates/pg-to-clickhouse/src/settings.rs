//! The seed's environment variables, with its defaults, and the connection settings of both
//! databases. Every value is checked when read: a negative, zero or non-numeric number, an
//! unknown boolean or a table name that is no identifier is an error naming the variable.

use crate::Error;
pub use migrate_cli::secrets::mask_url;
use std::path::PathBuf;
use std::time::Duration;

/// Every variable read, with its default (`None`: required or empty), for `--help` and the runbook.
pub const VARIABLES: [(&str, &str); 14] = [
    ("TIMESTORE_POSTGRES_MIGRATION_ENABLED", "true"),
    ("TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE", "10000"),
    ("TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS", "168"),
    ("TIMESTORE_POSTGRES_MIGRATION_GRACE_PERIOD_HOURS", "24"),
    ("TIMESTORE_POSTGRES_MIGRATION_TARGET_TABLE", "migrated_data"),
    ("TIMESTORE_POSTGRES_MIGRATION_WATERMARK_TABLE", "migration_watermarks"),
    ("TIMESTORE_POSTGRES_MIGRATION_LEDGER_TABLE", "migration_batches"),
    ("TIMESTORE_POSTGRES_MIGRATION_TABLES", "(the seed's three tables)"),
    ("TIMESTORE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/timestore"),
    ("TIMESTORE_CLICKHOUSE_URL", "http://127.0.0.1:8123"),
    ("TIMESTORE_CLICKHOUSE_DATABASE", "default"),
    ("TIMESTORE_CLICKHOUSE_USER", "default"),
    ("TIMESTORE_CLICKHOUSE_PASSWORD", ""),
    ("TIMESTORE_CLICKHOUSE_CLUSTER", ""),
];

/// The tool's settings.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// Whether the `postgres_migration` operation runs at all.
    pub enabled: bool,
    /// Rows per batch.
    pub batch_size: u32,
    /// Rows older than this move.
    pub max_age: Duration,
    /// A verified batch is deleted from PostgreSQL this long after it was verified.
    pub grace_period: Duration,
    /// The ClickHouse table rows move into.
    pub target_table: String,
    /// The PostgreSQL table of watermarks.
    pub watermark_table: String,
    /// The PostgreSQL table of batches (the ledger).
    pub ledger_table: String,
    /// A YAML file of tables to move instead of the seed's three.
    pub tables_file: Option<PathBuf>,
    /// PostgreSQL connection URL.
    pub postgres_url: String,
    /// ClickHouse HTTP URL.
    pub clickhouse_url: String,
    /// ClickHouse database.
    pub clickhouse_database: String,
    /// ClickHouse user.
    pub clickhouse_user: String,
    /// ClickHouse password (never printed).
    pub clickhouse_password: String,
    /// A ClickHouse cluster: Replicated tables ON CLUSTER with a Distributed table in front.
    pub clickhouse_cluster: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("enabled", &self.enabled)
            .field("batch_size", &self.batch_size)
            .field("max_age", &self.max_age)
            .field("grace_period", &self.grace_period)
            .field("target_table", &self.target_table)
            .field("watermark_table", &self.watermark_table)
            .field("ledger_table", &self.ledger_table)
            .field("tables_file", &self.tables_file)
            .field("postgres_url", &mask_url(&self.postgres_url))
            .field("clickhouse_url", &mask_url(&self.clickhouse_url))
            .field("clickhouse_database", &self.clickhouse_database)
            .field("clickhouse_user", &self.clickhouse_user)
            .field("clickhouse_password", &if self.clickhouse_password.is_empty() { "" } else { "****" })
            .field("clickhouse_cluster", &self.clickhouse_cluster)
            .finish()
    }
}

impl Settings {
    /// Reads the settings through `lookup` (an environment variable's value, if set and not
    /// empty counts as set).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| -> Option<String> { lookup(name).filter(|v| !v.trim().is_empty()) };
        let text = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_string());
        let positive_hours = |name: &str, default: f64| -> Result<Duration, Error> {
            match get(name) {
                None => Ok(Duration::from_secs_f64(default * 3600.0)),
                Some(v) => match v.trim().parse::<f64>() {
                    Ok(h) if h.is_finite() && h > 0.0 && h < 1e7 => Ok(Duration::from_secs_f64(h * 3600.0)),
                    Ok(_) => Err(setting(name, &v, "a number of hours above 0 (fractions allowed: 0.5)")),
                    Err(_) => Err(setting(name, &v, "not a number; a number of hours above 0")),
                },
            }
        };
        let enabled = match get("TIMESTORE_POSTGRES_MIGRATION_ENABLED") {
            None => true,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(setting("TIMESTORE_POSTGRES_MIGRATION_ENABLED", &v, "true or false")),
            },
        };
        let batch_size = match get("TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE") {
            None => 10_000,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (1..=10_000_000).contains(&n) => n as u32,
                Ok(_) => {
                    return Err(setting(
                        "TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE",
                        &v,
                        "a whole number of rows from 1 to 10000000",
                    ));
                }
                Err(_) => {
                    return Err(setting(
                        "TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE",
                        &v,
                        "not a whole number; rows per batch, 10000 by default",
                    ));
                }
            },
        };
        let identifier = |name: &str, default: &str| -> Result<String, Error> {
            let value = text(name, default);
            let ok = value.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && value.len() <= 63;
            if ok { Ok(value) } else { Err(setting(name, &value, "a table name: letters, digits and _")) }
        };
        let settings = Settings {
            enabled,
            batch_size,
            max_age: positive_hours("TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS", 168.0)?,
            grace_period: positive_hours("TIMESTORE_POSTGRES_MIGRATION_GRACE_PERIOD_HOURS", 24.0)?,
            target_table: identifier("TIMESTORE_POSTGRES_MIGRATION_TARGET_TABLE", "migrated_data")?,
            watermark_table: identifier(
                "TIMESTORE_POSTGRES_MIGRATION_WATERMARK_TABLE",
                "migration_watermarks",
            )?,
            ledger_table: identifier("TIMESTORE_POSTGRES_MIGRATION_LEDGER_TABLE", "migration_batches")?,
            tables_file: get("TIMESTORE_POSTGRES_MIGRATION_TABLES").map(PathBuf::from),
            postgres_url: text("TIMESTORE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/timestore"),
            clickhouse_url: text("TIMESTORE_CLICKHOUSE_URL", "http://127.0.0.1:8123"),
            clickhouse_database: identifier("TIMESTORE_CLICKHOUSE_DATABASE", "default")?,
            clickhouse_user: text("TIMESTORE_CLICKHOUSE_USER", "default"),
            clickhouse_password: text("TIMESTORE_CLICKHOUSE_PASSWORD", ""),
            clickhouse_cluster: match get("TIMESTORE_CLICKHOUSE_CLUSTER") {
                Some(_) => Some(identifier("TIMESTORE_CLICKHOUSE_CLUSTER", "")?),
                None => None,
            },
        };
        for (name, url, schemes) in [
            ("TIMESTORE_POSTGRES_URL", &settings.postgres_url, &["postgres://", "postgresql://"][..]),
            (
                "TIMESTORE_CLICKHOUSE_URL",
                &settings.clickhouse_url,
                &["http://", "https://", "clickhouse://", "clickhouses://"][..],
            ),
        ] {
            if !schemes.iter().any(|s| url.starts_with(s)) {
                return Err(setting(
                    name,
                    &mask_url(url),
                    &format!("a URL starting with {}", schemes.join(" or ")),
                ));
            }
        }
        Ok(settings)
    }

    /// Reads the settings from the process's environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

fn setting(name: &str, value: &str, why: &str) -> Error {
    Error::Setting { name: name.into(), value: value.into(), why: why.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Settings, Error> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn the_seeds_defaults() {
        let s = read(&[]).unwrap();
        assert!(s.enabled);
        assert_eq!(s.batch_size, 10_000);
        assert_eq!(s.max_age, Duration::from_secs(168 * 3600));
        assert_eq!(s.grace_period, Duration::from_secs(24 * 3600));
        assert_eq!(
            (s.target_table.as_str(), s.watermark_table.as_str()),
            ("migrated_data", "migration_watermarks")
        );
        assert_eq!(s.tables_file, None);
        assert_eq!(s.clickhouse_cluster, None);
        assert_eq!(VARIABLES.len(), 14);
    }

    #[test]
    fn values_are_read_and_fractions_of_hours_allowed() {
        let s = read(&[
            ("TIMESTORE_POSTGRES_MIGRATION_ENABLED", "false"),
            ("TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE", " 500 "),
            ("TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS", "0.5"),
            ("TIMESTORE_POSTGRES_MIGRATION_GRACE_PERIOD_HOURS", "0.001"),
            ("TIMESTORE_POSTGRES_MIGRATION_TARGET_TABLE", "archive_rows"),
            ("TIMESTORE_CLICKHOUSE_CLUSTER", "replicated"),
        ])
        .unwrap();
        assert!(!s.enabled);
        assert_eq!(s.batch_size, 500);
        assert_eq!(s.max_age, Duration::from_secs(1800));
        assert_eq!(s.grace_period, Duration::from_secs_f64(3.6));
        assert_eq!(s.target_table, "archive_rows");
        assert_eq!(s.clickhouse_cluster.as_deref(), Some("replicated"));
    }

    #[test]
    fn bad_values_name_the_variable_and_what_is_expected() {
        for (name, value, expected) in [
            ("TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE", "0", "from 1 to 10000000"),
            ("TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE", "-5", "from 1 to 10000000"),
            ("TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE", "ten", "not a whole number"),
            ("TIMESTORE_POSTGRES_MIGRATION_BATCH_SIZE", "1.5", "not a whole number"),
            ("TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS", "0", "above 0"),
            ("TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS", "-1", "above 0"),
            ("TIMESTORE_POSTGRES_MIGRATION_GRACE_PERIOD_HOURS", "a day", "not a number"),
            ("TIMESTORE_POSTGRES_MIGRATION_GRACE_PERIOD_HOURS", "NaN", "above 0"),
            ("TIMESTORE_POSTGRES_MIGRATION_ENABLED", "maybe", "true or false"),
            ("TIMESTORE_POSTGRES_MIGRATION_TARGET_TABLE", "drop table x;", "a table name"),
            ("TIMESTORE_POSTGRES_URL", "mysql://root:secret@db/x", "postgres://"),
        ] {
            let message = read(&[(name, value)]).unwrap_err().to_string();
            assert!(message.starts_with(name) && message.contains(expected), "{name}={value}: {message}");
            assert!(!message.contains("secret"), "passwords are never printed: {message}");
        }
    }

    #[test]
    fn passwords_are_masked() {
        let s = read(&[
            ("TIMESTORE_POSTGRES_URL", "postgres://app:hunter2@db:5432/timestore"),
            ("TIMESTORE_CLICKHOUSE_PASSWORD", "s3cret"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("postgres://app:****@db:5432/timestore"), "{shown}");
        assert_eq!(mask_url("http://127.0.0.1:8123"), "http://127.0.0.1:8123");
    }
}
