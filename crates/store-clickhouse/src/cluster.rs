//! ON CLUSTER DDL: the statement runs on every host of a cluster through the distributed DDL
//! queue; the server answers with one row per host as each finishes. This module returns those
//! rows, and names the hosts that failed or did not finish within the timeout.

use crate::error::{ChError, Result, ServerError};
use crate::server::{ClickHouse, Statement};
use std::time::Duration;

/// One host's outcome of an ON CLUSTER statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostResult {
    /// Host name as the cluster configuration spells it.
    pub host: String,
    /// Its native-protocol port.
    pub port: u16,
    /// 0 when the statement succeeded there, else the error code.
    pub status: u32,
    /// The error message, empty on success.
    pub error: String,
}

impl std::fmt::Display for HostResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 0 {
            write!(f, "{}:{} OK", self.host, self.port)
        } else {
            write!(f, "{}:{} failed with code {}: {}", self.host, self.port, self.status, self.error.trim())
        }
    }
}

impl ClickHouse {
    /// Runs `sql`, which must contain `ON CLUSTER <cluster>`, waiting up to `timeout` for every
    /// host. Returns each host's result; fails naming every host that failed or is still
    /// working when the timeout passes (those finish in the background: the queue keeps the
    /// task). Servers that do not know `cluster` are refused before anything runs.
    pub async fn on_cluster(&self, sql: &str, cluster: &str, timeout: Duration) -> Result<Vec<HostResult>> {
        let members = self.capabilities().cluster(cluster);
        if members.is_empty() {
            let known = self.capabilities().cluster_names().into_iter().collect::<Vec<_>>().join(", ");
            return Err(ChError::NotSupported {
                target: self.target(),
                version: self.capabilities().version_text.clone(),
                feature: format!(
                    "ON CLUSTER {cluster}: the server is not a member of such a cluster (known: {})",
                    if known.is_empty() { "none" } else { &known }
                ),
            });
        }
        tracing::info!(
            "ON CLUSTER {cluster}: waiting for {} host(s), up to {} s",
            members.len(),
            timeout.as_secs()
        );
        let statement =
            Statement::new(sql).setting("distributed_ddl_task_timeout", timeout.as_secs().max(1).to_string());
        let (text, failure) = match self.fetch_text(statement).await {
            Ok(text) => (text, None),
            Err(ChError::Server { error, .. }) if error.code == 159 => (String::new(), Some(error)),
            // 18.16 stops at the first host that fails: "There was an error on [host:port]: …".
            Err(ChError::Server { error, target }) => match failed_host(&error) {
                Some(host) => {
                    return Err(ChError::Cluster {
                        statement: crate::sql::abbreviate(sql, 80),
                        hosts: vec![host],
                    });
                }
                None => return Err(ChError::Server { error, target }),
            },
            Err(e) => return Err(e),
        };
        let (results, trailing) = parse_host_rows(&text);
        let failure = failure.or(trailing);
        let mut problems: Vec<String> =
            results.iter().filter(|r| r.status != 0).map(ToString::to_string).collect();
        if failure.is_some() || results.len() < members.len() {
            let waiting: Vec<String> = members
                .iter()
                .filter(|m| !results.iter().any(|r| r.host == m.host && r.port == m.port))
                .map(|m| {
                    format!(
                        "{}:{} did not finish within {}s (it goes on in the background)",
                        m.host,
                        m.port,
                        timeout.as_secs()
                    )
                })
                .collect();
            problems.extend(waiting);
        }
        if let Some(error) = failure.filter(|_| problems.is_empty()) {
            return Err(ChError::Server { target: self.target(), error });
        }
        if problems.is_empty() {
            Ok(results)
        } else {
            Err(ChError::Cluster { statement: crate::sql::abbreviate(sql, 80), hosts: problems })
        }
    }
}

/// `host:port failed with code N: message` from an error that names the failing host.
fn failed_host(error: &ServerError) -> Option<String> {
    let rest = error.message.strip_prefix("There was an error on [")?;
    let (host, inner) = rest.split_once("]: ")?;
    let inner = ServerError::parse(inner)?;
    Some(format!("{host} failed with code {}: {}", inner.code, inner.message))
}

/// Host rows (host, port, status, error, remaining, active) and a trailing exception, if any.
fn parse_host_rows(text: &str) -> (Vec<HostResult>, Option<ServerError>) {
    let mut results = Vec::new();
    let mut failure = None;
    for row in crate::sql::parse_tsv(text) {
        if row.len() == 1 && row[0].starts_with("Code: ") {
            failure = ServerError::parse(&row[0]);
            continue;
        }
        if row.len() >= 4 {
            results.push(HostResult {
                host: row[0].clone(),
                port: row[1].parse().unwrap_or(0),
                status: row[2].parse().unwrap_or(0),
                error: row[3].clone(),
            });
        }
    }
    (results, failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_trailing_exceptions() {
        let (rows, failure) =
            parse_host_rows("127.0.0.1\t18211\t0\t\t1\t0\n127.0.0.1\t18212\t57\tTable exists\t0\t0\n");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].to_string(), "127.0.0.1:18212 failed with code 57: Table exists");
        assert!(failure.is_none());
        let (rows, failure) = parse_host_rows(
            "127.0.0.1\t18211\t0\t\t1\t1\nCode: 159, e.displayText() = DB::Exception: Watching task is executing longer than distributed_ddl_task_timeout, e.what() = DB::Exception\n",
        );
        assert_eq!((rows.len(), failure.map(|f| f.code)), (1, Some(159)));
    }

    #[test]
    fn the_failing_host_of_an_old_server() {
        let error = ServerError::parse(
            "Code: 57, e.displayText() = DB::Exception: There was an error on [127.0.0.1:18212]: Code: 57, e.displayText() = DB::Exception: Table d.t already exists., e.what() = DB::Exception, e.what() = DB::Exception",
        )
        .unwrap();
        assert_eq!(
            failed_host(&error).unwrap(),
            "127.0.0.1:18212 failed with code 57: Table d.t already exists."
        );
    }
}
