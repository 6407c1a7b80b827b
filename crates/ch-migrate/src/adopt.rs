//! `import --from TOOL`: the applied state other migration tools keep in ClickHouse, read so
//! that a project moving to ch-migrate never runs a migration twice. What each tool's table
//! says is interpreted here (pure); the command reads the rows and records the result.

use crate::file::Migration;

/// A migration tool whose history table can be adopted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// golang-migrate: `schema_migrations(version Int64, dirty UInt8, sequence UInt64)`; the
    /// latest row is the current version, every version up to it is applied.
    GolangMigrate,
    /// goose: `goose_db_version(version_id Int64, is_applied UInt8, date, tstamp)`; a version's
    /// latest row says whether it is applied.
    Goose,
    /// dbmate: `schema_migrations(version String, ts DateTime, applied UInt8)`,
    /// ReplacingMergeTree by version.
    Dbmate,
    /// clickhouse-migrations (PyPI): `schema_versions(version UInt32, md5, script, created_at)`.
    ClickhouseMigrations,
    /// Flyway: `flyway_schema_history(installed_rank, version, type, success, …)`.
    Flyway,
}

impl Tool {
    /// Every tool, as `--from` lists them.
    pub const ALL: [Tool; 5] =
        [Tool::GolangMigrate, Tool::Goose, Tool::Dbmate, Tool::ClickhouseMigrations, Tool::Flyway];

    /// The tool `--from` names.
    pub fn parse(name: &str) -> Option<Tool> {
        Tool::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Tool::GolangMigrate => "golang-migrate",
            Tool::Goose => "goose",
            Tool::Dbmate => "dbmate",
            Tool::ClickhouseMigrations => "clickhouse-migrations",
            Tool::Flyway => "flyway",
        }
    }

    /// The table the tool keeps by default.
    pub fn default_table(self) -> &'static str {
        match self {
            Tool::GolangMigrate | Tool::Dbmate => "schema_migrations",
            Tool::Goose => "goose_db_version",
            Tool::ClickhouseMigrations => "schema_versions",
            Tool::Flyway => "flyway_schema_history",
        }
    }

    /// The columns the tool's table has (to recognise it, and to refuse another table).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Tool::GolangMigrate => &["version", "dirty", "sequence"],
            Tool::Goose => &["version_id", "is_applied", "tstamp"],
            Tool::Dbmate => &["version", "ts", "applied"],
            Tool::ClickhouseMigrations => &["version", "md5", "script"],
            Tool::Flyway => &["installed_rank", "version", "type", "success"],
        }
    }

    /// The query reading the tool's state from `table` (qualified): rows of (version, flag).
    pub fn query(self, table: &str) -> String {
        match self {
            Tool::GolangMigrate => {
                format!(
                    "SELECT toString(version), toString(dirty) FROM {table} ORDER BY sequence DESC LIMIT 1"
                )
            }
            Tool::Goose => format!(
                "SELECT toString(version_id), toString(argMax(is_applied, tstamp)) FROM {table} GROUP BY version_id"
            ),
            Tool::Dbmate => format!("SELECT version, toString(applied) FROM {table} FINAL"),
            Tool::ClickhouseMigrations => format!("SELECT DISTINCT toString(version), '1' FROM {table}"),
            Tool::Flyway => format!(
                "SELECT assumeNotNull(version), toString(argMax(success, installed_rank) = 1 \
                 AND argMax(type, installed_rank) NOT IN ('DELETE', 'UNDO_SQL', 'UNDO_JDBC')) \
                 FROM {table} WHERE version IS NOT NULL GROUP BY version"
            ),
        }
    }
}

/// What adopting found: the local migrations to record as applied, in version order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption<'a> {
    /// The migrations the tool applied.
    pub applied: Vec<&'a Migration>,
    /// Local migrations below the tool's highest version that it never applied (they will be
    /// pending out of order: `resolve` renumbers them).
    pub skipped: Vec<&'a Migration>,
}

