//! Rollbacks: the `-- ROLLBACK:` lines (or `.down.sql`) a migration gives, or, where it gives
//! none, the inverse of each forward statement when there is one (CREATE TABLE/VIEW → DROP,
//! ADD COLUMN/INDEX → DROP), in reverse order. A statement without an inverse (an INSERT, a
//! DROP, a mutation) makes the rollback refuse, naming it.

use crate::file::Migration;
use crate::placeholders::Placeholders;

/// Why a migration cannot be rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackError {
    /// Unknown placeholders.
    Placeholders(Vec<String>),
    /// A forward statement with no inverse, and no rollback lines given.
    Irreversible {
        /// The statement's index.
        index: usize,
        /// Its text.
        text: String,
    },
}

impl std::fmt::Display for RollbackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RollbackError::Placeholders(names) => write!(f, "unknown placeholders {}", names.join(", ")),
            RollbackError::Irreversible { index, text } => write!(
                f,
                "statement {index} has no inverse ({}); write `-- ROLLBACK:` lines for this migration",
                store_clickhouse::sql::abbreviate(text, 100)
            ),
        }
    }
}

/// The statements that undo `migration`, and whether they were derived (not written).
pub fn rollback_statements(
    migration: &Migration,
    values: &Placeholders,
) -> Result<(Vec<String>, bool), RollbackError> {
    let written = migration.rollback_statements(values).map_err(RollbackError::Placeholders)?;
    if !written.is_empty() {
        return Ok((written, false));
    }
    let forward = migration.statements(values).map_err(RollbackError::Placeholders)?;
    let mut derived = Vec::with_capacity(forward.len());
    for (index, text) in forward.iter().enumerate().rev() {
        match inverse(text) {
            Some(undo) => derived.push(undo),
            None => return Err(RollbackError::Irreversible { index, text: text.clone() }),
        }
    }
    Ok((derived, true))
}

/// The statement that undoes `statement`, for the reversible kinds.
pub fn inverse(statement: &str) -> Option<String> {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let at = |i: usize| upper.get(i).map(String::as_str);
    // CREATE [OR REPLACE]? [MATERIALIZED] TABLE|VIEW|DICTIONARY|DATABASE [IF NOT EXISTS] name [ON CLUSTER c]
    if at(0) == Some("CREATE") {
        let mut i = 1;
        if at(i) == Some("MATERIALIZED") {
            i += 1;
        }
        let kind = at(i)?;
        if !matches!(kind, "TABLE" | "VIEW" | "DICTIONARY" | "DATABASE") {
            return None;
        }
        i += 1;
        if at(i) == Some("IF") && at(i + 1) == Some("NOT") && at(i + 2) == Some("EXISTS") {
            i += 3;
        }
        let name = words.get(i)?.split('(').next()?;
        let cluster = on_cluster(&words, &upper, i + 1);
        let drop_kind = if kind == "VIEW" { "VIEW" } else { kind };
        return Some(format!("DROP {drop_kind} IF EXISTS {name}{cluster}"));
    }
    // ALTER TABLE t [ON CLUSTER c] ADD COLUMN [IF NOT EXISTS] c … | ADD INDEX [IF NOT EXISTS] i …
    if at(0) == Some("ALTER") && at(1) == Some("TABLE") {
        let table = words.get(2)?;
        let cluster = on_cluster(&words, &upper, 3);
        let add = upper.iter().position(|w| w == "ADD")?;
        if upper.iter().filter(|w| *w == "ADD").count() > 1 {
            return None; // several actions in one ALTER: written rollbacks only
        }
        let kind = at(add + 1)?;
        if !matches!(kind, "COLUMN" | "INDEX") {
            return None;
        }
        let mut i = add + 2;
        if at(i) == Some("IF") && at(i + 1) == Some("NOT") && at(i + 2) == Some("EXISTS") {
            i += 3;
        }
        let name = words.get(i)?;
        return Some(format!("ALTER TABLE {table}{cluster} DROP {kind} IF EXISTS {name}"));
    }
    None
}

