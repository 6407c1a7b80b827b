//! Moving to ch-migrate from the tools ClickHouse users have today, on ClickHouse 18.16 and on
//! the modern engine: a golang-migrate directory of 50+ files read as it is, its applied state
//! adopted, the rest migrated and everything rolled back to an empty database; the history
//! tables of goose, dbmate, clickhouse-migrations and Flyway adopted so nothing runs twice.

mod common;

use common::{project_with, run, scalar, set_migration_option};
use migrate_testkit::{TestClickHouse, cli, on_every_clickhouse};
use std::path::Path;

/// golang-migrate's files: 26 up/down pairs with gaps in the versions, some multi-statement,
/// some without a final `;`.
fn golang_migrate_files(dir: &Path) -> Vec<u64> {
    let migrations = dir.join("migrations");
    let mut versions = Vec::new();
    for i in 1..=26u64 {
        let version = i * 3 + i % 2; // 4, 6, 10, 12, …: gaps everywhere
        versions.push(version);
        let (up, down) = if i % 4 == 1 {
            (
                format!("CREATE TABLE t{i} (id UInt64, at DateTime) ENGINE = MergeTree ORDER BY id;\n"),
                format!("DROP TABLE t{i};\n"),
            )
        } else if i % 4 == 2 {
            let t = i - 1;
            (
                format!(
                    "ALTER TABLE t{t} ADD COLUMN c{i} String;\n-- a comment; with a semicolon\nINSERT INTO t{t} (id, c{i}) VALUES (1, 'a;b')"
                ),
                format!("ALTER TABLE t{t} DROP COLUMN c{i}"),
            )
        } else {
            (
                format!("CREATE TABLE t{i} (id UInt64) ENGINE = MergeTree ORDER BY id"),
                format!("DROP TABLE t{i}"),
            )
        };
        std::fs::write(migrations.join(format!("{version:06}_step_{i}.up.sql")), up).unwrap();
        std::fs::write(migrations.join(format!("{version:06}_step_{i}.down.sql")), down).unwrap();
    }
    versions
}

/// Applies `files` (up files) to `db` the way golang-migrate does, and keeps its table.
async fn golang_migrate_applied(db: &TestClickHouse, dir: &Path, upto: u64) {
    db.execute(&format!(
        "CREATE TABLE {}.schema_migrations (version Int64, dirty UInt8, sequence UInt64) ENGINE = TinyLog",
        db.database
    ))
    .await
    .unwrap();
    // golang-migrate runs in the connection's database: its statements name tables unqualified.
    let config = store_clickhouse::ClickHouseConfig::parse(&db.url).unwrap().with_database(&db.database);
    let server = store_clickhouse::ClickHouse::connect(config).await.unwrap();
    let (loaded, _) = ch_migrate::project::load_dir(&dir.join("migrations")).unwrap();
    let values = ch_migrate::Placeholders { database: db.database.clone(), ..Default::default() };
    for (seq, l) in loaded.iter().filter(|l| l.migration.version <= upto).enumerate() {
        for statement in l.migration.statements(&values).unwrap() {
            server.execute(statement).await.unwrap();
        }
        db.execute(&format!(
            "INSERT INTO {}.schema_migrations VALUES ({}, 0, {})",
            db.database,
            l.migration.version,
            seq + 1
        ))
        .await
        .unwrap();
    }
}

