//! Running one migration's statements with the journal: each statement's start and end are
//! recorded under a deterministic query id, so a rerun after a crash skips every statement that
//! finished and stops at one in doubt (started, never ended) unless it is safe to run again.
//! ON CLUSTER statements wait for every host; mutations are waited for before moving on.

use crate::checksum::checksum;
use crate::file::Migration;
use crate::history::{Event, History, JournalEntry, Status};
use crate::placeholders::Placeholders;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use store_clickhouse::ChError;
use store_clickhouse::cluster::HostResult;

/// How statements are run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cluster ON CLUSTER statements name, and how long to wait for its hosts.
    pub cluster: Option<(String, Duration)>,
    /// How long to wait for a mutation.
    pub mutation_timeout: Duration,
    /// The environment recorded in the history.
    pub environment: String,
}

/// Why a migration did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Placeholders that have no value.
    #[error("V{version}: unknown placeholders {}", .names.join(", "))]
    Placeholders {
        /// The migration.
        version: u64,
        /// The names.
        names: Vec<String>,
    },
    /// A statement failed; the ones before it are done and recorded.
    #[error("V{version} statement {index} failed: {source}\n  {text}")]
    Statement {
        /// The migration.
        version: u64,
        /// The statement's index, from 0.
        index: u32,
        /// Its text (abbreviated).
        text: String,
        /// Why.
        source: ChError,
    },
    /// A statement started in an earlier run and never ended: it may or may not have run.
    #[error(
        "V{version} statement {index} is in doubt: an earlier run started it (query id {query_id}) and did not record its end.\n  {text}\n  Check whether it took effect, then run `ch-migrate repair --migration V{version} --statement {index} --done` or `--not-done`"
    )]
    InDoubt {
        /// The migration.
        version: u64,
        /// The statement's index.
        index: u32,
        /// Its query id.
        query_id: String,
        /// Its text (abbreviated).
        text: String,
    },
    /// The history could not be read or written.
    #[error(transparent)]
    History(#[from] ChError),
}

impl ApplyError {
    fn statement(version: u64, index: u32, text: &str, source: ChError) -> Self {
        ApplyError::Statement { version, index, text: store_clickhouse::sql::abbreviate(text, 160), source }
    }
}

/// Records that `migration` finished (applied or rolled back) with `statements` statements.
async fn record(
    history: &History,
    migration: &Migration,
    status: Status,
    statements: usize,
    outcome: &Outcome,
    options: &Options,
) -> Result<(), ChError> {
    let event = Event {
        statements: statements as u32,
        duration: outcome.duration,
        ..Event::of(migration, status, &options.environment)
    };
    history.record(&event).await
}

/// What applying one migration did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Statements run now.
    pub ran: u32,
    /// Statements skipped because an earlier run finished them.
    pub skipped: u32,
    /// Per-host results of ON CLUSTER statements, by statement index.
    pub hosts: Vec<(u32, Vec<HostResult>)>,
    /// How long it took.
    pub duration: Duration,
}

/// The query id statement `index` of `version` runs under: the same in every run, so the server's
/// logs tie a statement in doubt to its text.
pub fn query_id(database: &str, version: u64, index: u32, statement_checksum: &str) -> String {
    format!(
        "ch-migrate-{database}-v{version}-s{index}-{}",
        &statement_checksum[..12.min(statement_checksum.len())]
    )
}

/// Whether running `statement` a second time does no harm (`IF NOT EXISTS`, `IF EXISTS`).
pub fn rerunnable(statement: &str) -> bool {
    let upper = statement.to_ascii_uppercase();
    upper.contains(" IF NOT EXISTS ") || upper.contains(" IF EXISTS ")
}

/// Whether `statement` starts a mutation (`ALTER … UPDATE / DELETE / MATERIALIZE`).
fn is_mutation(statement: &str) -> Option<String> {
    let upper = statement.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    if words.first() != Some(&"ALTER") || words.get(1) != Some(&"TABLE") {
        return None;
    }
    let mutating = words.iter().any(|w| matches!(*w, "UPDATE" | "DELETE" | "MATERIALIZE"));
    let table = statement.split_whitespace().nth(2)?.trim_matches('`').to_string();
    mutating.then_some(table)
}

/// Applies `migration` (the history tables exist), resuming after the statements an earlier
/// run finished, and records it as applied.
pub async fn apply(
    history: &History,
    migration: &Migration,
    placeholders: &Placeholders,
    options: &Options,
) -> Result<Outcome, ApplyError> {
    let journal = history.journal_of(migration.version).await?;
    let (outcome, finish) =
        apply_resuming(history, migration, &journal, placeholders, options, Vec::new()).await?;
    finish.write(history).await?;
    Ok(outcome)
}

