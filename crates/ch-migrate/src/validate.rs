//! What `validate` checks and what `migrate` would apply, as pure functions of the migration
//! files and the applied history: every problem is reported at once.

use crate::checksum::ALGORITHM;
use crate::file::{Migration, Problem};
use crate::placeholders::Placeholders;
use std::collections::BTreeMap;

/// One migration as the history table records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its version.
    pub version: u64,
    /// Its name when applied.
    pub name: String,
    /// The checksum of its file(s) when applied.
    pub checksum: String,
    /// The algorithm of that checksum.
    pub algorithm: String,
}

/// The checks `validate` makes (the configuration's `validation:` section).
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Dependencies must exist and come earlier.
    pub dependencies: bool,
    /// Every migration needs a rollback unless its header says `Rollback: false`.
    pub rollback: bool,
    /// Files larger than this many bytes are refused (0: no limit).
    pub max_size: u64,
    /// The values placeholders take (unknown ones are problems).
    pub placeholders: Placeholders,
}

/// A migration file with where it came from.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The file's path, for messages.
    pub path: &'a str,
    /// Its size in bytes.
    pub size: u64,
    /// What it holds.
    pub migration: &'a Migration,
}

/// Every problem with `sources` against `applied`: duplicate versions, missing or later
/// dependencies, drift of applied files (a CRLF-only change is not drift), applied versions
/// without a file, missing rollbacks, oversized files and unknown placeholders.
pub fn validate(sources: &[Source<'_>], applied: &[Applied], checks: &Checks) -> Vec<Problem> {
    let problem = |file: &str, message: String| Problem { file: file.to_string(), line: None, message };
    let mut problems = Vec::new();
    let mut by_version: BTreeMap<u64, &Source<'_>> = BTreeMap::new();
    for source in sources {
        let m = source.migration;
        if let Some(first) = by_version.insert(m.version, source) {
            problems.push(problem(source.path, format!("version {} is also {}", m.version, first.path)));
        }
        if checks.max_size > 0 && source.size > checks.max_size {
            problems.push(problem(
                source.path,
                format!("{} bytes, over max_migration_size {}", source.size, checks.max_size),
            ));
        }
        let mut unknown = m.statements(&checks.placeholders).err().unwrap_or_default();
        for name in m.rollback_statements(&checks.placeholders).err().unwrap_or_default() {
            if !unknown.contains(&name) {
                unknown.push(name);
            }
        }
        for name in unknown {
            problems.push(problem(source.path, format!("unknown placeholder ${{{name}}}")));
        }
        if checks.rollback && m.rollback.is_empty() && m.header.rollback != Some(false) {
            problems.push(problem(
                source.path,
                "no rollback (add -- ROLLBACK: lines or a .down.sql, or say Rollback: false)".into(),
            ));
        }
    }
    if checks.dependencies {
        for source in sources {
            let m = source.migration;
            for &dep in &m.header.dependencies {
                if dep >= m.version {
                    problems.push(problem(
                        source.path,
                        format!(
                            "depends on {dep}, which is not earlier than {} (a cycle or a wrong order)",
                            m.version
                        ),
                    ));
                } else if !by_version.contains_key(&dep) {
                    problems.push(problem(source.path, format!("depends on {dep}, which no file has")));
                }
            }
        }
    }
    for a in applied {
        match by_version.get(&a.version) {
            None => problems.push(problem(
                &format!("version {}", a.version),
                format!("applied as {:?} but no file has it any more", a.name),
            )),
            Some(source) if a.algorithm == ALGORITHM && a.checksum != source.migration.checksum.hex => {
                problems.push(problem(
                    source.path,
                    format!(
                        "changed since it was applied (checksum {} now {})",
                        short(&a.checksum),
                        short(&source.migration.checksum.hex)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    problems
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

/// The migrations `migrate` would apply, in order: those not applied, up to `target` when
/// given, for `environment` (a header's `Environment:` list, empty meaning all). A pending
/// version lower than an applied one is a problem (it would run out of order).
pub fn plan<'a>(
    migrations: &'a [Migration],
    applied: &[Applied],
    target: Option<u64>,
    environment: &str,
) -> Result<Vec<&'a Migration>, Vec<Problem>> {
    let pending = pending(migrations, applied, target, environment);
    let highest = applied.iter().map(|a| a.version).max();
    let late: Vec<Problem> = pending
        .iter()
        .filter(|m| highest.is_some_and(|h| m.version < h))
        .map(|m| Problem {
            file: format!("V{}__{}", m.version, m.name),
            line: None,
            message: format!(
                "pending, but version {} is already applied: it would run out of order",
                highest.unwrap_or_default()
            ),
        })
        .collect();
    if late.is_empty() { Ok(pending) } else { Err(late) }
}

/// What [`plan`] returns, without refusing versions below an applied one (with
/// `parallel_execution`, dependencies order migrations, not versions).
pub fn pending<'a>(
    migrations: &'a [Migration],
    applied: &[Applied],
    target: Option<u64>,
    environment: &str,
) -> Vec<&'a Migration> {
    let done: std::collections::BTreeSet<u64> = applied.iter().map(|a| a.version).collect();
    let mut pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !done.contains(&m.version))
        .filter(|m| target.is_none_or(|t| m.version <= t))
        .filter(|m| {
            m.header.environments.is_empty() || m.header.environments.iter().any(|e| e == environment)
        })
        .collect();
    pending.sort_by_key(|m| m.version);
    pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::parse_versioned;

    fn m(version: u64, text: &str) -> Migration {
        parse_versioned(&format!("V{version}__m{version}.sql"), text).unwrap()
    }

    fn applied(m: &Migration) -> Applied {
        Applied {
            version: m.version,
            name: m.name.clone(),
            checksum: m.checksum.hex.clone(),
            algorithm: ALGORITHM.into(),
        }
    }

    fn messages(problems: &[Problem]) -> Vec<String> {
        problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_problem_at_once() {
        let one = m(1, "CREATE TABLE a (x UInt8) ENGINE = Memory;\n-- ROLLBACK: DROP TABLE a");
        let two =
            m(2, "-- Dependencies: 1, 7, 3\nCREATE TABLE ${database}.b ${typo} (x UInt8) ENGINE = Memory;");
        let three = m(3, "-- Rollback: false\nSELECT 1;");
        let again = m(3, "-- Rollback: false\nSELECT 2;");
        let sources = [
            Source { path: "V1__m1.sql", size: 10, migration: &one },
            Source { path: "V2__m2.sql", size: 5000, migration: &two },
            Source { path: "V3__m3.sql", size: 10, migration: &three },
            Source { path: "V3__other.sql", size: 10, migration: &again },
        ];
        let mut edited = applied(&one);
        edited.checksum = "0".repeat(64);
        let gone =
            Applied { version: 9, name: "m9".into(), checksum: "x".into(), algorithm: ALGORITHM.into() };
        let checks = Checks {
            dependencies: true,
            rollback: true,
            max_size: 1000,
            placeholders: Placeholders::default(),
        };
        let drift = format!(
            "V1__m1.sql: changed since it was applied (checksum 000000000000 now {})",
            &one.checksum.hex[..12]
        );
        assert_eq!(
            messages(&validate(&sources, &[edited, gone], &checks)),
            [
                "V2__m2.sql: 5000 bytes, over max_migration_size 1000",
                "V2__m2.sql: unknown placeholder ${typo}",
                "V2__m2.sql: no rollback (add -- ROLLBACK: lines or a .down.sql, or say Rollback: false)",
                "V3__other.sql: version 3 is also V3__m3.sql",
                "V2__m2.sql: depends on 7, which is not earlier than 2 (a cycle or a wrong order)",
                "V2__m2.sql: depends on 3, which is not earlier than 2 (a cycle or a wrong order)",
                drift.as_str(),
                "version 9: applied as \"m9\" but no file has it any more",
            ]
        );
    }

    #[test]
    fn a_crlf_only_change_is_not_drift() {
        let lf = m(1, "CREATE TABLE a (x UInt8) ENGINE = Memory;\n-- ROLLBACK: DROP TABLE a\n");
        let crlf = m(1, "CREATE TABLE a (x UInt8) ENGINE = Memory;\r\n-- ROLLBACK: DROP TABLE a\r\n");
        let sources = [Source { path: "V1__m1.sql", size: 10, migration: &crlf }];
        assert!(validate(&sources, &[applied(&lf)], &Checks::default()).is_empty());
    }

    #[test]
    fn the_plan_is_what_is_pending_in_order_for_the_environment() {
        let all = vec![
            m(3, "SELECT 3;"),
            m(1, "SELECT 1;"),
            m(2, "-- Environment: production\nSELECT 2;"),
            m(4, "-- Environment: development, staging\nSELECT 4;"),
        ];
        let versions = |plan: Vec<&Migration>| plan.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(plan(&all, &[], None, "staging").unwrap()), [1, 3, 4]);
        assert_eq!(versions(plan(&all, &[], Some(3), "production").unwrap()), [1, 2, 3]);
        assert_eq!(versions(plan(&all, &[applied(&all[1])], None, "production").unwrap()), [2, 3]);
        let late = plan(&all, &[applied(&all[0])], None, "production").unwrap_err();
        assert_eq!(
            messages(&late),
            [
                "V1__m1: pending, but version 3 is already applied: it would run out of order",
                "V2__m2: pending, but version 3 is already applied: it would run out of order",
            ]
        );
    }
}