/// ` ON CLUSTER name` when the words from `from` on say so, else empty.
fn on_cluster(words: &[&str], upper: &[String], from: usize) -> String {
    (from..upper.len().saturating_sub(2))
        .find(|&i| upper[i] == "ON" && upper[i + 1] == "CLUSTER")
        .filter(|&i| i <= from + 1)
        .map(|i| format!(" ON CLUSTER {}", words[i + 2]))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::parse_versioned;

    #[test]
    fn inverses_of_reversible_statements() {
        let cases = [
            (
                "CREATE TABLE IF NOT EXISTS db.users (id UInt32) ENGINE = MergeTree ORDER BY id",
                Some("DROP TABLE IF EXISTS db.users"),
            ),
            (
                "CREATE TABLE db.t ON CLUSTER c (id UInt32) ENGINE = Memory",
                Some("DROP TABLE IF EXISTS db.t ON CLUSTER c"),
            ),
            ("CREATE MATERIALIZED VIEW db.mv TO db.t AS SELECT 1", Some("DROP VIEW IF EXISTS db.mv")),
            (
                "ALTER TABLE db.t ADD COLUMN email String",
                Some("ALTER TABLE db.t DROP COLUMN IF EXISTS email"),
            ),
            (
                "ALTER TABLE db.t ON CLUSTER c ADD COLUMN IF NOT EXISTS e String",
                Some("ALTER TABLE db.t ON CLUSTER c DROP COLUMN IF EXISTS e"),
            ),
            (
                "ALTER TABLE db.t ADD INDEX idx x TYPE minmax GRANULARITY 1",
                Some("ALTER TABLE db.t DROP INDEX IF EXISTS idx"),
            ),
            (
                "ALTER TABLE db.t ADD COLUMN a Decimal(18, 3)",
                Some("ALTER TABLE db.t DROP COLUMN IF EXISTS a"),
            ),
            ("ALTER TABLE db.t ADD COLUMN a UInt8, ADD COLUMN b UInt8", None),
            ("INSERT INTO db.t VALUES (1)", None),
            ("ALTER TABLE db.t DELETE WHERE 1", None),
            ("DROP TABLE db.t", None),
        ];
        for (statement, expected) in cases {
            assert_eq!(inverse(statement).as_deref(), expected, "{statement}");
        }
    }

    #[test]
    fn written_rollbacks_win_and_irreversible_files_are_refused() {
        let values = Placeholders { database: "db".into(), ..Default::default() };
        let written = parse_versioned(
            "V1__a.sql",
            "CREATE TABLE ${database}.a (x UInt8) ENGINE = Memory;\n-- ROLLBACK: DROP TABLE ${database}.a;\n",
        )
        .unwrap();
        assert_eq!(
            rollback_statements(&written, &values).unwrap(),
            (vec!["DROP TABLE db.a".to_string()], false)
        );
        let derived = parse_versioned(
            "V2__b.sql",
            "CREATE TABLE ${database}.b (x UInt8) ENGINE = Memory;\nALTER TABLE ${database}.b ADD COLUMN y UInt8;\n",
        )
        .unwrap();
        let (undo, was_derived) = rollback_statements(&derived, &values).unwrap();
        assert!(was_derived);
        assert_eq!(undo, ["ALTER TABLE db.b DROP COLUMN IF EXISTS y", "DROP TABLE IF EXISTS db.b"]);
        let data = parse_versioned("V3__c.sql", "INSERT INTO ${database}.b VALUES (1);\n").unwrap();
        let e = rollback_statements(&data, &values).unwrap_err();
        assert!(
            e.to_string().contains("statement 0 has no inverse") && e.to_string().contains("ROLLBACK"),
            "{e}"
        );
    }
}
