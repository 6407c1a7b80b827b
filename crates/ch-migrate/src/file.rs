//! Migration files: the seed's `V{n}__name.sql` with its header and `-- ROLLBACK:` lines, and
//! golang-migrate's `NNNN_name.up.sql` / `.down.sql` pairs, read as they are.

use crate::checksum::{Checksum, checksum};
use crate::placeholders::Placeholders;
use crate::split::split;

/// The header keys of the seed's file format.
pub const HEADER_KEYS: [&str; 8] =
    ["Migration", "Version", "Description", "Author", "Created", "Dependencies", "Environment", "Rollback"];

/// What a file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileName {
    /// `V{version}__{name}.sql`.
    Versioned {
        /// The version.
        version: u64,
        /// The name (underscores as written).
        name: String,
    },
    /// `{version}_{name}.up.sql` (golang-migrate; any number of digits).
    Up {
        /// The version.
        version: u64,
        /// The name.
        name: String,
    },
    /// `{version}_{name}.down.sql`.
    Down {
        /// The version.
        version: u64,
        /// The name.
        name: String,
    },
    /// `{version}_{name}.sql`: goose's and dbmate's files (up and down sections in one file)
    /// and clickhouse-migrations' (forward only).
    Sections {
        /// The version.
        version: u64,
        /// The name.
        name: String,
    },
}

/// The kind of a migration file name, or `None` for a file that is no migration.
pub fn parse_file_name(file_name: &str) -> Option<FileName> {
    if let Some(rest) = file_name.strip_prefix('V').and_then(|r| r.strip_suffix(".sql")) {
        let (version, name) = rest.split_once("__")?;
        return Some(FileName::Versioned { version: version.parse().ok()?, name: name.to_string() });
    }
    let (stem, kind) = match (file_name.strip_suffix(".up.sql"), file_name.strip_suffix(".down.sql")) {
        (Some(stem), _) => (stem, 'u'),
        (None, Some(stem)) => (stem, 'd'),
        (None, None) => (file_name.strip_suffix(".sql")?, 's'),
    };
    let (digits, name) = stem.split_once('_')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (version, name) = (digits.parse().ok()?, name.to_string());
    Some(match kind {
        'u' => FileName::Up { version, name },
        'd' => FileName::Down { version, name },
        _ => FileName::Sections { version, name },
    })
}

/// The seed's header (`-- Key: value` lines before the first statement).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// `Migration:` the migration's title.
    pub migration: Option<String>,
    /// `Version:` (must equal the file name's).
    pub version: Option<u64>,
    /// `Description:`.
    pub description: Option<String>,
    /// `Author:`.
    pub author: Option<String>,
    /// `Created:`.
    pub created: Option<String>,
    /// `Dependencies:` versions that must be applied first.
    pub dependencies: Vec<u64>,
    /// `Environment:` where it runs; empty for `all`.
    pub environments: Vec<String>,
    /// `Rollback:` whether the migration can be rolled back.
    pub rollback: Option<bool>,
}

/// How a migration's files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One `V{n}__name.sql` with header and `-- ROLLBACK:` lines.
    Versioned,
    /// golang-migrate's `.up.sql` and optional `.down.sql`, or one file with up and down
    /// sections (goose, dbmate) or forward statements only (clickhouse-migrations).
    UpDown,
}

/// One migration, read from its file(s); statements are split after placeholders are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its version.
    pub version: u64,
    /// Its name.
    pub name: String,
    /// How its files are laid out.
    pub layout: Layout,
    /// The header (empty for golang-migrate files).
    pub header: Header,
    /// The forward text as written.
    pub forward: String,
    /// The rollback statements as written, in order.
    pub rollback: Vec<String>,
    /// Of the file(s) as written.
    pub checksum: Checksum,
}

/// Something wrong with a migration file; files report every problem at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: String,
    /// The line (from 1), when one is to blame.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// `-- Key: value` → (`Key`, `value`), for a key of one word.
fn header_line(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.trim().strip_prefix("--")?.split_once(':')?;
    let key = key.trim();
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_alphabetic())).then_some((key, value.trim()))
}

