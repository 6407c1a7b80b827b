//! Opening the source and the target, and the modes: export, import, migrate, verify.
//! Log lines follow the rehearsal guide so operators see what they are used to.

use crate::config::{Config, TargetKind};
use crate::error::{Result, SqlError};
use crate::progress::WithProgress;
use crate::target_url::Target;
use crate::verify::{Presented as _, VerifyReport};
use arrow::datatypes::SchemaRef;
use futures::TryStreamExt;
use migrate_cli::format::count as thousands;
use migrate_core::{
    BatchStream, IfExists, TableHints, TableReadBack, TableSink, TableSource, check_table, copy_table,
};
use std::collections::BTreeMap;
use store_duckdb::{DuckDbOptions, DuckDbSource};
use store_parquet::ParquetDir;
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;
use tracing::info;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Read and count, write nothing.
    pub dry_run: bool,
    /// Rows per batch.
    pub batch_size: usize,
    /// What to do when a target table exists.
    pub if_exists: IfExists,
    /// PostgreSQL: binary COPY streams per table; `None`: the store's default (one per core, 2-4).
    pub copy_streams: Option<usize>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { dry_run: false, batch_size: 100_000, if_exists: IfExists::Replace, copy_streams: None }
    }
}

/// What a mode did, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Table and rows (counted in a dry run, written otherwise).
    pub tables: Vec<(String, u64)>,
    /// Dry run: the tables whose load would fail, and why.
    pub would_fail: Vec<(String, String)>,
}

impl Summary {
    /// The summary for `--json`: tables with their rows (`rows_counted` in a dry run,
    /// `rows_written` otherwise) and the loads a dry run found would fail.
    pub fn to_json(&self, dry_run: bool) -> serde_json::Value {
        let key = if dry_run { "rows_counted" } else { "rows_written" };
        let tables: Vec<serde_json::Value> =
            self.tables.iter().map(|(t, rows)| serde_json::json!({ "table": t, key: rows })).collect();
        let failing: Vec<serde_json::Value> =
            self.would_fail.iter().map(|(t, why)| serde_json::json!({ "table": t, "reason": why })).collect();
        serde_json::json!({ "dry_run": dry_run, "tables": tables, "would_fail": failing })
    }
}

/// What loading a table would do to the target, as a dry run reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPlan {
    /// The table does not exist yet.
    New,
    /// It exists with this many rows and would be replaced atomically.
    Replace(u64),
    /// It exists with this many rows and would be appended to.
    Append(u64),
    /// The load would fail, for this reason.
    Fails(String),
}

impl TargetPlan {
    /// The plan for `table` under `if_exists`.
    pub async fn of(target: &TargetDb, table: &str, if_exists: IfExists) -> Result<TargetPlan> {
        let Some(rows) = target.rows(table).await? else { return Ok(TargetPlan::New) };
        let rows_text = thousands(rows);
        Ok(match if_exists {
            IfExists::Fail => {
                TargetPlan::Fails(format!("{table} exists ({rows_text} rows) and --if-exists is fail"))
            }
            IfExists::Append => TargetPlan::Append(rows),
            IfExists::Replace => match target.dependent_views(table).await?.as_slice() {
                [] => TargetPlan::Replace(rows),
                views => TargetPlan::Fails(format!(
                    "views depending on {table} would block the swap (PostgreSQL would have to drop them): {}",
                    views.join(", ")
                )),
            },
        })
    }

    /// Logs `[DRY-RUN] Would <what> (N rows): <what happens to the target>`, as a warning when
    /// the load would fail; returns the reason then.
    pub fn log(&self, what: &str, rows: u64, dialect: &str) -> Option<String> {
        let rows = thousands(rows);
        let target = match self {
            TargetPlan::New => "a new table".to_string(),
            TargetPlan::Replace(n) if dialect == "POSTGRESQL" => {
                format!(
                    "exists with {} rows: would replace it (owner, grants and comments kept)",
                    thousands(*n)
                )
            }
            TargetPlan::Replace(n) => format!("exists with {} rows: would replace it", thousands(*n)),
            TargetPlan::Append(n) => format!("exists with {} rows: would append to it", thousands(*n)),
            TargetPlan::Fails(why) => {
                tracing::warn!("[DRY-RUN] Would {what} ({rows} rows): WOULD FAIL: {why}");
                return Some(why.clone());
            }
        };
        info!("[DRY-RUN] Would {what} ({rows} rows): {target}");
        None
    }
}

