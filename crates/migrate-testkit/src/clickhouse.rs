//! A fresh ClickHouse database per test.

use crate::config::{START_HINT, services};
use crate::{cleanup_in_background, unique_name};

/// A ClickHouse database created for one test and dropped when this is dropped.
#[derive(Debug)]
pub struct TestClickHouse {
    /// HTTP URL of the server.
    pub url: String,
    /// The test's own database.
    pub database: String,
}

/// Runs one statement over HTTP POST (writes must be POST on every ClickHouse version).
async fn execute(url: &str, sql: &str) -> Result<String, String> {
    let resp =
        reqwest::Client::new().post(url).body(sql.to_string()).send().await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if status.is_success() { Ok(text) } else { Err(format!("HTTP {status}: {}", text.trim())) }
}

/// Creates a fresh database. Panics with how to start ClickHouse when it is unreachable.
pub async fn clickhouse_database() -> TestClickHouse {
    clickhouse_database_at(&services().clickhouse_url).await
}

/// Like [`clickhouse_database`], on the server at `url`.
pub async fn clickhouse_database_at(url: &str) -> TestClickHouse {
    let url = url.to_string();
    let database = unique_name("migrate_test");
    execute(&url, &format!("CREATE DATABASE {database}"))
        .await
        .unwrap_or_else(|e| panic!("ClickHouse is not usable at {url}: {e}; {START_HINT}"));
    TestClickHouse { url, database }
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
