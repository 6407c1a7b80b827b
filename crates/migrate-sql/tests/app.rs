//! Whole runs through `app::run`: the documented exit codes, on the sample config.

use migrate_cli::{Failure, exit};
use migrate_sql::app::{self, Mode, RunArgs};
use migrate_sql::engine::RunOptions;
use std::path::PathBuf;

fn sample_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/migrate-sql/config.yml")
}

fn args(mode: Mode, tables: &[&str]) -> RunArgs {
    RunArgs {
        mode,
        config: sample_config(),
        output: None,
        input: None,
        tables: tables.iter().map(|t| t.to_string()).collect(),
        keep_intermediate: None,
        options: RunOptions { batch_size: 10_000, ..Default::default() },
        sample: 0,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_the_sample_into_sqlite_then_a_tampered_row_exits_3() {
    let tmp = migrate_testkit::temp_dir();
    let url = format!("sqlite:///{}", tmp.path().join("rehearsal.db").display());
    let env = |k: &str| (k == "CRYPTO_DB_URL").then(|| url.clone());
    let outcome = app::run(&args(Mode::Migrate, &[]), env).await.unwrap();
    assert_eq!(outcome.exit, exit::OK);
    assert!(outcome.text.contains("Overall: PASSED"), "{}", outcome.text);

    let conn = rusqlite::Connection::open(tmp.path().join("rehearsal.db")).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM macro_minute", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1440);
    conn.execute("DELETE FROM macro_minute WHERE rowid = 7", []).unwrap();
    drop(conn);
    let outcome = app::run(&args(Mode::Verify, &["macro_minute", "funding_oi_hourly"]), env).await.unwrap();
    assert_eq!(outcome.exit, exit::DIFFERENT);
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_errors_exit_2() {
    let no_env = |_: &str| None;
    let err = app::run(&args(Mode::Verify, &["macro_minute"]), no_env).await.unwrap_err();
    assert!(err.to_string().contains("CRYPTO_DB_URL"), "{err}");
    assert_eq!(err.exit_code(), exit::USAGE);
    let mut missing = args(Mode::Export, &[]);
    missing.config = PathBuf::from("/nonexistent/config.yml");
    assert_eq!(app::run(&missing, no_env).await.unwrap_err().exit_code(), exit::USAGE);
}