async fn tables(db: &TestClickHouse) -> Vec<String> {
    let list = scalar(
        db,
        &format!("SELECT arrayStringConcat(groupArray(name), ',') FROM (SELECT name FROM system.tables WHERE database = '{}' ORDER BY name)", db.database),
    )
    .await;
    list.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

#[tokio::test]
async fn a_golang_migrate_directory_is_adopted_migrated_and_fully_rolled_back_on_every_engine() {
    on_every_clickhouse(|db| async move {
        let dir = migrate_testkit::temp_dir();
        project_with(dir.path(), &db, &[]);
        let versions = golang_migrate_files(dir.path());
        assert!(std::fs::read_dir(dir.path().join("migrations")).unwrap().count() >= 52);
        golang_migrate_applied(&db, dir.path(), versions[9]).await;

        // golang-migrate's table has ch-migrate's default name: a clear refusal, nothing written.
        let clash = run(dir.path(), &["status"]);
        let text = cli::transcript(&clash);
        assert_eq!(clash.status.code(), Some(2), "{text}");
        assert!(text.contains("not ch-migrate's history table") && text.contains("import --from"), "{text}");
        let clash = run(dir.path(), &["import", "--from", "golang-migrate"]);
        assert_eq!(clash.status.code(), Some(2), "{}", cli::transcript(&clash));

        set_migration_option(dir.path(), "table_name", "ch_migrate_history");
        let adopted = run(dir.path(), &["import", "--from", "golang-migrate"]);
        let text = cli::transcript(&adopted);
        assert_eq!(adopted.status.code(), Some(0), "{}: {text}", db.engine.name());
        assert!(text.contains("recorded 10 migration(s) as applied"), "{text}");
        let again = run(dir.path(), &["import", "--from", "golang-migrate"]);
        assert!(cli::transcript(&again).contains("recorded 0 migration(s) as applied (10 already were)"));

        let migrated = run(dir.path(), &["migrate", "-q"]);
        let text = cli::transcript(&migrated);
        assert_eq!(migrated.status.code(), Some(0), "{text}");
        assert!(text.contains("Applied 16 migration(s)"), "nothing golang-migrate applied ran again: {text}");
        let rows = scalar(&db, &format!("SELECT count() FROM {}.t1", db.database)).await;
        assert_eq!(rows, "1", "t1's insert ran once");

        let rolled = run(dir.path(), &["rollback", "--version", "0", "-q"]);
        let text = cli::transcript(&rolled);
        assert_eq!(rolled.status.code(), Some(0), "{text}");
        assert!(text.contains("Rolled back 26 migration(s)"), "{text}");
        let left: Vec<String> = tables(&db)
            .await
            .into_iter()
            .filter(|t| !t.starts_with("ch_migrate_history") && t != "schema_migrations")
            .collect();
        assert!(left.is_empty(), "the database is empty but for the tools' tables: {left:?}");
        let status = run(dir.path(), &["status", "--format", "json"]);
        let value: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        let pending =
            value["migrations"].as_array().unwrap().iter().filter(|m| m["state"] == "pending").count();
        assert_eq!(pending, 26);
    })
    .await;
}

/// A tool: its name, its table as it creates it, the rows it writes for versions 1 and 2
/// applied (3 rolled back where the tool records that), and its files (name, text).
type Tool = (&'static str, &'static str, &'static str, [(&'static str, &'static str); 3]);

/// Every tool `import --from` adopts.
fn tools() -> Vec<Tool> {
    vec![
        (
            "goose",
            "CREATE TABLE {db}.goose_db_version (version_id Int64, is_applied UInt8, date Date DEFAULT today(), tstamp DateTime DEFAULT now()) ENGINE = MergeTree() ORDER BY date",
            "INSERT INTO {db}.goose_db_version (version_id, is_applied, tstamp) VALUES (0, 1, now() - 10), (1, 1, now() - 9), (2, 1, now() - 8), (3, 1, now() - 7), (3, 0, now() - 6)",
            [
                (
                    "00001_a.sql",
                    "-- +goose Up\nCREATE TABLE {db}.a (x UInt8) ENGINE = Memory;\n-- +goose Down\nDROP TABLE {db}.a;\n",
                ),
                (
                    "00002_b.sql",
                    "-- +goose Up\nCREATE TABLE {db}.b (x UInt8) ENGINE = Memory;\n-- +goose Down\nDROP TABLE {db}.b;\n",
                ),
                (
                    "00003_c.sql",
                    "-- +goose Up\nCREATE TABLE {db}.c (x UInt8) ENGINE = Memory;\n-- +goose Down\nDROP TABLE {db}.c;\n",
                ),
            ],
        ),
        (
            "dbmate",
            "CREATE TABLE {db}.schema_migrations (version String, ts DateTime DEFAULT now(), applied UInt8 DEFAULT 1) ENGINE = ReplacingMergeTree(ts) PRIMARY KEY version ORDER BY version",
            "INSERT INTO {db}.schema_migrations (version, ts, applied) VALUES ('20240101000001', now() - 9, 1), ('20240101000002', now() - 8, 1), ('20240101000003', now() - 7, 1), ('20240101000003', now() - 6, 0)",
            [
                (
                    "20240101000001_a.sql",
                    "-- migrate:up\nCREATE TABLE {db}.a (x UInt8) ENGINE = Memory\n-- migrate:down\nDROP TABLE {db}.a\n",
                ),
                (
                    "20240101000002_b.sql",
                    "-- migrate:up\nCREATE TABLE {db}.b (x UInt8) ENGINE = Memory\n-- migrate:down\nDROP TABLE {db}.b\n",
                ),
                (
                    "20240101000003_c.sql",
                    "-- migrate:up\nCREATE TABLE {db}.c (x UInt8) ENGINE = Memory\n-- migrate:down\nDROP TABLE {db}.c\n",
                ),
            ],
        ),
        (
            "clickhouse-migrations",
            "CREATE TABLE {db}.schema_versions (version UInt32, md5 String, script String, created_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY tuple(created_at)",
            "INSERT INTO {db}.schema_versions (version, md5, script) VALUES (1, 'x', 'CREATE TABLE a'), (2, 'y', 'CREATE TABLE b')",
            [
                ("001_a.sql", "CREATE TABLE {db}.a (x UInt8) ENGINE = Memory;\n"),
                ("002_b.sql", "CREATE TABLE {db}.b (x UInt8) ENGINE = Memory;\n"),
                ("003_c.sql", "CREATE TABLE {db}.c (x UInt8) ENGINE = Memory;\n"),
            ],
        ),
        (
            "flyway",
            "CREATE TABLE {db}.flyway_schema_history (installed_rank Int32, version Nullable(String), description String, type String, script String, checksum Nullable(Int32), installed_by String, installed_on DateTime DEFAULT now(), execution_time Int32, success UInt8) ENGINE = MergeTree ORDER BY installed_rank",
            "INSERT INTO {db}.flyway_schema_history (installed_rank, version, description, type, script, installed_by, execution_time, success) VALUES (1, '1', 'a', 'SQL', 'V1__a.sql', 'me', 1, 1), (2, '2', 'b', 'SQL', 'V2__b.sql', 'me', 1, 1), (3, '3', 'c', 'SQL', 'V3__c.sql', 'me', 1, 0)",
            [
                (
                    "V1__a.sql",
                    "CREATE TABLE {db}.a (x UInt8) ENGINE = Memory;\n-- ROLLBACK: DROP TABLE {db}.a\n",
                ),
                (
                    "V2__b.sql",
                    "CREATE TABLE {db}.b (x UInt8) ENGINE = Memory;\n-- ROLLBACK: DROP TABLE {db}.b\n",
                ),
                (
                    "V3__c.sql",
                    "CREATE TABLE {db}.c (x UInt8) ENGINE = Memory;\n-- ROLLBACK: DROP TABLE {db}.c\n",
                ),
            ],
        ),
    ]
}

#[tokio::test]
async fn goose_dbmate_clickhouse_migrations_and_flyway_states_are_adopted_on_every_engine() {
    on_every_clickhouse(|db| async move {
        for (tool, create, rows, files) in tools() {
            let scratch = migrate_testkit::clickhouse_database_at(db.engine, &db.url).await;
            let fill = |text: &str| text.replace("{db}", &scratch.database);
            scratch.execute(&fill(create)).await.unwrap();
            scratch.execute(&fill(rows)).await.unwrap();
            let dir = migrate_testkit::temp_dir();
            let files: Vec<(String, String)> = files.iter().map(|(n, t)| (n.to_string(), fill(t))).collect();
            let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
            project_with(dir.path(), &scratch, &refs);
            set_migration_option(dir.path(), "table_name", "ch_migrate_history");
            if tool == "clickhouse-migrations" {
                // Its files have no down part.
                let config = dir.path().join("configs/migration-config.yml");
                let text = std::fs::read_to_string(&config)
                    .unwrap()
                    .replace("check_rollback: true", "check_rollback: false");
                std::fs::write(config, text).unwrap();
            }
            // The tables the tool made for versions 1 and 2.
            for (name, _) in files.iter().take(2) {
                let up = files.iter().find(|(n, _)| n == name).unwrap().1.clone();
                let statement = up
                    .split(';')
                    .next()
                    .unwrap()
                    .lines()
                    .find(|l| l.starts_with("CREATE"))
                    .unwrap()
                    .to_string();
                scratch.execute(&statement).await.unwrap();
            }
            let adopted = run(dir.path(), &["import", "--from", tool]);
            let text = cli::transcript(&adopted);
            assert_eq!(adopted.status.code(), Some(0), "{tool} on {}: {text}", db.engine.name());
            assert!(text.contains("recorded 2 migration(s) as applied"), "{tool}: {text}");
            let migrated = run(dir.path(), &["migrate", "-q"]);
            let text = cli::transcript(&migrated);
            assert_eq!(migrated.status.code(), Some(0), "{tool}: {text}");
            assert!(text.contains("Applied 1 migration(s)"), "{tool}: only c runs: {text}");
        }
    })
    .await;
}
