//! `parallel_execution: true` on ClickHouse 18.16 and the modern engine: independent
//! migrations run at the same time, a migration never starts before the ones it depends on
//! finished, and after a failure nothing new starts.

mod common;

use common::{project_with, run, scalar, set_migration_option};
use migrate_testkit::{TestClickHouse, cli, on_every_clickhouse};

/// (version, first start, last end) of each migration's statements, in milliseconds.
async fn spans(db: &TestClickHouse) -> Vec<(u64, u64, u64)> {
    let rows = scalar(
        db,
        &format!(
            "SELECT arrayStringConcat(groupArray(concat(toString(version), ':', toString(s), ':', toString(e))), ',') FROM \
             (SELECT version, minIf(seq, phase = 'start') AS s, maxIf(seq, phase = 'end') AS e \
              FROM {}.schema_migrations_journal GROUP BY version ORDER BY version)",
            db.database
        ),
    )
    .await;
    rows.split(',')
        .filter(|r| !r.is_empty())
        .map(|r| {
            let parts: Vec<u64> = r.split(':').map(|p| p.parse().unwrap()).collect();
            (parts[0], parts[1], parts[2])
        })
        .collect()
}

#[tokio::test]
async fn independent_migrations_run_together_and_dependencies_wait_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        let slow = "SELECT sleep(1);";
        let files = [
            ("V1__a.sql", format!("CREATE TABLE ${{database}}.a (x UInt8) ENGINE = MergeTree ORDER BY x;\n{slow}\n-- ROLLBACK: DROP TABLE ${{database}}.a\n")),
            ("V2__a_more.sql", "-- Dependencies: 1\nALTER TABLE ${database}.a ADD COLUMN y UInt8;\n-- ROLLBACK: ALTER TABLE ${database}.a DROP COLUMN y\n".to_string()),
            ("V3__b.sql", format!("CREATE TABLE ${{database}}.b (x UInt8) ENGINE = Memory;\n{slow}\n-- ROLLBACK: DROP TABLE ${{database}}.b\n")),
            ("V4__both.sql", "-- Dependencies: 2, 3\nINSERT INTO ${database}.a SELECT x, x FROM ${database}.b;\n-- ROLLBACK: SELECT 1\n".to_string()),
            ("V5__c.sql", format!("CREATE TABLE ${{database}}.c (x UInt8) ENGINE = Memory;\n{slow}\n-- ROLLBACK: DROP TABLE ${{database}}.c\n")),
        ];
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        project_with(dir.path(), &db, &refs);
        set_migration_option(dir.path(), "parallel_execution", "true");
        set_migration_option(dir.path(), "max_parallel", "2");
        let out = run(dir.path(), &["migrate"]);
        let text = cli::transcript(&out);
        assert_eq!(out.status.code(), Some(0), "{}: {text}", db.engine.name());
        assert!(text.contains("Applied 5 migration(s)"), "{text}");
        let spans = spans(&db).await;
        let span = |v: u64| *spans.iter().find(|s| s.0 == v).unwrap_or_else(|| panic!("V{v} in {spans:?}"));
        let (a, a_more, b, both, c) = (span(1), span(2), span(3), span(4), span(5));
        assert!(b.1 < a.2, "V1 and V3 ran at the same time: {spans:?}");
        assert!(a_more.1 >= a.2, "V2 started after V1 ended: {spans:?}");
        assert!(both.1 >= a_more.2 && both.1 >= b.2, "V4 waited for V2 and V3: {spans:?}");
        assert!(c.1 >= a.2.min(b.2), "at most two at once: V5 waited for a free slot: {spans:?}");
        let history = run(dir.path(), &["status", "--format", "json"]);
        let value: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
        assert!(value["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "{value}");
    })
    .await;
}
