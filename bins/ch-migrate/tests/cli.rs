//! `ch-migrate` as operators run it, on ClickHouse 18.16 and on the modern engine: a project
//! made with `init` and `create`, migrated, rerun, raced by eight processes; bad configuration,
//! invalid files and a held lock refused with their exit codes and nothing applied.

mod common;

use common::{BIN, migrate, project_with, scalar};
use migrate_testkit::{TestClickHouse, cli, on_every_clickhouse};
use std::path::Path;

#[test]
fn help_documents_examples_flags_and_exit_codes() {
    let (help, settings) = cli::help(BIN);
    settings.bind(|| insta::assert_snapshot!("help", help));
}

/// A project in `dir` whose configuration points at the test database `db`, with three
/// migrations (a table, a column and rows, a mutation).
fn project(dir: &Path, db: &TestClickHouse) {
    project_with(
        dir,
        db,
        &[
            (
                "V1__create_events.sql",
                "-- Migration: events\n-- Version: 1\nCREATE TABLE ${database}.events (id UInt64, at DateTime) ENGINE = MergeTree ORDER BY id;\n-- ROLLBACK: DROP TABLE ${database}.events;\n",
            ),
            (
                "V2__add_kind.sql",
                "-- Migration: kind\n-- Version: 2\n-- Dependencies: 1\nALTER TABLE ${database}.events ADD COLUMN kind String;\nINSERT INTO ${database}.events (id, kind) VALUES (1, 'a'), (2, 'b');\n-- ROLLBACK: ALTER TABLE ${database}.events DROP COLUMN kind;\n",
            ),
            (
                "V3__backfill.sql",
                "-- Migration: backfill\n-- Version: 3\nALTER TABLE ${database}.events UPDATE kind = 'z' WHERE id = 2;\n-- ROLLBACK: SELECT 1;\n",
            ),
        ],
    );
}

#[tokio::test]
async fn migrate_status_and_a_rerun_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        project(dir.path(), &db);
        let dry = migrate(dir.path(), &["--dry-run"]);
        assert_eq!(dry.status.code(), Some(0), "{}", cli::transcript(&dry));
        let shown = String::from_utf8_lossy(&dry.stdout);
        assert!(
            shown.contains("DRY RUN: 3 migration(s)") && shown.contains("waits for the mutation"),
            "{shown}"
        );
        let tables = format!("SELECT count() FROM system.tables WHERE database = '{}'", db.database);
        assert_eq!(
            scalar(&db, &tables).await,
            "0",
            "{}: a dry run writes nothing, not even the history",
            db.engine
        );

        let run = migrate(dir.path(), &[]);
        assert_eq!(run.status.code(), Some(0), "{}", cli::transcript(&run));
        assert!(String::from_utf8_lossy(&run.stdout).contains("Applied 3 migration(s)"));
        let kinds = scalar(
            &db,
            &format!("SELECT groupArray(kind) FROM (SELECT kind FROM {}.events ORDER BY id)", db.database),
        )
        .await;
        assert_eq!(kinds, "['a','z']", "{}: the mutation is done when migrate returns", db.engine);

        let again = migrate(dir.path(), &[]);
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("Nothing to apply: 3"),
            "{}",
            cli::transcript(&again)
        );
        let status = cli::run(cli::command(BIN, dir.path()).args(["status", "--format", "json"]));
        let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(json["migrations"].as_array().unwrap().len(), 3);
        assert!(json["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "{json}");
    })
    .await;
}

#[tokio::test]
async fn eight_concurrent_processes_apply_each_migration_once() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        project(dir.path(), &db);
        let children: Vec<_> = (0..8)
            .map(|_| cli::command(BIN, dir.path()).args(["migrate", "-q", "--lock-timeout", "120"]).spawn().unwrap())
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}: {}", db.engine, cli::transcript(&out));
        }
        let events = format!(
            "SELECT count() FROM {}.schema_migrations WHERE status = 'applied' GROUP BY version ORDER BY version FORMAT CSV",
            db.database
        );
        assert_eq!(scalar(&db, &events).await.split_whitespace().collect::<Vec<_>>(), ["1", "1", "1"], "{}", db.engine);
        let rows = scalar(&db, &format!("SELECT count() FROM {}.events", db.database)).await;
        assert_eq!(rows, "2", "{}: the INSERT ran once", db.engine);
    })
    .await;
}

