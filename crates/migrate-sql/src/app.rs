//! One run of the tool, as the binary calls it: resolve the target, open the source, run the
//! mode, and return its outcome (the summary and the exit code) for the start-up path to print.

use crate::config::Config;
use crate::engine::{self, RunOptions, TargetDb, TargetPlan};
use crate::error::{Result, SqlError};
use crate::target_url::{Target, resolve_url};
use crate::verify::Presented as _;
use migrate_cli::format::count as thousands;
use migrate_cli::{Outcome, exit};
use migrate_core::{IfExists, copy_table};
use std::path::PathBuf;
use store_parquet::ParquetDir;
use tracing::info;

/// The four modes of the rehearsal guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// DuckDB → Parquet files and manifest.
    Export,
    /// Parquet files → target database.
    Import,
    /// DuckDB → target database, then verify.
    Migrate,
    /// Compare DuckDB and the target, table by table.
    Verify,
}

/// Everything a run needs, parsed and validated by the caller.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// The mode.
    pub mode: Mode,
    /// The config file.
    pub config: PathBuf,
    /// Export directory (`export`; default `./migration-export`).
    pub output: Option<PathBuf>,
    /// Import directory (`import`; default `./migration-export`).
    pub input: Option<PathBuf>,
    /// Tables to move instead of the config's.
    pub tables: Vec<String>,
    /// Keep the Parquet files of `migrate` in this directory.
    pub keep_intermediate: Option<PathBuf>,
    /// Batch size, dry run, what to do with existing tables.
    pub options: RunOptions,
    /// verify and migrate: print this many rows of each table from both sides (0: none).
    pub sample: usize,
}

const DEFAULT_DIR: &str = "./migration-export";

/// Runs one mode: the outcome carries the summary (verification table, samples) and the exit
/// code.
pub async fn run(args: &RunArgs, env: impl Fn(&str) -> Option<String>) -> Result<Outcome> {
    let config = Config::load(&args.config)?;
    match args.mode {
        Mode::Export => {
            let duck = engine::open_source(&config)?;
            let tables = tables(&config, &duck, &args.tables)?;
            let dir = ParquetDir::new(args.output.clone().unwrap_or_else(|| DEFAULT_DIR.into()));
            let summary = engine::export(&duck, &tables, &dir, &args.options).await?;
            Ok(Outcome::new(exit::OK, "").with_json(summary.to_json(args.options.dry_run)))
        }
        Mode::Import => {
            let dir = ParquetDir::new(args.input.clone().unwrap_or_else(|| DEFAULT_DIR.into()));
            let target = connect(&config, &env, &args.options).await?;
            let manifest = dir.manifest().map_err(|e| SqlError::from_manifest(dir.path(), e))?;
            let available: Vec<String> = manifest.tables.iter().map(|e| e.table.clone()).collect();
            let tables = engine::select_tables(
                &config,
                &available,
                Some(&args.tables),
                &dir.path().display().to_string(),
            )?;
            let columns: Vec<(String, Vec<String>)> = manifest
                .tables
                .iter()
                .filter(|e| tables.contains(&e.table))
                .map(|e| (e.table.clone(), e.schema.iter().map(|f| f.name.clone()).collect()))
                .collect();
            engine::check_table_options(&config, &columns)?;
            let summary = engine::import(&dir, &tables, &target, &args.options).await?;
            let outcome = match args.options.dry_run {
                true => dry_run_outcome(&summary.would_fail, tables.len()),
                false => Outcome::new(exit::OK, ""),
            };
            Ok(outcome.with_json(summary.to_json(args.options.dry_run)))
        }
        Mode::Migrate => migrate(args, &config, &env).await,
        Mode::Verify => {
            info!("Starting migration verification");
            let duck = engine::open_source(&config)?;
            let tables = tables(&config, &duck, &args.tables)?;
            let target = connect(&config, &env, &args.options).await?;
            verified(&duck, &tables, &target, args).await
        }
    }
}

fn tables(config: &Config, duck: &store_duckdb::DuckDbSource, requested: &[String]) -> Result<Vec<String>> {
    let available = engine::source_tables(duck)?;
    engine::select_tables(config, &available, Some(requested), duck.label())
}

/// Resolves, logs and opens the target (a SQLite file is only created by the first write).
async fn connect(
    config: &Config,
    env: &impl Fn(&str) -> Option<String>,
    options: &RunOptions,
) -> Result<TargetDb> {
    let config_url = config.database.as_ref().and_then(|d| d.url.as_deref());
    let (url, source) = resolve_url(env, config_url)?;
    info!("{}", source.log_line());
    let target = Target::parse(&url)?;
    info!("Initializing {} database: {target}", target.dialect());
    let db = TargetDb::open(&target, config, options).await?;
    if let TargetDb::Postgres(p) = &db {
        let version = p.server_version().await.unwrap_or_default();
        info!("Connected to POSTGRESQL database successfully (server {version})");
    }
    Ok(db)
}

