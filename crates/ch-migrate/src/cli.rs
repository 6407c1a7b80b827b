//! The `ch-migrate` command line: argument parsing and the commands, over the library. The
//! binary in `bins/ch-migrate` only calls [`main`].

use crate::apply::{ApplyError, Options, apply};
use crate::config::{ConfigError, Resolved, load};
use crate::file::Problem;
use crate::history::History;
use crate::lock::{Lock, LockError};
use crate::placeholders::Placeholders;
use crate::project::{Loaded, load_dir, next_version};
use crate::validate::{Applied, Checks, Source, plan, validate};
use clap::{Parser, Subcommand};
use migrate_cli::args::OutputArgs;
use migrate_cli::exit;
use migrate_cli::startup::{Failure, Outcome};
use std::path::{Path, PathBuf};
use std::time::Duration;
use store_clickhouse::{ChError, ClickHouse, ClickHouseConfig};
use tracing::info;

const EXAMPLES: &str = "Examples:
  ch-migrate init
  ch-migrate create --name create_users_table
  ch-migrate validate
  ch-migrate migrate --dry-run
  ch-migrate migrate --env production
  ch-migrate migrate --version 3
  ch-migrate status --env staging
  ch-migrate history --format json
  ch-migrate rollback                      # the last applied migration
  ch-migrate rollback --version 2 --manual # print what rolling back to V2 would run
  ch-migrate repair --migration V3 --reason \"comment fixed\"
  ch-migrate test --rollback --migration V2__add_email.sql
  ch-migrate export --file state.json
  ch-migrate clean --older-than 90
  ch-migrate unlock --force
  ch-migrate test-connection

Exit codes: 0 ok, 1 failed, 2 usage or configuration error, 3 validation found problems,
4 refused (the lock is held, rollback disabled or impossible), 130 interrupted.";

/// Versioned ClickHouse schema migrations that survive crashes, clusters and concurrent deploys.
#[derive(Debug, Parser)]
#[command(name = "ch-migrate", version, after_help = EXAMPLES)]
pub struct Args {
    /// The configuration file (the seed's configs/migration-config.yml).
    #[arg(long, global = true, default_value = "configs/migration-config.yml")]
    pub config: PathBuf,
    /// Environment: applies environments.NAME and configs/environments/NAME.yml.
    #[arg(long, global = true)]
    pub env: Option<String>,
    /// Output format: `table` for people, `json` for machines (the same as --json).
    #[arg(long, global = true, value_enum, default_value = "table")]
    format: Format,
    #[command(flatten)]
    output: OutputArgs,
    #[command(subcommand)]
    command: Command,
}

// `--format` (its values undocumented one by one, so clap keeps the short help layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create configs/migration-config.yml and migrations/ in the current directory.
    Init,
    /// Create the next migration file from a template.
    Create {
        /// The migration's name (create_users_table).
        #[arg(long)]
        name: String,
    },
    /// Apply pending migrations, in order, under the lock.
    Migrate {
        /// Apply up to this version only.
        #[arg(long)]
        version: Option<u64>,
        /// Print every statement (after placeholders), the waits and the lock; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Wait this many seconds for another applier to finish.
        #[arg(long, default_value_t = 60)]
        lock_timeout: u64,
    },
    /// Roll back the last applied migration, or every one after --version.
    Rollback {
        /// Roll back every applied migration above this version (0: all of them).
        #[arg(long)]
        version: Option<u64>,
        /// Print the statements a rollback would run; run nothing.
        #[arg(long)]
        manual: bool,
        /// Wait this many seconds for another applier to finish.
        #[arg(long, default_value_t = 60)]
        lock_timeout: u64,
    },
    /// Accept an intentional edit of an applied file, or settle a statement in doubt.
    Repair {
        /// The migration (V3, 3 or its file name).
        #[arg(long)]
        migration: String,
        /// Why the applied file was edited (recorded in the history).
        #[arg(long, required_unless_present = "statement")]
        reason: Option<String>,
        /// The statement in doubt (its index, as `status` shows it).
        #[arg(long, requires = "outcome")]
        statement: Option<u32>,
        /// The statement took effect: never run it again.
        #[arg(long, group = "outcome")]
        done: bool,
        /// The statement did not take effect: run it on the next migrate.
        #[arg(long, group = "outcome")]
        not_done: bool,
    },
    /// Applied and pending migrations, and any statement in doubt.
    Status,
    /// Check the files against each other and the applied history; every problem at once.
    Validate,
    /// The applied migrations as the history table records them.
    History,
    /// Write the applied state to a JSON file (to move it, or to keep it beside a backup).
    Export {
        /// The JSON file to write.
        #[arg(long)]
        file: PathBuf,
    },
    /// Record the applied state of a JSON file from `export`: those migrations never run here.
    Import {
        /// The JSON file `export` wrote.
        #[arg(long)]
        file: PathBuf,
    },
    /// Delete journal and lock rows older than DAYS days (never the applied state).
    Clean {
        /// Age in days.
        #[arg(long)]
        older_than: u32,
    },
    /// Apply one migration (after those before it) in a scratch database; with --rollback, roll
    /// it back and prove the schema is what it was. The scratch database is dropped after.
    Test {
        /// The migration (V3, 3 or its file name).
        #[arg(long)]
        migration: String,
        /// Roll it back too and compare the schema with the one before it.
        #[arg(long)]
        rollback: bool,
    },
    /// Show who holds the migration lock; with --force, remove it.
    Unlock {
        /// Remove the lock (name whom it removes).
        #[arg(long)]
        force: bool,
    },
    /// Connect and print the server's version and capabilities.
    TestConnection,
}