/// Opens the DuckDB source and registers the configured views in file order.
pub fn open_source(config: &Config) -> Result<DuckDbSource> {
    let options =
        DuckDbOptions { threads: config.duckdb.threads, memory_limit: config.duckdb.memory_limit.clone() };
    let duck = DuckDbSource::open(config.duckdb.path.as_deref(), &options)
        .map_err(|e| SqlError::DuckDb(e.to_string()))?;
    for view in &config.views {
        duck.register_view(&view.name, &config.view_sql(view))
            .map_err(|e| SqlError::DuckDb(e.to_string()))?;
    }
    Ok(duck)
}

/// The tables to move: `requested` (from `--tables`), else the config's `tables`, else every
/// view then every table of the source. Each must exist among `available`.
pub fn select_tables(
    config: &Config,
    available: &[String],
    requested: Option<&[String]>,
    source_name: &str,
) -> Result<Vec<String>> {
    let chosen: Vec<String> = match requested {
        Some(r) if !r.is_empty() => r.to_vec(),
        _ if !config.tables.is_empty() => config.tables.clone(),
        _ => available.to_vec(),
    };
    for t in &chosen {
        if !available.contains(t) {
            return Err(SqlError::UnknownTable {
                table: t.clone(),
                source_name: source_name.to_string(),
                known: if available.is_empty() { "(none)".into() } else { available.join(", ") },
            });
        }
    }
    Ok(chosen)
}

/// The names of the source's views and tables.
pub fn source_tables(duck: &DuckDbSource) -> Result<Vec<String>> {
    Ok(duck.relations().map_err(|e| SqlError::DuckDb(e.to_string()))?.into_iter().map(|r| r.name).collect())
}

/// The per-table hints of the config for one kind of target, in the form the stores take.
pub fn hints(config: &Config, target: TargetKind) -> BTreeMap<String, TableHints> {
    config
        .table_options
        .iter()
        .map(|(t, o)| {
            let column_types = o
                .column_types
                .iter()
                .filter_map(|(c, ty)| ty.for_target(target).map(|ty| (c.clone(), ty.to_string())))
                .collect();
            let h =
                TableHints { primary_key: o.primary_key.clone(), indexes: o.indexes.clone(), column_types };
            (t.clone(), h)
        })
        .collect()
}

/// Every `table_options` entry that names a column its table does not have (primary key,
/// index or column type), across all `tables`: checked before anything is written, dry run
/// included, so a rehearsal on one target catches what another would reject mid-run.
/// `tables` are names with their column names.
pub fn check_table_options(config: &Config, tables: &[(String, Vec<String>)]) -> Result<()> {
    let mut problems = Vec::new();
    for (table, columns) in tables {
        let Some(options) = config.table_options.get(table) else { continue };
        let mut named = |what: &str, column: &str| {
            if !columns.iter().any(|c| c == column) {
                problems.push(format!(
                    "table_options.{table}.{what} names column {column:?}, which {table} does not have"
                ));
            }
        };
        options.primary_key.iter().for_each(|c| named("primary_key", c));
        options.indexes.iter().flatten().for_each(|c| named("indexes", c));
        options.column_types.keys().for_each(|c| named("column_types", c));
    }
    if problems.is_empty() { Ok(()) } else { Err(SqlError::TableOptions { problems }) }
}

/// A store's refusal, before it is turned into a [`SqlError`].
#[derive(Debug, thiserror::Error)]
enum TargetError {
    #[error(transparent)]
    Sqlite(store_sqlite::SqliteError),
    #[error(transparent)]
    Postgres(store_postgres::PgError),
}

