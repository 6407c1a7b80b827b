//! `report`: what was applied, what is pending, what failed, how long each migration and
//! statement took and how every host of a cluster answered, as JSON, Markdown or one
//! self-contained HTML page. Built from the files, the history and the journal; pure.

use crate::file::Migration;
use crate::history::{EventRow, StatementRun};
use crate::validate::Applied;
use serde::Serialize;
use std::fmt::Write as _;

/// One migration's line in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Version.
    pub version: u64,
    /// Name.
    pub name: String,
    /// `applied`, `applied, file changed`, `pending`, `rolled back`, `failed`, `in doubt`,
    /// `rollback failed` or `applied, file missing`.
    pub state: String,
    /// When its latest event happened.
    pub at: String,
    /// How long its latest apply took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// Statements its latest apply ran.
    pub statements: Option<u32>,
    /// Who applied it (server version and host).
    pub by: String,
    /// Per-host results of its ON CLUSTER statements (`statement N: host:port OK`).
    pub hosts: Vec<String>,
}

/// A failure the history or journal records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Version.
    pub version: u64,
    /// The statement, when the journal names one.
    pub statement: Option<u32>,
    /// When.
    pub at: String,
    /// What the server said.
    pub error: String,
}

/// One statement's time, for `--performance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// Version.
    pub version: u64,
    /// Statement index.
    pub statement: u32,
    /// Milliseconds.
    pub duration_ms: u64,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The database.
    pub database: String,
    /// The server's version.
    pub server: String,
    /// The environment (empty: none).
    pub environment: String,
    /// When the report was made (UTC).
    pub generated_at: String,
    /// Every migration, by version.
    pub migrations: Vec<Row>,
    /// Failed statements and rollbacks, oldest first.
    pub failures: Vec<Failure>,
    /// The slowest migrations (version, milliseconds), slowest first; with `--performance`.
    pub slowest_migrations: Vec<(u64, u64)>,
    /// The slowest statements, slowest first; with `--performance`.
    pub slowest_statements: Vec<Timing>,
    /// Total time of every apply recorded, in milliseconds.
    pub total_ms: u64,
}

/// Where the report comes from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The migration files.
    pub files: &'a [Migration],
    /// The applied state.
    pub applied: &'a [Applied],
    /// Every history event, oldest first.
    pub events: &'a [EventRow],
    /// Every statement run of the journal, oldest first.
    pub runs: &'a [StatementRun],
}

/// How many of the slowest migrations and statements `--performance` lists.
const SLOWEST: usize = 10;

impl Report {
    /// Builds the report; `performance` adds the slowest migrations and statements.
    pub fn build(inputs: Inputs<'_>, performance: bool) -> Self {
        let mut versions: Vec<u64> = inputs.files.iter().map(|m| m.version).collect();
        versions.extend(inputs.applied.iter().map(|a| a.version));
        versions.sort_unstable();
        versions.dedup();
        let migrations = versions.into_iter().map(|v| row(v, &inputs)).collect();
        let mut failures: Vec<Failure> = inputs
            .runs
            .iter()
            .filter(|r| r.phase == "failed")
            .map(|r| Failure {
                version: r.version,
                statement: Some(r.index),
                at: r.at.clone(),
                error: r.error.clone(),
            })
            .collect();
        failures.extend(inputs.events.iter().filter(|e| e.status == "rollback_failed").map(|e| Failure {
            version: e.version,
            statement: None,
            at: e.at.clone(),
            error: e.note.clone(),
        }));
        failures.sort_by(|a, b| a.at.cmp(&b.at));
        let applies = || inputs.events.iter().filter(|e| e.status == "applied");
        let total_ms = applies().map(|e| e.duration_ms).sum();
        let (mut slowest_migrations, mut slowest_statements) = (Vec::new(), Vec::new());
        if performance {
            slowest_migrations = applies().map(|e| (e.version, e.duration_ms)).collect();
            slowest_migrations.sort_by_key(|&(v, ms)| (std::cmp::Reverse(ms), v));
            slowest_migrations.truncate(SLOWEST);
            slowest_statements = inputs
                .runs
                .iter()
                .filter(|r| r.phase == "end")
                .filter_map(|r| {
                    r.duration_ms.map(|ms| Timing { version: r.version, statement: r.index, duration_ms: ms })
                })
                .collect();
            slowest_statements.sort_by_key(|t| (std::cmp::Reverse(t.duration_ms), t.version, t.statement));
            slowest_statements.truncate(SLOWEST);
        }
        Report {
            database: String::new(),
            server: String::new(),
            environment: String::new(),
            generated_at: String::new(),
            migrations,
            failures,
            slowest_migrations,
            slowest_statements,
            total_ms,
        }
    }