/// Why a command failed, with its exit code.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Config(String),
    #[error("{count} problem(s) found:\n{list}")]
    Invalid { count: usize, list: String },
    #[error(transparent)]
    Lock(LockError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Server(#[from] ChError),
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::Config(e.to_string())
    }
}

impl From<LockError> for CliError {
    fn from(e: LockError) -> Self {
        match e {
            LockError::Server(e) => CliError::Server(e),
            held => CliError::Lock(held),
        }
    }
}

impl Failure for CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) => exit::USAGE,
            CliError::Invalid { .. } => exit::DIFFERENT,
            CliError::Lock(_) | CliError::Refused(_) => exit::REFUSED,
            CliError::Server(ChError::Config(_)) => exit::USAGE,
            CliError::Apply(_) | CliError::Server(_) => exit::FAILED,
        }
    }

    fn advice(&self) -> Option<String> {
        match self {
            CliError::Server(ChError::Connect { .. }) => Some(
                "check database.host and database.http_port (ch-migrate speaks HTTP, 8123 by default)".into(),
            ),
            CliError::Invalid { .. } => {
                Some("fix the files, or accept an intentional edit with `ch-migrate repair`".into())
            }
            _ => None,
        }
    }
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut tool = args.output.tool("ch-migrate", "ch_migrate");
    if args.format == Format::Json {
        tool = tool.json(true);
    }
    tool.run(|_| run(args))
}

async fn run(args: Args) -> Result<Outcome, CliError> {
    if let Command::Init = args.command {
        return init(Path::new("."));
    }
    let config = load(&args.config, args.env.as_deref(), |v| std::env::var(v).ok())?;
    for note in &config.notes {
        info!("{note}");
    }
    match args.command {
        Command::Init => unreachable!("handled above"),
        Command::Create { name } => create(&config, &name),
        Command::Migrate { version, dry_run, lock_timeout } => {
            migrate(
                &config,
                version,
                dry_run || config.config.migration.dry_run,
                Duration::from_secs(lock_timeout),
            )
            .await
        }
        Command::Rollback { version, manual, lock_timeout } => {
            rollback(&config, version, manual, Duration::from_secs(lock_timeout)).await
        }
        Command::Repair { migration, reason, statement, done, not_done: _ } => {
            repair(&config, &migration, reason, statement.map(|s| (s, done))).await
        }
        Command::Test { migration, rollback } => test_migration(&config, &migration, rollback).await,
        Command::Export { file } => export(&config, &file).await,
        Command::Import { file } => import(&config, &file).await,
        Command::Clean { older_than } => clean(&config, older_than).await,
        Command::Status => status(&config).await,
        Command::Validate => validate_command(&config).await,
        Command::History => history(&config).await,
        Command::Unlock { force } => unlock(&config, force).await,
        Command::TestConnection => test_connection(&config).await,
    }
}

const CONFIG_TEMPLATE: &str = "# ch-migrate configuration (the seed's format; unknown keys are errors)
database:
  host: localhost
  http_port: 8123
  database: default
  user: default
  password: \"\"
  # password_env: CLICKHOUSE_PASSWORD   # read the password from this variable instead
  secure: false

