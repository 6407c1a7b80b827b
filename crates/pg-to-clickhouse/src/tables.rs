//! Which PostgreSQL tables move: the seed's three by default, or the tables of a YAML file. A
//! table needs a time column (rows older than the maximum age move) and the column naming its
//! dataset; key columns, when it has a unique key, let a batch end between two rows of the same
//! time. A table without one is cut only between distinct times.
//!
//! ```yaml
//! tables:
//!   - name: dataset_access_audit
//!     time_column: occurred_at
//!     key: [id]
//!   - name: click_events        # any table with a time column
//!     time_column: clicked_at
//!     dataset_column: dataset_id
//! ```

use crate::Error;
use serde::Deserialize;
use std::path::Path;

/// One table that moves.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceTable {
    /// The table (optionally `schema.table`).
    pub name: String,
    /// The `timestamptz` (or `timestamp`) column rows are aged by.
    pub time_column: String,
    /// Columns of a unique key, in order (empty: the table has none).
    #[serde(default)]
    pub key: Vec<String>,
    /// The column holding the row's dataset id.
    #[serde(default = "dataset_column")]
    pub dataset_column: String,
}

fn dataset_column() -> String {
    "dataset_id".into()
}

/// The tables that move, in the order they are processed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tables {
    /// The tables.
    pub tables: Vec<SourceTable>,
}

impl Default for Tables {
    /// The seed's tables: `dataset_access_audit`, `lifecycle_audit_log`, `lifecycle_job_runs`
    /// (their columns: docs/pg-to-clickhouse.md).
    fn default() -> Self {
        let table = |name: &str, time: &str| SourceTable {
            name: name.into(),
            time_column: time.into(),
            key: vec!["id".into()],
            dataset_column: dataset_column(),
        };
        Tables {
            tables: vec![
                table("dataset_access_audit", "occurred_at"),
                table("lifecycle_audit_log", "created_at"),
                table("lifecycle_job_runs", "started_at"),
            ],
        }
    }
}

impl Tables {
    /// Reads and checks a tables file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bad = |why: String| Error::Tables { path: path.display().to_string(), why };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let tables: Tables = serde_yaml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        tables.check().map_err(bad)?;
        Ok(tables)
    }

    /// Every problem of the definitions, as one message.
    fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.tables.is_empty() {
            problems.push("no tables listed".to_string());
        }
        for (i, t) in self.tables.iter().enumerate() {
            let names = std::iter::once(("name", &t.name))
                .chain(std::iter::once(("time_column", &t.time_column)))
                .chain(std::iter::once(("dataset_column", &t.dataset_column)))
                .chain(t.key.iter().map(|k| ("key", k)));
            for (field, value) in names {
                if !identifier(value) {
                    problems.push(format!("table {}: {field} {value:?} is not an identifier", i + 1));
                }
            }
            if self.tables[..i].iter().any(|other| other.name == t.name) {
                problems.push(format!("table {} is listed twice", t.name));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }
}

/// Letters, digits and `_`, not starting with a digit; one `.` allowed (`schema.table`).
fn identifier(name: &str) -> bool {
    let part = |p: &str| {
        p.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && p.len() <= 63
    };
    match name.split_once('.') {
        Some((schema, table)) => part(schema) && part(table),
        None => part(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Tables, Error> {
        let dir = std::env::temp_dir().join(format!("p2c-tables-{}-{}", std::process::id(), text.len()));
        std::fs::write(&dir, text).unwrap();
        let result = Tables::load(&dir);
        std::fs::remove_file(&dir).unwrap();
        result
    }

    #[test]
    fn the_seeds_tables_by_default() {
        let names: Vec<String> = Tables::default().tables.into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["dataset_access_audit", "lifecycle_audit_log", "lifecycle_job_runs"]);
    }

    #[test]
    fn any_table_with_a_time_column_from_a_file() {
        let tables = load(
            "tables:\n  - name: public.click_events\n    time_column: clicked_at\n  - name: orders\n    time_column: at\n    key: [shop, id]\n    dataset_column: shop_dataset\n",
        )
        .unwrap();
        assert_eq!(tables.tables[0].key, Vec::<String>::new(), "no key: cut between distinct times");
        assert_eq!(tables.tables[0].dataset_column, "dataset_id");
        assert_eq!(tables.tables[1].key, ["shop", "id"]);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        for (text, expected) in [
            ("tables: []\n", "no tables listed"),
            ("tables:\n  - name: a\n", "missing field `time_column`"),
            ("tables:\n  - name: a\n    time_column: t\n    colour: red\n", "unknown field `colour`"),
            ("tables:\n  - name: \"a; drop\"\n    time_column: t\n", "name \"a; drop\" is not an identifier"),
            (
                "tables:\n  - name: a\n    time_column: t\n  - name: a\n    time_column: u\n",
                "table a is listed twice",
            ),
            ("{", "tables file"),
        ] {
            let message = load(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }
}
