//! The applied state and the statement journal, kept in the database migrated.
//!
//! Both tables are append-only event logs (no mutations, no updates: they work the same on
//! 18.16 and on current releases): `<table>` holds one row per event of a migration (applied,
//! rolled back, repaired), the latest event of a version telling its state; `<table>_journal`
//! holds a `start` and an `end` (or `failed`) row per statement run, with its index, the
//! checksum of its text and the query id it ran under. After a crash the journal says which
//! statements of an unfinished migration are done (never run again) and which one is in doubt
//! (started, not ended). On one node the tables are MergeTree; with a cluster they are
//! ReplicatedMergeTree created ON CLUSTER, so every host sees the same history.

use crate::validate::Applied;
use std::collections::BTreeMap;
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
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::RolledBack => "rolled_back",
            Status::Repaired => "repaired",
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
}

/// The history and journal tables of one database.
#[derive(Debug, Clone)]
pub struct History {
    server: ClickHouse,
    table: String,
    cluster: Option<(String, Duration)>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
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

    /// Whether the history table exists (a dry run never creates it).
    pub async fn exists(&self) -> Result<bool, ChError> {
        let rows = self
            .server
            .fetch_rows(format!(
                "SELECT count() FROM system.tables WHERE database = {} AND name = {}",
                literal(self.server.database()),
                literal(&self.table)
            ))
            .await?;
        Ok(rows.first().and_then(|r| r.first()).is_some_and(|n| n != "0"))
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
            "CREATE TABLE IF NOT EXISTS {name}{on_cluster} ({columns}) ENGINE = {} ORDER BY ({order})",
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
             error String, seq UInt64",
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
        let by = format!("{}@{}", self.server.capabilities().version_text, crate::lock::hostname());
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, algorithm, status, statements, duration_ms, applied_at, applied_by, environment, note, seq) \
             SELECT {}, {}, {}, {}, {}, {}, {}, now(), {}, {}, {}, {}",
            self.history(),
            e.version,
            literal(&e.name),
            literal(&e.checksum),
            literal(&e.algorithm),
            literal(e.status.as_str()),
            e.statements,
            e.duration.as_millis(),
            literal(&by),
            literal(&e.environment),
            literal(&e.note),
            now_ms()
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
        let sql = format!(
            "INSERT INTO {} (version, statement, checksum, query_id, phase, at, error, seq) SELECT {}, {}, {}, {}, {}, now(), {}, {}",
            self.journal(),
            entry.version,
            entry.index,
            literal(&entry.checksum),
            literal(&entry.query_id),
            literal(&entry.phase),
            literal(&entry.error),
            now_ms()
        );
        self.server.execute(self.write(sql)).await
    }

    /// The last recorded phase of each statement of `version` since it was last applied or
    /// rolled back, by index.
    pub async fn journal_of(&self, version: u64) -> Result<BTreeMap<u32, JournalEntry>, ChError> {
        let sql = format!(
            "SELECT statement, argMax(checksum, seq), argMax(query_id, seq), argMax(phase, seq), argMax(error, seq) FROM {} \
             WHERE version = {version} AND seq > (SELECT max(seq) FROM {} WHERE version = {version}) GROUP BY statement ORDER BY statement",
            self.journal(),
            self.history()
        );
        let rows = self.server.fetch_rows(self.read(sql)).await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.len() >= 5)
            .map(|r| {
                let index = r[0].parse().unwrap_or(0);
                let entry = JournalEntry {
                    version,
                    index,
                    checksum: r[1].clone(),
                    query_id: r[2].clone(),
                    phase: r[3].clone(),
                    error: r[4].clone(),
                };
                (index, entry)
            })
            .collect())
    }
}