#[tokio::test]
async fn refusals_have_their_exit_codes_and_apply_nothing() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        project(dir.path(), &db);
        let config = dir.path().join("configs/migration-config.yml");
        let original = std::fs::read_to_string(&config).unwrap();

        std::fs::write(&config, format!("{original}\nmigraton:\n  table_name: x\n")).unwrap();
        let bad = migrate(dir.path(), &[]);
        assert_eq!(bad.status.code(), Some(2), "{}", cli::transcript(&bad));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("migraton"));
        std::fs::write(&config, &original).unwrap();

        let duplicate = dir.path().join("migrations/V2__again.sql");
        std::fs::write(&duplicate, "-- Version: 2\nSELECT 1;\n").unwrap();
        let invalid = migrate(dir.path(), &[]);
        assert_eq!(invalid.status.code(), Some(3), "{}", cli::transcript(&invalid));
        assert!(
            String::from_utf8_lossy(&invalid.stderr).contains("version 2 is also"),
            "{}",
            cli::transcript(&invalid)
        );
        std::fs::remove_file(duplicate).unwrap();
        let tables = format!("SELECT count() FROM system.tables WHERE database = '{}'", db.database);
        assert_eq!(scalar(&db, &tables).await, "0", "{}: nothing applied, no history made", db.engine);

        let wrong = original
            .replace("password: \"\"", "password: \"hunter2\"")
            .replace("user: default", "user: nobody_here");
        std::fs::write(&config, wrong).unwrap();
        let denied = migrate(dir.path(), &[]);
        assert_eq!(denied.status.code(), Some(1), "{}", cli::transcript(&denied));
        let text = cli::transcript(&denied);
        assert!(!text.contains("hunter2") && text.contains("****"), "{text}");
        std::fs::write(&config, &original).unwrap();

        // Someone else holds the lock: refused after the wait, naming the holder.
        let server = store_clickhouse::ClickHouse::connect(
            store_clickhouse::ClickHouseConfig::parse(&db.url).unwrap().with_database(&db.database),
        )
        .await
        .unwrap();
        let lock = ch_migrate::lock::Lock::new(
            server,
            "schema_migrations_lock",
            None,
            std::time::Duration::from_secs(60),
        );
        lock.ensure().await.unwrap();
        let held = lock.acquire(std::time::Duration::from_secs(5)).await.unwrap();
        let refused = migrate(dir.path(), &["--lock-timeout", "1"]);
        assert_eq!(refused.status.code(), Some(4), "{}", cli::transcript(&refused));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("held by"),
            "{}",
            cli::transcript(&refused)
        );
        let unlock = cli::run(cli::command(BIN, dir.path()).args(["unlock", "--force"]));
        assert!(
            String::from_utf8_lossy(&unlock.stdout).contains("Removed the lock held by"),
            "{}",
            cli::transcript(&unlock)
        );
        drop(held);
        let after = migrate(dir.path(), &[]);
        assert_eq!(after.status.code(), Some(0), "{}", cli::transcript(&after));
    })
    .await;
}