    /// How many migrations are in `state`.
    pub fn count(&self, state: &str) -> usize {
        self.migrations.iter().filter(|r| r.state == state).count()
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The report as Markdown (for a pull request or a wiki page).
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# Migration report: {}\n\n", self.database);
        let _ = writeln!(out, "{}\n", self.summary());
        out.push_str("| Version | Name | State | At | Duration | Statements | Hosts |\n");
        out.push_str("|---:|---|---|---|---:|---:|---|\n");
        for r in &self.migrations {
            let _ = writeln!(
                out,
                "| V{} | {} | {} | {} | {} | {} | {} |",
                r.version,
                md(&r.name),
                r.state,
                r.at,
                r.duration_ms.map(ms).unwrap_or_default(),
                r.statements.map(|n| n.to_string()).unwrap_or_default(),
                md(&r.hosts.join("<br>"))
            );
        }
        if !self.failures.is_empty() {
            out.push_str("\n## Failures\n\n| Version | Statement | At | Error |\n|---:|---:|---|---|\n");
            for f in &self.failures {
                let statement = f.statement.map(|s| s.to_string()).unwrap_or_else(|| "rollback".into());
                let _ = writeln!(out, "| V{} | {statement} | {} | {} |", f.version, f.at, md(&f.error));
            }
        }
        if !self.slowest_statements.is_empty() || !self.slowest_migrations.is_empty() {
            out.push_str("\n## Performance\n\n| Migration | Duration |\n|---:|---:|\n");
            for (v, d) in &self.slowest_migrations {
                let _ = writeln!(out, "| V{v} | {} |", ms(*d));
            }
            out.push_str("\n| Statement | Duration |\n|---:|---:|\n");
            for t in &self.slowest_statements {
                let _ = writeln!(out, "| V{} #{} | {} |", t.version, t.statement, ms(t.duration_ms));
            }
        }
        out
    }

    /// The report as one HTML page: styles inline, nothing loaded from elsewhere; a click on a
    /// column heading sorts the table.
    pub fn to_html(&self) -> String {
        let mut body = String::new();
        let _ = write!(
            body,
            "<h1>Migration report: {}</h1>\n<p class=\"summary\">{}</p>\n",
            esc(&self.database),
            esc(&self.summary())
        );
        body.push_str(
            "<table id=\"migrations\"><thead><tr><th>Version</th><th>Name</th><th>State</th><th>At</th>\
             <th>Duration</th><th>Statements</th><th>Hosts</th></tr></thead><tbody>\n",
        );
        for r in &self.migrations {
            let _ = writeln!(
                body,
                "<tr class=\"{}\" data-version=\"{}\"><td data-sort=\"{}\">V{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td data-sort=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                r.state.split(',').next().unwrap_or("").replace(' ', "-"),
                r.version,
                r.version,
                r.version,
                esc(&r.name),
                esc(&r.state),
                esc(&r.at),
                r.duration_ms.unwrap_or(0),
                r.duration_ms.map(ms).unwrap_or_default(),
                r.statements.map(|n| n.to_string()).unwrap_or_default(),
                r.hosts.iter().map(|h| esc(h)).collect::<Vec<_>>().join("<br>")
            );
        }
        body.push_str("</tbody></table>\n");
        if !self.failures.is_empty() {
            body.push_str(
                "<h2>Failures</h2>\n<table id=\"failures\"><thead><tr><th>Version</th><th>Statement</th>\
                 <th>At</th><th>Error</th></tr></thead><tbody>\n",
            );
            for f in &self.failures {
                let statement = f.statement.map(|s| s.to_string()).unwrap_or_else(|| "rollback".into());
                let _ = writeln!(
                    body,
                    "<tr><td>V{}</td><td>{statement}</td><td>{}</td><td><pre>{}</pre></td></tr>",
                    f.version,
                    esc(&f.at),
                    esc(&f.error)
                );
            }
            body.push_str("</tbody></table>\n");
        }
        if !self.slowest_statements.is_empty() || !self.slowest_migrations.is_empty() {
            body.push_str("<h2>Performance</h2>\n<table id=\"slowest-migrations\"><thead><tr><th>Migration</th><th>Duration</th></tr></thead><tbody>\n");
            for (v, d) in &self.slowest_migrations {
                let _ = writeln!(body, "<tr><td>V{v}</td><td>{}</td></tr>", ms(*d));
            }
            body.push_str("</tbody></table>\n<table id=\"slowest-statements\"><thead><tr><th>Statement</th><th>Duration</th></tr></thead><tbody>\n");
            for t in &self.slowest_statements {
                let _ = writeln!(
                    body,
                    "<tr><td>V{} #{}</td><td>{}</td></tr>",
                    t.version,
                    t.statement,
                    ms(t.duration_ms)
                );
            }
            body.push_str("</tbody></table>\n");
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Migration report: {}</title>\n\
             <style>{STYLE}</style>\n</head>\n<body>\n{body}<script>{SCRIPT}</script>\n</body>\n</html>\n",
            esc(&self.database)
        )
    }

