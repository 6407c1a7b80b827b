//! The applied state and the statement journal, kept in the database migrated.
//!
//! Both tables are append-only event logs (no mutations, no updates: they work the same on
//! 18.16 and on current releases): `<table>` holds one row per event of a migration (applied,
//! rolled back, repaired), the latest event of a version telling its state; `<table>_journal`
//! holds a `start` row before a statement runs (none for one that may simply run again: `IF
//! NOT EXISTS`, `IF EXISTS`) and an `end` (or `failed`) row after, with its index, the checksum
//! of its text and the query id it ran under. After a crash the journal says which statements
//! of an unfinished migration are done (never run again) and which one is in doubt (started,
//! not ended); a migration whose statements all ended but whose applied event was not written
//! yet is recorded by the rerun without running anything. On one node the tables are
//! MergeTree; with a cluster they are ReplicatedMergeTree created ON CLUSTER, so every host
//! sees the same history.

use crate::validate::Applied;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store_clickhouse::sql::{ident, literal, qualified};
use store_clickhouse::{ChError, ClickHouse, Statement};

/// What happened to a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every statement ran.
    Applied,
    /// Its rollback ran.
    RolledBack,
    /// An intentional edit was accepted (`repair`): the new checksum is the applied one.
    Repaired,
    /// Its rollback failed part way (the note says where); it counts as applied.
    RollbackFailed,
}

impl Status {
    /// The word the history table holds.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::RolledBack => "rolled_back",
            Status::Repaired => "repaired",
            Status::RollbackFailed => "rollback_failed",
        }
    }
}

/// One event of a migration.
#[derive(Debug, Clone)]
pub struct Event {
    /// Version.
    pub version: u64,
    /// Name.
    pub name: String,
    /// Checksum of the file (normalised text).
    pub checksum: String,
    /// The checksum's algorithm.
    pub algorithm: String,
    /// What happened.
    pub status: Status,
    /// Statements run.
    pub statements: u32,
    /// How long it took.
    pub duration: Duration,
    /// The environment, if any.
    pub environment: String,
    /// A note (the reason of a repair).
    pub note: String,
}

impl Event {
    /// An event of `migration` (its version, name and checksum), with no statements, duration
    /// or note yet.
    pub fn of(migration: &crate::file::Migration, status: Status, environment: &str) -> Event {
        Event {
            version: migration.version,
            name: migration.name.clone(),
            checksum: migration.checksum.hex.clone(),
            algorithm: migration.checksum.algorithm.into(),
            status,
            statements: 0,
            duration: std::time::Duration::ZERO,
            environment: environment.into(),
            note: String::new(),
        }
    }
}

/// A statement of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The migration's version.
    pub version: u64,
    /// The statement's index in the file, from 0.
    pub index: u32,
    /// Checksum of the statement's text (after placeholders).
    pub checksum: String,
    /// The query id it ran under.
    pub query_id: String,
    /// `start`, `end` or `failed`: the last phase recorded.
    pub phase: String,
    /// The server's message, for `failed`.
    pub error: String,
    /// Per-host results of an ON CLUSTER statement (`host:port OK; …`), for `end`.
    pub hosts: String,
}

/// A row of the history table, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Version.
    pub version: u64,
    /// Name.
    pub name: String,
    /// `applied`, `rolled_back`, `repaired` or `rollback_failed`.
    pub status: String,
    /// Statements run.
    pub statements: u32,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// When (server time, `YYYY-MM-DD hh:mm:ss`).
    pub at: String,
    /// Its place among events and journal rows (milliseconds since the epoch when written).
    pub seq: u64,
    /// Server version and host of the applier.
    pub by: String,
    /// Environment.
    pub environment: String,
    /// Note.
    pub note: String,
}

/// One run of one statement, from its `start` to its `end` or `failed` row of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRun {
    /// The migration's version.
    pub version: u64,
    /// The statement's index.
    pub index: u32,
    /// Its query id.
    pub query_id: String,
    /// `end`, `failed`, or `start` when it never finished.
    pub phase: String,
    /// Milliseconds from start to end, when it ended.
    pub duration_ms: Option<u64>,
    /// When it started (server time).
    pub at: String,
    /// Its start's place among events and journal rows.
    pub seq: u64,
    /// The server's message when it failed.
    pub error: String,
    /// Per-host results of an ON CLUSTER statement.
    pub hosts: String,
}