migration:
  table_name: schema_migrations
  version_format: \"V{version}__{description}\"
  rollback_enabled: true
  parallel_execution: false
  dry_run: false

environments:
  production:
    rollback_enabled: false

validation:
  check_syntax: true
  check_dependencies: true
  check_rollback: true
  max_migration_size: 1048576

logging:
  level: INFO
  file: migration.log
";

fn init(dir: &Path) -> Result<Outcome, CliError> {
    let config = dir.join("configs/migration-config.yml");
    if config.exists() {
        return Err(CliError::Config(format!("{} already exists; nothing changed", config.display())));
    }
    let io = |e: std::io::Error| CliError::Config(format!("cannot create the project files: {e}"));
    std::fs::create_dir_all(dir.join("configs/environments")).map_err(io)?;
    std::fs::create_dir_all(dir.join("migrations")).map_err(io)?;
    std::fs::write(&config, CONFIG_TEMPLATE).map_err(io)?;
    Ok(Outcome::new(exit::OK, format!("Created {} and migrations/", config.display())))
}

fn create(config: &Resolved, name: &str) -> Result<Outcome, CliError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(CliError::Config(format!("--name {name:?}: use letters, digits and underscores")));
    }
    let dir = config.migrations_dir();
    std::fs::create_dir_all(&dir).map_err(|e| CliError::Config(format!("{}: {e}", dir.display())))?;
    let (loaded, _) = load_dir(&dir).map_err(|e| CliError::Config(format!("{}: {e}", dir.display())))?;
    let version = next_version(&loaded);
    let path = dir.join(format!("V{version}__{name}.sql"));
    let text = format!(
        "-- Migration: {title}\n-- Version: {version}\n-- Description: {title}\n-- Dependencies:\n-- Environment: all\n\n\
         -- Forward Migration\nCREATE TABLE IF NOT EXISTS ${{database}}.{name} ${{on_cluster}} (\n    id UInt64\n) ENGINE = MergeTree ORDER BY id;\n\n\
         -- Rollback Migration\n-- ROLLBACK: DROP TABLE IF EXISTS ${{database}}.{name} ${{on_cluster}};\n",
        title = name.replace('_', " ")
    );
    std::fs::write(&path, text).map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
    Ok(Outcome::new(exit::OK, format!("Created {}", path.display()))
        .with_json(serde_json::json!({ "file": path, "version": version })))
}

fn placeholders(config: &Resolved) -> Placeholders {
    Placeholders {
        database: config.database.clone(),
        cluster: config.cluster.as_ref().map(|c| c.name().to_string()),
        custom: config.config.placeholders.clone(),
    }
}

fn checks(config: &Resolved) -> Checks {
    let v = &config.config.validation;
    Checks {
        dependencies: v.check_dependencies,
        rollback: v.check_rollback,
        max_size: v.max_migration_size,
        placeholders: placeholders(config),
    }
}

async fn connect(config: &Resolved) -> Result<ClickHouse, CliError> {
    let mut c =
        ClickHouseConfig::parse(&config.endpoint)?.with_user(&config.user).with_database(&config.database);
    if !config.password.is_empty() {
        c = c.with_password(&config.password);
    }
    Ok(ClickHouse::connect(c).await?)
}

fn history_of(config: &Resolved, server: ClickHouse) -> History {
    let cluster = config.cluster.as_ref().map(|c| (c.name(), Duration::from_secs(c.ddl_timeout_seconds())));
    History::new(server, &config.config.migration.table_name, cluster)
}

fn lock_of(config: &Resolved, server: ClickHouse) -> Lock {
    let table = format!("{}_lock", config.config.migration.table_name);
    Lock::new(server, &table, config.cluster.as_ref().map(|c| c.name()), Duration::from_secs(20))
}

fn files(config: &Resolved) -> Result<(Vec<Loaded>, Vec<Problem>), CliError> {
    let dir = config.migrations_dir();
    load_dir(&dir).map_err(|e| CliError::Config(format!("migrations directory {}: {e}", dir.display())))
}

fn problems_error(problems: &[Problem]) -> CliError {
    let list = problems
        .iter()
        .map(|p| match p.line {
            Some(line) => format!("  {}:{line}: {}", p.file, p.message),
            None => format!("  {}: {}", p.file, p.message),
        })
        .collect::<Vec<_>>()
        .join("\n");
    CliError::Invalid { count: problems.len(), list }
}

