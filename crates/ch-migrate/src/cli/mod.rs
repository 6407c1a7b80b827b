//! The `ch-migrate` command line: argument parsing and the commands, over the library. The
//! binary in `bins/ch-migrate` only calls [`main`].

use crate::apply::{ApplyError, Options};
use crate::config::{ConfigError, Resolved, load};
use crate::file::Problem;
use crate::history::History;
use crate::lock::{Lock, LockError};
use crate::placeholders::Placeholders;
use crate::project::{Loaded, load_dir};
use crate::validate::Checks;
use clap::{Parser, Subcommand};
use migrate_cli::args::OutputArgs;
use migrate_cli::exit;
use migrate_cli::startup::{Failure, Outcome};
use std::path::{Path, PathBuf};
use std::time::Duration;
use store_clickhouse::{ChError, ClickHouse, ClickHouseConfig};
use tracing::info;

mod apply;
mod inspect;
mod project;
mod report;
mod scratch;
mod state;

const EXAMPLES: &str = "Examples:
  ch-migrate init
  ch-migrate create --name create_users_table
  ch-migrate create --template alter --name add_email_to_users
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
  ch-migrate report --format html --performance
  ch-migrate import --from golang-migrate  # adopt another tool's applied state
  ch-migrate resolve --migration V3__conflict.sql
  ch-migrate profile --migration V2
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
    /// Output format: `table` for people, `json` for machines (the same as --json); `report`
    /// also writes `html` and `markdown`.
    #[arg(long, global = true, value_enum, default_value = "table")]
    format: Format,
    /// Log every statement and server request (the same as --verbose).
    #[arg(long, global = true)]
    debug: bool,
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
    Html,
    Markdown,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create configs/migration-config.yml and migrations/ in the current directory.
    #[command(
        after_help = "Examples:\n  ch-migrate init    # configs/migration-config.yml, migrations/, templates/"
    )]
    Init,
    /// Create the next migration file from a template (the project's templates/ first).
    #[command(
        after_help = "Examples:\n  ch-migrate create --name create_products\n  ch-migrate create --template alter --name add_status_to_orders\n  ch-migrate create --template index --name index_orders --table orders"
    )]
    Create {
        /// The migration's name (create_users_table).
        #[arg(long)]
        name: String,
        /// table, alter, index or data.
        #[arg(long, default_value = "table")]
        template: String,
        /// The table the template names (default: from --name, create_products -> products).
        #[arg(long)]
        table: Option<String>,
    },
    /// Renumber a conflicting pending file (same version as another, or below an applied one)
    /// to the next free version.
    #[command(
        after_help = "Examples:\n  ch-migrate validate --check-conflicts\n  ch-migrate resolve --migration V3__conflict.sql"
    )]
    Resolve {
        /// The file (V3__conflict.sql).
        #[arg(long)]
        migration: String,
    },
    /// Apply pending migrations, in order, under the lock.
    #[command(
        after_help = "Examples:\n  ch-migrate migrate --dry-run\n  ch-migrate migrate --env production --lock-timeout 600\n  ch-migrate migrate --version 3"
    )]
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
    #[command(
        after_help = "Examples:\n  ch-migrate rollback                       # the last applied migration\n  ch-migrate rollback --version 2 --manual  # print what rolling back to V2 would run\n  ch-migrate rollback --version 0           # every applied migration"
    )]
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
    #[command(
        after_help = "Examples:\n  ch-migrate repair --migration V3 --reason \"comment fixed\"\n  ch-migrate repair --migration V4 --statement 2 --done"
    )]
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
    #[command(
        after_help = "Examples:\n  ch-migrate status\n  ch-migrate status --show-rollback --env staging\n  ch-migrate status --format json"
    )]
    Status {
        /// Also show how each applied migration would be rolled back, and failed rollbacks.
        #[arg(long)]
        show_rollback: bool,
    },
    /// Check the files against each other and the applied history; every problem at once.
    #[command(
        after_help = "Examples:\n  ch-migrate validate\n  ch-migrate validate --check-conflicts --format json"
    )]
    Validate {
        /// Also report pending files numbered below an applied version (a merge of two
        /// branches); `resolve` renumbers them.
        #[arg(long)]
        check_conflicts: bool,
    },
    /// Applied, pending and failed migrations with durations and per-host results
    /// (--format html|markdown|json; a table of the same on a terminal).
    #[command(
        after_help = "Examples:\n  ch-migrate report --format html            # migration-report.html\n  ch-migrate report --performance\n  ch-migrate report --format markdown -o report.md\n  ch-migrate report --format json"
    )]
    Report {
        /// Add the slowest migrations and statements.
        #[arg(long)]
        performance: bool,
        /// Where to write an html or markdown report (html: migration-report.html by default).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// The applied migrations as the history table records them.
    #[command(after_help = "Examples:\n  ch-migrate history --format json")]
    History,
    /// Write the applied state to a JSON file (to move it, or to keep it beside a backup).
    #[command(after_help = "Examples:\n  ch-migrate export --file migration-state.json")]
    Export {
        /// The JSON file to write.
        #[arg(long)]
        file: PathBuf,
    },
    /// Record an applied state as ch-migrate's own: from a JSON file `export` wrote, or from the
    /// history table of another tool. Those migrations never run here; nothing else runs.
    #[command(
        after_help = "Examples:\n  ch-migrate import --file migration-state.json\n  ch-migrate import --from golang-migrate   # after setting migration.table_name: ch_migrate_history\n  ch-migrate import --from goose --from-table my_goose_versions"
    )]
    Import {
        /// The JSON file `export` wrote.
        #[arg(long, required_unless_present = "from", conflicts_with = "from")]
        file: Option<PathBuf>,
        /// Adopt the state another tool keeps in this database.
        #[arg(long, value_parser = ["golang-migrate", "goose", "dbmate", "clickhouse-migrations", "flyway"])]
        from: Option<String>,
        /// That tool's table, when not its default (schema_migrations, goose_db_version,
        /// schema_versions, flyway_schema_history).
        #[arg(long, requires = "from")]
        from_table: Option<String>,
    },
    /// Delete journal and lock rows older than DAYS days (never the applied state).
    #[command(after_help = "Examples:\n  ch-migrate clean --older-than 90")]
    Clean {
        /// Age in days.
        #[arg(long)]
        older_than: u32,
    },
    /// Apply one migration (after those before it) in a scratch database; with --rollback, roll
    /// it back and prove the schema is what it was. The scratch database is dropped after.
    #[command(
        after_help = "Examples:\n  ch-migrate test --migration V1__create_users_table.sql\n  ch-migrate test --rollback --migration V2"
    )]
    Test {
        /// The migration (V3, 3 or its file name).
        #[arg(long)]
        migration: String,
        /// Roll it back too and compare the schema with the one before it.
        #[arg(long)]
        rollback: bool,
    },
    /// Time each statement of a migration: the times recorded when it was applied here, and a
    /// run now in a scratch database (dropped after) with the server's figures.
    #[command(after_help = "Examples:\n  ch-migrate profile --migration V1__create_users_table.sql")]
    Profile {
        /// The migration (V3, 3 or its file name).
        #[arg(long)]
        migration: String,
    },
    /// Show who holds the migration lock; with --force, remove it.
    #[command(after_help = "Examples:\n  ch-migrate unlock\n  ch-migrate unlock --force")]
    Unlock {
        /// Remove the lock (name whom it removes).
        #[arg(long)]
        force: bool,
    },
    /// Connect and print the server's version and capabilities.
    #[command(after_help = "Examples:\n  ch-migrate test-connection --env staging")]
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
                Some(
                "fix the files (`ch-migrate resolve` renumbers a conflicting one), or accept an intentional edit with `ch-migrate repair`".into(),
            )
            }
            _ => None,
        }
    }
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> std::process::ExitCode {
    let mut args = Args::parse();
    args.output.verbose |= args.debug;
    let mut tool = args.output.tool("ch-migrate", "ch_migrate");
    if args.format == Format::Json {
        tool = tool.json(true);
    }
    tool.run(|_| run(args))
}