/// What a migration applied by [`apply_resuming`] still has to write: its last journal rows and
/// its applied event. Until they are written a crash loses nothing: the journal's earlier rows
/// say which statements ended, and a rerun records the event without running them again.
#[derive(Debug, Clone)]
pub struct Finish {
    /// Journal rows not yet written (the last statement's end).
    pub journal: Vec<JournalEntry>,
    /// The applied event.
    pub event: Event,
}

impl Finish {
    /// Writes the journal rows, then the event.
    pub async fn write(self, history: &History) -> Result<(), ChError> {
        history.journal_phases(&self.journal).await?;
        history.record(&self.event).await
    }
}

/// [`apply`] with the migration's journal already read ([`History::journals_of`] reads those of
/// many migrations at once) and in a sequence: `carried` (the last migration's unwritten journal
/// rows) goes with this migration's first write, and what this one leaves unwritten is returned
/// for the next, with its applied event, for the caller to write in a batch ([`Finish`]).
///
/// What is written, and why it is enough: a statement's `start` row goes before it runs (the
/// mark a crash leaves behind), together with the previous statement's `end`; a statement that
/// may simply run again (`IF NOT EXISTS`, `IF EXISTS`) needs no `start`. So in a sequence a
/// one-statement migration costs one write beside its statement.
pub async fn apply_resuming(
    history: &History,
    migration: &Migration,
    journal: &BTreeMap<u32, JournalEntry>,
    placeholders: &Placeholders,
    options: &Options,
    carried: Vec<JournalEntry>,
) -> Result<(Outcome, Finish), ApplyError> {
    let started = Instant::now();
    let version = migration.version;
    // Rows not yet written: they go with the next write (or to the caller).
    let mut unwritten = carried;
    let statements = match migration.statements(placeholders) {
        Ok(statements) => statements,
        Err(names) => {
            history.journal_phases(&unwritten).await?;
            return Err(ApplyError::Placeholders { version, names });
        }
    };
    let server = history.server();
    let mut outcome = Outcome::default();
    for (index, text) in statements.iter().enumerate() {
        let index = index as u32;
        let sum = checksum(text).hex;
        let qid = query_id(server.database(), version, index, &sum);
        let entry = |phase: &str, error: String| JournalEntry {
            version,
            index,
            checksum: sum.clone(),
            query_id: qid.clone(),
            phase: phase.into(),
            error,
            hosts: String::new(),
        };
        match journal.get(&index) {
            Some(done) if done.phase == "end" && done.checksum == sum => {
                outcome.skipped += 1;
                continue;
            }
            Some(started) if started.phase == "start" && started.checksum == sum && !rerunnable(text) => {
                // Still running on the server, or visible in the catalog: settled; else named.
                let settled = crate::doubt::settle(server, text, &qid, options.mutation_timeout).await;
                match settled {
                    Ok(Some(true)) => {
                        unwritten.push(entry("end", String::new()));
                        outcome.skipped += 1;
                        continue;
                    }
                    Ok(Some(false)) => {}
                    Ok(None) => {
                        history.journal_phases(&unwritten).await?;
                        let text = store_clickhouse::sql::abbreviate(text, 160);
                        return Err(ApplyError::InDoubt { version, index, query_id: qid, text });
                    }
                    Err(e) => {
                        history.journal_phases(&unwritten).await?;
                        return Err(e.into());
                    }
                }
            }
            _ => {}
        }
        let was_in_doubt = journal.get(&index).is_some_and(|e| e.phase == "start" && e.checksum == sum);
        if !rerunnable(text) {
            unwritten.push(entry("start", String::new()));
        }
        history.journal_phases(&unwritten).await?;
        unwritten.clear();
        match run(history, text, &qid, options).await {
            // The object the statement in doubt makes appeared after the check: the earlier
            // run made it (its query was still finishing on the server).
            Err(e) if was_in_doubt && matches!(e.code(), Some(57 | 82 | 15)) => {
                tracing::warn!(
                    "V{version} statement {index} in doubt: {e}; the earlier run made it, so it counts as done"
                );
                unwritten.push(entry("end", String::new()));
                outcome.skipped += 1;
            }
            Ok(hosts) => {
                let mut end = entry("end", String::new());
                if let Some(hosts) = hosts {
                    end.hosts = hosts.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                    outcome.hosts.push((index, hosts));
                }
                unwritten.push(end);
                outcome.ran += 1;
            }
            Err(source) => {
                unwritten.push(entry("failed", source.to_string()));
                history.journal_phases(&unwritten).await?;
                return Err(ApplyError::statement(version, index, text, source));
            }
        }
    }
    outcome.duration = started.elapsed();
    let event = Event {
        statements: statements.len() as u32,
        duration: outcome.duration,
        ..Event::of(migration, Status::Applied, &options.environment)
    };
    Ok((outcome, Finish { journal: unwritten, event }))
}