/// Files, applied state and every problem between them.
async fn survey(
    config: &Resolved,
    history: &History,
) -> Result<(Vec<Loaded>, Vec<Applied>, Vec<Problem>), CliError> {
    let (loaded, mut problems) = files(config)?;
    let applied = if history.exists().await? { history.applied().await? } else { Vec::new() };
    let paths: Vec<String> = loaded.iter().map(|l| l.path.display().to_string()).collect();
    let sources: Vec<Source<'_>> = loaded
        .iter()
        .zip(&paths)
        .map(|(l, path)| Source { path, size: l.size, migration: &l.migration })
        .collect();
    problems.extend(validate(&sources, &applied, &checks(config)));
    // Pending statements this server cannot run, named before anything runs.
    let caps = history.server().capabilities();
    let values = placeholders(config);
    for l in loaded.iter().filter(|l| !applied.iter().any(|a| a.version == l.migration.version)) {
        let Ok(statements) = l.migration.statements(&values) else { continue };
        for (index, statement) in statements.iter().enumerate() {
            for why in crate::compat::unsupported(statement, caps) {
                problems.push(Problem {
                    file: l.path.display().to_string(),
                    line: None,
                    message: format!("statement {index}: {why}"),
                });
            }
        }
    }
    Ok((loaded, applied, problems))
}

async fn migrate(
    config: &Resolved,
    target: Option<u64>,
    dry_run: bool,
    lock_timeout: Duration,
) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server.clone());
    let (loaded, applied, problems) = survey(config, &history).await?;
    if !problems.is_empty() {
        return Err(problems_error(&problems));
    }
    let environment = config.environment.clone().unwrap_or_default();
    let migrations: Vec<_> = loaded.iter().map(|l| l.migration.clone()).collect();
    let pending = plan(&migrations, &applied, target, &environment).map_err(|p| problems_error(&p))?;
    if pending.is_empty() {
        let text =
            format!("Nothing to apply: {} migration(s) applied, database {}", applied.len(), config.database);
        return Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "applied": [], "pending": 0 })));
    }
    let values = placeholders(config);
    if dry_run {
        let mut text = vec![format!(
            "DRY RUN: {} migration(s) would be applied to {} ({}); nothing is written",
            pending.len(),
            config.database,
            server.capabilities().version_text
        )];
        text.push(format!("  would take the lock in {}_lock", config.config.migration.table_name));
        for m in &pending {
            text.push(format!("V{} {}", m.version, m.name));
            let statements = m.statements(&values).map_err(|names| {
                CliError::Config(format!("V{}: unknown placeholders {}", m.version, names.join(", ")))
            })?;
            for (i, s) in statements.iter().enumerate() {
                text.push(format!("  [{i}] {}", s.trim()));
                let upper = s.to_ascii_uppercase();
                if upper.contains(" ON CLUSTER ") {
                    text.push("      waits for every host of the cluster".into());
                } else if upper.starts_with("ALTER TABLE")
                    && (upper.contains(" UPDATE ") || upper.contains(" DELETE "))
                {
                    text.push("      waits for the mutation to finish".into());
                }
            }
        }
        return Ok(Outcome::new(exit::OK, text.join("\n")));
    }
    history.ensure().await?;
    let lock = lock_of(config, server.clone());
    lock.ensure().await?;
    let lease = lock.acquire(lock_timeout).await?;
    info!("Lock taken (claim {})", &lease.id[..8]);
    // Under the lock, the applied state is what counts: another applier may have finished.
    let applied = history.applied().await?;
    let pending = plan(&migrations, &applied, target, &environment).map_err(|p| problems_error(&p))?;
    let options = Options {
        cluster: config
            .cluster
            .as_ref()
            .map(|c| (c.name().to_string(), Duration::from_secs(c.ddl_timeout_seconds()))),
        mutation_timeout: Duration::from_secs(3600),
        environment,
    };
    let mut done = Vec::new();
    let mut failure = None;
    for m in pending {
        info!("Applying V{} {}", m.version, m.name);
        match apply(&history, m, &values, &options).await {
            Ok(outcome) => {
                let resumed = if outcome.skipped > 0 {
                    format!(", {} already done", outcome.skipped)
                } else {
                    String::new()
                };
                info!(
                    "V{} {}: {} statement(s) in {}{resumed}",
                    m.version,
                    m.name,
                    outcome.ran,
                    migrate_cli::format::duration(outcome.duration)
                );
                for (index, hosts) in &outcome.hosts {
                    for h in hosts {
                        info!("    statement {index}: {h}");
                    }
                }
                done.push(serde_json::json!({ "version": m.version, "name": m.name, "statements": outcome.ran, "skipped": outcome.skipped }));
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    lease.release().await?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    let text = format!("Applied {} migration(s) to {}", done.len(), config.database);
    Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "applied": done })))
}