#[tokio::test]
async fn rollback_repair_and_production_refusal_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        project(dir.path(), &db);
        let run = |args: &[&str]| cli::run(cli::command(BIN, dir.path()).args(args));
        assert_eq!(migrate(dir.path(), &[]).status.code(), Some(0));

        // A real edit of an applied file is drift until repaired with a reason.
        let v1 = dir.path().join("migrations/V1__create_events.sql");
        let text = std::fs::read_to_string(&v1).unwrap();
        std::fs::write(&v1, text.replace('\n', "  \r\n")).unwrap();
        assert_eq!(run(&["validate"]).status.code(), Some(0), "CRLF and trailing blanks are no drift");
        std::fs::write(&v1, text.replace("-- Migration: events", "-- Migration: events table")).unwrap();
        let drift = run(&["validate"]);
        assert_eq!(drift.status.code(), Some(3), "{}", cli::transcript(&drift));
        let repaired = run(&["repair", "--migration", "V1", "--reason", "header wording"]);
        assert_eq!(repaired.status.code(), Some(0), "{}", cli::transcript(&repaired));
        assert_eq!(run(&["validate"]).status.code(), Some(0), "{}: accepted after repair", db.engine);

        // Rollback is refused where the configuration disables it.
        let prod = run(&["rollback", "--env", "production"]);
        assert_eq!(prod.status.code(), Some(4), "{}", cli::transcript(&prod));
        assert!(
            String::from_utf8_lossy(&prod.stderr).contains("rollback is disabled in environment production")
        );

        let manual = run(&["rollback", "--version", "0", "--manual"]);
        let shown = String::from_utf8_lossy(&manual.stdout).to_string();
        assert!(shown.contains("DROP COLUMN kind") && shown.contains("nothing was run"), "{shown}");
        let columns = format!(
            "SELECT count() FROM system.columns WHERE database = '{}' AND table = 'events'",
            db.database
        );
        assert_eq!(scalar(&db, &columns).await, "3", "--manual runs nothing");

        let back = run(&["rollback", "--version", "0"]);
        assert_eq!(back.status.code(), Some(0), "{}", cli::transcript(&back));
        assert!(String::from_utf8_lossy(&back.stdout).contains("Rolled back 3 migration(s): V3, V2, V1"));
        assert_eq!(scalar(&db, &columns).await, "0", "{}: the table is gone", db.engine);
        let status = run(&["status", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert!(json["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "pending"), "{json}");
        // And forward again from scratch.
        assert_eq!(migrate(dir.path(), &[]).status.code(), Some(0));
        assert_eq!(scalar(&db, &columns).await, "3");
    })
    .await;
}

#[tokio::test]
async fn killed_in_the_middle_of_a_statement_a_rerun_finishes_without_repeating_anything() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        let five = "-- Migration: five statements\n-- Version: 1\n-- Rollback: false
CREATE TABLE ${database}.a (x UInt8) ENGINE = MergeTree ORDER BY x;
INSERT INTO ${database}.a VALUES (1);
CREATE TABLE ${database}.b ENGINE = MergeTree ORDER BY n AS SELECT number AS n FROM system.numbers LIMIT 60000000;
CREATE TABLE ${database}.c (y UInt8) ENGINE = MergeTree ORDER BY y;
ALTER TABLE ${database}.c ADD COLUMN z String;
";
        project_with(dir.path(), &db, &[("V1__five.sql", five)]);
        let mut child = cli::command(BIN, dir.path()).args(["migrate", "-q"]).spawn().unwrap();
        let started = format!(
            "SELECT count() FROM system.tables WHERE database = '{0}' AND name = 'schema_migrations_journal' \
             AND (SELECT count() FROM {0}.schema_migrations_journal WHERE statement = 2 AND phase = 'start') > 0",
            db.database
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while db.execute(&started).await.map(|t| t.trim() != "1").unwrap_or(true) {
            assert!(std::time::Instant::now() < deadline, "{}: statement 2 never started", db.engine);
            if let Some(status) = child.try_wait().unwrap() {
                panic!("{}: migrate ended ({status}) before statement 2 started", db.engine);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL: no handler runs, nothing is cleaned up
        child.wait().unwrap();
        let ended = format!("SELECT count() FROM {}.schema_migrations_journal WHERE statement = 2 AND phase = 'end'", db.database);
        assert_eq!(scalar(&db, &ended).await, "0", "{}: killed before statement 2 ended", db.engine);

        let rerun = migrate(dir.path(), &[]);
        assert_eq!(rerun.status.code(), Some(0), "{}: {}", db.engine, cli::transcript(&rerun));
        assert_eq!(scalar(&db, &format!("SELECT count() FROM {}.a", db.database)).await, "1", "{}: the INSERT did not run twice", db.engine);
        let columns = format!("SELECT count() FROM system.columns WHERE database = '{}' AND table = 'c'", db.database);
        assert_eq!(scalar(&db, &columns).await, "2", "{}: the statements after it ran", db.engine);
        let applied = format!("SELECT count() FROM {}.schema_migrations WHERE status = 'applied'", db.database);
        assert_eq!(scalar(&db, &applied).await, "1");
    })
    .await;
}

#[tokio::test]
async fn export_import_and_clean_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        project(dir.path(), &db);
        assert_eq!(migrate(dir.path(), &[]).status.code(), Some(0));
        let state = dir.path().join("state.json");
        let export = cli::run(cli::command(BIN, dir.path()).args(["export", "--file"]).arg(&state));
        assert_eq!(export.status.code(), Some(0), "{}", cli::transcript(&export));

        // Another database adopts that state: nothing runs there.
        let other = migrate_testkit::clickhouse_database_on(db.engine).await;
        let dir2 = migrate_testkit::temp_dir();
        project(dir2.path(), &other);
        let import = cli::run(cli::command(BIN, dir2.path()).args(["import", "--file"]).arg(&state));
        assert_eq!(import.status.code(), Some(0), "{}", cli::transcript(&import));
        assert!(String::from_utf8_lossy(&import.stdout).contains("Recorded 3 migration(s)"));
        let again = migrate(dir2.path(), &[]);
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("Nothing to apply: 3"),
            "{}",
            cli::transcript(&again)
        );
        let events = format!(
            "SELECT count() FROM system.tables WHERE database = '{}' AND name = 'events'",
            other.database
        );
        assert_eq!(scalar(&other, &events).await, "0", "{}: imported, not run", db.engine);
        let broken = dir2.path().join("broken.json");
        std::fs::write(&broken, "{\"applied\": [{\"version\": 1}]}").unwrap();
        let refused = cli::run(cli::command(BIN, dir2.path()).args(["import", "--file"]).arg(&broken));
        assert_eq!(refused.status.code(), Some(2), "{}", cli::transcript(&refused));

        // clean prunes the journal, never the applied state.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let clean = cli::run(cli::command(BIN, dir.path()).args(["clean", "--older-than", "0"]));
        assert_eq!(clean.status.code(), Some(0), "{}", cli::transcript(&clean));
        let journal = format!("SELECT count() FROM {}.schema_migrations_journal", db.database);
        assert_eq!(scalar(&db, &journal).await, "0", "{}", db.engine);
        let status = cli::run(cli::command(BIN, dir.path()).args(["status", "--json"]));
        let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert!(json["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "{json}");
    })
    .await;
}