/// Verifies every table; the summary table (and samples, when asked) is the outcome's text.
async fn verified(
    duck: &store_duckdb::DuckDbSource,
    tables: &[String],
    target: &TargetDb,
    args: &RunArgs,
) -> Result<Outcome> {
    let report = engine::verify(duck, tables, target, args.options.batch_size).await?;
    let mut text = report.render();
    if args.sample > 0 {
        text.push('\n');
        text.push_str(&engine::sample(duck, tables, target, args.sample).await?);
    }
    Ok(Outcome::new(if report.passed() { exit::OK } else { exit::DIFFERENT }, text)
        .with_json(report.to_json()))
}

async fn migrate(args: &RunArgs, config: &Config, env: &impl Fn(&str) -> Option<String>) -> Result<Outcome> {
    info!("Starting direct migration from DuckDB to SQL");
    let target = connect(config, env, &args.options).await?;
    let duck = engine::open_source(config)?;
    let tables = tables(config, &duck, &args.tables)?;
    let mut schemas = Vec::with_capacity(tables.len());
    for table in &tables {
        schemas.push((table.clone(), migrate_core::TableSource::schema(&duck, table).await?));
    }
    let columns: Vec<(String, Vec<String>)> = schemas
        .iter()
        .map(|(t, s)| (t.clone(), s.fields().iter().map(|f| f.name().clone()).collect()))
        .collect();
    engine::check_table_options(config, &columns)?;
    target.check_types(&schemas)?;
    let mut would_fail = Vec::new();
    match &args.keep_intermediate {
        Some(dir) => {
            let dir = ParquetDir::new(dir);
            info!("Step 1/2: Exporting from DuckDB...");
            engine::export(&duck, &tables, &dir, &args.options).await?;
            info!("Step 2/2: Importing to SQL database...");
            if args.options.dry_run {
                for table in &tables {
                    let rows = migrate_core::TableSource::row_count(&duck, table).await?;
                    let plan = TargetPlan::of(&target, table, args.options.if_exists).await?;
                    let what = format!("import {table}.parquet → {table}");
                    if let Some(why) = plan.log(&what, rows, target.dialect()) {
                        would_fail.push((table.clone(), why));
                    }
                }
            } else {
                engine::import(&dir, &tables, &target, &args.options).await?;
            }
        }
        None => {
            info!(
                "Streaming DuckDB → {} (no intermediate files; --keep-intermediate DIR keeps them)",
                target.dialect()
            );
            if !args.options.dry_run {
                target.log_load_setup();
                if !target.keeps_row_order() {
                    // Several streams interleave rows anyway: spare DuckDB keeping their order.
                    duck.keep_insertion_order(false).map_err(|e| SqlError::DuckDb(e.to_string()))?;
                }
            }
            for table in &tables {
                let rows = migrate_core::TableSource::row_count(&duck, table).await?;
                info!("Found {} rows in {table}", thousands(rows));
                if args.options.dry_run {
                    let plan = TargetPlan::of(&target, table, args.options.if_exists).await?;
                    if let Some(why) = plan.log(&format!("migrate {table} → {table}"), rows, target.dialect())
                    {
                        would_fail.push((table.clone(), why));
                    }
                    continue;
                }
                info!("Using {} for {table}", target.load_method());
                let source = crate::progress::WithProgress::new(&duck, table, rows);
                let written = copy_table(
                    &source,
                    target.sink(),
                    table,
                    args.options.batch_size,
                    args.options.if_exists,
                )
                .await;
                let elapsed = source.finish();
                let written = written?;
                info!(
                    "Imported {} rows to {table} {}",
                    thousands(written),
                    crate::progress::WithProgress::took(written, elapsed)
                );
            }
        }
    }
    info!("Migration complete: {}/{} tables", tables.len(), tables.len());
    if args.options.dry_run {
        return Ok(dry_run_outcome(&would_fail, tables.len()));
    }
    verified(&duck, &tables, &target, args).await
}

/// A dry run's end: exit 0, or 1 with every table whose load would fail.
fn dry_run_outcome(would_fail: &[(String, String)], tables: usize) -> Outcome {
    if would_fail.is_empty() {
        return Outcome::new(exit::OK, "");
    }
    let lines: Vec<String> = would_fail.iter().map(|(t, why)| format!("  {t}: {why}")).collect();
    let text = format!(
        "[DRY-RUN] {} of {tables} would fail:\n{}",
        migrate_cli::format::counted(would_fail.len() as u64, "table", "tables"),
        lines.join("\n")
    );
    let failing: Vec<serde_json::Value> =
        would_fail.iter().map(|(t, why)| serde_json::json!({ "table": t, "reason": why })).collect();
    Outcome::new(exit::FAILED, text).with_json(serde_json::json!({ "dry_run": true, "would_fail": failing }))
}

/// `replace`, `append` or `fail`.
pub fn parse_if_exists(s: &str) -> std::result::Result<IfExists, String> {
    match s {
        "replace" => Ok(IfExists::Replace),
        "append" => Ok(IfExists::Append),
        "fail" => Ok(IfExists::Fail),
        other => Err(format!("{other:?} is not one of replace, append, fail")),
    }
}