async fn status(config: &Resolved) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server);
    let (loaded, applied, problems) = survey(config, &history).await?;
    let mut lines = vec![format!("Database {} ({} applied)", config.database, applied.len())];
    let mut rows = Vec::new();
    for l in &loaded {
        let m = &l.migration;
        let state = match applied.iter().find(|a| a.version == m.version) {
            Some(a) if a.checksum == m.checksum.hex => "applied",
            Some(_) => "applied, file changed",
            None => "pending",
        };
        lines.push(format!("  V{:<6} {:<40} {state}", m.version, m.name));
        rows.push(serde_json::json!({ "version": m.version, "name": m.name, "state": state }));
        if state == "pending" && history.exists().await? {
            for entry in history.journal_of(m.version).await?.values().filter(|e| e.phase == "start") {
                lines.push(format!("      statement {} in doubt (query id {})", entry.index, entry.query_id));
            }
        }
    }
    for p in &problems {
        lines.push(format!("  problem: {}: {}", p.file, p.message));
    }
    let exit = if problems.is_empty() { exit::OK } else { exit::DIFFERENT };
    Ok(Outcome::new(exit, lines.join("\n"))
        .with_json(serde_json::json!({ "migrations": rows, "problems": problems.len() })))
}

async fn validate_command(config: &Resolved) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server);
    let (loaded, _, problems) = survey(config, &history).await?;
    if problems.is_empty() {
        Ok(Outcome::new(exit::OK, format!("{} migration file(s): no problems", loaded.len())))
    } else {
        Err(problems_error(&problems))
    }
}

async fn history(config: &Resolved) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server);
    if !history.exists().await? {
        return Ok(Outcome::new(exit::OK, "No history yet: nothing was ever applied here"));
    }
    let applied = history.applied().await?;
    let lines: Vec<String> = applied
        .iter()
        .map(|a| format!("  V{:<6} {:<40} {}", a.version, a.name, &a.checksum[..12.min(a.checksum.len())]))
        .collect();
    let json: Vec<_> = applied
        .iter()
        .map(|a| serde_json::json!({ "version": a.version, "name": a.name, "checksum": a.checksum }))
        .collect();
    Ok(Outcome::new(exit::OK, format!("{} applied:\n{}", applied.len(), lines.join("\n")))
        .with_json(serde_json::json!({ "applied": json })))
}

async fn unlock(config: &Resolved, force: bool) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let lock = lock_of(config, server);
    lock.ensure().await?;
    let holders = if force { lock.force_unlock().await? } else { lock.holders().await? };
    let names: Vec<String> = holders.iter().map(ToString::to_string).collect();
    let text = match (force, names.is_empty()) {
        (_, true) => "The migration lock is free".to_string(),
        (true, false) => format!("Removed the lock held by {}", names.join("; ")),
        (false, false) => {
            format!("The migration lock is held by {}; `unlock --force` removes it", names.join("; "))
        }
    };
    Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "holders": names, "removed": force })))
}

async fn test_connection(config: &Resolved) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let caps = server.capabilities();
    let text = format!(
        "Connected to {}: ClickHouse {}, database engine {}, clusters: {}",
        server.target(),
        caps.version_text,
        caps.database_engine,
        match caps.cluster_names().into_iter().collect::<Vec<_>>().join(", ") {
            names if names.is_empty() => "none".to_string(),
            names => names,
        }
    );
    Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "version": caps.version_text })))
}

fn options(config: &Resolved) -> Options {
    Options {
        cluster: config
            .cluster
            .as_ref()
            .map(|c| (c.name().to_string(), Duration::from_secs(c.ddl_timeout_seconds()))),
        mutation_timeout: Duration::from_secs(3600),
        environment: config.environment.clone().unwrap_or_default(),
    }
}