/// The target database.
#[derive(Debug, Clone)]
pub enum TargetDb {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL server.
    Postgres(PostgresStore),
}

impl TargetDb {
    /// Connects (PostgreSQL) or opens (SQLite) the target, with the config's hints.
    pub async fn open(target: &Target, config: &Config, options: &RunOptions) -> Result<TargetDb> {
        match target {
            Target::Sqlite { path: Some(path), .. } => {
                // The file is only created by the first write: check its folder now, so a dry
                // run catches a wrong path too.
                let folder =
                    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
                if !folder.is_dir() {
                    return Err(SqlError::InvalidUrl {
                        url: target.to_string(),
                        reason: format!("the folder {} does not exist", folder.display()),
                    });
                }
                Ok(TargetDb::Sqlite(SqliteStore::new(path).with_hints(hints(config, TargetKind::Sqlite))))
            }
            Target::Sqlite { path: None, .. } => Err(SqlError::InvalidUrl {
                url: target.to_string(),
                reason:
                    "an in-memory SQLite database would vanish after the run: give a file, sqlite:///./x.db"
                        .into(),
            }),
            Target::Postgres(pg) => {
                let store =
                    PostgresStore::connect(pg.connect_options()?, target.to_string()).await.map_err(|e| {
                        let detail = match e {
                            store_postgres::PgError::Connect { detail, .. } => detail,
                            other => other.to_string(),
                        };
                        SqlError::Connect { dialect: "POSTGRESQL", url: target.to_string(), detail }
                    })?;
                let store = match options.copy_streams {
                    Some(n) => store.with_copy_streams(n),
                    None => store,
                };
                Ok(TargetDb::Postgres(store.with_hints(hints(config, TargetKind::Postgresql))))
            }
        }
    }

    /// The sink loads go to.
    pub fn sink(&self) -> &dyn TableSink {
        match self {
            TargetDb::Sqlite(s) => s,
            TargetDb::Postgres(p) => p,
        }
    }

    /// How rows are loaded, for the log.
    pub fn load_method(&self) -> &'static str {
        match self {
            TargetDb::Sqlite(_) => "SQLite prepared multi-row INSERT in one transaction",
            TargetDb::Postgres(_) => "PostgreSQL COPY (binary)",
        }
    }

    /// Whether rows land in the order they are sent: not through several COPY streams at once.
    pub fn keeps_row_order(&self) -> bool {
        match self {
            TargetDb::Sqlite(_) => true,
            TargetDb::Postgres(p) => p.copy_streams() == 1,
        }
    }

    /// Logs how loads run where there is a choice (PostgreSQL's number of COPY streams).
    pub fn log_load_setup(&self) {
        if let TargetDb::Postgres(p) = self {
            let streams = p.copy_streams();
            info!(
                "Each table loads through {streams} binary COPY stream{}",
                if streams == 1 { "" } else { "s" }
            );
        }
    }

    /// Checks that the target can hold every column of every table; refuses with all the
    /// columns it cannot hold at once, before anything is written.
    pub fn check_types(&self, tables: &[(String, SchemaRef)]) -> Result<()> {
        let mut unsupported = Vec::new();
        for (table, schema) in tables {
            let refused = match self {
                TargetDb::Sqlite(s) => s.plan(table, schema).err().map(TargetError::Sqlite),
                TargetDb::Postgres(p) => p.plan(table, schema).err().map(TargetError::Postgres),
            };
            match refused {
                None => {}
                Some(TargetError::Postgres(store_postgres::PgError::Unsupported { columns, .. }))
                | Some(TargetError::Sqlite(store_sqlite::SqliteError::Unsupported { columns, .. })) => {
                    unsupported.extend(columns.into_iter().map(|c| (table.clone(), c)));
                }
                Some(other) => {
                    return Err(SqlError::Target { dialect: self.dialect(), detail: other.to_string() });
                }
            }
        }
        if unsupported.is_empty() {
            Ok(())
        } else {
            Err(SqlError::Unsupported { dialect: self.dialect(), columns: unsupported })
        }
    }

    /// `SQLITE` or `POSTGRESQL`.
    pub fn dialect(&self) -> &'static str {
        match self {
            TargetDb::Sqlite(_) => "SQLITE",
            TargetDb::Postgres(_) => "POSTGRESQL",
        }
    }

    /// The target read back for verification: the one seam every store implements.
    pub fn read_back(&self) -> &dyn TableReadBack {
        match self {
            TargetDb::Sqlite(s) => s,
            TargetDb::Postgres(p) => p,
        }
    }

    /// Rows in `table`, `None` when it does not exist.
    pub async fn rows(&self, table: &str) -> Result<Option<u64>> {
        let target = self.read_back();
        if !target.exists(table).await? {
            return Ok(None);
        }
        Ok(Some(target.count_rows(table).await?))
    }

    /// Views that depend on `table` (PostgreSQL; SQLite drops a table under its views).
    pub async fn dependent_views(&self, table: &str) -> Result<Vec<String>> {
        match self {
            TargetDb::Sqlite(_) => Ok(Vec::new()),
            TargetDb::Postgres(p) => p
                .dependent_views(table)
                .await
                .map_err(|e| SqlError::Target { dialect: self.dialect(), detail: e.to_string() }),
        }
    }
}

