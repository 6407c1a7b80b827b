//! Settling a statement in doubt (an earlier run recorded its start, not its end) against the
//! server: first wait while it is still running there (`system.processes` by its query id), then
//! ask the catalog whether what it does is there: the table, view, dictionary or database a
//! CREATE makes, the column an ADD COLUMN adds, the absence a DROP leaves. Other statements
//! stay in doubt and are named for `repair`.

use std::time::{Duration, Instant};
use store_clickhouse::sql::literal;
use store_clickhouse::{ChError, ClickHouse};

/// What the catalog must show for a statement to have taken effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `CREATE TABLE|VIEW|DICTIONARY`: the table exists (database, name).
    TableExists(Option<String>, String),
    /// `DROP TABLE|VIEW|DICTIONARY`: it does not.
    TableAbsent(Option<String>, String),
    /// `CREATE DATABASE`.
    DatabaseExists(String),
    /// `ALTER TABLE … ADD COLUMN`: (database, table, column).
    ColumnExists(Option<String>, String, String),
    /// `ALTER TABLE … DROP COLUMN`.
    ColumnAbsent(Option<String>, String, String),
}

/// The check that tells whether `statement` took effect, for the kinds that have one.
pub fn check_for(statement: &str) -> Option<Check> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let at = |i: usize| upper.get(i).map(String::as_str);
    let skip_if = |i: usize, n: usize, word: &str| {
        if at(i) == Some("IF") && at(i + n) == Some(word) { i + n + 1 } else { i }
    };
    match (at(0)?, at(1)?) {
        ("CREATE", _) => {
            let mut i = 1;
            if at(i) == Some("MATERIALIZED") {
                i += 1;
            }
            let kind = at(i)?;
            let i = skip_if(i + 1, 2, "EXISTS");
            let name = words.get(i)?.split('(').next()?;
            match kind {
                "TABLE" | "VIEW" | "DICTIONARY" => {
                    let (db, table) = split_name(name);
                    Some(Check::TableExists(db, table))
                }
                "DATABASE" => Some(Check::DatabaseExists(unquote(name))),
                _ => None,
            }
        }
        ("DROP", "TABLE" | "VIEW" | "DICTIONARY") => {
            let i = skip_if(2, 1, "EXISTS");
            let (db, table) = split_name(words.get(i)?);
            Some(Check::TableAbsent(db, table))
        }
        ("ALTER", "TABLE") => {
            if upper
                .iter()
                .filter(|w| matches!(w.as_str(), "ADD" | "DROP" | "MODIFY" | "UPDATE" | "DELETE"))
                .count()
                != 1
            {
                return None;
            }
            let (db, table) = split_name(words.get(2)?);
            let action = upper.iter().position(|w| w == "ADD" || w == "DROP")?;
            if at(action + 1) != Some("COLUMN") {
                return None;
            }
            let i = skip_if(action + 2, if upper[action] == "ADD" { 2 } else { 1 }, "EXISTS");
            let column = unquote(words.get(i)?);
            Some(if upper[action] == "ADD" {
                Check::ColumnExists(db, table, column)
            } else {
                Check::ColumnAbsent(db, table, column)
            })
        }
        _ => None,
    }
}

fn unquote(name: &str) -> String {
    name.trim_matches(|c| c == '`' || c == '"').to_string()
}

/// `db.t` → (Some(db), t); `t` → (None, t).
fn split_name(name: &str) -> (Option<String>, String) {
    match name.split_once('.') {
        Some((db, t)) => (Some(unquote(db)), unquote(t)),
        None => (None, unquote(name)),
    }
}

/// Waits while the query `query_id` runs on the server (up to `timeout`), then says whether
/// `statement` took effect: `Some(true)` done, `Some(false)` not done, `None` still in doubt.
pub async fn settle(
    server: &ClickHouse,
    statement: &str,
    query_id: &str,
    timeout: Duration,
) -> Result<Option<bool>, ChError> {
    let started = Instant::now();
    let running = format!("SELECT count() FROM system.processes WHERE query_id = {}", literal(query_id));
    while server.fetch_rows(running.as_str()).await?.first().and_then(|r| r.first()).is_some_and(|n| n != "0")
    {
        if started.elapsed() >= timeout {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let Some(check) = check_for(statement) else { return Ok(None) };
    let db = |d: &Option<String>| literal(d.as_deref().unwrap_or(server.database()));
    let (sql, want_present) = match &check {
        Check::TableExists(d, t) => (
            format!("SELECT count() FROM system.tables WHERE database = {} AND name = {}", db(d), literal(t)),
            true,
        ),
        Check::TableAbsent(d, t) => (
            format!("SELECT count() FROM system.tables WHERE database = {} AND name = {}", db(d), literal(t)),
            false,
        ),
        Check::DatabaseExists(name) => {
            (format!("SELECT count() FROM system.databases WHERE name = {}", literal(name)), true)
        }
        Check::ColumnExists(d, t, c) | Check::ColumnAbsent(d, t, c) => (
            format!(
                "SELECT count() FROM system.columns WHERE database = {} AND table = {} AND name = {}",
                db(d),
                literal(t),
                literal(c)
            ),
            matches!(check, Check::ColumnExists(..)),
        ),
    };
    let present = server.fetch_rows(sql).await?.first().and_then(|r| r.first()).is_some_and(|n| n != "0");
    Ok(Some(present == want_present))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_by_statement_kind() {
        let t = |s: &str| check_for(s);
        assert_eq!(
            t("CREATE TABLE IF NOT EXISTS db.users (id UInt8) ENGINE = Memory"),
            Some(Check::TableExists(Some("db".into()), "users".into()))
        );
        assert_eq!(
            t("CREATE MATERIALIZED VIEW mv TO t AS SELECT 1"),
            Some(Check::TableExists(None, "mv".into()))
        );
        assert_eq!(t("CREATE DATABASE IF NOT EXISTS `x`"), Some(Check::DatabaseExists("x".into())));
        assert_eq!(t("DROP TABLE IF EXISTS db.t"), Some(Check::TableAbsent(Some("db".into()), "t".into())));
        assert_eq!(
            t("ALTER TABLE db.t ADD COLUMN IF NOT EXISTS c String"),
            Some(Check::ColumnExists(Some("db".into()), "t".into(), "c".into()))
        );
        assert_eq!(t("ALTER TABLE t DROP COLUMN c"), Some(Check::ColumnAbsent(None, "t".into(), "c".into())));
        assert_eq!(t("INSERT INTO t VALUES (1)"), None);
        assert_eq!(t("ALTER TABLE t UPDATE c = 1 WHERE 1"), None);
        assert_eq!(t("ALTER TABLE t ADD COLUMN a UInt8, ADD COLUMN b UInt8"), None);
    }
}