/// Reads a `V{n}__name.sql` file.
pub fn parse_versioned(file: &str, text: &str) -> Result<Migration, Vec<Problem>> {
    let mut problems = Vec::new();
    let problem = |line: Option<usize>, message: String| Problem { file: file.to_string(), line, message };
    let Some(FileName::Versioned { version, name }) =
        parse_file_name(file.rsplit('/').next().unwrap_or(file))
    else {
        return Err(vec![problem(None, "not a V{version}__{name}.sql file name".into())]);
    };
    let mut header = Header::default();
    let mut rollback = Vec::new();
    let mut in_header = true;
    for (i, line) in text.lines().enumerate() {
        let n = Some(i + 1);
        let trimmed = line.trim();
        if let Some(statement) = trimmed.strip_prefix("-- ROLLBACK:") {
            let statement = statement.trim().trim_end_matches(';').trim_end();
            if !statement.is_empty() {
                rollback.push(statement.to_string());
            }
            continue;
        }
        if !trimmed.is_empty() && !trimmed.starts_with("--") {
            in_header = false;
        }
        let Some((key, value)) = header_line(line).filter(|_| in_header) else { continue };
        match key {
            "Migration" => header.migration = Some(value.into()),
            "Version" => match value.parse::<u64>() {
                Ok(v) if v == version => header.version = Some(v),
                Ok(v) => problems.push(problem(
                    n,
                    format!("Version: {v} disagrees with the file name's version {version}"),
                )),
                Err(_) => problems.push(problem(n, format!("Version: {value:?} is not a number"))),
            },
            "Description" => header.description = Some(value.into()),
            "Author" => header.author = Some(value.into()),
            "Created" => header.created = Some(value.into()),
            "Dependencies" => {
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    match part.parse() {
                        Ok(v) => header.dependencies.push(v),
                        Err(_) => problems
                            .push(problem(n, format!("Dependencies: {part:?} is not a version number"))),
                    }
                }
            }
            "Environment" => {
                header.environments = match value {
                    "" | "all" => Vec::new(),
                    list => list.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect(),
                }
            }
            "Rollback" => match value.to_ascii_lowercase().as_str() {
                "true" | "yes" => header.rollback = Some(true),
                "false" | "no" => header.rollback = Some(false),
                _ => problems.push(problem(n, format!("Rollback: {value:?} is neither true nor false"))),
            },
            unknown => problems.push(problem(
                n,
                format!("unknown header key {unknown:?} (known: {})", HEADER_KEYS.join(", ")),
            )),
        }
    }
    if split(text).is_empty() {
        problems.push(problem(None, "no forward statement".into()));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Migration {
        version,
        name,
        layout: Layout::Versioned,
        header,
        forward: text.to_string(),
        rollback,
        checksum: checksum(text),
    })
}

/// Reads a golang-migrate pair: the `.up.sql` file and, when there is one, its `.down.sql`.
pub fn parse_up_down(up_file: &str, up: &str, down: Option<&str>) -> Result<Migration, Vec<Problem>> {
    let problem =
        |message: &str| vec![Problem { file: up_file.to_string(), line: None, message: message.into() }];
    let Some(FileName::Up { version, name }) = parse_file_name(up_file.rsplit('/').next().unwrap_or(up_file))
    else {
        return Err(problem("not a {version}_{name}.up.sql file name"));
    };
    if split(up).is_empty() {
        return Err(problem("no forward statement"));
    }
    let whole = match down {
        Some(down) => format!("{up}\n-- down\n{down}"),
        None => up.to_string(),
    };
    Ok(Migration {
        version,
        name,
        layout: Layout::UpDown,
        header: Header::default(),
        forward: up.to_string(),
        rollback: down.map(split).unwrap_or_default(),
        checksum: checksum(&whole),
    })
}