async fn rollback(
    config: &Resolved,
    to: Option<u64>,
    manual: bool,
    lock_timeout: Duration,
) -> Result<Outcome, CliError> {
    if !config.rollback_enabled {
        let env = config.environment.as_deref().map(|e| format!(" in environment {e}")).unwrap_or_default();
        return Err(CliError::Refused(format!(
            "rollback is disabled{env} (migration.rollback_enabled: false)"
        )));
    }
    let server = connect(config).await?;
    let history = history_of(config, server.clone());
    if !history.exists().await? {
        return Ok(Outcome::new(exit::OK, "Nothing to roll back: nothing was ever applied here"));
    }
    let (loaded, _) = files(config)?;
    let applied = history.applied().await?;
    let mut targets: Vec<&Applied> = match to {
        Some(v) => applied.iter().filter(|a| a.version > v).collect(),
        None => applied.iter().last().into_iter().collect(),
    };
    targets.sort_by_key(|a| std::cmp::Reverse(a.version));
    if targets.is_empty() {
        return Ok(Outcome::new(exit::OK, "Nothing to roll back"));
    }
    let values = placeholders(config);
    let mut plans = Vec::new();
    for a in &targets {
        let m = loaded.iter().find(|l| l.migration.version == a.version).map(|l| &l.migration).ok_or_else(
            || {
                CliError::Refused(format!(
                    "V{} {} is applied but its file is gone: cannot roll it back",
                    a.version, a.name
                ))
            },
        )?;
        let (statements, derived) = crate::rollback::rollback_statements(m, &values)
            .map_err(|e| CliError::Refused(format!("cannot roll back V{} {}: {e}", m.version, m.name)))?;
        plans.push((m, statements, derived));
    }
    if manual {
        let mut text = vec![format!("Rolling back would run (nothing was run):")];
        for (m, statements, derived) in &plans {
            text.push(format!(
                "V{} {}{}",
                m.version,
                m.name,
                if *derived { " (derived: the file has no ROLLBACK lines)" } else { "" }
            ));
            text.extend(statements.iter().map(|s| format!("  {s}")));
        }
        return Ok(Outcome::new(exit::OK, text.join("\n")));
    }
    let lock = lock_of(config, server);
    lock.ensure().await?;
    let lease = lock.acquire(lock_timeout).await?;
    let options = options(config);
    let mut rolled = Vec::new();
    let mut failure = None;
    for (m, statements, derived) in &plans {
        if *derived {
            info!("V{} has no ROLLBACK lines: running the derived inverse", m.version);
        }
        match crate::apply::roll_back(&history, m, statements, &options).await {
            Ok(outcome) => {
                info!("Rolled back V{} {}: {} statement(s)", m.version, m.name, outcome.ran);
                rolled.push(m.version);
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    lease.release().await?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    let text = format!(
        "Rolled back {} migration(s): {}",
        rolled.len(),
        rolled.iter().map(|v| format!("V{v}")).collect::<Vec<_>>().join(", ")
    );
    Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "rolled_back": rolled })))
}

/// The version a `--migration` argument names (`V3`, `3`, `V3__name.sql`).
fn version_of(migration: &str) -> Result<u64, CliError> {
    let name = migration.rsplit('/').next().unwrap_or(migration);
    let digits: String =
        name.trim_start_matches(['V', 'v']).chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .map_err(|_| CliError::Config(format!("--migration {migration:?}: expected V3, 3 or a file name")))
}

/// Every table of the server's database (but the tool's own) with its CREATE statement.
async fn schema_of(server: &ClickHouse, tool_prefix: &str) -> Result<Vec<(String, String)>, CliError> {
    let names = server
        .fetch_rows(format!(
            "SELECT name FROM system.tables WHERE database = {} ORDER BY name",
            store_clickhouse::sql::literal(server.database())
        ))
        .await?;
    let mut schema = Vec::new();
    for name in names.into_iter().filter_map(|r| r.into_iter().next()) {
        if name.starts_with(tool_prefix) {
            continue;
        }
        let table = store_clickhouse::sql::qualified(server.database(), &name);
        let create = server.fetch_text(format!("SHOW CREATE TABLE {table}")).await?;
        schema.push((name, create.trim().to_string()));
    }
    Ok(schema)
}

