//! What an operator reads, snapshotted with insta: a project created from templates, validated
//! with problems, dry-run, migrated, its status with rollbacks, a manual rollback and the
//! history. The same transcripts on ClickHouse 18.16 and on the modern engine (the server's
//! version, address and the test database are redacted).

mod common;

use common::{project_with, run};
use migrate_testkit::{cli, on_every_clickhouse};

#[tokio::test]
async fn an_operators_session_reads_the_same_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        project_with(dir.path(), &db, &[]);
        let address = db.url.trim_end_matches('/').trim_start_matches("http://").to_string();
        let version = db.execute("SELECT version()").await.unwrap().trim().to_string();
        let mut settings = cli::snapshot_settings(
            dir.path(),
            &[
                (db.database.as_str(), "DB"),
                (address.as_str(), "SERVER"),
                (version.as_str(), "SERVER_VERSION"),
            ],
        );
        // Checksums cover the files' `Created:` date.
        settings.add_filter(r"\b[0-9a-f]{12}\b", "[CHECKSUM]");
        let mut transcript = String::new();
        let mut step = |args: &[&str]| {
            let out = run(dir.path(), args);
            transcript.push_str(&format!("$ ch-migrate {}\n{}\n", args.join(" "), cli::transcript(&out)));
            out
        };
        step(&["create", "--template", "table", "--name", "create_products"]);
        step(&["create", "--template", "alter", "--name", "add_status_to_products"]);
        let created = std::fs::read_to_string(dir.path().join("migrations/V2__add_status_to_products.sql"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-- Created:"))
            .collect::<Vec<_>>()
            .join("\n");
        // Problems, all at once: a duplicate version and an unknown placeholder.
        std::fs::write(dir.path().join("migrations/V2__other.sql"), "-- Rollback: false\nSELECT ${typo};\n")
            .unwrap();
        step(&["validate"]);
        std::fs::remove_file(dir.path().join("migrations/V2__other.sql")).unwrap();
        step(&["migrate", "--dry-run"]);
        step(&["migrate", "-q"]);
        step(&["status", "--show-rollback"]);
        step(&["rollback", "--version", "0", "--manual"]);
        step(&["history"]);
        settings.bind(|| {
            insta::assert_snapshot!("created_alter_migration", created);
            insta::assert_snapshot!("operator_session", transcript);
        });
    })
    .await;
}
