//! `configs/migration-config.yml` as the seed writes it (database, migration, environments,
//! validation, logging, security), plus `cluster:` and `placeholders:`. `--env NAME` applies the
//! file's `environments.NAME` section and then `configs/environments/NAME.yml` when it exists.
//! Unknown keys are errors; the password may come from an environment variable and is never
//! printed ([`Resolved`]'s `Debug` masks it).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file concerned.
    pub file: PathBuf,
    /// What is wrong, and the fix where there is one.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the server is.
    #[serde(default)]
    pub database: Database,
    /// How migrations are recorded and run.
    #[serde(default)]
    pub migration: Migration,
    /// Per-environment overrides of `database` keys and `rollback_enabled`.
    #[serde(default)]
    pub environments: BTreeMap<String, Environment>,
    /// What `validate` checks.
    #[serde(default)]
    pub validation: Validation,
    /// Log level and file.
    #[serde(default)]
    pub logging: Logging,
    /// Transport security and audit.
    #[serde(default)]
    pub security: Security,
    /// The cluster DDL runs on (`ON CLUSTER`), if any.
    #[serde(default)]
    pub cluster: Option<Cluster>,
    /// User-defined placeholders (`${name}` in migration files).
    #[serde(default)]
    pub placeholders: BTreeMap<String, String>,
}

/// `database:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// Host name.
    pub host: String,
    /// The seed's port: ClickHouse's native port (9000) in most existing files.
    pub port: u16,
    /// The HTTP port ch-migrate talks to; when absent, 8123 (8443 with `secure`) replaces the
    /// native ports 9000/9440, and any other `port` is taken as HTTP.
    pub http_port: Option<u16>,
    /// The database migrations run in.
    pub database: String,
    /// User.
    pub user: String,
    /// Password, written in the file (prefer `password_env`).
    pub password: String,
    /// The environment variable that holds the password.
    pub password_env: Option<String>,
    /// HTTPS.
    pub secure: bool,
    /// Verify the server's certificate.
    pub verify: bool,
}

impl Default for Database {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 8123,
            http_port: None,
            database: "default".into(),
            user: "default".into(),
            password: String::new(),
            password_env: None,
            secure: false,
            verify: true,
        }
    }
}

/// `migration:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Migration {
    /// The history table.
    pub table_name: String,
    /// File naming (the seed's `V{version}__{description}`).
    pub version_format: String,
    /// Whether `rollback` may run.
    pub rollback_enabled: bool,
    /// Apply independent migrations concurrently (those whose `Dependencies:` are done).
    pub parallel_execution: bool,
    /// How many migrations run at once with `parallel_execution` (at least 1).
    pub max_parallel: usize,
    /// Every `migrate` is a dry run.
    pub dry_run: bool,
    /// Where the migration files are, relative to the project (the directory holding `configs/`).
    pub directory: PathBuf,
}

impl Default for Migration {
    fn default() -> Self {
        Self {
            table_name: "schema_migrations".into(),
            version_format: "V{version}__{description}".into(),
            rollback_enabled: true,
            parallel_execution: false,
            max_parallel: 4,
            dry_run: false,
            directory: PathBuf::from("migrations"),
        }
    }
}

/// One entry of `environments:`: what it changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Host.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// HTTP port.
    pub http_port: Option<u16>,
    /// Database.
    pub database: Option<String>,
    /// User.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// HTTPS.
    pub secure: Option<bool>,
    /// Whether `rollback` may run here.
    pub rollback_enabled: Option<bool>,
    /// The cluster, here.
    pub cluster: Option<Cluster>,
}

/// `validation:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Validation {
    /// Split every file and check the statements parse as statements.
    pub check_syntax: bool,
    /// Check `-- Dependencies:`.
    pub check_dependencies: bool,
    /// Every migration must be able to roll back.
    pub check_rollback: bool,
    /// Largest migration file, in bytes.
    pub max_migration_size: u64,
}

impl Default for Validation {
    fn default() -> Self {
        Self {
            check_syntax: true,
            check_dependencies: true,
            check_rollback: false,
            max_migration_size: 1 << 20,
        }
    }
}

/// `logging:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// `DEBUG`, `INFO`, `WARNING`, `ERROR`.
    pub level: String,
    /// Log file name (in the log directory).
    pub file: String,
    /// The seed's Python format string; kept for compatibility, our lines have one format.
    pub format: String,
}

impl Default for Logging {
    fn default() -> Self {
        Self { level: "INFO".into(), file: "migration.log".into(), format: String::new() }
    }
}

/// `security:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Security {
    /// HTTPS (as `database.secure`).
    pub use_ssl: bool,
    /// Verify certificates.
    pub verify_cert: bool,
    /// The user migrations are expected to run as; a different `database.user` is refused.
    pub service_account: Option<String>,
    /// Record every statement in the history's audit trail.
    pub audit_logging: bool,
    /// Require `--backup-taken` before `migrate` (the tool cannot back up a server itself).
    pub backup_before_migration: bool,
}

