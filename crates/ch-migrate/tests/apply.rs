//! Applying migrations with the history and the statement journal, on ClickHouse 18.16 and the
//! modern engine, and with a Replicated history ON CLUSTER on the two-node cluster.

use ch_migrate::apply::{ApplyError, Options, apply, query_id};
use ch_migrate::history::{History, JournalEntry};
use ch_migrate::{Placeholders, checksum, parse_versioned};
use migrate_testkit::{TestClickHouse, clickhouse_cluster, on_every_clickhouse};
use std::time::Duration;
use store_clickhouse::{ClickHouse, ClickHouseConfig};

async fn history_on(url: &str, database: &str, cluster: Option<&str>) -> History {
    let server =
        ClickHouse::connect(ClickHouseConfig::parse(url).unwrap().with_database(database)).await.unwrap();
    let history = History::new(server, "schema_migrations", cluster.map(|c| (c, Duration::from_secs(60))));
    assert!(!history.exists().await.unwrap());
    history.ensure().await.unwrap();
    history
}

async fn history(db: &TestClickHouse) -> History {
    history_on(&db.url, &db.database, None).await
}

fn options() -> Options {
    Options { cluster: None, mutation_timeout: Duration::from_secs(30), environment: "test".into() }
}

fn placeholders(db: &str) -> Placeholders {
    Placeholders { database: db.into(), ..Default::default() }
}

async fn count(history: &History, sql: &str) -> u64 {
    history.server().fetch_rows(sql).await.unwrap()[0][0].parse().unwrap()
}

const FIVE: &str = "-- Migration: five statements
-- Version: 1
CREATE TABLE ${database}.t (id UInt64) ENGINE = MergeTree ORDER BY id;
INSERT INTO ${database}.t VALUES (1);
INSERT INTO ${database}.t VALUES (2);
INSERT INTO ${database}.STATEMENT_THREE VALUES (3);
INSERT INTO ${database}.t VALUES (4);
";

#[tokio::test]
async fn a_rerun_resumes_after_the_statements_that_finished() {
    on_every_clickhouse(|db| async move {
        let history = history(&db).await;
        let broken = parse_versioned("V1__five.sql", FIVE).unwrap();
        let failed = apply(&history, &broken, &placeholders(&db.database), &options()).await.unwrap_err();
        assert!(matches!(failed, ApplyError::Statement { index: 3, .. }), "{}: {failed}", db.engine);
        assert!(history.applied().await.unwrap().is_empty(), "not applied");

        let fixed = parse_versioned("V1__five.sql", &FIVE.replace("STATEMENT_THREE", "t")).unwrap();
        let outcome = apply(&history, &fixed, &placeholders(&db.database), &options()).await.unwrap();
        assert_eq!((outcome.skipped, outcome.ran), (3, 2), "{}", db.engine);
        let rows = count(&history, &format!("SELECT count() FROM {}.t", db.database)).await;
        assert_eq!(rows, 4, "{}: finished statements were not run again", db.engine);
        let applied = history.applied().await.unwrap();
        assert_eq!((applied.len(), applied[0].checksum.as_str()), (1, fixed.checksum.hex.as_str()));
    })
    .await;
}

#[tokio::test]
async fn a_statement_in_doubt_is_named_not_rerun() {
    on_every_clickhouse(|db| async move {
        let history = history(&db).await;
        let text = "-- Version: 2\nCREATE TABLE ${database}.u (id UInt64) ENGINE = MergeTree ORDER BY id;\nINSERT INTO ${database}.u VALUES (1);\n";
        let migration = parse_versioned("V2__doubt.sql", text).unwrap();
        let statements = migration.statements(&placeholders(&db.database)).unwrap();
        // A run that crashed inside statement 1: statement 0 ended, statement 1 only started.
        history.server().execute(statements[0].as_str()).await.unwrap();
        history.server().execute(statements[1].as_str()).await.unwrap();
        for (index, phase) in [(0u32, "end"), (1, "start")] {
            let sum = checksum(&statements[index as usize]).hex;
            let entry = JournalEntry {
                version: 2,
                index,
                query_id: query_id(&db.database, 2, index, &sum),
                checksum: sum,
                phase: phase.into(),
                error: String::new(),
                hosts: String::new(),
            };
            history.journal_phase(&entry).await.unwrap();
        }
        let doubt = apply(&history, &migration, &placeholders(&db.database), &options()).await.unwrap_err();
        let message = doubt.to_string();
        assert!(matches!(doubt, ApplyError::InDoubt { index: 1, .. }), "{message}");
        assert!(message.contains("INSERT INTO") && message.contains("ch-migrate-") && message.contains("repair"), "{message}");
        assert_eq!(count(&history, &format!("SELECT count() FROM {}.u", db.database)).await, 1, "nothing run twice");
    })
    .await;
}

#[tokio::test]
async fn mutations_are_done_when_apply_returns() {
    on_every_clickhouse(|db| async move {
        let history = history(&db).await;
        let text = "-- Version: 3
CREATE TABLE ${database}.m (id UInt64, v UInt64) ENGINE = MergeTree ORDER BY id;
INSERT INTO ${database}.m SELECT number, number FROM system.numbers LIMIT 1000;
ALTER TABLE ${database}.m DELETE WHERE id >= 10;
ALTER TABLE ${database}.m UPDATE v = 7 WHERE id < 10;
";
        let migration = parse_versioned("V3__mutate.sql", text).unwrap();
        apply(&history, &migration, &placeholders(&db.database), &options()).await.unwrap();
        let table = format!("{}.m", db.database);
        assert_eq!(count(&history, &format!("SELECT count() FROM {table}")).await, 10, "{}", db.engine);
        assert_eq!(count(&history, &format!("SELECT sum(v) FROM {table}")).await, 70, "{}", db.engine);
    })
    .await;
}

#[tokio::test]
async fn on_a_cluster_the_history_is_replicated_and_ddl_reports_every_host() {
    let cluster = clickhouse_cluster().await;
    let first = history_on(&cluster.nodes[0], &cluster.database, Some("replicated")).await;
    let db = &cluster.database;
    let text = "-- Version: 4
CREATE TABLE ${database}.r ${on_cluster} (id UInt64) ENGINE = ${replicated}MergeTree('/clickhouse/tables/{shard}/${database}/r', '{replica}') ORDER BY id;
ALTER TABLE ${database}.r ${on_cluster} ADD COLUMN note String;
";
    let migration = parse_versioned("V4__cluster.sql", text).unwrap();
    let values =
        Placeholders { database: db.clone(), cluster: Some("replicated".into()), ..Default::default() };
    let options = Options { cluster: Some(("replicated".into(), Duration::from_secs(60))), ..options() };
    let outcome = apply(&first, &migration, &values, &options).await.unwrap();
    assert_eq!(outcome.hosts.len(), 2, "both statements ran ON CLUSTER");
    assert!(
        outcome.hosts.iter().all(|(_, hosts)| hosts.len() == 2 && hosts.iter().all(|h| h.status == 0)),
        "{:?}",
        outcome.hosts
    );
    // The second node sees the same history without being told.
    let second = history_on_existing(&cluster.nodes[1], db).await;
    let applied = second.applied().await.unwrap();
    assert_eq!(applied.iter().map(|a| a.version).collect::<Vec<_>>(), [4]);
}

async fn history_on_existing(url: &str, database: &str) -> History {
    let server =
        ClickHouse::connect(ClickHouseConfig::parse(url).unwrap().with_database(database)).await.unwrap();
    History::new(server, "schema_migrations", Some(("replicated", Duration::from_secs(60))))
}