async fn run(args: Args) -> Result<Outcome, CliError> {
    if let Command::Init = args.command {
        return project::init(Path::new("."));
    }
    if matches!(args.format, Format::Html | Format::Markdown)
        && !matches!(args.command, Command::Report { .. })
    {
        return Err(CliError::Config(
            "--format html and markdown are for `report`; use table or json".into(),
        ));
    }
    let config = load(&args.config, args.env.as_deref(), |v| std::env::var(v).ok())?;
    // Whatever prints it, log lines show the password as ****.
    migrate_cli::secrets::add_secret(&config.password);
    for note in &config.notes {
        info!("{note}");
    }
    match args.command {
        Command::Init => unreachable!("handled above"),
        Command::Create { name, template, table } => {
            project::create(&config, &name, &template, table.as_deref())
        }
        Command::Resolve { migration } => project::resolve(&config, &migration).await,
        Command::Migrate { version, dry_run, lock_timeout } => {
            apply::migrate(
                &config,
                version,
                dry_run || config.config.migration.dry_run,
                Duration::from_secs(lock_timeout),
            )
            .await
        }
        Command::Rollback { version, manual, lock_timeout } => {
            apply::rollback(&config, version, manual, Duration::from_secs(lock_timeout)).await
        }
        Command::Repair { migration, reason, statement, done, not_done: _ } => {
            state::repair(&config, &migration, reason, statement.map(|s| (s, done))).await
        }
        Command::Test { migration, rollback } => scratch::test_migration(&config, &migration, rollback).await,
        Command::Profile { migration } => scratch::profile(&config, &migration).await,
        Command::Export { file } => state::export(&config, &file).await,
        Command::Import { file: Some(file), .. } => state::import(&config, &file).await,
        Command::Import { from, from_table, .. } => {
            let tool = from.as_deref().and_then(crate::adopt::Tool::parse).expect("clap checked --from");
            state::adopt(&config, tool, from_table.as_deref()).await
        }
        Command::Clean { older_than } => state::clean(&config, older_than).await,
        Command::Status { show_rollback } => inspect::status(&config, show_rollback).await,
        Command::Validate { check_conflicts } => inspect::validate_command(&config, check_conflicts).await,
        Command::Report { performance, output } => {
            report::report(&config, args.format, performance, output.as_deref()).await
        }
        Command::History => inspect::history(&config).await,
        Command::Unlock { force } => inspect::unlock(&config, force).await,
        Command::TestConnection => inspect::test_connection(&config).await,
    }
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

/// The version a `--migration` argument names (`V3`, `3`, `V3__name.sql`).
fn version_of(migration: &str) -> Result<u64, CliError> {
    let name = migration.rsplit('/').next().unwrap_or(migration);
    let digits: String =
        name.trim_start_matches(['V', 'v']).chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .map_err(|_| CliError::Config(format!("--migration {migration:?}: expected V3, 3 or a file name")))
}