/// `cluster:`: a name, or a name with how long to wait for hosts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Cluster {
    /// `cluster: replicated`.
    Name(String),
    /// `cluster: {name: replicated, ddl_timeout_seconds: 300}`.
    Detailed {
        /// The cluster's name in `remote_servers`.
        name: String,
        /// How long ON CLUSTER DDL waits for every host.
        #[serde(default = "default_ddl_timeout")]
        ddl_timeout_seconds: u64,
    },
}

fn default_ddl_timeout() -> u64 {
    180
}

impl Cluster {
    /// The cluster's name.
    pub fn name(&self) -> &str {
        match self {
            Cluster::Name(n) | Cluster::Detailed { name: n, .. } => n,
        }
    }

    /// How long ON CLUSTER DDL waits for every host, in seconds.
    pub fn ddl_timeout_seconds(&self) -> u64 {
        match self {
            Cluster::Name(_) => default_ddl_timeout(),
            Cluster::Detailed { ddl_timeout_seconds, .. } => *ddl_timeout_seconds,
        }
    }
}

/// A configuration with its environment applied: what a run uses.
#[derive(Clone)]
pub struct Resolved {
    /// The environment applied, if any.
    pub environment: Option<String>,
    /// `http(s)://host:port`.
    pub endpoint: String,
    /// The database.
    pub database: String,
    /// The user.
    pub user: String,
    /// The password (never printed).
    pub password: String,
    /// Whether `rollback` may run.
    pub rollback_enabled: bool,
    /// The cluster, if any.
    pub cluster: Option<Cluster>,
    /// Everything else, as read.
    pub config: Config,
    /// The project directory (the one holding `configs/`).
    pub project: PathBuf,
    /// Notes for the log (a native port replaced by the HTTP one, say).
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("environment", &self.environment)
            .field("endpoint", &self.endpoint)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &if self.password.is_empty() { "" } else { "****" })
            .field("rollback_enabled", &self.rollback_enabled)
            .field("cluster", &self.cluster)
            .finish()
    }
}

impl Resolved {
    /// The migration files' directory.
    pub fn migrations_dir(&self) -> PathBuf {
        self.project.join(&self.config.migration.directory)
    }
}

/// Reads `path` (normally `configs/migration-config.yml`) and applies environment `env`:
/// its `environments:` entry, then `configs/environments/<env>.yml` beside the file when it
/// exists (any key of the main file). `lookup` reads environment variables (for the password).
pub fn load(
    path: &Path,
    env: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Resolved, ConfigError> {
    let err = |file: &Path, message: String| ConfigError { file: file.to_path_buf(), message };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(path, format!("cannot read it ({e}); create one with `ch-migrate init`")))?;
    let mut value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| err(path, e.to_string()))?;
    if value.is_null() {
        value = serde_yaml::Value::Mapping(Default::default());
    }
    if let Some(name) = env {
        let overlay =
            path.parent().unwrap_or(Path::new(".")).join("environments").join(format!("{name}.yml"));
        if overlay.is_file() {
            let text = std::fs::read_to_string(&overlay).map_err(|e| err(&overlay, e.to_string()))?;
            let extra: serde_yaml::Value =
                serde_yaml::from_str(&text).map_err(|e| err(&overlay, e.to_string()))?;
            merge(&mut value, extra);
        }
    }
    let config: Config = serde_yaml::from_value(value).map_err(|e| err(path, e.to_string()))?;
    let section = match env {
        Some(name) => {
            let known = config.environments.contains_key(name)
                || path
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join("environments")
                    .join(format!("{name}.yml"))
                    .is_file();
            if !known {
                let names: Vec<&str> = config.environments.keys().map(String::as_str).collect();
                return Err(err(
                    path,
                    format!(
                        "no environment {name:?}: neither environments.{name} nor environments/{name}.yml (known: {})",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ),
                ));
            }
            config.environments.get(name).cloned().unwrap_or_default()
        }
        None => Environment::default(),
    };
    let db = &config.database;
    let secure = section.secure.unwrap_or(db.secure || config.security.use_ssl);
    let host = section.host.clone().unwrap_or_else(|| db.host.clone());
    let port = section.port.unwrap_or(db.port);
    let mut notes = Vec::new();
    let http_port = match section.http_port.or(db.http_port) {
        Some(p) => p,
        None if port == 9000 || port == 9440 => {
            let http = if secure { 8443 } else { 8123 };
            notes.push(format!(
                "database.port {port} is ClickHouse's native protocol; ch-migrate speaks HTTP on {http} (set database.http_port to change it)"
            ));
            http
        }
        None => port,
    };
    let user = section.user.clone().unwrap_or_else(|| db.user.clone());
    if let Some(account) = &config.security.service_account
        && account != &user
    {
        return Err(err(
            path,
            format!(
                "security.service_account is {account:?} but the user is {user:?}: run migrations as {account}"
            ),
        ));
    }
    let password_env = section.password_env.clone().or_else(|| db.password_env.clone());
    let password = match password_env {
        Some(var) => {
            lookup(&var).ok_or_else(|| err(path, format!("the password variable {var} is not set")))?
        }
        None => section.password.clone().unwrap_or_else(|| db.password.clone()),
    };
    let rollback_enabled = section.rollback_enabled.unwrap_or(config.migration.rollback_enabled);
    let cluster = section.cluster.clone().or_else(|| config.cluster.clone());
    let project =
        path.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    Ok(Resolved {
        environment: env.map(str::to_string),
        endpoint: format!("{}://{host}:{http_port}", if secure { "https" } else { "http" }),
        database: section.database.clone().unwrap_or_else(|| db.database.clone()),
        user,
        password,
        rollback_enabled,
        cluster,
        config,
        project,
        notes,
    })
}