/// Reads a `{version}_{name}.sql` file: goose's (`-- +goose Up` / `-- +goose Down`), dbmate's
/// (`-- migrate:up` / `-- migrate:down`), or clickhouse-migrations' (all of it forward).
pub fn parse_sections(file: &str, text: &str) -> Result<Migration, Vec<Problem>> {
    let problem =
        |message: &str| vec![Problem { file: file.to_string(), line: None, message: message.into() }];
    let Some(FileName::Sections { version, name }) = parse_file_name(file.rsplit('/').next().unwrap_or(file))
    else {
        return Err(problem("not a {version}_{name}.sql file name"));
    };
    let marker = |line: &str| -> Option<bool> {
        let t = line.trim().to_ascii_lowercase();
        match t.as_str() {
            "-- +goose up" | "-- migrate:up" => Some(true),
            "-- +goose down" | "-- migrate:down" => Some(false),
            _ => None,
        }
    };
    let (mut up, mut down, mut sections) = (String::new(), String::new(), false);
    let mut in_up = true;
    for line in text.split_inclusive('\n') {
        if let Some(is_up) = marker(line) {
            sections = true;
            in_up = is_up;
            continue;
        }
        if in_up { up.push_str(line) } else { down.push_str(line) }
    }
    if split(&up).is_empty() {
        return Err(problem(if sections {
            "no statement in the up section"
        } else {
            "no forward statement"
        }));
    }
    Ok(Migration {
        version,
        name,
        layout: Layout::UpDown,
        header: Header::default(),
        forward: up,
        rollback: split(&down),
        checksum: checksum(text),
    })
}

impl Migration {
    /// The forward statements with placeholders filled in, or the unknown placeholder names.
    pub fn statements(&self, values: &Placeholders) -> Result<Vec<String>, Vec<String>> {
        Ok(split(&values.substitute(&self.forward)?))
    }