async fn test_migration(config: &Resolved, migration: &str, rollback: bool) -> Result<Outcome, CliError> {
    let version = version_of(migration)?;
    let (loaded, problems) = files(config)?;
    if !problems.is_empty() {
        return Err(problems_error(&problems));
    }
    let target = loaded
        .iter()
        .find(|l| l.migration.version == version)
        .map(|l| l.migration.clone())
        .ok_or_else(|| CliError::Config(format!("no migration file for version {version}")))?;
    let main = connect(config).await?;
    let scratch_name = format!("ch_migrate_test_{}", uuid::Uuid::new_v4().simple());
    main.execute(format!("CREATE DATABASE {}", store_clickhouse::sql::ident(&scratch_name))).await?;
    let scratch_config = Resolved { database: scratch_name.clone(), cluster: None, ..config.clone() };
    let tool_tables = config.config.migration.table_name.clone();
    let result: Result<(u8, Vec<String>), CliError> = async {
        let server = connect(&scratch_config).await?;
        let history = History::new(server.clone(), &tool_tables, None);
        history.ensure().await?;
        let values = placeholders(&scratch_config);
        let options = Options { cluster: None, ..options(&scratch_config) };
        let earlier: Vec<&Loaded> = loaded.iter().filter(|l| l.migration.version < version).collect();
        for l in &earlier {
            apply(&history, &l.migration, &values, &options).await?;
        }
        let before = schema_of(&server, &tool_tables).await?;
        let applied = apply(&history, &target, &values, &options).await?;
        let mut lines = vec![format!(
            "V{} {}: {} statement(s) applied in a scratch database ({} earlier migration(s) first)",
            target.version,
            target.name,
            applied.ran,
            earlier.len()
        )];
        if !rollback {
            return Ok((exit::OK, lines));
        }
        let (undo, derived) = crate::rollback::rollback_statements(&target, &values)
            .map_err(|e| CliError::Refused(format!("cannot roll back V{version}: {e}")))?;
        crate::apply::roll_back(&history, &target, &undo, &options).await?;
        let after = schema_of(&server, &tool_tables).await?;
        let how = if derived { "the derived rollback" } else { "its rollback" };
        if before == after {
            lines.push(format!(
                "rolled back with {how} ({} statement(s)): the schema is as it was",
                undo.len()
            ));
            return Ok((exit::OK, lines));
        }
        lines.push(format!("rolled back with {how}, but the schema differs from before:"));
        for (name, create) in &after {
            if !before.contains(&(name.clone(), create.clone())) {
                lines.push(format!("  left or changed: {name}"));
            }
        }
        for (name, _) in before.iter().filter(|(n, _)| !after.iter().any(|(a, _)| a == n)) {
            lines.push(format!("  missing: {name}"));
        }
        Ok((exit::DIFFERENT, lines))
    }
    .await;
    let dropped = main
        .execute(format!("DROP DATABASE IF EXISTS {}", store_clickhouse::sql::ident(&scratch_name)))
        .await;
    let (code, lines) = result?;
    dropped?;
    Ok(Outcome::new(code, lines.join("\n")))
}

async fn repair(
    config: &Resolved,
    migration: &str,
    reason: Option<String>,
    statement: Option<(u32, bool)>,
) -> Result<Outcome, CliError> {
    let version = version_of(migration)?;
    let (loaded, _) = files(config)?;
    let m = loaded
        .iter()
        .find(|l| l.migration.version == version)
        .map(|l| &l.migration)
        .ok_or_else(|| CliError::Config(format!("no migration file for version {version}")))?;
    let server = connect(config).await?;
    let history = history_of(config, server);
    history.ensure().await?;
    if let Some((index, done)) = statement {
        let statements = m
            .statements(&placeholders(config))
            .map_err(|names| CliError::Config(format!("unknown placeholders {}", names.join(", "))))?;
        let text = statements.get(index as usize).ok_or_else(|| {
            CliError::Config(format!(
                "V{version} has {} statement(s); there is no statement {index}",
                statements.len()
            ))
        })?;
        let sum = crate::checksum(text).hex;
        let entry = crate::history::JournalEntry {
            version,
            index,
            query_id: crate::apply::query_id(&config.database, version, index, &sum),
            checksum: sum,
            phase: if done { "end".into() } else { "failed".into() },
            error: if done { String::new() } else { "marked not done by repair".into() },
        };
        history.journal_phase(&entry).await?;
        let what = if done { "done: it will not run again" } else { "not done: the next migrate runs it" };
        return Ok(Outcome::new(exit::OK, format!("V{version} statement {index} recorded as {what}")));
    }
    let applied = history.applied().await?;
    if !applied.iter().any(|a| a.version == version) {
        return Err(CliError::Config(format!("V{version} is not applied: there is no edit to accept")));
    }
    let reason = reason.unwrap_or_default();
    let environment = config.environment.clone().unwrap_or_default();
    let event = crate::history::Event {
        note: reason.clone(),
        ..crate::history::Event::of(m, crate::history::Status::Repaired, &environment)
    };
    history.record(&event).await?;
    Ok(Outcome::new(exit::OK, format!("V{version} {}: the edited file is accepted ({reason})", m.name)))
}

