//! What ch-migrate tells operators after the fact, on ClickHouse 18.16 and on the modern
//! engine: `report` as HTML checked in a real headless browser, Markdown and JSON; `status`
//! naming a statement in doubt with its file, index and text, and `--show-rollback`; `profile`;
//! per-host results of ON CLUSTER statements on the test cluster.

mod common;

use common::{project_at, project_with, run};
use migrate_testkit::{TestClickHouse, cli, on_every_clickhouse};
use std::path::Path;

/// Three migrations that apply and one whose second statement fails (the table is missing).
fn failing_project(dir: &Path, db: &TestClickHouse) {
    project_with(
        dir,
        db,
        &[
            (
                "V1__create_events.sql",
                "-- Migration: events\n-- Version: 1\nCREATE TABLE ${database}.events (id UInt64) ENGINE = MergeTree ORDER BY id;\n-- ROLLBACK: DROP TABLE ${database}.events;\n",
            ),
            (
                "V2__add_kind.sql",
                "-- Version: 2\nALTER TABLE ${database}.events ADD COLUMN kind String;\nINSERT INTO ${database}.events (id, kind) VALUES (1, '<b>');\n-- ROLLBACK: ALTER TABLE ${database}.events DROP COLUMN kind;\n",
            ),
            ("V3__views.sql", "-- Version: 3\n-- Rollback: false\nSELECT 1;\n"),
            (
                "V4__broken.sql",
                "-- Version: 4\nCREATE TABLE ${database}.ok (id UInt8) ENGINE = Memory;\nALTER TABLE ${database}.missing ADD COLUMN x UInt8;\n-- ROLLBACK: DROP TABLE ${database}.ok;\n",
            ),
        ],
    );
}

#[tokio::test]
async fn report_html_in_a_browser_markdown_and_json_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        failing_project(dir.path(), &db);
        let failed = run(dir.path(), &["migrate", "-q"]);
        assert_eq!(failed.status.code(), Some(1), "{}", cli::transcript(&failed));

        let html = run(dir.path(), &["report", "--format", "html", "--performance"]);
        assert_eq!(html.status.code(), Some(0), "{}", cli::transcript(&html));
        let page = dir.path().join("migration-report.html");
        let source = std::fs::read_to_string(&page).unwrap();
        for reference in ["<link", "src=", "href=", "@import", "url("] {
            assert!(
                !source.contains(reference),
                "self-contained: nothing loaded from elsewhere ({reference})"
            );
        }
        let dom = migrate_testkit::browser::rendered_dom(&page);
        // The browser ran the page's script, which counts the rows it parsed into each table.
        assert!(dom.contains(r#"id="migrations" data-rows="4""#), "{}: {dom}", db.engine.name());
        assert!(dom.contains(r#"id="failures" data-rows="1""#), "{dom}");
        assert!(dom.contains(r#"id="slowest-statements""#), "{dom}");
        for state in ["<td>applied</td>", "<td>failed</td>"] {
            assert!(dom.contains(state), "{state} in {dom}");
        }
        assert!(dom.contains("missing"), "the failed statement's error is shown: {dom}");

        let markdown = run(dir.path(), &["report", "--format", "markdown"]);
        let text = String::from_utf8_lossy(&markdown.stdout);
        assert!(text.contains("| V4 | broken | failed |"), "{text}");
        assert!(text.contains("3 applied, 0 pending, 1 failed or in doubt"), "{text}");

        let json = run(dir.path(), &["report", "--format", "json", "--performance"]);
        let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(value["migrations"].as_array().unwrap().len(), 4);
        assert_eq!(value["migrations"][3]["state"], "failed");
        assert_eq!(value["failures"][0]["statement"], 1);
        assert!(!value["slowest_statements"].as_array().unwrap().is_empty());

        let wrong = run(dir.path(), &["status", "--format", "html"]);
        assert_eq!(wrong.status.code(), Some(2), "{}", cli::transcript(&wrong));
    })
    .await;
}

#[tokio::test]
async fn status_names_a_statement_in_doubt_and_shows_rollbacks_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        failing_project(dir.path(), &db);
        std::fs::remove_file(dir.path().join("migrations/V4__broken.sql")).unwrap();
        let applied = run(dir.path(), &["migrate", "-q", "--version", "1"]);
        assert_eq!(applied.status.code(), Some(0), "{}", cli::transcript(&applied));
        // A run that died inside V2's statement 1 (after it started, before its end was kept).
        let statement = format!("INSERT INTO {}.events (id, kind) VALUES (1, '<b>')", db.database);
        let sum = ch_migrate::checksum(&statement).hex;
        let query_id = ch_migrate::apply::query_id(&db.database, 2, 1, &sum);
        db.execute(&format!(
            "INSERT INTO {}.schema_migrations_journal (version, statement, checksum, query_id, phase, at, error, hosts, seq) \
             VALUES (2, 1, '{sum}', '{query_id}', 'start', now(), '', '', toUInt64(now()) * 1000 + 999)",
            db.database
        ))
        .await
        .unwrap();
        let status = run(dir.path(), &["status", "--show-rollback"]);
        let text = cli::transcript(&status);
        assert_eq!(status.status.code(), Some(0), "{text}");
        assert!(text.contains("statement 1 of ") && text.contains("V2__add_kind.sql in doubt"), "{text}");
        assert!(text.contains(&query_id) && text.contains("INSERT INTO"), "{text}");
        assert!(text.contains("repair --migration V2 --statement 1 --done"), "{text}");
        assert!(text.contains("rollback: 1 written statement(s)"), "V1's rollback: {text}");

        let json = run(dir.path(), &["status", "--format", "json"]);
        let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(value["migrations"][1]["in_doubt"][0]["statement"], 1, "{value}");

        let profile = run(dir.path(), &["profile", "--migration", "V1__create_events.sql"]);
        let text = cli::transcript(&profile);
        assert_eq!(profile.status.code(), Some(0), "{text}");
        assert!(text.contains("recorded when applied") && text.contains("measured now"), "{text}");
        let scratch = "SELECT count() FROM system.databases WHERE name LIKE 'ch_migrate_profile_%'";
        assert_eq!(common::scalar(&db, scratch).await, "0", "the scratch database is dropped");
    })
    .await;
}

