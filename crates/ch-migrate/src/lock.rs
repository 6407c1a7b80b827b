//! One applier per database (per cluster when clustered), on every ClickHouse version: no
//! transactions, no KeeperMap, no mutations. Each applier inserts a claim row (a random id, its
//! host, pid, when it started and until when its lease runs, by the server's clock) into an
//! append-only table and reads the live claims back: alone, it holds the lock; with others, it
//! withdraws and tries again after a random pause ([`Lock::acquire`]). A holder renews its
//! lease in the background while it works; one that dies stops renewing and its lease runs out
//! (a stale lease), at once when it ran on this machine and its process is gone;
//! release and `unlock --force` insert release rows, so nothing is ever updated in place. On a
//! cluster the table is Replicated, written with a quorum of every replica and read with
//! sequential consistency, so every host sees every claim.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use store_clickhouse::sql::{ident, literal, qualified};
use store_clickhouse::{ChError, ClickHouse, Statement};

/// A live claim on the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The claim's random id.
    pub id: String,
    /// The applier's host name.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When it claimed the lock (milliseconds since 1970, its clock).
    pub since_ms: u64,
    /// When its lease runs out unless renewed (seconds since 1970, the server's clock).
    pub expires: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = chrono::DateTime::from_timestamp_millis(self.since_ms as i64)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| format!("{} ms", self.since_ms));
        write!(f, "{} pid {} since {since} (claim {})", self.host, self.pid, &self.id[..8.min(self.id.len())])
    }
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it and did not let go within the wait.
    #[error(
        "the migration lock is held by {holder}; waited {waited:?}. If that process is gone, its lease runs out by itself, or run `ch-migrate unlock --force`"
    )]
    Held {
        /// Who holds it.
        holder: Holder,
        /// How long we waited.
        waited: Duration,
    },
    /// The server failed.
    #[error(transparent)]
    Server(#[from] ChError),
}

/// The lock table of one database.
#[derive(Debug, Clone)]
pub struct Lock {
    server: ClickHouse,
    table: String,
    cluster: Option<String>,
    lease: Duration,
}

/// The lock, held. Renew it at least once per lease while working; release it at the end.
#[derive(Debug)]
pub struct Lease {
    lock: Lock,
    /// The claim's id.
    pub id: String,
    /// Renews the claim every third of the lease while the lease is held, so a long statement
    /// never lets it run out; stopped on release or drop (a crash stops it too).
    renewer: tokio::task::JoinHandle<()>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

impl Lock {
    /// The lock kept in `<database>.<table>` (normally `schema_migrations_lock`), on `cluster`
    /// when given, with leases of `lease` (renewed by holders and waiters).
    pub fn new(server: ClickHouse, table: &str, cluster: Option<&str>, lease: Duration) -> Self {
        Self { server, table: table.into(), cluster: cluster.map(str::to_string), lease }
    }

    fn name(&self) -> String {
        qualified(self.server.database(), &self.table)
    }

    fn on_cluster(&self) -> String {
        self.cluster.as_deref().map(|c| format!(" ON CLUSTER {}", ident(c))).unwrap_or_default()
    }

    /// Creates the lock table when missing: MergeTree on one node, ReplicatedMergeTree on
    /// every host of the cluster.
    pub async fn ensure(&self) -> Result<(), ChError> {
        let engine = match &self.cluster {
            None => "MergeTree".to_string(),
            Some(_) => format!(
                "ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{}/{}', '{{replica}}')",
                self.server.database(),
                self.table
            ),
        };
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {}{} (id String, host String, pid UInt32, since_ms UInt64, expires UInt32, released UInt8) \
             ENGINE = {engine} ORDER BY (since_ms, id) {}",
            self.name(),
            self.on_cluster(),
            crate::history::TOOL_TABLE_SETTINGS
        );
        match &self.cluster {
            Some(cluster) => self.server.on_cluster(&sql, cluster, Duration::from_secs(120)).await.map(drop),
            None => self.server.execute(sql).await,
        }
    }

    fn read(&self, sql: String) -> Statement {
        let statement = Statement::new(sql);
        match self.cluster {
            Some(_) => statement.setting("select_sequential_consistency", "1"),
            None => statement,
        }
    }

    fn write(&self, sql: String) -> Statement {
        let statement = Statement::new(sql);
        match &self.cluster {
            // Every replica of the shard has the row before the insert returns, so any reader
            // (with sequential consistency) sees it.
            Some(cluster) => {
                let replicas =
                    self.server.capabilities().cluster(cluster).iter().filter(|h| h.shard == 1).count();
                statement.setting("insert_quorum", replicas.max(1).to_string())
            }
            None => statement,
        }
    }