    /// One line: database, server, counts, total time.
    pub fn summary(&self) -> String {
        let env = if self.environment.is_empty() { String::new() } else { format!(", {}", self.environment) };
        format!(
            "Database {} on ClickHouse {}{env}: {} applied, {} pending, {} failed or in doubt; {} applying in total; made {}",
            self.database,
            self.server,
            self.migrations.iter().filter(|r| r.state.starts_with("applied")).count(),
            self.migrations.iter().filter(|r| r.state == "pending" || r.state == "rolled back").count(),
            self.migrations
                .iter()
                .filter(|r| matches!(r.state.as_str(), "failed" | "in doubt" | "rollback failed"))
                .count(),
            ms(self.total_ms),
            self.generated_at
        )
    }
}

/// The row of `version`: its state from the latest history event and the journal after it.
fn row(version: u64, inputs: &Inputs<'_>) -> Row {
    let file = inputs.files.iter().find(|m| m.version == version);
    let applied = inputs.applied.iter().find(|a| a.version == version);
    let events: Vec<&EventRow> = inputs.events.iter().filter(|e| e.version == version).collect();
    let latest = events.last().copied();
    let last_apply = events.iter().rev().find(|e| e.status == "applied").copied();
    // The journal's runs since the latest event belong to an apply not finished yet.
    let runs: Vec<&StatementRun> = inputs.runs.iter().filter(|r| r.version == version).collect();
    let since = runs.iter().rev().take_while(|r| latest.is_none_or(|e| r.seq > e.seq)).count();
    let unfinished = &runs[runs.len() - since..];
    let state = match (applied, file, latest.map(|e| e.status.as_str())) {
        (Some(_), _, Some("rollback_failed")) => "rollback failed",
        (Some(_), None, _) => "applied, file missing",
        (Some(a), Some(m), _) if a.checksum != m.checksum.hex => "applied, file changed",
        (Some(_), Some(_), _) => "applied",
        (None, _, _) if unfinished.last().is_some_and(|r| r.phase == "failed") => "failed",
        (None, _, _) if unfinished.last().is_some_and(|r| r.phase == "start") => "in doubt",
        (None, _, Some("rolled_back")) => "rolled back",
        (None, _, _) => "pending",
    };
    let name = file.map(|m| m.name.clone()).or_else(|| applied.map(|a| a.name.clone())).unwrap_or_default();
    let hosts = runs
        .iter()
        .filter(|r| !r.hosts.is_empty())
        .map(|r| format!("statement {}: {}", r.index, r.hosts))
        .collect();
    Row {
        version,
        name,
        state: state.into(),
        at: latest.map(|e| e.at.clone()).unwrap_or_default(),
        duration_ms: last_apply.filter(|_| applied.is_some()).map(|e| e.duration_ms),
        statements: last_apply.filter(|_| applied.is_some()).map(|e| e.statements),
        by: last_apply.map(|e| e.by.clone()).unwrap_or_default(),
        hosts,
    }
}

fn ms(ms: u64) -> String {
    migrate_cli::format::duration(std::time::Duration::from_millis(ms))
}

fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ").replace('<', "&lt;").replace('>', "&gt;")
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3;cursor:pointer}tr.applied td:nth-child(3){color:#176d2c}tr.pending td:nth-child(3){color:#8a6d00}\
tr.failed td:nth-child(3),tr.in-doubt td:nth-child(3),tr.rollback-failed td:nth-child(3){color:#b00020;font-weight:bold}\
pre{margin:0;white-space:pre-wrap}.summary{color:#555}";

/// Sorts a table by the clicked column (numbers by `data-sort`), and counts the rows it read
/// into `data-rows` on the table (what a browser made of the page, for the test).
const SCRIPT: &str = "for(const t of document.querySelectorAll('table')){\
const rows=t.tBodies[0]?t.tBodies[0].rows:[];t.dataset.rows=rows.length;\
t.querySelectorAll('th').forEach((th,i)=>th.addEventListener('click',()=>{\
const key=r=>{const c=r.cells[i];return c.dataset.sort!==undefined?Number(c.dataset.sort):c.textContent};\
const sorted=[...t.tBodies[0].rows].sort((a,b)=>key(a)<key(b)?-1:key(a)>key(b)?1:0);\
if(th.dataset.asc){sorted.reverse();delete th.dataset.asc}else th.dataset.asc=1;\
sorted.forEach(r=>t.tBodies[0].appendChild(r));}));}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::parse_versioned;

    fn m(version: u64) -> Migration {
        parse_versioned(&format!("V{version}__m{version}.sql"), &format!("SELECT {version};")).unwrap()
    }

    fn event(version: u64, status: &str, at: &str, ms: u64) -> EventRow {
        EventRow {
            version,
            name: format!("m{version}"),
            status: status.into(),
            statements: 1,
            duration_ms: ms,
            at: at.into(),
            seq: at.bytes().filter(u8::is_ascii_digit).fold(0, |n, d| n * 10 + u64::from(d - b'0')),
            by: "26.9@host".into(),
            environment: String::new(),
            note: if status == "rollback_failed" { "statement 0 failed".into() } else { String::new() },
        }
    }

    fn run(version: u64, phase: &str, at: &str, ms: u64, hosts: &str) -> StatementRun {
        StatementRun {
            version,
            index: 0,
            query_id: format!("q{version}"),
            phase: phase.into(),
            duration_ms: (phase != "start").then_some(ms),
            at: at.into(),
            seq: at.bytes().filter(u8::is_ascii_digit).fold(0, |n, d| n * 10 + u64::from(d - b'0')),
            error: if phase == "failed" { "Code: 60. table missing".into() } else { String::new() },
            hosts: hosts.into(),
        }
    }

    fn applied(m: &Migration) -> Applied {
        Applied {
            version: m.version,
            name: m.name.clone(),
            checksum: m.checksum.hex.clone(),
            algorithm: String::new(),
        }
    }

    #[test]
    fn every_state_a_migration_can_be_in() {
        let files: Vec<Migration> = (1..=7).map(m).collect();
        let mut changed = applied(&files[1]);
        changed.checksum = "edited".into();
        let gone = Applied { version: 9, name: "m9".into(), checksum: "x".into(), algorithm: String::new() };
        let applied_state = [applied(&files[0]), changed, applied(&files[6]), gone];
        let events = [
            event(1, "applied", "2026-12-01 10:00:00", 1500),
            event(2, "applied", "2026-12-01 10:00:01", 20),
            event(3, "applied", "2026-12-01 10:00:02", 30),
            event(3, "rolled_back", "2026-12-01 10:00:03", 5),
            event(7, "applied", "2026-12-01 10:00:04", 40),
            event(7, "rollback_failed", "2026-12-01 10:00:05", 1),
            event(9, "applied", "2026-12-01 09:00:00", 10),
        ];
        let runs = [
            run(1, "end", "2026-12-01 10:00:00", 1400, "n1:9000 OK; n2:9000 OK"),
            run(4, "failed", "2026-12-01 10:00:06", 3, ""),
            run(5, "start", "2026-12-01 10:00:07", 0, ""),
        ];
        let inputs = Inputs { files: &files, applied: &applied_state, events: &events, runs: &runs };
        let report = Report::build(inputs, true);
        let states: Vec<(u64, &str)> =
            report.migrations.iter().map(|r| (r.version, r.state.as_str())).collect();
        assert_eq!(
            states,
            [
                (1, "applied"),
                (2, "applied, file changed"),
                (3, "rolled back"),
                (4, "failed"),
                (5, "in doubt"),
                (6, "pending"),
                (7, "rollback failed"),
                (9, "applied, file missing"),
            ]
        );
        assert_eq!(report.migrations[0].hosts, ["statement 0: n1:9000 OK; n2:9000 OK"]);
        assert_eq!(report.migrations[0].duration_ms, Some(1500));
        assert_eq!(report.migrations[2].duration_ms, None, "a rolled back migration has no apply time");
        assert_eq!(report.failures.len(), 2);
        assert_eq!(report.failures[0].statement, None, "the failed rollback came first");
        assert_eq!(report.failures[1].statement, Some(0));
        assert_eq!(report.slowest_migrations[0], (1, 1500));
        assert_eq!(report.slowest_statements[0].duration_ms, 1400);
        assert_eq!(report.total_ms, 1500 + 20 + 30 + 40 + 10);
        assert!(
            report.summary().contains("3 applied, 2 pending, 3 failed or in doubt"),
            "{}",
            report.summary()
        );
    }

    #[test]
    fn text_from_files_and_servers_is_escaped() {
        let files = [parse_versioned("V1__a.sql", "SELECT 1;").unwrap()];
        let runs = [StatementRun {
            error: "<script>alert(1)</script> | x".into(),
            ..run(1, "failed", "2026-12-01 10:00:00", 1, "")
        }];
        let report = Report::build(Inputs { files: &files, applied: &[], events: &[], runs: &runs }, false);
        let html = report.to_html();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert"));
        let markdown = report.to_markdown();
        assert!(markdown.contains("&lt;script&gt;alert(1)&lt;/script&gt; \\| x"), "{markdown}");
        assert!(report.slowest_statements.is_empty(), "no performance section unless asked");
    }
}
