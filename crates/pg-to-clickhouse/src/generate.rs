//! The `generate-test-data` command line: arguments, then [`testdata`](crate::testdata)'s
//! statements in one transaction, then a summary per table. The binary only calls [`main`].

use crate::settings::{Settings, mask_url};
use crate::testdata::{Options, rows_per_table, statements};
use crate::{Error, Tables};
use clap::Parser;
use migrate_cli::args::OutputArgs;
use migrate_cli::exit;
use migrate_cli::startup::{Failure, Outcome};
// Our own statements and the configured tables' identifiers (checked when read).
use sqlx::{AssertSqlSafe, Connection};

const EXAMPLES: &str = "Examples:
  generate-test-data --records 100000
  generate-test-data --records 35 --datasets 1 --equal-timestamps
  export TIMESTORE_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/timestore
  generate-test-data --records 1000000 --datasets 10

The rows go to the database TIMESTORE_POSTGRES_URL names; they are spread over twice
TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS back from now, so about half are old enough to move.

Exit codes: 0 done, 1 failed (nothing was written), 2 usage or configuration error.";

/// Creates the seed's tables (when missing) and fills them with realistic rows.
#[derive(Debug, Parser)]
#[command(name = "generate-test-data", version, after_help = EXAMPLES)]
pub struct Args {
    /// Rows of dataset_access_audit (lifecycle_audit_log gets a tenth, lifecycle_job_runs a hundredth).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub records: u64,
    /// Datasets the rows spread over (ds-0001, slug dataset-1, …).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub datasets: u32,
    /// 35 rows share each timestamp (3 otherwise).
    #[arg(long)]
    pub equal_timestamps: bool,
    #[command(flatten)]
    output: OutputArgs,
}

impl Failure for Error {
    fn exit_code(&self) -> u8 {
        match self {
            Error::Setting { .. } | Error::Tables { .. } => exit::USAGE,
            _ => exit::FAILED,
        }
    }

    fn advice(&self) -> Option<String> {
        match self {
            Error::Postgres { .. } => {
                Some("check TIMESTORE_POSTGRES_URL and that PostgreSQL is up (pg_isready)".into())
            }
            _ => None,
        }
    }
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> std::process::ExitCode {
    let mut args = Args::parse();
    // The seed's switch for debug logging.
    if std::env::var("TIMESTORE_LOG_LEVEL").is_ok_and(|level| level.eq_ignore_ascii_case("debug")) {
        args.output.verbose = true;
        args.output.quiet = false;
    }
    args.output.tool("generate-test-data", "generate_test_data").run(|_| run(args))
}

async fn run(args: Args) -> Result<Outcome, Error> {
    let settings = Settings::from_env()?;
    // Whatever prints them, log lines show these as ****.
    migrate_cli::secrets::add_secret(&settings.clickhouse_password);
    if let Some(password) = url_password(&settings.postgres_url) {
        migrate_cli::secrets::add_secret(password);
    }
    let options = Options {
        records: args.records,
        datasets: args.datasets,
        equal_timestamps: args.equal_timestamps,
        max_age: settings.max_age,
    };
    let target = mask_url(&settings.postgres_url);
    let db = |source| Error::Postgres { target: target.clone(), source };
    let mut conn = sqlx::PgConnection::connect(&settings.postgres_url).await.map_err(db)?;
    let mut tx = conn.begin().await.map_err(db)?;
    for statement in statements(&options) {
        tracing::debug!("{statement}");
        sqlx::query(AssertSqlSafe(statement)).execute(&mut *tx).await.map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    let age = settings.max_age.as_secs();
    let mut lines =
        vec![format!("Generated rows in {target}, spread around the age cutoff (now - {age} s):")];
    let mut json = Vec::new();
    for (table, time_column) in
        Tables::default().tables.iter().map(|t| (t.name.as_str(), t.time_column.as_str()))
    {
        let (rows, old, shared): (i64, i64, i64) = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT count(*), count(*) FILTER (WHERE {time_column} < now() - {age} * interval '1 second'), \
             count(*) - count(DISTINCT {time_column}) FROM {table}"
        )))
        .fetch_one(&mut conn)
        .await
        .map_err(db)?;
        let added = rows_per_table(args.records).iter().find(|(t, _)| *t == table).map_or(0, |(_, n)| *n);
        lines.push(format!(
            "  {table:<22} +{added} rows; {rows} in all, {old} older than the cutoff, {shared} sharing a timestamp"
        ));
        json.push(serde_json::json!({ "table": table, "added": added, "rows": rows, "older_than_cutoff": old, "sharing_a_timestamp": shared }));
    }
    Ok(Outcome::new(exit::OK, lines.join("\n")).with_json(serde_json::json!({ "tables": json })))
}

/// The password of a `scheme://user:password@host/…` URL.
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    authority.rsplit_once('@')?.0.split_once(':').map(|(_, password)| password)
}
