//! kill -9 in the middle of a long run, on ClickHouse 18.16 and the modern engine: the applied
//! events not written yet are recovered from the journal by the rerun, which runs none of the
//! finished statements again and records every migration exactly once.

mod common;

use common::{project_with, run, scalar};
use migrate_testkit::{cli, on_every_clickhouse};
use std::time::{Duration, Instant};

#[tokio::test]
async fn killed_between_migrations_the_rerun_records_each_exactly_once_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        let files: Vec<(String, String)> = (1..=150)
            .map(|i| {
                (
                    format!("V{i}__t{i}.sql"),
                    format!("CREATE TABLE ${{database}}.t{i} (x UInt8) ENGINE = MergeTree ORDER BY x;\n-- ROLLBACK: DROP TABLE ${{database}}.t{i}\n"),
                )
            })
            .collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        project_with(dir.path(), &db, &refs);
        let mut child = cli::command(common::BIN, dir.path()).args(["migrate", "-q"]).spawn().unwrap();
        // Kill it once some statements have ended, before the first batch of events is written.
        let ended = format!(
            "SELECT count() FROM system.tables WHERE database = '{}' AND name LIKE 't%'",
            db.database
        );
        let started = Instant::now();
        loop {
            let tables: u64 = db.execute(&ended).await.map(|n| n.trim().parse().unwrap_or(0)).unwrap_or(0);
            if tables >= 20 || started.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let made_before: u64 = scalar(&db, &ended).await.parse().unwrap();
        assert!(made_before < 150, "{}: killed before the end ({made_before} tables)", db.engine.name());

        let rerun = run(dir.path(), &["migrate"]);
        let text = cli::transcript(&rerun);
        // A statement killed while it ran is settled by the catalog (CREATE TABLE): never in doubt.
        assert_eq!(rerun.status.code(), Some(0), "{}: {text}", db.engine.name());
        assert_eq!(scalar(&db, &ended).await, "150");
        let events = scalar(
            &db,
            &format!(
                "SELECT concat(toString(count()), ' ', toString(uniqExact(version))) FROM {}.schema_migrations WHERE status = 'applied'",
                db.database
            ),
        )
        .await;
        assert_eq!(events, "150 150", "each migration recorded exactly once: {text}");
        let status = run(dir.path(), &["status", "--format", "json"]);
        let value: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert!(value["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "{value}");
    })
    .await;
}