/// Interprets `rows` of `tool`'s [`Tool::query`] against the local `migrations`. Every problem
/// at once: a dirty golang-migrate state, a version that is not a whole number, versions the
/// tool applied that no local file has.
pub fn adopt<'a>(
    tool: Tool,
    rows: &[Vec<String>],
    migrations: &'a [Migration],
) -> Result<Adoption<'a>, Vec<String>> {
    let mut problems = Vec::new();
    let mut versions = Vec::new();
    for row in rows {
        let (Some(version), Some(flag)) = (row.first(), row.get(1)) else { continue };
        let applied = flag == "1" || flag == "true";
        let number = match version.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                problems.push(format!("{} version {version:?} is not a whole number", tool.name()));
                continue;
            }
        };
        if tool == Tool::GolangMigrate && flag == "1" {
            problems.push(format!(
                "golang-migrate left version {number} dirty: it failed part way. Check the schema, finish or undo \
                 that migration by hand, run `migrate force {number}` (or the version before it), then import again"
            ));
            continue;
        }
        // golang-migrate's -1 means nothing applied; goose's 0 is its own first row.
        if number <= 0 || (!applied && tool != Tool::GolangMigrate) {
            continue;
        }
        versions.push(number as u64);
    }
    let applied_versions: Vec<u64> = match tool {
        Tool::GolangMigrate => match versions.first() {
            Some(&current) => {
                if !migrations.iter().any(|m| m.version == current) {
                    problems
                        .push(format!("golang-migrate is at version {current}, but no local file has it"));
                }
                migrations.iter().map(|m| m.version).filter(|&v| v <= current).collect()
            }
            None => Vec::new(),
        },
        _ => {
            versions.sort_unstable();
            versions.dedup();
            for v in &versions {
                if !migrations.iter().any(|m| m.version == *v) {
                    problems.push(format!("{} applied version {v}, but no local file has it", tool.name()));
                }
            }
            versions
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let highest = applied_versions.iter().max().copied().unwrap_or(0);
    let mut applied: Vec<&Migration> =
        migrations.iter().filter(|m| applied_versions.contains(&m.version)).collect();
    applied.sort_by_key(|m| m.version);
    let skipped =
        migrations.iter().filter(|m| m.version < highest && !applied_versions.contains(&m.version)).collect();
    Ok(Adoption { applied, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::parse_up_down;

    fn files(versions: &[u64]) -> Vec<Migration> {
        versions
            .iter()
            .map(|v| parse_up_down(&format!("{v:06}_m.up.sql"), "SELECT 1", Some("SELECT 2")).unwrap())
            .collect()
    }

    fn rows(rows: &[(&str, &str)]) -> Vec<Vec<String>> {
        rows.iter().map(|(a, b)| vec![a.to_string(), b.to_string()]).collect()
    }

    fn versions(adoption: &[&Migration]) -> Vec<u64> {
        adoption.iter().map(|m| m.version).collect()
    }

    #[test]
    fn golang_migrate_applied_everything_up_to_its_version() {
        let local = files(&[1, 2, 5, 9, 12]);
        let a = adopt(Tool::GolangMigrate, &rows(&[("9", "0")]), &local).unwrap();
        assert_eq!(versions(&a.applied), [1, 2, 5, 9]);
        assert!(a.skipped.is_empty());
        assert!(adopt(Tool::GolangMigrate, &rows(&[("-1", "0")]), &local).unwrap().applied.is_empty());
        assert!(adopt(Tool::GolangMigrate, &[], &local).unwrap().applied.is_empty());
        let dirty = adopt(Tool::GolangMigrate, &rows(&[("9", "1")]), &local).unwrap_err();
        assert!(dirty[0].contains("dirty") && dirty[0].contains("force 9"), "{dirty:?}");
        let missing = adopt(Tool::GolangMigrate, &rows(&[("7", "0")]), &local).unwrap_err();
        assert_eq!(missing, ["golang-migrate is at version 7, but no local file has it"]);
    }

    #[test]
    fn set_based_tools_applied_exactly_what_they_list() {
        let local = files(&[1, 2, 3, 4]);
        let goose =
            adopt(Tool::Goose, &rows(&[("0", "1"), ("1", "1"), ("3", "1"), ("4", "0")]), &local).unwrap();
        assert_eq!(versions(&goose.applied), [1, 3]);
        assert_eq!(versions(&goose.skipped), [2], "2 was never applied but 3 was");
        let dbmate = adopt(Tool::Dbmate, &rows(&[("2", "1"), ("1", "1")]), &local).unwrap();
        assert_eq!(versions(&dbmate.applied), [1, 2]);
        let flyway = adopt(Tool::Flyway, &rows(&[("1", "true"), ("2", "false")]), &local).unwrap();
        assert_eq!(versions(&flyway.applied), [1]);
        let chm = adopt(Tool::ClickhouseMigrations, &rows(&[("1", "1"), ("9", "1")]), &local).unwrap_err();
        assert_eq!(chm, ["clickhouse-migrations applied version 9, but no local file has it"]);
        let dotted = adopt(Tool::Flyway, &rows(&[("1.1", "true")]), &local).unwrap_err();
        assert_eq!(dotted, ["flyway version \"1.1\" is not a whole number"]);
    }

    #[test]
    fn tools_are_named_as_on_the_command_line() {
        for tool in Tool::ALL {
            assert_eq!(Tool::parse(tool.name()), Some(tool));
            assert!(tool.query("db.t").contains("db.t"));
        }
        assert_eq!(Tool::parse("liquibase"), None);
    }
}