    /// The rollback statements with placeholders filled in, in order.
    pub fn rollback_statements(&self, values: &Placeholders) -> Result<Vec<String>, Vec<String>> {
        self.rollback.iter().map(|s| values.substitute(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "-- Migration: Create complex table with indexes
-- Version: 2
-- Description: Create events table with partitioning and indexing
-- Author: Data Team
-- Created: 2024-01-15
-- Dependencies: 1
-- Environment: all
-- Rollback: true

-- Forward Migration
CREATE TABLE IF NOT EXISTS ${database}.events ${on_cluster} (
    id UInt64, -- note: not a header
    at DateTime
) ENGINE = ${replicated}MergeTree ORDER BY id;

INSERT INTO ${database}.events VALUES (1, now());

-- Rollback Migration
-- ROLLBACK: DROP TABLE IF EXISTS ${database}.events;
-- ROLLBACK: SELECT 1
";

    #[test]
    fn file_names_of_both_layouts() {
        let v = |version, name: &str| FileName::Versioned { version, name: name.into() };
        assert_eq!(parse_file_name("V1__create_users_table.sql"), Some(v(1, "create_users_table")));
        assert_eq!(parse_file_name("V0012__x.sql"), Some(v(12, "x")));
        assert_eq!(
            parse_file_name("000007_add_index.up.sql"),
            Some(FileName::Up { version: 7, name: "add_index".into() })
        );
        assert_eq!(
            parse_file_name("20240115120000_events.down.sql"),
            Some(FileName::Down { version: 20_240_115_120_000, name: "events".into() })
        );
        for not in
            ["README.md", "V1_create.sql", "Vx__a.sql", "abc_name.up.sql", "_name.up.sql", "create.sql"]
        {
            assert_eq!(parse_file_name(not), None, "{not}");
        }
    }

    #[test]
    fn the_seed_format_with_header_forward_and_rollback_lines() {
        let m = parse_versioned("migrations/V2__create_events.sql", SEED).unwrap();
        assert_eq!((m.version, m.name.as_str(), m.layout), (2, "create_events", Layout::Versioned));
        assert_eq!(m.header.dependencies, vec![1]);
        assert_eq!(m.header.environments, Vec::<String>::new());
        assert_eq!(m.header.rollback, Some(true));
        assert_eq!(m.header.author.as_deref(), Some("Data Team"));
        let values =
            Placeholders { database: "db".into(), cluster: Some("main".into()), ..Default::default() };
        let statements = m.statements(&values).unwrap();
        assert_eq!(statements.len(), 2, "{statements:?}");
        assert!(
            statements[0].starts_with("CREATE TABLE IF NOT EXISTS db.events ON CLUSTER main ("),
            "{statements:?}"
        );
        assert!(statements[0].ends_with("ENGINE = ReplicatedMergeTree ORDER BY id"));
        assert_eq!(m.rollback_statements(&values).unwrap(), ["DROP TABLE IF EXISTS db.events", "SELECT 1"]);
    }

    #[test]
    fn every_header_problem_is_reported_at_once() {
        let text = "-- Version: 3\n-- Owner: me\n-- Dependencies: 1, two\n-- Rollback: maybe\nSELECT 1;\n";
        let problems = parse_versioned("V4__x.sql", text).unwrap_err();
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "V4__x.sql:1: Version: 3 disagrees with the file name's version 4",
                "V4__x.sql:2: unknown header key \"Owner\" (known: Migration, Version, Description, Author, Created, Dependencies, Environment, Rollback)",
                "V4__x.sql:3: Dependencies: \"two\" is not a version number",
                "V4__x.sql:4: Rollback: \"maybe\" is neither true nor false",
            ]
        );
        let empty = parse_versioned("V5__empty.sql", "-- Migration: nothing\n").unwrap_err();
        assert_eq!(empty[0].message, "no forward statement");
    }

    #[test]
    fn golang_migrate_pairs_read_as_they_are() {
        let up =
            "CREATE TABLE t (id UInt64) ENGINE = MergeTree ORDER BY id;\nALTER TABLE t ADD COLUMN x String";
        let m = parse_up_down("db/000012_t.up.sql", up, Some("DROP TABLE t")).unwrap();
        assert_eq!((m.version, m.layout), (12, Layout::UpDown));
        let values = Placeholders::default();
        assert_eq!(m.statements(&values).unwrap().len(), 2, "no final ; needed");
        assert_eq!(m.rollback_statements(&values).unwrap(), ["DROP TABLE t"]);
        let without_down = parse_up_down("000013_u.up.sql", "SELECT 1", None).unwrap();
        assert!(without_down.rollback.is_empty());
        assert_ne!(without_down.checksum, m.checksum);
    }

    #[test]
    fn goose_dbmate_and_clickhouse_migrations_files_read_as_they_are() {
        let values = Placeholders::default();
        let goose = "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE a;\n";
        let m = parse_sections("20240101120000_a.sql", goose).unwrap();
        assert_eq!((m.version, m.name.as_str()), (20240101120000, "a"));
        assert_eq!(m.statements(&values).unwrap().len(), 1);
        assert_eq!(m.rollback_statements(&values).unwrap(), ["DROP TABLE a"]);
        let dbmate =
            "-- migrate:up\nCREATE TABLE b (x UInt8) ENGINE = Memory\n\n-- migrate:down\nDROP TABLE b\n";
        let m = parse_sections("20240102_b.sql", dbmate).unwrap();
        assert_eq!(m.rollback_statements(&values).unwrap(), ["DROP TABLE b"]);
        let plain =
            parse_sections("003_c.sql", "CREATE TABLE c (x UInt8) ENGINE = Memory;\nSELECT 1;").unwrap();
        assert_eq!((plain.version, plain.statements(&values).unwrap().len()), (3, 2));
        assert!(plain.rollback.is_empty());
        let empty_up =
            parse_sections("004_d.sql", "-- migrate:up\n-- migrate:down\nDROP TABLE d;").unwrap_err();
        assert_eq!(empty_up[0].message, "no statement in the up section");
        assert_eq!(parse_file_name("004_d.sql"), Some(FileName::Sections { version: 4, name: "d".into() }));
        assert_eq!(parse_file_name("notes.sql"), None);
    }

    #[test]
    fn unknown_placeholders_are_named() {
        let m =
            parse_versioned("V1__a.sql", "CREATE TABLE ${database}.t ${typo} (id UInt8) ENGINE = Memory;")
                .unwrap();
        assert_eq!(m.statements(&Placeholders::default()).unwrap_err(), ["typo"]);
    }
}
