//! A fresh ClickHouse database per test, on each single-node engine, and on the cluster.

use crate::config::{START_HINT, services};
use crate::{cleanup_in_background, unique_name};

/// A ClickHouse database created for one test and dropped when this is dropped.
#[derive(Debug)]
pub struct TestClickHouse {
    /// HTTP URL of the server.
    pub url: String,
    /// The test's own database.
    pub database: String,
    /// Which engine serves it.
    pub engine: Engine,
}

/// The single-node ClickHouse engines of the test services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Debian's clickhouse-server 18.16 (`MIGRATE_TEST_CLICKHOUSE_URL`).
    Legacy,
    /// ClickHouse 26.x, the chdb engine behind `scripts/clickhouse-modern-server`
    /// (`MIGRATE_TEST_CLICKHOUSE_MODERN_URL`).
    Modern,
}

/// Every single-node engine, oldest first.
pub const ENGINES: [Engine; 2] = [Engine::Legacy, Engine::Modern];

impl Engine {
    /// Where the engine listens.
    pub fn url(self) -> String {
        match self {
            Engine::Legacy => services().clickhouse_url.clone(),
            Engine::Modern => services().clickhouse_modern_url.clone(),
        }
    }

    /// `clickhouse-18.16` / `clickhouse-modern`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Legacy => "clickhouse-18.16",
            Engine::Modern => "clickhouse-modern",
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The header the project's chdb front answers with (`X-Migrate-Engine: chdb-front`).
pub const FRONT_HEADER: &str = "x-migrate-engine";

/// Checks that what answers at `url` is the engine the test expects, so DDL never goes to some
/// other server that happens to listen on the port.
async fn check_identity(engine: Engine, url: &str) -> Result<(), String> {
    let resp = reqwest::Client::new().get(format!("{url}/ping")).send().await.map_err(|e| e.to_string())?;
    let front = resp.headers().get(FRONT_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    match (engine, front.as_deref()) {
        (Engine::Modern, Some("chdb-front")) | (Engine::Legacy, None) => Ok(()),
        (Engine::Modern, other) => Err(format!("{url} is not the chdb front (X-Migrate-Engine: {other:?})")),
        (Engine::Legacy, Some(other)) => Err(format!("{url} is the {other}, not clickhouse-server 18.16")),
    }
}

/// Runs one statement over HTTP POST (writes must be POST on every ClickHouse version).
async fn execute(url: &str, sql: &str) -> Result<String, String> {
    let resp =
        reqwest::Client::new().post(url).body(sql.to_string()).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if status.is_success() { Ok(text) } else { Err(format!("HTTP {status}: {}", text.trim())) }
}

/// Creates a fresh database on ClickHouse 18.16. Panics with how to start it when it is
/// unreachable.
pub async fn clickhouse_database() -> TestClickHouse {
    clickhouse_database_on(Engine::Legacy).await
}

/// Creates a fresh database on `engine`, after checking that the engine answering is the one
/// expected. Panics with how to start it when it is unreachable.
pub async fn clickhouse_database_on(engine: Engine) -> TestClickHouse {
    clickhouse_database_at(engine, &engine.url()).await
}

/// Like [`clickhouse_database_on`], with the engine at `url`.
pub async fn clickhouse_database_at(engine: Engine, url: &str) -> TestClickHouse {
    let url = url.to_string();
    check_identity(engine, &url)
        .await
        .unwrap_or_else(|e| panic!("{engine} is not usable at {url}: {e}; {START_HINT}"));
    let database = unique_name("migrate_test");
    execute(&url, &format!("CREATE DATABASE {database}"))
        .await
        .unwrap_or_else(|e| panic!("{engine} is not usable at {url}: {e}; {START_HINT}"));
    TestClickHouse { url, database, engine }
}

/// Runs `body` once per single-node engine ([`ENGINES`]), each with a fresh database of its own,
/// one after the other. A test that needs something an engine lacks asserts, inside `body`,
/// that the engine reports it as missing: engines are never skipped.
pub async fn on_every_clickhouse<F, Fut>(body: F)
where
    F: Fn(TestClickHouse) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for engine in ENGINES {
        let db = clickhouse_database_on(engine).await;
        eprintln!("--- on {engine} ({}), database {}", db.url, db.database);
        body(db).await;
    }
}

impl TestClickHouse {
    /// Runs one statement in this server (qualify tables with [`TestClickHouse::database`]).
    pub async fn execute(&self, sql: &str) -> Result<String, String> {
        execute(&self.url, sql).await
    }
}

impl Drop for TestClickHouse {
    fn drop(&mut self) {
        let url = self.url.clone();
        let database = self.database.clone();
        cleanup_in_background(format!("ClickHouse database {database}"), async move {
            execute(&url, &format!("DROP DATABASE IF EXISTS {database}")).await.map(|_| ())
        });
    }
}

/// A database created `ON CLUSTER replicated` on both nodes of the test cluster for one test,
/// dropped on both when this is dropped.
#[derive(Debug)]
pub struct TestCluster {
    /// HTTP URLs of the nodes, in order.
    pub nodes: Vec<String>,
    /// The test's own database (on every node).
    pub database: String,
}

/// Creates a fresh database on every node of the ClickHouse test cluster. Panics with how to
/// start the cluster when it is unreachable.
pub async fn clickhouse_cluster() -> TestCluster {
    let nodes = services().clickhouse_cluster_urls.clone();
    assert!(
        nodes.len() >= 2,
        "the ClickHouse test cluster has {} nodes configured; {START_HINT}",
        nodes.len()
    );
    let database = unique_name("migrate_test");
    execute(&nodes[0], &format!("CREATE DATABASE {database} ON CLUSTER replicated")).await.unwrap_or_else(
        |e| panic!("the ClickHouse cluster is not usable at {}: {e}; {START_HINT}", nodes[0]),
    );
    TestCluster { nodes, database }
}

impl TestCluster {
    /// Runs one statement on node `n` (from 0).
    pub async fn execute(&self, n: usize, sql: &str) -> Result<String, String> {
        execute(&self.nodes[n], sql).await
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let first = self.nodes[0].clone();
        let database = self.database.clone();
        cleanup_in_background(format!("ClickHouse cluster database {database}"), async move {
            execute(&first, &format!("DROP DATABASE IF EXISTS {database} ON CLUSTER replicated"))
                .await
                .map(|_| ())
        });
    }
}
