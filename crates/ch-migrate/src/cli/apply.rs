//! `migrate` and `rollback`: the commands that change the schema, under the lock.

use super::inspect::survey;
use super::{CliError, connect, files, history_of, lock_of, options, placeholders, problems_error};
use crate::apply::{ApplyError, Options, apply_resuming};
use crate::config::Resolved;
use crate::file::Migration;
use crate::history::History;
use crate::history::{Event, JournalEntry};
use crate::placeholders::Placeholders;
use crate::schedule::ready;
use crate::validate::{Applied, plan};
use migrate_cli::exit;
use migrate_cli::startup::Outcome;
use std::collections::BTreeSet;
use std::time::Duration;
use tracing::info;

pub(super) async fn migrate(
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
    let parallel = config.config.migration.parallel_execution;
    let pending = to_apply(&migrations, &applied, target, &environment, parallel)?;
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
    let pending = to_apply(&migrations, &applied, target, &environment, parallel)?;
    let options = Options {
        cluster: config
            .cluster
            .as_ref()
            .map(|c| (c.name().to_string(), Duration::from_secs(c.ddl_timeout_seconds()))),
        mutation_timeout: Duration::from_secs(3600),
        environment,
    };
    let limit = if parallel { config.config.migration.max_parallel.max(1) } else { 1 };
    let (done, failure) = apply_all(&history, &pending, &values, &options, limit).await;
    lease.release().await?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    let text = format!("Applied {} migration(s) to {}", done.len(), config.database);
    Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "applied": done })))
}

/// The pending migrations, in version order; out-of-order versions are refused unless
/// dependencies order them (`parallel_execution`).
fn to_apply<'a>(
    migrations: &'a [Migration],
    applied: &[Applied],
    target: Option<u64>,
    environment: &str,
    parallel: bool,
) -> Result<Vec<&'a Migration>, CliError> {
    if parallel {
        Ok(crate::validate::pending(migrations, applied, target, environment))
    } else {
        plan(migrations, applied, target, environment).map_err(|p| problems_error(&p))
    }
}

/// Applies `pending`, up to `limit` at once (1: one after the other, in order); a migration
/// starts once the pending migrations it depends on are done. After a failure nothing new
/// starts; the ones running finish. Returns what was applied and the first failure.
async fn apply_all(
    history: &History,
    pending: &[&Migration],
    values: &Placeholders,
    options: &Options,
    limit: usize,
) -> (Vec<serde_json::Value>, Option<ApplyError>) {
    let mut done = Vec::new();
    let mut failure = None;
    let (mut finished, mut running) = (BTreeSet::new(), BTreeSet::new());
    let mut tasks = tokio::task::JoinSet::new();
    let versions: Vec<u64> = pending.iter().map(|m| m.version).collect();
    let mut journals = match history.journals_of(&versions).await {
        Ok(journals) => journals,
        Err(e) => return (done, Some(e.into())),
    };
    // One after the other, a migration's last journal rows go with the next one's first write,
    // and applied events are written in batches (a crash in between loses nothing: `Finish`).
    let mut carried: Vec<JournalEntry> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    loop {
        if events.len() >= EVENTS_PER_WRITE
            && let Err(e) = write_finished(history, &mut carried, &mut events).await
        {
            failure.get_or_insert(e.into());
        }
        if failure.is_none() {
            let next = if limit == 1 {
                pending.iter().copied().find(|m| !finished.contains(&m.version)).into_iter().collect()
            } else {
                ready(pending, &finished, &running, limit)
            };
            for m in next {
                if running.len() >= limit {
                    break;
                }
                info!("Applying V{} {}", m.version, m.name);
                running.insert(m.version);
                let (history, m, values, options) =
                    (history.clone(), m.clone(), values.clone(), options.clone());
                let journal = journals.remove(&m.version).unwrap_or_default();
                let carry = std::mem::take(&mut carried);
                let in_sequence = limit == 1;
                tasks.spawn(async move {
                    let applied = apply_resuming(&history, &m, &journal, &values, &options, carry).await;
                    let outcome = match applied {
                        Ok((outcome, finish)) if in_sequence => Ok((outcome, Some(finish))),
                        Ok((outcome, finish)) => {
                            finish.write(&history).await.map(|()| (outcome, None)).map_err(ApplyError::from)
                        }
                        Err(e) => Err(e),
                    };
                    (m, outcome)
                });
            }
        }
        let Some(joined) = tasks.join_next().await else {
            if let Err(e) = write_finished(history, &mut carried, &mut events).await {
                failure.get_or_insert(e.into());
            }
            break;
        };
        let (m, outcome) = match joined {
            Ok(result) => result,
            Err(panic) => {
                failure.get_or_insert(ApplyError::History(store_clickhouse::ChError::Config(format!(
                    "a migration task ended abnormally: {panic}"
                ))));
                continue;
            }
        };
        running.remove(&m.version);
        match outcome {
            Ok((outcome, finish)) => {
                if let Some(finish) = finish {
                    carried = finish.journal;
                    events.push(finish.event);
                }
                finished.insert(m.version);
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
                failure.get_or_insert(e);
            }
        }
    }
    (done, failure)
}

/// Applied events written in one insert, at most.
const EVENTS_PER_WRITE: usize = 100;

/// Writes the journal rows and applied events of the migrations finished so far.
async fn write_finished(
    history: &History,
    carried: &mut Vec<JournalEntry>,
    events: &mut Vec<Event>,
) -> Result<(), store_clickhouse::ChError> {
    history.journal_phases(carried).await?;
    carried.clear();
    history.record_all(events).await?;
    events.clear();
    Ok(())
}

pub(super) async fn rollback(
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