async fn export(config: &Resolved, file: &Path) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server);
    let applied = if history.exists().await? { history.applied().await? } else { Vec::new() };
    let state = serde_json::json!({
        "database": config.database,
        "applied": applied
            .iter()
            .map(|a| serde_json::json!({ "version": a.version, "name": a.name, "checksum": a.checksum, "algorithm": a.algorithm }))
            .collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&state).map_err(|e| CliError::Config(e.to_string()))?;
    std::fs::write(file, text + "\n").map_err(|e| CliError::Config(format!("{}: {e}", file.display())))?;
    Ok(Outcome::new(exit::OK, format!("Wrote {} applied migration(s) to {}", applied.len(), file.display())))
}

async fn import(config: &Resolved, file: &Path) -> Result<Outcome, CliError> {
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError::Config(format!("{}: {e}", file.display())))?;
    let bad = |why: String| {
        CliError::Config(format!("{}: {why}; expected what `ch-migrate export` writes", file.display()))
    };
    let state: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let entries = state["applied"].as_array().ok_or_else(|| bad("no \"applied\" list".into()))?;
    let mut incoming = Vec::with_capacity(entries.len());
    for e in entries {
        let field =
            |k: &str| e[k].as_str().map(str::to_string).ok_or_else(|| bad(format!("an entry without {k}")));
        let version = e["version"].as_u64().ok_or_else(|| bad("an entry without a version".into()))?;
        incoming.push(Applied {
            version,
            name: field("name")?,
            checksum: field("checksum")?,
            algorithm: field("algorithm")?,
        });
    }
    let server = connect(config).await?;
    let history = history_of(config, server.clone());
    history.ensure().await?;
    let lock = lock_of(config, server);
    lock.ensure().await?;
    let lease = lock.acquire(Duration::from_secs(60)).await?;
    let present: Vec<u64> = history.applied().await?.iter().map(|a| a.version).collect();
    let mut recorded = 0;
    for a in incoming.iter().filter(|a| !present.contains(&a.version)) {
        history
            .record(&crate::history::Event {
                version: a.version,
                name: a.name.clone(),
                checksum: a.checksum.clone(),
                algorithm: a.algorithm.clone(),
                status: crate::history::Status::Applied,
                statements: 0,
                duration: Duration::ZERO,
                environment: config.environment.clone().unwrap_or_default(),
                note: format!("imported from {}", file.display()),
            })
            .await?;
        recorded += 1;
    }
    lease.release().await?;
    let text =
        format!("Recorded {recorded} migration(s) as applied ({} already were)", incoming.len() - recorded);
    Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "recorded": recorded })))
}

async fn clean(config: &Resolved, days: u32) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server.clone());
    if !history.exists().await? {
        return Ok(Outcome::new(exit::OK, "Nothing to clean: no history here"));
    }
    let table = &config.config.migration.table_name;
    let timeout = Duration::from_secs(600);
    let cutoff = format!("toDateTime(now() - {})", u64::from(days) * 86_400);
    // Journal rows written before each migration's latest event: that event settled them.
    let latest = server
        .fetch_rows(format!("SELECT version, max(seq) FROM {}.{table} GROUP BY version", config.database))
        .await?;
    let settled: Vec<String> = latest
        .iter()
        .filter(|r| r.len() >= 2)
        .map(|r| format!("(version = {} AND seq < {})", r[0], r[1]))
        .collect();
    if !settled.is_empty() {
        let journal = format!("{table}_journal");
        let condition = format!("DELETE WHERE at < {cutoff} AND ({})", settled.join(" OR "));
        server.mutate(&journal, &condition, timeout).await?;
    }
    let lock = format!("{table}_lock");
    let lock_exists = server
        .fetch_rows(format!(
            "SELECT count() FROM system.tables WHERE database = '{}' AND name = '{lock}'",
            config.database
        ))
        .await?
        .first()
        .and_then(|r| r.first())
        .is_some_and(|n| n != "0");
    if lock_exists {
        server.mutate(&lock, &format!("DELETE WHERE expires < toUInt32({cutoff})"), timeout).await?;
    }
    Ok(Outcome::new(
        exit::OK,
        format!("Deleted journal and lock rows older than {days} day(s); the applied state is kept"),
    ))
}
