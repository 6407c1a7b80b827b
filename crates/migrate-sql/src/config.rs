//! `config.yml`: the DuckDB source, its views, the tables to move and per-table hints.
//! Unknown keys are errors, so a typo never silently changes what is migrated.

use crate::error::{Result, SqlError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The DuckDB source; in memory when absent.
    #[serde(default)]
    pub duckdb: DuckDbConfig,
    /// Substituted for `{base_path}` in view SQL (relative paths are taken from the config's folder).
    #[serde(default)]
    pub base_path: Option<String>,
    /// Views registered before export, in file order: name → SQL.
    #[serde(default, deserialize_with = "views_in_order")]
    pub views: Vec<ViewConfig>,
    /// Tables (or views) to migrate, in order. Empty: every configured view, then every table.
    #[serde(default)]
    pub tables: Vec<String>,
    /// The target database, used when no `CRYPTO_DB_*` variable is set.
    #[serde(default)]
    pub database: Option<DatabaseConfig>,
    /// Per-table hints.
    #[serde(default)]
    pub table_options: BTreeMap<String, TableOptions>,
}

/// `duckdb:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuckDbConfig {
    /// Database file; opened read-only. In memory when absent.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Threads DuckDB may use (DuckDB's default when absent).
    #[serde(default)]
    pub threads: Option<u32>,
    /// Memory limit such as `2GB` (DuckDB's default when absent).
    #[serde(default)]
    pub memory_limit: Option<String>,
}

/// One view (`bars_1s: SELECT …` under `views:`).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewConfig {
    /// View name.
    pub name: String,
    /// Its SQL; `{base_path}` is replaced by the configured base path.
    pub sql: String,
}

/// Reads the `views:` mapping keeping the file's order (views may build on earlier views).
fn views_in_order<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<ViewConfig>, D::Error> {
    let mapping = serde_yaml::Mapping::deserialize(d)?;
    mapping
        .into_iter()
        .map(|(k, v)| match (k, v) {
            (serde_yaml::Value::String(name), serde_yaml::Value::String(sql)) => Ok(ViewConfig { name, sql }),
            (k, _) => Err(serde::de::Error::custom(format!(
                "views: each entry must be `name: SQL text` (entry {k:?})"
            ))),
        })
        .collect()
}

/// `database:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Target URL (SQLAlchemy forms accepted).
    #[serde(default)]
    pub url: Option<String>,
}

/// Hints for one table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    /// Primary key columns, applied after loading.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Indexes, each a list of columns, created after loading.
    #[serde(default)]
    pub indexes: Vec<Vec<String>>,
    /// Column → target SQL type, overriding the default mapping: one type for every target
    /// (`close: TEXT`) or one per target (`close: {sqlite: TEXT}`; a target not named keeps its
    /// default mapping).
    #[serde(default)]
    pub column_types: BTreeMap<String, ColumnType>,
}

/// A `column_types` entry.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ColumnType {
    /// The same type on every target.
    Every(String),
    /// A type per target.
    PerTarget(PerTarget),
}

/// `{sqlite: TEXT, postgresql: numeric}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PerTarget {
    /// The type in SQLite.
    #[serde(default)]
    pub sqlite: Option<String>,
    /// The type in PostgreSQL.
    #[serde(default)]
    pub postgresql: Option<String>,
}

/// Which kind of target a run writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgresql,
}

impl TargetKind {
    /// The key of this target in a per-target `column_types` entry.
    pub fn key(self) -> &'static str {
        match self {
            TargetKind::Sqlite => "sqlite",
            TargetKind::Postgresql => "postgresql",
        }
    }
}

impl ColumnType {
    /// The type for `target`; `None` keeps the default mapping.
    pub fn for_target(&self, target: TargetKind) -> Option<&str> {
        match (self, target) {
            (ColumnType::Every(t), _) => Some(t),
            (ColumnType::PerTarget(p), TargetKind::Sqlite) => p.sqlite.as_deref(),
            (ColumnType::PerTarget(p), TargetKind::Postgresql) => p.postgresql.as_deref(),
        }
    }
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SqlError::ConfigRead { path: path.to_path_buf(), source })?;
        let mut config = Config::parse(&text).map_err(|e| match e {
            SqlError::ConfigInvalid { detail, .. } => {
                SqlError::ConfigInvalid { path: path.to_path_buf(), detail }
            }
            other => other,
        })?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Parses YAML text (paths stay as written).
    pub fn parse(text: &str) -> Result<Config> {
        let config: Config = serde_yaml::from_str(text)
            .map_err(|e| SqlError::ConfigInvalid { path: PathBuf::from("config"), detail: e.to_string() })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        let bad = |detail: String| SqlError::ConfigInvalid { path: PathBuf::from("config"), detail };
        let mut seen = std::collections::BTreeSet::new();
        for v in &self.views {
            if !is_identifier(&v.name) {
                return Err(bad(format!("view name {:?} must be letters, digits and _", v.name)));
            }
            if !seen.insert(v.name.as_str()) {
                return Err(bad(format!("view {:?} is defined twice", v.name)));
            }
        }
        for t in self.tables.iter().chain(self.table_options.keys()) {
            if !is_identifier(t) {
                return Err(bad(format!("table name {t:?} must be letters, digits and _")));
            }
        }
        Ok(())
    }

    /// Makes relative `duckdb.path` and `base_path` relative to the config file's folder.
    fn resolve_paths(&mut self, dir: &Path) {
        if let Some(p) = &self.duckdb.path
            && p.is_relative()
        {
            self.duckdb.path = Some(dir.join(p));
        }
        if let Some(b) = &self.base_path
            && Path::new(b).is_relative()
            && !b.contains("://")
        {
            self.base_path = Some(dir.join(b).to_string_lossy().into_owned());
        }
    }

    /// A view's SQL with `{base_path}` substituted.
    pub fn view_sql(&self, view: &ViewConfig) -> String {
        match &self.base_path {
            Some(base) => view.sql.replace("{base_path}", base.trim_end_matches('/')),
            None => view.sql.clone(),
        }
    }

    /// Hints for `table` (defaults when none are configured).
    pub fn options(&self, table: &str) -> TableOptions {
        self.table_options.get(table).cloned().unwrap_or_default()
    }
}

/// Letters, digits and `_`, not starting with a digit: safe to quote in every dialect.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