    /// Live claims, the holder first.
    pub async fn holders(&self) -> Result<Vec<Holder>, ChError> {
        let sql = format!(
            "SELECT id, any(host), any(pid), min(since_ms), max(expires) FROM {} GROUP BY id \
             HAVING max(released) = 0 AND max(expires) > toUInt32(now()) ORDER BY min(since_ms), id",
            self.name()
        );
        let rows = self.server.fetch_rows(self.read(sql)).await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.len() >= 5)
            .map(|r| Holder {
                id: r[0].clone(),
                host: r[1].clone(),
                pid: r[2].parse().unwrap_or(0),
                since_ms: r[3].parse().unwrap_or(0),
                expires: r[4].parse().unwrap_or(0),
            })
            .collect())
    }

    async fn claim(&self, id: &str, since_ms: u64, released: bool) -> Result<(), ChError> {
        let host = hostname();
        let sql = format!(
            "INSERT INTO {} (id, host, pid, since_ms, expires, released) SELECT {}, {}, {}, {since_ms}, toUInt32(now()) + {}, {}",
            self.name(),
            literal(id),
            literal(&host),
            std::process::id(),
            self.lease.as_secs().max(1),
            u8::from(released)
        );
        // Quorum inserts into one replicated table go one at a time (18.16 answers 286 to the
        // others): wait for our turn, a little longer each time.
        let deadline = Instant::now() + self.lease.max(Duration::from_secs(10));
        let mut pause = Duration::from_millis(20);
        loop {
            match self.server.execute(self.write(sql.clone())).await {
                Err(e) if e.code() == Some(286) && Instant::now() < deadline => {
                    let jitter = Duration::from_millis(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 50);
                    tokio::time::sleep(pause + jitter).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    /// Takes the lock, waiting up to `wait` while someone else holds it.
    ///
    /// A claimant inserts its claim and then reads the live claims: when its own is the only
    /// one, it holds the lock; otherwise it withdraws and tries again after a random pause.
    /// Reads see every insert that came before them, so of two claimants the one that
    /// inserted second always sees the first: two can never both see themselves alone.
    pub async fn acquire(&self, wait: Duration) -> Result<Lease, LockError> {
        let started = Instant::now();
        loop {
            let id = uuid::Uuid::new_v4().to_string();
            let since_ms =
                SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
            self.claim(&id, since_ms, false).await?;
            let holders = self.holders().await?;
            if holders.len() == 1 && holders[0].id == id {
                return Ok(self.lease(id, since_ms));
            }
            // Claims of processes of this machine that are gone (killed, crashed) are released
            // at once instead of waiting for their leases to run out.
            let mut cleared = false;
            for dead in holders.iter().filter(|h| h.id != id && h.host == hostname() && !process_alive(h.pid))
            {
                tracing::warn!("releasing the lock claim of {dead}: that process is gone");
                self.claim(&dead.id, dead.since_ms, true).await?;
                cleared = true;
            }
            if cleared {
                self.claim(&id, since_ms, true).await?;
                continue;
            }
            self.claim(&id, since_ms, true).await?;
            let holder = holders.into_iter().find(|h| h.id != id);
            if let Some(holder) = holder.filter(|_| started.elapsed() >= wait) {
                return Err(LockError::Held { holder, waited: started.elapsed() });
            }
            let pause = 100 + u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 2;
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    fn lease(&self, id: String, since_ms: u64) -> Lease {
        let (lock, claim) = (self.clone(), id.clone());
        let every = (self.lease / 3).max(Duration::from_millis(200));
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = lock.claim(&claim, since_ms, false).await {
                    tracing::warn!("could not renew the migration lock: {e}");
                }
            }
        });
        Lease { lock: self.clone(), id, renewer }
    }

    /// Releases every live claim and returns whom it removed.
    pub async fn force_unlock(&self) -> Result<Vec<Holder>, ChError> {
        let holders = self.holders().await?;
        for h in &holders {
            self.claim(&h.id, h.since_ms, true).await?;
        }
        Ok(holders)
    }
}

impl Lease {
    /// Extends the lease by its length from now.
    pub async fn renew(&self) -> Result<(), ChError> {
        let since = self.lock.holders().await?.into_iter().find(|h| h.id == self.id).map(|h| h.since_ms);
        match since {
            Some(since_ms) => self.lock.claim(&self.id, since_ms, false).await,
            None => Err(ChError::Config(
                "the migration lock was lost (its lease ran out or it was forcibly unlocked); stop and rerun"
                    .into(),
            )),
        }
    }

    /// Lets go of the lock.
    pub async fn release(self) -> Result<(), ChError> {
        self.renewer.abort();
        self.lock.claim(&self.id, 0, true).await
    }
}

/// Whether process `pid` of this machine still runs (Linux: `/proc/<pid>`; elsewhere it is
/// assumed to, and the lease decides).
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// This machine's host name, for claims and history rows.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}