#[tokio::test]
async fn the_seeds_examples_apply_on_the_modern_engine_and_are_flagged_on_18_16() {
    use migrate_testkit::Engine;
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ch-migrate/seed");
    let files: Vec<(String, String)> = ["V1__create_users_table.sql", "V2__create_events_table.sql"]
        .iter()
        .map(|name| (name.to_string(), std::fs::read_to_string(seed.join(name)).unwrap()))
        .collect();
    on_every_clickhouse(|db| {
        let files = files.clone();
        async move {
            let dir = migrate_testkit::temp_dir();
            let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
            project_with(dir.path(), &db, &borrowed);
            let run = migrate(dir.path(), &[]);
            let text = cli::transcript(&run);
            let tables = format!(
                "SELECT count() FROM system.tables WHERE database = '{}' AND name IN ('users', 'events')",
                db.database
            );
            match db.engine {
                Engine::Legacy => {
                    assert_eq!(run.status.code(), Some(3), "{text}");
                    assert!(text.contains("statement 0: TTL needs ClickHouse 19.6"), "{text}");
                    assert!(text.contains("statement 1: CREATE INDEX needs ClickHouse 23.1"), "{text}");
                    assert_eq!(scalar(&db, &tables).await, "0", "flagged before anything ran");
                }
                Engine::Modern => {
                    assert_eq!(run.status.code(), Some(0), "{text}");
                    assert_eq!(scalar(&db, &tables).await, "2");
                    let create =
                        db.execute(&format!("SHOW CREATE TABLE {}.events", db.database)).await.unwrap();
                    assert!(create.contains("TTL") && create.contains("idx_events_timestamp"), "{create}");
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn test_proves_a_rollback_restores_the_schema_in_a_scratch_database() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        project(dir.path(), &db);
        let run = |args: &[&str]| cli::run(cli::command(BIN, dir.path()).args(args));
        let good = run(&["test", "--rollback", "--migration", "V2__add_kind.sql"]);
        assert_eq!(good.status.code(), Some(0), "{}", cli::transcript(&good));
        let shown = String::from_utf8_lossy(&good.stdout).to_string();
        assert!(shown.contains("1 earlier migration(s) first") && shown.contains("the schema is as it was"), "{shown}");

        // A rollback that forgets the table it made is caught.
        std::fs::write(
            dir.path().join("migrations/V4__leaky.sql"),
            "-- Version: 4\nCREATE TABLE ${database}.leak (x UInt8) ENGINE = Memory;\nALTER TABLE ${database}.events ADD COLUMN note String;\n-- ROLLBACK: ALTER TABLE ${database}.events DROP COLUMN note;\n",
        )
        .unwrap();
        let leaky = run(&["test", "--rollback", "--migration", "V4"]);
        assert_eq!(leaky.status.code(), Some(3), "{}", cli::transcript(&leaky));
        assert!(String::from_utf8_lossy(&leaky.stdout).contains("left or changed: leak"), "{}", cli::transcript(&leaky));

        let tables = format!("SELECT count() FROM system.tables WHERE database = '{}'", db.database);
        assert_eq!(scalar(&db, &tables).await, "0", "{}: the real database untouched", db.engine);
        let scratch = "SELECT count() FROM system.databases WHERE name LIKE 'ch_migrate_test_%'";
        assert_eq!(scalar(&db, scratch).await, "0", "{}: scratch databases dropped", db.engine);
    })
    .await;
}