/// The history and journal tables of one database.
#[derive(Debug, Clone)]
pub struct History {
    server: ClickHouse,
    table: String,
    cluster: Option<(String, Duration)>,
}

/// The tool's tables take one small insert per migration: never delay or refuse one for the
/// parts not merged yet (18.16 delays inserts beyond 150 parts by default, which made a run of
/// 500 migrations five times slower).
pub(crate) const TOOL_TABLE_SETTINGS: &str =
    "SETTINGS parts_to_delay_insert = 1000000, parts_to_throw_insert = 1000000";

/// `n` consecutive sequence numbers for rows written now: milliseconds since the epoch, and
/// strictly increasing within the process even when several writes fall in one millisecond.
fn next_seq(n: u64) -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let mut first = now;
    let _ = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
        first = now.max(last + 1);
        Some(first + n.max(1) - 1)
    });
    first
}

impl History {
    /// The history in `<database>.<table>` (normally `schema_migrations`) and its journal,
    /// created ON CLUSTER `cluster` (waiting up to the duration for every host) when given.
    pub fn new(server: ClickHouse, table: &str, cluster: Option<(&str, Duration)>) -> Self {
        Self { server, table: table.into(), cluster: cluster.map(|(c, t)| (c.to_string(), t)) }
    }

    /// The server.
    pub fn server(&self) -> &ClickHouse {
        &self.server
    }

    fn history(&self) -> String {
        qualified(self.server.database(), &self.table)
    }

    fn journal(&self) -> String {
        qualified(self.server.database(), &format!("{}_journal", self.table))
    }

    /// Whether the history table exists (a dry run never creates it). A table of that name
    /// that is not ch-migrate's (golang-migrate's and dbmate's are also `schema_migrations`) is
    /// a configuration error naming the way out.
    pub async fn exists(&self) -> Result<bool, ChError> {
        let (database, table) = (literal(self.server.database()), literal(&self.table));
        let rows = self
            .server
            .fetch_rows(format!(
                "SELECT (SELECT count() FROM system.tables WHERE database = {database} AND name = {table}), \
                 (SELECT count() FROM system.columns WHERE database = {database} AND table = {table} \
                 AND name IN ('version', 'checksum', 'algorithm', 'seq'))"
            ))
            .await?;
        let count =
            |i: usize| rows.first().and_then(|r| r.get(i)).map_or(0, |n| n.parse::<u32>().unwrap_or(0));
        match (count(0), count(1)) {
            (0, _) => Ok(false),
            (_, 4) => Ok(true),
            _ => Err(ChError::Config(format!(
                "{} is not ch-migrate's history table (another tool's, such as golang-migrate's or dbmate's?): \
                 set migration.table_name to another name, and adopt that tool's state with `ch-migrate import --from TOOL`",
                self.history()
            ))),
        }
    }

    fn engine(&self, table: &str) -> String {
        match &self.cluster {
            None => "MergeTree".into(),
            Some(_) => format!(
                "ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{}/{table}', '{{replica}}')",
                self.server.database()
            ),
        }
    }