/// Runs `statements` (a migration's rollback) in order and records the migration as rolled
/// back. Rollbacks are not journaled: a failed one is recorded as `rollback_failed` with the
/// statement that failed, and the migration stays applied.
pub async fn roll_back(
    history: &History,
    migration: &Migration,
    statements: &[String],
    options: &Options,
) -> Result<Outcome, ApplyError> {
    let started = Instant::now();
    let version = migration.version;
    let mut outcome = Outcome::default();
    for (index, text) in statements.iter().enumerate() {
        let index = index as u32;
        let qid = format!(
            "{}-rollback",
            query_id(history.server().database(), version, index, &checksum(text).hex)
        );
        match run(history, text, &qid, options).await {
            Ok(hosts) => {
                if let Some(hosts) = hosts {
                    outcome.hosts.push((index, hosts));
                }
                outcome.ran += 1;
            }
            Err(source) => {
                let failed = Event {
                    statements: index,
                    duration: started.elapsed(),
                    note: format!("rollback statement {index} failed: {source}"),
                    ..Event::of(migration, Status::RollbackFailed, &options.environment)
                };
                history.record(&failed).await?;
                return Err(ApplyError::statement(version, index, text, source));
            }
        }
    }
    outcome.duration = started.elapsed();
    record(history, migration, Status::RolledBack, statements.len(), &outcome, options).await?;
    Ok(outcome)
}

/// Runs one statement: ON CLUSTER through the distributed DDL queue with per-host results,
/// mutations waited for, everything else once (the client retries what the server says may be
/// retried, 517 among them).
async fn run(
    history: &History,
    text: &str,
    qid: &str,
    options: &Options,
) -> Result<Option<Vec<HostResult>>, ChError> {
    let server = history.server();
    let upper = text.to_ascii_uppercase();
    if let Some((cluster, timeout)) = options.cluster.as_ref().filter(|_| upper.contains(" ON CLUSTER ")) {
        return server.on_cluster(text, cluster, *timeout).await.map(Some);
    }
    let mut statement = store_clickhouse::Statement::new(text).query_id(qid);
    let mutation = is_mutation(text);
    if mutation.is_some() && server.capabilities().mutations_sync() {
        statement = statement.setting("mutations_sync", "2");
    }
    server.execute(statement).await?;
    if let Some(table) = mutation.filter(|_| !server.capabilities().mutations_sync()) {
        wait_for_mutations(history, &table, options.mutation_timeout).await?;
    }
    Ok(None)
}

/// Waits until no mutation of `table` is left undone (18.16 runs them in the background).
async fn wait_for_mutations(history: &History, table: &str, timeout: Duration) -> Result<(), ChError> {
    let server = history.server();
    let (database, name) = match table.split_once('.') {
        Some((d, t)) => (d.trim_matches('`').to_string(), t.trim_matches('`').to_string()),
        None => (server.database().to_string(), table.to_string()),
    };
    let pending = format!(
        "SELECT mutation_id FROM system.mutations WHERE database = {} AND table = {} AND is_done = 0",
        store_clickhouse::sql::literal(&database),
        store_clickhouse::sql::literal(&name)
    );
    for row in server.fetch_rows(pending).await? {
        if let Some(id) = row.first() {
            server.wait_for_mutation_in(&database, &name, id, timeout).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_kinds() {
        assert!(rerunnable("CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = Memory"));
        assert!(!rerunnable("INSERT INTO t VALUES (1)"));
        assert_eq!(is_mutation("ALTER TABLE db.t UPDATE a = 1 WHERE 1"), Some("db.t".into()));
        assert_eq!(is_mutation("ALTER TABLE t ADD COLUMN b UInt8"), None);
        assert_eq!(query_id("db", 3, 1, "abcdef0123456789"), "ch-migrate-db-v3-s1-abcdef012345");
    }
}
