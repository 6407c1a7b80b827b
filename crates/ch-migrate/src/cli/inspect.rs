//! Commands that read: `status`, `validate`, `history`, `unlock` (without --force it only
//! names the holder) and `test-connection`.

use super::{CliError, checks, connect, files, history_of, lock_of, placeholders, problems_error};
use crate::config::Resolved;
use crate::file::Problem;
use crate::history::History;
use crate::project::Loaded;
use crate::validate::{Applied, Source, validate};
use migrate_cli::exit;
use migrate_cli::startup::Outcome;
use store_clickhouse::sql::abbreviate;

/// Files, applied state and every problem between them.
pub(super) async fn survey(
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

pub(super) async fn status(config: &Resolved, show_rollback: bool) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server);
    let (loaded, applied, problems) = survey(config, &history).await?;
    let exists = history.exists().await?;
    let failed_rollbacks: Vec<_> = if show_rollback && exists {
        let events = history.events().await?;
        let mut latest = std::collections::BTreeMap::new();
        for e in events {
            latest.insert(e.version, e);
        }
        latest.into_values().filter(|e| e.status == "rollback_failed").collect()
    } else {
        Vec::new()
    };
    let values = placeholders(config);
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
        let mut row = serde_json::json!({ "version": m.version, "name": m.name, "state": state });
        if state == "pending" && exists {
            let statements = m.statements(&values).unwrap_or_default();
            let mut in_doubt = Vec::new();
            for entry in history.journal_of(m.version).await?.values() {
                let text =
                    statements.get(entry.index as usize).map(|s| abbreviate(s, 120)).unwrap_or_default();
                match entry.phase.as_str() {
                    "start" => {
                        lines.push(format!(
                            "      statement {} of {} in doubt (query id {}): {text}\n      check it, then `ch-migrate repair --migration V{} --statement {} --done` or `--not-done`",
                            entry.index,
                            l.path.display(),
                            entry.query_id,
                            m.version,
                            entry.index
                        ));
                        in_doubt.push(serde_json::json!({ "statement": entry.index, "query_id": entry.query_id, "text": text, "file": l.path }));
                    }
                    "failed" => lines.push(format!(
                        "      statement {} failed: {}",
                        entry.index,
                        abbreviate(&entry.error, 200)
                    )),
                    _ => {}
                }
            }
            row["in_doubt"] = serde_json::json!(in_doubt);
        }
        if show_rollback && state != "pending" {
            let how = match crate::rollback::rollback_statements(m, &values) {
                Ok((statements, false)) => format!("rollback: {} written statement(s)", statements.len()),
                Ok((statements, true)) => format!("rollback (derived): {}", statements.join("; ")),
                Err(why) => format!("no rollback: {why}"),
            };
            lines.push(format!("      {how}"));
            row["rollback"] = serde_json::json!(how);
            if let Some(e) = failed_rollbacks.iter().find(|e| e.version == m.version) {
                lines.push(format!("      last rollback failed at {}: {}", e.at, e.note));
                row["rollback_failed"] = serde_json::json!(e.note);
            }
        }
        rows.push(row);
    }
    for p in &problems {
        lines.push(format!("  problem: {}: {}", p.file, p.message));
    }
    let exit = if problems.is_empty() { exit::OK } else { exit::DIFFERENT };
    Ok(Outcome::new(exit, lines.join("\n"))
        .with_json(serde_json::json!({ "migrations": rows, "problems": problems.len() })))
}

pub(super) async fn validate_command(config: &Resolved, check_conflicts: bool) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server);
    let (loaded, applied, mut problems) = survey(config, &history).await?;
    if check_conflicts {
        let migrations: Vec<_> = loaded.iter().map(|l| l.migration.clone()).collect();
        let environment = config.environment.clone().unwrap_or_default();
        if let Err(late) = crate::validate::plan(&migrations, &applied, None, &environment) {
            problems.extend(late.into_iter().map(|mut p| {
                p.message.push_str("; renumber it with `ch-migrate resolve --migration ");
                p.message.push_str(&p.file);
                p.message.push('`');
                p
            }));
        }
    }
    if problems.is_empty() {
        return Ok(Outcome::new(exit::OK, format!("{} migration file(s): no problems", loaded.len()))
            .with_json(serde_json::json!({ "files": loaded.len(), "problems": [] })));
    }
    let list: Vec<_> = problems
        .iter()
        .map(|p| serde_json::json!({ "file": p.file, "line": p.line, "message": p.message }))
        .collect();
    let text = format!(
        "{}\nfix the files (`ch-migrate resolve` renumbers a conflicting one), or accept an intentional edit with `ch-migrate repair`",
        problems_error(&problems)
    );
    Ok(Outcome::new(exit::DIFFERENT, text)
        .with_json(serde_json::json!({ "files": loaded.len(), "problems": list })))
}

pub(super) async fn history(config: &Resolved) -> Result<Outcome, CliError> {
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

pub(super) async fn unlock(config: &Resolved, force: bool) -> Result<Outcome, CliError> {
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

pub(super) async fn test_connection(config: &Resolved) -> Result<Outcome, CliError> {
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
