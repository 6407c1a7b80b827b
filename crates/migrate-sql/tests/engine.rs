//! The modes end to end on the real engines: DuckDB views → Parquet → SQLite and PostgreSQL,
//! verified by counts and content fingerprints.

use migrate_cli::Failure;
use migrate_core::IfExists;
use migrate_sql::config::Config;
use migrate_sql::engine::{self, RunOptions, TargetDb};
use migrate_sql::target_url::Target;
use migrate_sql::verify::{Presented as _, Status};
use store_parquet::ParquetDir;

const CONFIG: &str = r#"
views:
  bars_1m: >
    SELECT ['BTCUSDT','ETHUSDT'][1 + (i % 2)::INT] AS symbol, 1700000000000 + i * 60000 AS ts,
           30000 + i * 0.25 AS open, 30000 + i * 0.5 AS close, (i % 97)::DOUBLE AS volume,
           CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 300)::INTEGER END AS trades
    FROM range(5000) t(i)
  funding_oi_hourly: >
    SELECT 'BTCUSDT' AS symbol, 1700000000000 + i * 3600000 AS ts, (i % 7) * 0.0001 AS funding_rate,
           1.5e9 + i AS open_interest
    FROM range(720) t(i)
tables: [bars_1m, funding_oi_hourly]
table_options:
  bars_1m:
    primary_key: [symbol, ts]
"#;

fn tables() -> Vec<String> {
    vec!["bars_1m".into(), "funding_oi_hourly".into()]
}

fn opts() -> RunOptions {
    RunOptions { batch_size: 1000, ..Default::default() }
}

async fn export(dir: &ParquetDir) -> (Config, store_duckdb::DuckDbSource) {
    let config = Config::parse(CONFIG).unwrap();
    let duck = engine::open_source(&config).unwrap();
    let summary = engine::export(&duck, &tables(), dir, &opts()).await.unwrap();
    assert_eq!(summary.tables, vec![("bars_1m".into(), 5000), ("funding_oi_hourly".into(), 720)]);
    (config, duck)
}

#[tokio::test(flavor = "multi_thread")]
async fn export_import_verify_into_sqlite_and_a_tampered_value_is_caught() {
    let tmp = migrate_testkit::temp_dir();
    let dir = ParquetDir::new(tmp.path().join("migration-test"));
    let (config, duck) = export(&dir).await;
    let db = tmp.path().join("migration-rehearsal.db");
    let target =
        TargetDb::open(&Target::parse(&format!("sqlite:///{}", db.display())).unwrap(), &config, &opts())
            .await
            .unwrap();
    engine::import(&dir, &tables(), &target, &opts()).await.unwrap();

    let report = engine::verify(&duck, &tables(), &target, 1000).await.unwrap();
    assert!(report.passed(), "{}", report.render());

    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE bars_1m SET close = close + 0.01 WHERE ts = 1700000060000", []).unwrap();
    drop(conn);
    let report = engine::verify(&duck, &tables(), &target, 1000).await.unwrap();
    assert!(!report.passed());
    assert_eq!(report.tables[0].status(), Status::ContentMismatch, "{}", report.render());
    assert_eq!(report.tables[1].status(), Status::Match);
    assert!(report.render().contains("Overall: FAILED"));

    // Re-importing replaces the table: no duplicates, and the tampered value is gone.
    engine::import(&dir, &tables(), &target, &opts()).await.unwrap();
    assert!(engine::verify(&duck, &tables(), &target, 1000).await.unwrap().passed());
}

#[tokio::test(flavor = "multi_thread")]
async fn import_into_postgres_verifies_and_catches_a_tampered_value() {
    let tmp = migrate_testkit::temp_dir();
    let dir = ParquetDir::new(tmp.path().join("migration-test"));
    let (config, duck) = export(&dir).await;
    let pg = migrate_testkit::pg_database().await;
    let target = TargetDb::open(&Target::parse(&pg.url).unwrap(), &config, &opts()).await.unwrap();
    engine::import(&dir, &tables(), &target, &opts()).await.unwrap();
    assert!(engine::verify(&duck, &tables(), &target, 1000).await.unwrap().passed());

    let TargetDb::Postgres(store) = &target else { panic!("expected PostgreSQL") };
    sqlx::query("UPDATE funding_oi_hourly SET funding_rate = 0.5 WHERE ts = 1700000000000")
        .execute(store.pool())
        .await
        .unwrap();
    let report = engine::verify(&duck, &tables(), &target, 1000).await.unwrap();
    assert_eq!(report.tables[1].status(), Status::ContentMismatch, "{}", report.render());
    let pk: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'bars_1m_pkey'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(pk, 1, "the configured primary key is applied");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_write_nothing() {
    let tmp = migrate_testkit::temp_dir();
    let config = Config::parse(CONFIG).unwrap();
    let duck = engine::open_source(&config).unwrap();
    let out = ParquetDir::new(tmp.path().join("out"));
    let dry = RunOptions { dry_run: true, ..opts() };
    let summary = engine::export(&duck, &tables(), &out, &dry).await.unwrap();
    assert_eq!(summary.tables[0], ("bars_1m".into(), 5000));
    assert!(!out.path().exists(), "a dry export creates nothing");

    let dir = ParquetDir::new(tmp.path().join("migration-test"));
    engine::export(&duck, &tables(), &dir, &opts()).await.unwrap();
    let db = tmp.path().join("t.db");
    let target =
        TargetDb::open(&Target::parse(&format!("sqlite:///{}", db.display())).unwrap(), &config, &opts())
            .await
            .unwrap();
    engine::import(&dir, &tables(), &target, &dry).await.unwrap();
    assert!(!db.exists(), "a dry import creates nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_file_stops_the_import_before_the_target_is_touched() {
    let tmp = migrate_testkit::temp_dir();
    let dir = ParquetDir::new(tmp.path().join("migration-test"));
    let (config, _duck) = export(&dir).await;
    let file = dir.file_for("funding_oi_hourly");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[200] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    let db = tmp.path().join("t.db");
    let target =
        TargetDb::open(&Target::parse(&format!("sqlite:///{}", db.display())).unwrap(), &config, &opts())
            .await
            .unwrap();
    let err =
        engine::import(&dir, &tables(), &target, &RunOptions { if_exists: IfExists::Replace, ..opts() })
            .await
            .unwrap_err();
    assert!(
        err.to_string().contains("funding_oi_hourly.parquet") && err.to_string().contains("SHA-256"),
        "{err}"
    );
    assert!(!db.exists(), "not even the first (intact) table was written");
}

#[tokio::test]
async fn unknown_tables_list_what_exists() {
    let config = Config::parse(CONFIG).unwrap();
    let duck = engine::open_source(&config).unwrap();
    let available = engine::source_tables(&duck).unwrap();
    let err =
        engine::select_tables(&config, &available, Some(&["bars_1s".into()]), "duckdb::memory:").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("\"bars_1s\"") && text.contains("bars_1m") && text.contains("funding_oi_hourly"),
        "{text}"
    );
    assert_eq!(err.exit_code(), 2);
    assert_eq!(engine::select_tables(&config, &available, None, "x").unwrap(), tables());
}