/// Deep-merges `extra` into `base`: mappings key by key, anything else replaced.
fn merge(base: &mut serde_yaml::Value, extra: serde_yaml::Value) {
    match (base, extra) {
        (serde_yaml::Value::Mapping(base), serde_yaml::Value::Mapping(extra)) => {
            for (key, value) in extra {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, extra) => *base = extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"
database:
  host: localhost
  port: 9000
  database: default
  user: default
  password: ""
  secure: false
  verify: false
migration:
  table_name: schema_migrations
  version_format: "V{version}__{description}"
  rollback_enabled: true
  parallel_execution: false
  dry_run: false
environments:
  development:
    database: dev_db
    user: dev_user
  staging:
    database: staging_db
    user: staging_user
  production:
    database: prod_db
    user: prod_user
    rollback_enabled: false  # Disable rollback in production
validation:
  check_syntax: true
  check_dependencies: true
  check_rollback: true
  max_migration_size: 1048576  # 1MB
logging:
  level: INFO
  file: migration.log
  format: "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
"#;

    fn project(main: &str, overlays: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let configs = dir.path().join("configs");
        std::fs::create_dir_all(configs.join("environments")).unwrap();
        std::fs::write(configs.join("migration-config.yml"), main).unwrap();
        for (name, text) in overlays {
            std::fs::write(configs.join("environments").join(format!("{name}.yml")), text).unwrap();
        }
        let path = configs.join("migration-config.yml");
        (dir, path)
    }

    #[test]
    fn the_seed_file_reads_as_written() {
        let (_dir, path) = project(SEED, &[]);
        let r = load(&path, None, |_| None).unwrap();
        assert_eq!(r.endpoint, "http://localhost:8123");
        assert!(r.notes[0].contains("native protocol"), "{:?}", r.notes);
        assert_eq!((r.database.as_str(), r.user.as_str(), r.rollback_enabled), ("default", "default", true));
        assert_eq!(r.config.validation.max_migration_size, 1_048_576);
        let prod = load(&path, Some("production"), |_| None).unwrap();
        assert_eq!(
            (prod.database.as_str(), prod.user.as_str(), prod.rollback_enabled),
            ("prod_db", "prod_user", false)
        );
    }

    #[test]
    fn environment_files_overlay_any_key() {
        let overlay = "database:\n  host: ch-staging\n  http_port: 18123\n  password_env: CH_PASS\ncluster: replicated\n";
        let (_dir, path) = project(SEED, &[("staging", overlay)]);
        let r = load(&path, Some("staging"), |v| (v == "CH_PASS").then(|| "s3cret".to_string())).unwrap();
        assert_eq!(r.endpoint, "http://ch-staging:18123");
        assert_eq!((r.database.as_str(), r.password.as_str()), ("staging_db", "s3cret"));
        assert_eq!(r.cluster.as_ref().map(Cluster::name), Some("replicated"));
        assert!(!format!("{r:?}").contains("s3cret"));
        let missing = load(&path, Some("staging"), |_| None).unwrap_err().to_string();
        assert!(missing.contains("CH_PASS is not set"), "{missing}");
    }

    #[test]
    fn unknown_keys_and_environments_are_errors() {
        let (_dir, path) = project(&format!("{SEED}\nmigraton:\n  x: 1\n"), &[]);
        let e = load(&path, None, |_| None).unwrap_err().to_string();
        assert!(e.contains("migraton"), "{e}");
        let (_dir, path) = project("database:\n  hots: x\n", &[]);
        assert!(load(&path, None, |_| None).unwrap_err().to_string().contains("hots"));
        let (_dir, path) = project(SEED, &[]);
        let e = load(&path, Some("prod"), |_| None).unwrap_err().to_string();
        assert!(e.contains("no environment \"prod\"") && e.contains("production"), "{e}");
    }

    #[test]
    fn cluster_with_a_timeout_and_the_service_account() {
        let (_dir, path) = project(
            "cluster:\n  name: sharded\n  ddl_timeout_seconds: 30\nsecurity:\n  service_account: migrator\n",
            &[],
        );
        let e = load(&path, None, |_| None).unwrap_err().to_string();
        assert!(e.contains("run migrations as migrator"), "{e}");
        let (_dir, path) = project("cluster:\n  name: sharded\n  ddl_timeout_seconds: 30\n", &[]);
        let r = load(&path, None, |_| None).unwrap();
        assert_eq!(
            r.cluster.map(|c| (c.name().to_string(), c.ddl_timeout_seconds())),
            Some(("sharded".into(), 30))
        );
    }
}