    async fn create(&self, name: &str, table: &str, columns: &str, order: &str) -> Result<(), ChError> {
        let on_cluster =
            self.cluster.as_ref().map(|(c, _)| format!(" ON CLUSTER {}", ident(c))).unwrap_or_default();
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {name}{on_cluster} ({columns}) ENGINE = {} ORDER BY ({order}) {TOOL_TABLE_SETTINGS}",
            self.engine(table)
        );
        match &self.cluster {
            Some((cluster, timeout)) => self.server.on_cluster(&sql, cluster, *timeout).await.map(drop),
            None => self.server.execute(sql).await,
        }
    }

    /// Creates both tables when missing.
    pub async fn ensure(&self) -> Result<(), ChError> {
        self.create(
            &self.history(),
            &self.table,
            "version UInt64, name String, checksum String, algorithm String, status String, statements UInt32, \
             duration_ms UInt64, applied_at DateTime, applied_by String, environment String, note String, seq UInt64",
            "version, seq",
        )
        .await?;
        self.create(
            &self.journal(),
            &format!("{}_journal", self.table),
            "version UInt64, statement UInt32, checksum String, query_id String, phase String, at DateTime, \
             error String, hosts String, seq UInt64",
            "version, statement, seq",
        )
        .await
    }

    fn write(&self, sql: String) -> Statement {
        let statement = Statement::new(sql);
        match &self.cluster {
            Some((cluster, _)) => {
                let replicas =
                    self.server.capabilities().cluster(cluster).iter().filter(|h| h.shard == 1).count();
                statement.setting("insert_quorum", replicas.max(1).to_string())
            }
            None => statement,
        }
    }

    fn read(&self, sql: String) -> Statement {
        let statement = Statement::new(sql);
        match self.cluster {
            Some(_) => statement.setting("select_sequential_consistency", "1"),
            None => statement,
        }
    }

    /// Records an event.
    pub async fn record(&self, e: &Event) -> Result<(), ChError> {
        self.record_all(std::slice::from_ref(e)).await
    }

    /// Records events in one insert, in order (nothing when `events` is empty).
    pub async fn record_all(&self, events: &[Event]) -> Result<(), ChError> {
        if events.is_empty() {
            return Ok(());
        }
        let by = literal(&format!("{}@{}", self.server.capabilities().version_text, crate::lock::hostname()));
        let seq = next_seq(events.len() as u64);
        let rows: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                format!(
                    "({}, {}, {}, {}, {}, {}, {}, now(), {by}, {}, {}, {})",
                    e.version,
                    literal(&e.name),
                    literal(&e.checksum),
                    literal(&e.algorithm),
                    literal(e.status.as_str()),
                    e.statements,
                    e.duration.as_millis(),
                    literal(&e.environment),
                    literal(&e.note),
                    seq + i as u64
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, algorithm, status, statements, duration_ms, applied_at, applied_by, environment, note, seq) VALUES {}",
            self.history(),
            rows.join(", ")
        );
        self.server.execute(self.write(sql)).await
    }

    /// The migrations whose latest event is applied or repaired, by version.
    pub async fn applied(&self) -> Result<Vec<Applied>, ChError> {
        let sql = format!(
            "SELECT version, argMax(name, seq), argMax(checksum, seq), argMax(algorithm, seq), argMax(status, seq) \
             FROM {} GROUP BY version ORDER BY version",
            self.history()
        );
        let rows = self.server.fetch_rows(self.read(sql)).await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.len() >= 5 && r[4] != Status::RolledBack.as_str())
            .map(|r| Applied {
                version: r[0].parse().unwrap_or(0),
                name: r[1].clone(),
                checksum: r[2].clone(),
                algorithm: r[3].clone(),
            })
            .collect())
    }

    /// Records a phase (`start`, `end`, `failed`) of statement `index` of `version`.
    pub async fn journal_phase(&self, entry: &JournalEntry) -> Result<(), ChError> {
        self.journal_phases(std::slice::from_ref(entry)).await
    }

    /// Records several phases in one insert (nothing when `entries` is empty), in order: each
    /// row's `seq` is one more than the one before.
    pub async fn journal_phases(&self, entries: &[JournalEntry]) -> Result<(), ChError> {
        if entries.is_empty() {
            return Ok(());
        }
        let seq = next_seq(entries.len() as u64);
        let rows: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                format!(
                    "({}, {}, {}, {}, {}, now(), {}, {}, {})",
                    e.version,
                    e.index,
                    literal(&e.checksum),
                    literal(&e.query_id),
                    literal(&e.phase),
                    literal(&e.error),
                    literal(&e.hosts),
                    seq + i as u64
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} (version, statement, checksum, query_id, phase, at, error, hosts, seq) VALUES {}",
            self.journal(),
            rows.join(", ")
        );
        self.server.execute(self.write(sql)).await
    }

    /// [`History::journal_of`] for every version of `versions`, in two queries.
    pub async fn journals_of(
        &self,
        versions: &[u64],
    ) -> Result<BTreeMap<u64, BTreeMap<u32, JournalEntry>>, ChError> {
        let mut journals: BTreeMap<u64, BTreeMap<u32, JournalEntry>> = BTreeMap::new();
        if versions.is_empty() {
            return Ok(journals);
        }
        let list = versions.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        let events = self
            .server
            .fetch_rows(self.read(format!(
                "SELECT version, max(seq) FROM {} WHERE version IN ({list}) GROUP BY version",
                self.history()
            )))
            .await?;
        let last_event: BTreeMap<u64, u64> = events
            .iter()
            .filter(|r| r.len() >= 2)
            .map(|r| (r[0].parse().unwrap_or(0), r[1].parse().unwrap_or(0)))
            .collect();
        let rows = self
            .server
            .fetch_rows(self.read(format!(
                "SELECT version, statement, checksum, query_id, phase, error, hosts, seq FROM {} \
                 WHERE version IN ({list}) ORDER BY seq",
                self.journal()
            )))
            .await?;
        for r in rows.iter().filter(|r| r.len() >= 8) {
            let version: u64 = r[0].parse().unwrap_or(0);
            let seq: u64 = r[7].parse().unwrap_or(0);
            if last_event.get(&version).is_some_and(|&last| seq <= last) {
                continue;
            }
            let index = r[1].parse().unwrap_or(0);
            let entry = JournalEntry {
                version,
                index,
                checksum: r[2].clone(),
                query_id: r[3].clone(),
                phase: r[4].clone(),
                error: r[5].clone(),
                hosts: r[6].clone(),
            };
            journals.entry(version).or_default().insert(index, entry);
        }
        Ok(journals)
    }

    /// The last recorded phase of each statement of `version` since it was last applied or
    /// rolled back, by index.
    pub async fn journal_of(&self, version: u64) -> Result<BTreeMap<u32, JournalEntry>, ChError> {
        Ok(self.journals_of(&[version]).await?.remove(&version).unwrap_or_default())
    }

    /// Every event of the history, oldest first.
    pub async fn events(&self) -> Result<Vec<EventRow>, ChError> {
        let sql = format!(
            "SELECT version, name, status, statements, duration_ms, toString(applied_at), applied_by, environment, note, seq \
             FROM {} ORDER BY seq",
            self.history()
        );
        let rows = self.server.fetch_rows(self.read(sql)).await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.len() >= 10)
            .map(|r| EventRow {
                version: r[0].parse().unwrap_or(0),
                name: r[1].clone(),
                status: r[2].clone(),
                statements: r[3].parse().unwrap_or(0),
                duration_ms: r[4].parse().unwrap_or(0),
                at: r[5].clone(),
                by: r[6].clone(),
                environment: r[7].clone(),
                note: r[8].clone(),
                seq: r[9].parse().unwrap_or(0),
            })
            .collect())
    }

    /// Every statement run of the journal (what `clean` left), oldest first: each `start` paired
    /// with the `end` or `failed` row of the same statement that followed it.
    pub async fn statement_runs(&self) -> Result<Vec<StatementRun>, ChError> {
        let sql = format!(
            "SELECT version, statement, query_id, phase, seq, toString(at), error, hosts FROM {} ORDER BY seq",
            self.journal()
        );
        let rows = self.server.fetch_rows(self.read(sql)).await?;
        let mut runs: Vec<StatementRun> = Vec::new();
        let mut open: BTreeMap<(u64, u32), (usize, u64)> = BTreeMap::new();
        for r in rows.into_iter().filter(|r| r.len() >= 8) {
            let version = r[0].parse().unwrap_or(0);
            let index = r[1].parse().unwrap_or(0);
            let seq: u64 = r[4].parse().unwrap_or(0);
            if r[3] == "start" {
                open.insert((version, index), (runs.len(), seq));
                runs.push(StatementRun {
                    version,
                    index,
                    query_id: r[2].clone(),
                    phase: "start".into(),
                    duration_ms: None,
                    at: r[5].clone(),
                    seq,
                    error: String::new(),
                    hosts: String::new(),
                });
            } else if let Some((at, started)) = open.remove(&(version, index)) {
                let run = &mut runs[at];
                run.phase = r[3].clone();
                run.duration_ms = Some(seq.saturating_sub(started));
                run.error = r[6].clone();
                run.hosts = r[7].clone();
            }
        }
        Ok(runs)
    }
}
