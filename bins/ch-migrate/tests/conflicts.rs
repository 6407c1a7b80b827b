//! Two branches merged, on ClickHouse 18.16 and the modern engine: `validate --check-conflicts`
//! names a duplicate version and a pending file below the applied ones, `resolve` renumbers
//! them (never the applied one), and `migrate` then applies them.

mod common;

use common::{project_with, run};
use migrate_testkit::{cli, on_every_clickhouse};

fn table(version: u64, name: &str) -> String {
    format!(
        "-- Version: {version}\nCREATE TABLE ${{database}}.{name} (x UInt8) ENGINE = MergeTree ORDER BY x;\n-- ROLLBACK: DROP TABLE ${{database}}.{name}\n"
    )
}

#[tokio::test]
async fn conflicting_files_are_named_and_renumbered_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        let (one, two, three) = (table(1, "a"), table(2, "b"), table(3, "c"));
        project_with(dir.path(), &db, &[("V1__a.sql", &one), ("V2__b.sql", &two), ("V3__c.sql", &three)]);
        let applied = run(dir.path(), &["migrate", "-q"]);
        assert_eq!(applied.status.code(), Some(0), "{}", cli::transcript(&applied));
        // The other branch brought a second V3 and a V2.
        let migrations = dir.path().join("migrations");
        std::fs::write(migrations.join("V3__other_c.sql"), table(3, "other_c")).unwrap();
        std::fs::write(migrations.join("V2__late.sql"), table(2, "late")).unwrap();

        let check = run(dir.path(), &["validate", "--check-conflicts", "--format", "json"]);
        assert_eq!(check.status.code(), Some(3), "{}", cli::transcript(&check));
        let value: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
        let messages: Vec<String> = value["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["message"].as_str().unwrap().to_string())
            .collect();
        assert!(messages.iter().any(|m| m.contains("version 3 is also")), "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("version 2 is also")), "{messages:?}");

        let refused = run(dir.path(), &["resolve", "--migration", "V3__c.sql"]);
        let text = cli::transcript(&refused);
        assert_eq!(refused.status.code(), Some(4), "the applied V3 is never renumbered: {text}");
        for file in ["V3__other_c.sql", "V2__late.sql"] {
            let resolved = run(dir.path(), &["resolve", "--migration", file]);
            assert_eq!(resolved.status.code(), Some(0), "{}", cli::transcript(&resolved));
        }
        let names: Vec<String> = std::fs::read_dir(&migrations)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        assert!(
            names.contains(&"V4__other_c.sql".to_string()) && names.contains(&"V5__late.sql".to_string()),
            "{names:?}"
        );
        let clean = run(dir.path(), &["validate", "--check-conflicts"]);
        assert_eq!(clean.status.code(), Some(0), "{}", cli::transcript(&clean));
        let migrated = run(dir.path(), &["migrate", "-q"]);
        let text = cli::transcript(&migrated);
        assert!(text.contains("Applied 2 migration(s)"), "{text}");
    })
    .await;
}
