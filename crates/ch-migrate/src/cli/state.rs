//! Commands on the recorded state: `repair`, `export`, `import` and `clean`.

use super::{CliError, connect, files, history_of, lock_of, placeholders, version_of};
use crate::adopt::Tool;
use crate::config::Resolved;
use crate::history::{Event, Status};
use crate::validate::Applied;
use migrate_cli::exit;
use migrate_cli::startup::Outcome;
use std::path::Path;
use std::time::Duration;
use store_clickhouse::ClickHouse;

pub(super) async fn repair(
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
            hosts: String::new(),
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

pub(super) async fn export(config: &Resolved, file: &Path) -> Result<Outcome, CliError> {
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

pub(super) async fn import(config: &Resolved, file: &Path) -> Result<Outcome, CliError> {
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
    let note = format!("imported from {}", file.display());
    let events: Vec<Event> = incoming
        .iter()
        .map(|a| Event {
            version: a.version,
            name: a.name.clone(),
            checksum: a.checksum.clone(),
            algorithm: a.algorithm.clone(),
            status: Status::Applied,
            statements: 0,
            duration: Duration::ZERO,
            environment: config.environment.clone().unwrap_or_default(),
            note: note.clone(),
        })
        .collect();
    let recorded = record_applied(config, connect(config).await?, &events).await?;
    let text =
        format!("Recorded {recorded} migration(s) as applied ({} already were)", incoming.len() - recorded);
    Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "recorded": recorded })))
}

/// Records `events` (all `applied`) whose version is not applied yet, under the lock; returns
/// how many it recorded.
async fn record_applied(config: &Resolved, server: ClickHouse, events: &[Event]) -> Result<usize, CliError> {
    let history = history_of(config, server.clone());
    history.ensure().await?;
    let lock = lock_of(config, server);
    lock.ensure().await?;
    let lease = lock.acquire(Duration::from_secs(60)).await?;
    let present: Vec<u64> = history.applied().await?.iter().map(|a| a.version).collect();
    let mut recorded = 0;
    for event in events.iter().filter(|e| !present.contains(&e.version)) {
        history.record(event).await?;
        recorded += 1;
    }
    lease.release().await?;
    Ok(recorded)
}

/// `import --from TOOL`: the versions another tool applied, recorded as ch-migrate's own.
pub(super) async fn adopt(config: &Resolved, tool: Tool, table: Option<&str>) -> Result<Outcome, CliError> {
    let table = table.unwrap_or(tool.default_table());
    let ours = &config.config.migration.table_name;
    if table == ours {
        return Err(CliError::Config(format!(
            "{} keeps its state in {table}, the table migration.table_name names for ch-migrate's history: \
             set migration.table_name to another name (ch_migrate_history) in the configuration, then import again",
            tool.name(),
        )));
    }
    let (loaded, problems) = files(config)?;
    if !problems.is_empty() {
        return Err(super::problems_error(&problems));
    }
    let server = connect(config).await?;
    let qualified = store_clickhouse::sql::qualified(&config.database, table);
    let columns: Vec<String> = server
        .fetch_rows(format!(
            "SELECT name FROM system.columns WHERE database = {} AND table = {}",
            store_clickhouse::sql::literal(&config.database),
            store_clickhouse::sql::literal(table)
        ))
        .await?
        .into_iter()
        .filter_map(|r| r.into_iter().next())
        .collect();
    if columns.is_empty() {
        return Err(CliError::Config(format!(
            "no table {qualified}: is {}'s table named otherwise? Name it with --from-table",
            tool.name()
        )));
    }
    if let Some(missing) = tool.columns().iter().find(|c| !columns.iter().any(|have| have == *c)) {
        return Err(CliError::Config(format!(
            "{qualified} is not {}'s table: it has no column {missing} (its columns: {})",
            tool.name(),
            columns.join(", ")
        )));
    }
    let rows = server.fetch_rows(tool.query(&qualified)).await?;
    let migrations: Vec<_> = loaded.iter().map(|l| l.migration.clone()).collect();
    let adoption = crate::adopt::adopt(tool, &rows, &migrations).map_err(|found| CliError::Invalid {
        count: found.len(),
        list: found.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"),
    })?;
    let environment = config.environment.clone().unwrap_or_default();
    let events: Vec<Event> = adoption
        .applied
        .iter()
        .map(|m| Event {
            note: format!("imported from {} ({qualified})", tool.name()),
            ..Event::of(m, Status::Applied, &environment)
        })
        .collect();
    let recorded = record_applied(config, server, &events).await?;
    let mut text = format!(
        "Adopted {}'s state from {qualified}: recorded {recorded} migration(s) as applied ({} already were); nothing ran",
        tool.name(),
        adoption.applied.len() - recorded
    );
    for m in &adoption.skipped {
        text.push_str(&format!(
            "\n  V{} {} was never applied by {} but later versions were: `ch-migrate resolve` renumbers it",
            m.version,
            m.name,
            tool.name()
        ));
    }
    let skipped: Vec<u64> = adoption.skipped.iter().map(|m| m.version).collect();
    Ok(Outcome::new(exit::OK, text)
        .with_json(serde_json::json!({ "recorded": recorded, "tool": tool.name(), "skipped": skipped })))
}

pub(super) async fn clean(config: &Resolved, days: u32) -> Result<Outcome, CliError> {
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
