//! `test` and `profile`: a migration applied (and rolled back, or timed) in a scratch database
//! that is dropped after.

use super::{CliError, connect, files, options, placeholders, problems_error, version_of};
use crate::apply::{Options, apply};
use crate::config::Resolved;
use crate::file::Migration;
use crate::history::History;
use crate::project::Loaded;
use migrate_cli::exit;
use migrate_cli::startup::Outcome;
use store_clickhouse::ClickHouse;
use store_clickhouse::sql::abbreviate;

/// Every table of the server's database (but the tool's own) with its CREATE statement.
pub(super) async fn schema_of(
    server: &ClickHouse,
    tool_prefix: &str,
) -> Result<Vec<(String, String)>, CliError> {
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

/// The project's migrations (refused when any file has a problem) and the one `migration`
/// names.
fn named(config: &Resolved, migration: &str) -> Result<(Vec<Loaded>, Migration), CliError> {
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
    Ok((loaded, target))
}

pub(super) async fn test_migration(
    config: &Resolved,
    migration: &str,
    rollback: bool,
) -> Result<Outcome, CliError> {
    let (loaded, target) = named(config, migration)?;
    let version = target.version;
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

/// `profile`: the times `migrate` recorded for the migration (when applied here), and each
/// statement timed now in a scratch database after the migrations before it, with the server's
/// own figures (rows, bytes, memory) where its query log has them. The scratch database has the
/// schema but no data: data migrations are profiled on their statements' plan, not their rows.
pub(super) async fn profile(config: &Resolved, migration: &str) -> Result<Outcome, CliError> {
    let (loaded, target) = named(config, migration)?;
    let version = target.version;
    let main = connect(config).await?;
    let mut lines = vec![format!("V{} {}", target.version, target.name)];
    let mut json = serde_json::json!({ "version": version, "recorded": [], "measured": [] });
    let history = super::history_of(config, main.clone());
    if history.exists().await? {
        let events = history.events().await?;
        if let Some(e) = events.iter().rev().find(|e| e.version == version && e.status == "applied") {
            lines.push(format!(
                "  recorded when applied {} ({}): {} statement(s) in {}",
                e.at,
                e.by,
                e.statements,
                ms(e.duration_ms)
            ));
            let runs = history.statement_runs().await?;
            let mut recorded = Vec::new();
            for r in runs.iter().filter(|r| {
                r.version == version
                    && r.phase == "end"
                    && r.seq >= e.seq.saturating_sub(e.duration_ms + 1000)
            }) {
                lines.push(format!("    [{}] {}", r.index, r.duration_ms.map(ms).unwrap_or_default()));
                recorded.push(serde_json::json!({ "statement": r.index, "duration_ms": r.duration_ms }));
            }
            json["recorded"] = serde_json::json!(recorded);
        }
    }
    let scratch_name = format!("ch_migrate_profile_{}", uuid::Uuid::new_v4().simple());
    main.execute(format!("CREATE DATABASE {}", store_clickhouse::sql::ident(&scratch_name))).await?;
    let scratch_config = Resolved { database: scratch_name.clone(), cluster: None, ..config.clone() };
    let measured: Result<Vec<String>, CliError> = async {
        let mut c = store_clickhouse::ClickHouseConfig::parse(&scratch_config.endpoint)?
            .with_user(&scratch_config.user)
            .with_database(&scratch_name);
        if !scratch_config.password.is_empty() {
            c = c.with_password(&scratch_config.password);
        }
        let server = ClickHouse::connect(c.with_setting("log_queries", "1")).await?;
        let history = History::new(server.clone(), &config.config.migration.table_name, None);
        history.ensure().await?;
        let values = placeholders(&scratch_config);
        let options = Options { cluster: None, ..options(&scratch_config) };
        for l in loaded.iter().filter(|l| l.migration.version < version) {
            apply(&history, &l.migration, &values, &options).await?;
        }
        let outcome = apply(&history, &target, &values, &options).await?;
        let statements = target.statements(&values).unwrap_or_default();
        let runs: Vec<_> =
            history.statement_runs().await?.into_iter().filter(|r| r.version == version && r.phase == "end").collect();
        let stats = query_log(&server, &runs.iter().map(|r| r.query_id.clone()).collect::<Vec<_>>()).await;
        let mut out = vec![format!(
            "  measured now in a scratch database (schema only, no data): {} statement(s) in {}",
            outcome.ran,
            migrate_cli::format::duration(outcome.duration)
        )];
        let mut measured = Vec::new();
        for r in &runs {
            let text = statements.get(r.index as usize).map(|s| abbreviate(s, 70)).unwrap_or_default();
            let server_side = match &stats {
                Ok(stats) => stats.get(&r.query_id).map(|s| {
                    format!(
                        " (server: {} ms, read {} rows / {} bytes, wrote {} rows, memory {} bytes)",
                        s[0], s[1], s[2], s[3], s[4]
                    )
                }),
                Err(_) => None,
            };
            out.push(format!(
                "    [{}] {}{} {text}",
                r.index,
                r.duration_ms.map(ms).unwrap_or_default(),
                server_side.clone().unwrap_or_default()
            ));
            measured.push(serde_json::json!({ "statement": r.index, "duration_ms": r.duration_ms, "server": server_side }));
        }
        if let Err(why) = &stats {
            out.push(format!("  (no server figures: {why})"));
        }
        Ok(out)
    }
    .await;
    let dropped = main
        .execute(format!("DROP DATABASE IF EXISTS {}", store_clickhouse::sql::ident(&scratch_name)))
        .await;
    lines.extend(measured?);
    dropped?;
    Ok(Outcome::new(exit::OK, lines.join("\n")).with_json(json))
}

/// Duration, rows read, bytes read, rows written and memory of each finished query, by query id,
/// from `system.query_log` (flushed first); an error when the server keeps no query log.
async fn query_log(
    server: &ClickHouse,
    ids: &[String],
) -> Result<std::collections::BTreeMap<String, Vec<String>>, String> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    server.execute("SYSTEM FLUSH LOGS").await.map_err(|e| e.to_string())?;
    let list = ids.iter().map(|id| store_clickhouse::sql::literal(id)).collect::<Vec<_>>().join(", ");
    let rows = server
        .fetch_rows(format!(
            "SELECT query_id, toString(query_duration_ms), toString(read_rows), toString(read_bytes), \
             toString(written_rows), toString(memory_usage) FROM system.query_log \
             WHERE type = 'QueryFinish' AND query_id IN ({list})"
        ))
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows.into_iter().filter(|r| r.len() >= 6).map(|r| (r[0].clone(), r[1..].to_vec())).collect())
}

fn ms(ms: u64) -> String {
    migrate_cli::format::duration(std::time::Duration::from_millis(ms))
}