/// Exports each table to `<dir>/<table>.parquet` (and the manifest).
pub async fn export(
    duck: &DuckDbSource,
    tables: &[String],
    dir: &ParquetDir,
    opts: &RunOptions,
) -> Result<Summary> {
    info!("Starting export to {}", dir.path().display());
    let mut summary = Summary::default();
    for table in tables {
        let rows = duck.row_count(table).await?;
        info!("Found {} rows in {table}", thousands(rows));
        let file = dir.file_for(table);
        if opts.dry_run {
            info!("[DRY-RUN] Would export {table} → {}", file.display());
            summary.tables.push((table.clone(), rows));
            continue;
        }
        let source = WithProgress::new(duck, table, rows);
        let written = copy_table(&source, dir, table, opts.batch_size, IfExists::Replace).await;
        let elapsed = source.finish();
        let written = written?;
        info!(
            "Exported {} rows to {} {}",
            thousands(written),
            file.display(),
            WithProgress::took(written, elapsed)
        );
        summary.tables.push((table.clone(), written));
    }
    info!("Export complete: {}/{} tables", summary.tables.len(), tables.len());
    Ok(summary)
}

/// Imports each table from `dir` after proving every file matches the manifest and every
/// column fits the target: a bad file or type stops the run before the target is touched.
pub async fn import(
    dir: &ParquetDir,
    tables: &[String],
    target: &TargetDb,
    opts: &RunOptions,
) -> Result<Summary> {
    info!("Starting import from {}", dir.path().display());
    dir.check(tables).map_err(|e| SqlError::from_manifest(dir.path(), e))?;
    let mut schemas = Vec::with_capacity(tables.len());
    for table in tables {
        schemas.push((table.clone(), dir.schema(table).await?));
    }
    target.check_types(&schemas)?;
    let mut summary = Summary::default();
    if !opts.dry_run {
        target.log_load_setup();
    }
    for table in tables {
        let rows = dir.row_count(table).await?;
        info!("Found {} rows in {table}.parquet", thousands(rows));
        if opts.dry_run {
            let plan = TargetPlan::of(target, table, opts.if_exists).await?;
            if let Some(why) = plan.log(&format!("import {table}.parquet → {table}"), rows, target.dialect())
            {
                summary.would_fail.push((table.clone(), why));
            }
            summary.tables.push((table.clone(), rows));
            continue;
        }
        info!("Using {} for {table}", target.load_method());
        let source = WithProgress::new(dir, table, rows);
        let written = copy_table(&source, target.sink(), table, opts.batch_size, opts.if_exists).await;
        let elapsed = source.finish();
        let written = written?;
        info!("Imported {} rows to {table} {}", thousands(written), WithProgress::took(written, elapsed));
        summary.tables.push((table.clone(), written));
    }
    info!("Import complete: {}/{} tables", summary.tables.len(), tables.len());
    Ok(summary)
}

