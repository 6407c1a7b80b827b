//! `migrate-sql`: argument parsing and wiring only; the work is in the `migrate-sql` library.

use clap::{Parser, ValueEnum};
use migrate_cli::OutputArgs;
use migrate_sql::app::{self, Mode, RunArgs};
use migrate_sql::engine::RunOptions;
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples (the rehearsal guide's steps):
  # 1. Preview the export, then export DuckDB tables and views to Parquet
  migrate-sql --mode export --config config.yml --output ./migration-test --dry-run
  migrate-sql --mode export --config config.yml --output ./migration-test

  # 2. Import into a local SQLite rehearsal database, then verify
  export CRYPTO_DB_URL=\"sqlite:///./migration-rehearsal.db\"
  migrate-sql --mode import --config config.yml --input ./migration-test
  migrate-sql --mode verify --config config.yml --sample 5

  # 3. Production: PostgreSQL (Cloud SQL socket), DuckDB streamed straight in, then verified
  export CRYPTO_DB_URL=\"postgresql+pg8000://user:pass@/crypto_lake?host=/cloudsql/prj:reg:db\"
  migrate-sql --mode migrate --config config.yml --dry-run
  migrate-sql --mode migrate --config config.yml --batch-size 100000

Target database: CRYPTO_DB_URL, else CRYPTO_DB_USER/CRYPTO_DB_PASS/CRYPTO_DB_HOST/CRYPTO_DB_NAME
(all four, or none; a HOST that is a directory is a Unix socket), else database.url in the config.
Passwords are always shown as ****.

";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Export,
    Import,
    Migrate,
    Verify,
}

/// DuckDB → Parquet → PostgreSQL / SQLite, with dry runs and verification by content.
#[derive(Debug, Parser)]
#[command(name = "migrate-sql", version, after_long_help = examples())]
struct Cli {
    /// What to do.
    #[arg(long, value_enum)]
    mode: ModeArg,
    /// The configuration file.
    #[arg(long, default_value = "config.yml")]
    config: PathBuf,
    /// Where export writes Parquet files and manifest.json.
    #[arg(long, default_value = "./migration-export")]
    output: PathBuf,
    /// Where import reads them.
    #[arg(long, default_value = "./migration-export")]
    input: PathBuf,
    /// Read and count, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rows per batch.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    batch_size: u64,
    /// Only these tables (comma-separated), instead of the config's list.
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
    /// When a target table exists: replace it atomically, append to it, or fail.
    #[arg(long, default_value = "replace", value_parser = app::parse_if_exists)]
    if_exists: migrate_sql::IfExists,
    /// migrate: keep the Parquet intermediate in this directory.
    #[arg(long)]
    keep_intermediate: Option<PathBuf>,
    /// verify / migrate: print the first N rows of each table from both sides, for a spot check.
    #[arg(long, value_name = "N", default_value_t = 0)]
    sample: usize,
    /// PostgreSQL: binary COPY streams per table, encoded and sent in parallel (1-8).
    /// Default: one per core, 2 to 4.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=8))]
    copy_streams: Option<u64>,
    #[command(flatten)]
    run: OutputArgs,
}

/// The examples, the longest line of which must fit a 100-column `--help` unwrapped, so each
/// command survives copy and paste.
fn examples() -> String {
    format!("{EXAMPLES}{}", migrate_cli::exit::HELP)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mode = match cli.mode {
        ModeArg::Export => Mode::Export,
        ModeArg::Import => Mode::Import,
        ModeArg::Migrate => Mode::Migrate,
        ModeArg::Verify => Mode::Verify,
    };
    let stem = format!("migrate_sql_{:?}", cli.mode).to_lowercase();
    let args = RunArgs {
        mode,
        config: cli.config,
        output: Some(cli.output),
        input: Some(cli.input),
        tables: cli.tables,
        keep_intermediate: cli.keep_intermediate,
        options: RunOptions {
            dry_run: cli.dry_run,
            batch_size: cli.batch_size as usize,
            if_exists: cli.if_exists,
            copy_streams: cli.copy_streams.map(|n| n as usize),
        },
        sample: cli.sample,
    };
    cli.run.tool("migrate-sql", stem).run(|_| async { app::run(&args, |k| std::env::var(k).ok()).await })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_example_line_fits_an_unwrapped_help() {
        for line in super::examples().lines().take_while(|l| !l.starts_with("Target database")) {
            assert!(line.chars().count() <= 96, "wraps in --help: {line}");
        }
    }
}