#[tokio::test]
async fn on_a_cluster_the_report_shows_every_host_and_the_other_node_sees_the_history() {
    let cluster = migrate_testkit::clickhouse_cluster().await;
    let files = [(
        "V1__replicated.sql",
        "CREATE TABLE ${database}.r ${on_cluster} (id UInt64) ENGINE = ${replicated}MergeTree('/clickhouse/tables/{shard}/${database}/r', '{replica}') ORDER BY id;\n\
         ALTER TABLE ${database}.r ${on_cluster} ADD COLUMN note String;\n\
         -- ROLLBACK: DROP TABLE ${database}.r ${on_cluster}\n",
    )];
    let mut dirs = Vec::new();
    for node in &cluster.nodes[..2] {
        let dir = migrate_testkit::temp_dir();
        project_at(dir.path(), node, &cluster.database, &files);
        let config = dir.path().join("configs/migration-config.yml");
        let text = std::fs::read_to_string(&config).unwrap() + "cluster: replicated\n";
        std::fs::write(config, text).unwrap();
        dirs.push(dir);
    }
    let migrated = run(dirs[0].path(), &["migrate"]);
    let text = cli::transcript(&migrated);
    assert_eq!(migrated.status.code(), Some(0), "{text}");
    assert!(text.contains("statement 0: ") && text.contains(" OK"), "per-host status is logged: {text}");
    let report = run(dirs[0].path(), &["report", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let hosts = value["migrations"][0]["hosts"].as_array().unwrap().clone();
    assert_eq!(hosts.len(), 2, "both statements ran ON CLUSTER: {value}");
    assert!(
        hosts.iter().all(|h| h.as_str().unwrap().matches(" OK").count() == 2),
        "two hosts each: {hosts:?}"
    );
    let status = run(dirs[1].path(), &["status", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(value["migrations"][0]["state"], "applied", "node 2 reads the replicated history: {value}");
}