/// Compares each table's row count and content fingerprint between source and target.
pub async fn verify(
    duck: &DuckDbSource,
    tables: &[String],
    target: &TargetDb,
    batch_size: usize,
) -> Result<VerifyReport> {
    info!("Verifying migration integrity...");
    // The fingerprint does not depend on row order: DuckDB may read in any order.
    duck.keep_insertion_order(false).map_err(|e| SqlError::DuckDb(e.to_string()))?;
    let mut report = VerifyReport::default();
    for table in tables {
        let target_rows = target.rows(table).await?;
        // One bar per table over the rows read from both sides.
        let bar =
            migrate_cli::progress::bar(&format!("verify {table}"), target_rows.map(|n| n.saturating_mul(2)));
        bar.set_message("rows");
        let counted = |batches: BatchStream| -> BatchStream {
            let bar = bar.clone();
            Box::pin(batches.inspect_ok(move |b| bar.inc(b.num_rows() as u64)))
        };
        let check = check_table(duck, target.read_back(), table, batch_size, &counted).await;
        bar.finish_and_clear();
        report.tables.push(check?);
    }
    for line in report.log_lines() {
        info!("{line}");
    }
    info!("Migration verification: {}", if report.passed() { "PASSED" } else { "FAILED" });
    Ok(report)
}

/// Shows `batch` in the source's types where a lossless cast exists (the target reads
/// decimals back wider, for instance), so both samples print alike.
fn as_source_types(
    batch: &arrow::record_batch::RecordBatch,
    schema: &SchemaRef,
) -> arrow::record_batch::RecordBatch {
    let columns: Option<Vec<arrow::array::ArrayRef>> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(col, field)| migrate_core::convert::strict_cast(col.as_ref(), field.data_type()).ok())
        .collect();
    columns
        .and_then(|cols| arrow::record_batch::RecordBatch::try_new(schema.clone(), cols).ok())
        .unwrap_or_else(|| batch.clone())
}

async fn first_rows(batches: BatchStream, n: usize, schema: &SchemaRef) -> Result<String> {
    let mut batches = batches;
    let mut rows = Vec::new();
    let mut taken = 0;
    while taken < n {
        let Some(batch) = batches.try_next().await? else { break };
        let take = batch.num_rows().min(n - taken);
        rows.push(as_source_types(&batch.slice(0, take), schema));
        taken += take;
    }
    arrow::util::pretty::pretty_format_batches(&rows)
        .map(|t| t.to_string())
        .map_err(|e| SqlError::DuckDb(format!("formatting sample rows: {e}")))
}

/// The first `n` rows of each table on both sides, as text tables, for a spot check by eye.
pub async fn sample(duck: &DuckDbSource, tables: &[String], target: &TargetDb, n: usize) -> Result<String> {
    duck.keep_insertion_order(true).map_err(|e| SqlError::DuckDb(e.to_string()))?;
    let mut out = String::new();
    for table in tables {
        let schema = duck.schema(table).await?;
        out.push_str(&format!("\nSample of {table}: first {n} rows in DuckDB\n"));
        out.push_str(&first_rows(duck.scan(table, n).await?, n, &schema).await?);
        out.push_str(&format!("\nSample of {table}: first {n} rows in {}\n", target.dialect()));
        match target.rows(table).await? {
            None => out.push_str("(the table does not exist)\n"),
            Some(_) => out.push_str(
                &first_rows(target.read_back().scan_as(table, schema.clone(), n).await?, n, &schema).await?,
            ),
        }
        out.push('\n');
    }
    Ok(out)
}
