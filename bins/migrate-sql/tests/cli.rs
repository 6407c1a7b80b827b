//! The command as an operator sees it, snapshotted (paths and times redacted).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/migrate-sql/config.yml")
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = migrate_testkit::cli::command(env!("CARGO_BIN_EXE_migrate-sql"), dir);
    cmd.args(args).arg("--log-dir").arg(dir.join("logs")).envs(env.iter().copied());
    migrate_testkit::cli::run(&mut cmd)
}

fn transcript(out: &Output) -> String {
    migrate_testkit::cli::transcript(out)
}

/// Snapshot settings with the temp dir, the fixtures, times and fingerprints redacted.
fn redacted(dir: &Path) -> insta::Settings {
    let fixtures = fixture().parent().unwrap().display().to_string();
    migrate_testkit::cli::snapshot_settings(dir, &[(&fixtures, "FIXTURES")])
}

#[test]
fn help_shows_the_guides_examples_and_exit_codes() {
    let dir = migrate_testkit::temp_dir();
    let out = run(dir.path(), &["--help"], &[]);
    redacted(dir.path()).bind(|| insta::assert_snapshot!(transcript(&out)));
}

#[test]
fn dry_run_export_lists_what_it_would_write_and_writes_nothing() {
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let out = run(
        dir.path(),
        &[
            "--mode",
            "export",
            "--config",
            config.to_str().unwrap(),
            "--output",
            "./migration-test",
            "--dry-run",
        ],
        &[],
    );
    assert!(!dir.path().join("migration-test").exists());
    redacted(dir.path()).bind(|| insta::assert_snapshot!(transcript(&out)));
}

#[test]
fn migrate_into_sqlite_then_verify_a_tampered_table() {
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let url = "sqlite:///./migration-rehearsal.db";
    let out = run(
        dir.path(),
        &[
            "--mode",
            "migrate",
            "--config",
            config.to_str().unwrap(),
            "--tables",
            "funding_oi_hourly,macro_minute",
        ],
        &[("CRYPTO_DB_URL", url)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));

    let conn = rusqlite::Connection::open(dir.path().join("migration-rehearsal.db")).unwrap();
    conn.execute("UPDATE macro_minute SET spx = spx + 1 WHERE rowid = 3", []).unwrap();
    drop(conn);
    let out = run(
        dir.path(),
        &[
            "--mode",
            "verify",
            "--config",
            config.to_str().unwrap(),
            "--tables",
            "funding_oi_hourly,macro_minute",
        ],
        &[("CRYPTO_DB_URL", url)],
    );
    redacted(dir.path()).bind(|| insta::assert_snapshot!(transcript(&out)));
}

#[test]
fn a_missing_target_names_every_way_to_set_one() {
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let out = run(dir.path(), &["--mode", "verify", "--config", config.to_str().unwrap()], &[]);
    redacted(dir.path()).bind(|| insta::assert_snapshot!(transcript(&out)));
}

#[test]
fn passwords_never_reach_output_or_log_files() {
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let out = run(
        dir.path(),
        &["--mode", "migrate", "--config", config.to_str().unwrap(), "--dry-run"],
        &[("CRYPTO_DB_URL", "postgresql+pg8000://crypto_user:S3cr3t-pw@127.0.0.1:1/crypto_lake")],
    );
    assert_eq!(out.status.code(), Some(1));
    let mut everything =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    for entry in std::fs::read_dir(dir.path().join("logs")).unwrap() {
        everything += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    assert!(everything.contains("crypto_user:****@"), "{everything}");
    assert!(!everything.contains("S3cr3t-pw"), "{everything}");
}

#[test]
fn sample_prints_the_first_rows_from_both_sides() {
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let config = config.to_str().unwrap();
    let env = [("CRYPTO_DB_URL", "sqlite:///./rehearsal.db")];
    let out = run(dir.path(), &["--mode", "migrate", "--config", config, "--tables", "macro_minute"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let out = run(
        dir.path(),
        &["--mode", "verify", "--config", config, "--tables", "macro_minute", "--sample", "3"],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (duck, sqlite) = stdout
        .split_once("Sample of macro_minute: first 3 rows in SQLITE")
        .unwrap_or_else(|| panic!("both samples printed: {stdout}"));
    let duck = duck.split_once("Sample of macro_minute: first 3 rows in DuckDB").expect("DuckDB sample").1;
    // Three data rows between the header rule and the closing rule, the same on both sides.
    let rows =
        |t: &str| t.lines().filter(|l| l.starts_with('|')).skip(1).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(rows(duck).len(), 3, "{duck}");
    assert_eq!(rows(duck), rows(sqlite));
}

#[test]
fn the_fixture_generator_writes_parquet_that_parquet_yml_migrates() {
    let dir = migrate_testkit::temp_dir();
    let fixtures = fixture().parent().unwrap().to_path_buf();
    let status = Command::new(fixtures.join("generate"))
        .args(["3000", dir.path().join("data").to_str().unwrap()])
        .env("MIGRATE_SQL", env!("CARGO_BIN_EXE_migrate-sql"))
        .status()
        .expect("the generator runs");
    assert!(status.success());
    assert!(dir.path().join("data/bars_1s/part-0.parquet").exists());
    std::fs::copy(fixtures.join("parquet.yml"), dir.path().join("parquet.yml")).unwrap();
    let config = dir.path().join("parquet.yml");
    let out = run(
        dir.path(),
        &["--mode", "migrate", "--config", config.to_str().unwrap()],
        &[("CRYPTO_DB_URL", "sqlite:///./rehearsal.db")],
    );
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Found 3,000 rows in bars_1s"), "{text}");
    assert!(text.contains("Overall: PASSED"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn samples_of_several_postgresql_tables_each_print() {
    // Each sample stops reading its table early; the next table's queries must still work.
    let pg = migrate_testkit::pg_database().await;
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let out = run(
        dir.path(),
        &["--mode", "migrate", "--config", config.to_str().unwrap(), "--sample", "2"],
        &[("CRYPTO_DB_URL", pg.url.as_str())],
    );
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for table in
        ["bars_1s", "bars_1m", "klines_1m", "compare_our_vs_kline_1m", "funding_oi_hourly", "macro_minute"]
    {
        assert!(text.contains(&format!("Sample of {table}: first 2 rows in POSTGRESQL")), "{table}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_into_postgresql_through_the_chosen_number_of_copy_streams() {
    let pg = migrate_testkit::pg_database().await;
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let out = run(
        dir.path(),
        &[
            "--mode",
            "migrate",
            "--config",
            config.to_str().unwrap(),
            "--tables",
            "bars_1s",
            "--copy-streams",
            "3",
        ],
        &[("CRYPTO_DB_URL", pg.url.as_str())],
    );
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Each table loads through 3 binary COPY streams"), "{text}");
    assert!(text.contains("Using PostgreSQL COPY (binary) for bars_1s"), "{text}");
    assert!(
        text.contains("bars_1s: swapping the new table in and building the primary key (symbol, ts)…"),
        "says what it is doing: {text}"
    );
    assert!(!text.contains("does not exist, skipping"), "server NOTICEs stay out: {text}");
    assert!(
        text.contains("bars_1s                        100,000         100,000         ✓ MATCH"),
        "{text}"
    );
    let out = run(
        dir.path(),
        &["--mode", "migrate", "--config", config.to_str().unwrap(), "--copy-streams", "9"],
        &[("CRYPTO_DB_URL", pg.url.as_str())],
    );
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
}

#[test]
fn ctrl_c_stops_the_run_with_exit_130_and_writes_nothing() {
    use std::io::{BufRead, BufReader};
    let dir = migrate_testkit::temp_dir();
    // A view whose row count alone takes far longer than the test: the run is mid-work when
    // Ctrl-C arrives.
    let config = dir.path().join("endless.yml");
    std::fs::write(
        &config,
        "views:\n  endless: SELECT a.range AS x, b.range AS y FROM range(1000000) a, range(1000000) b\ntables: [endless]\n",
    )
    .unwrap();
    let mut cmd = migrate_testkit::cli::command(env!("CARGO_BIN_EXE_migrate-sql"), dir.path());
    cmd.args(["--mode", "migrate", "--config", config.to_str().unwrap()])
        .env("CRYPTO_DB_URL", "sqlite:///./rehearsal.db")
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("migrate-sql starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("Streaming DuckDB") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the run ended before its work began: {seen}");
        seen.push_str(&line);
    }
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(rest.contains("WARN | Interrupted (Ctrl-C)"), "{seen}{rest}");
    let tables = rusqlite::Connection::open(dir.path().join("rehearsal.db"))
        .and_then(|c| {
            c.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    assert!(tables.is_empty(), "nothing written: {tables:?}");
}

#[test]
fn a_partly_set_crypto_db_target_is_a_usage_error_not_a_fallback_to_the_config() {
    let dir = migrate_testkit::temp_dir();
    let config = dir.path().join("config.yml");
    let fixture_text = std::fs::read_to_string(fixture()).unwrap();
    std::fs::write(&config, format!("{fixture_text}\ndatabase:\n  url: sqlite:///./local-fallback.db\n"))
        .unwrap();
    let out = run(
        dir.path(),
        &["--mode", "migrate", "--config", config.to_str().unwrap(), "--tables", "macro_minute"],
        &[
            ("CRYPTO_DB_USER", "crypto_user"),
            ("CRYPTO_DB_PASS", "S3cr3t-pw"),
            ("CRYPTO_DB_HOST", "127.0.0.1"),
        ],
    );
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("but CRYPTO_DB_NAME not"), "{text}");
    assert!(text.contains("ERROR | Set CRYPTO_DB_NAME as well"), "{text}");
    assert!(!dir.path().join("local-fallback.db").exists(), "the config's database was not used");
    assert!(!text.contains("S3cr3t-pw"), "{text}");
}

#[test]
fn importing_a_directory_without_an_export_is_a_usage_error_with_one_piece_of_advice() {
    let dir = migrate_testkit::temp_dir();
    std::fs::create_dir_all(dir.path().join("migration-test")).unwrap();
    let config = fixture();
    let out = run(
        dir.path(),
        &[
            "--mode",
            "import",
            "--config",
            config.to_str().unwrap(),
            "--input",
            "./migration-test",
            "--dry-run",
        ],
        &[("CRYPTO_DB_URL", "sqlite:///./migration-rehearsal.db")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert_eq!(transcript(&out).matches("Run the export first").count(), 1, "{}", transcript(&out));
    redacted(dir.path()).bind(|| insta::assert_snapshot!(transcript(&out)));
}

/// The fixture config with `entry` (`  table:\n    key: …`) added to its `table_options:`, the
/// file's last section.
fn with_table_options(dir: &Path, entry: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let last_section = text.lines().rfind(|l| !l.starts_with(' ') && !l.is_empty()).unwrap();
    assert_eq!(last_section, "table_options:", "the fixture's last section");
    let path = dir.join("config.yml");
    std::fs::write(&path, format!("{}\n{entry}", text.trim_end())).unwrap();
    path
}

#[test]
fn the_sqlite_rehearsal_refuses_what_postgresql_would_reject_before_writing() {
    let dir = migrate_testkit::temp_dir();
    let config = with_table_options(
        dir.path(),
        "  macro_minute:\n    primary_key: [nosuchcol]\n    indexes: [[ts, nosuchcol2]]\n",
    );
    let args = ["--mode", "migrate", "--config", config.to_str().unwrap(), "--tables", "macro_minute"];
    for dry_run in [true, false] {
        let mut args = args.to_vec();
        if dry_run {
            args.push("--dry-run");
        }
        let out = run(dir.path(), &args, &[("CRYPTO_DB_URL", "sqlite:///./rehearsal.db")]);
        let text = transcript(&out);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(text.contains("table_options.macro_minute.primary_key names column \"nosuchcol\""), "{text}");
        assert!(text.contains("table_options.macro_minute.indexes names column \"nosuchcol2\""), "{text}");
        assert!(!dir.path().join("rehearsal.db").exists(), "nothing written");
    }

    // A SQLite file in a folder that does not exist is caught by the dry run too.
    let out = run(
        dir.path(),
        &["--mode", "migrate", "--config", fixture().to_str().unwrap(), "--dry-run"],
        &[("CRYPTO_DB_URL", "sqlite:///./no/such/folder/rehearsal.db")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(transcript(&out).contains("the folder ./no/such/folder does not exist"), "{}", transcript(&out));
}

#[test]
fn a_per_target_column_type_leaves_the_other_target_alone() {
    let dir = migrate_testkit::temp_dir();
    let config =
        with_table_options(dir.path(), "  macro_minute:\n    column_types: {spx: {postgresql: text}}\n");
    let out = run(
        dir.path(),
        &["--mode", "migrate", "--config", config.to_str().unwrap(), "--tables", "macro_minute"],
        &[("CRYPTO_DB_URL", "sqlite:///./rehearsal.db")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let conn = rusqlite::Connection::open(dir.path().join("rehearsal.db")).unwrap();
    let declared: String = conn
        .query_row("SELECT type FROM pragma_table_info('macro_minute') WHERE name = 'spx'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(declared, "REAL", "SQLite keeps its own mapping");
}

#[tokio::test(flavor = "multi_thread")]
async fn replacing_a_postgresql_table_keeps_its_grants_and_the_dry_run_describes_the_target() {
    let pg = migrate_testkit::pg_database().await;
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let env = [("CRYPTO_DB_URL", pg.url.as_str())];
    let args = |extra: &[&'static str]| {
        let mut a =
            vec!["--mode", "migrate", "--config", config.to_str().unwrap(), "--tables", "macro_minute"];
        a.extend_from_slice(extra);
        a
    };
    let out = run(dir.path(), &args(&["--dry-run"]), &env);
    assert!(transcript(&out).contains("(1,440 rows): a new table"), "{}", transcript(&out));
    let out = run(dir.path(), &args(&[]), &env);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));

    let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
    sqlx::raw_sql("COMMENT ON TABLE macro_minute IS 'macro series'; GRANT SELECT ON macro_minute TO PUBLIC")
        .execute(&pool)
        .await
        .unwrap();
    let out = run(dir.path(), &args(&["--dry-run"]), &env);
    let text = transcript(&out);
    assert!(
        text.contains("exists with 1,440 rows: would replace it (owner, grants and comments kept)"),
        "{text}"
    );
    let out = run(dir.path(), &args(&["--dry-run", "--if-exists", "fail"]), &env);
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(transcript(&out).contains("WOULD FAIL: macro_minute exists"), "{}", transcript(&out));

    let out = run(dir.path(), &args(&[]), &env);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let (comment, public): (Option<String>, bool) = sqlx::query_as(
        "SELECT obj_description('macro_minute'::regclass, 'pg_class'), has_table_privilege('public', 'macro_minute', 'SELECT')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((comment.as_deref(), public), (Some("macro series"), true), "kept across the replace");

    // A view on the table: the dry run names it, and the run stops with the server's DETAIL.
    sqlx::raw_sql("CREATE VIEW macro_daily AS SELECT * FROM macro_minute").execute(&pool).await.unwrap();
    let out = run(dir.path(), &args(&["--dry-run"]), &env);
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("views depending on macro_minute would block the swap") && text.contains("macro_daily"),
        "{text}"
    );
    let out = run(dir.path(), &args(&[]), &env);
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("view macro_daily depends on table macro_minute"), "{text}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM macro_minute").fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 1440, "the previous table stays");
    pool.close().await;
}

#[test]
fn timestamptz_views_migrate_and_sample_without_icu() {
    let dir = migrate_testkit::temp_dir();
    let config = dir.path().join("tz.yml");
    let view = "SELECT TIMESTAMPTZ '2024-03-01 12:00:00+02' AS at, \
                TIMESTAMPTZ '2024-03-01 12:00:00+02' + INTERVAL 1 DAY AS next_day";
    std::fs::write(&config, format!("views:\n  tz: {view}\ntables: [tz]\n")).unwrap();
    let env = [("CRYPTO_DB_URL", "sqlite:///./tz.db")];
    let out = run(dir.path(), &["--mode", "migrate", "--config", config.to_str().unwrap()], &env);
    let text = transcript(&out);
    // The embedded DuckDB has no ICU: the error says how to write the view instead.
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("cast the TIMESTAMPTZ to TIMESTAMP"), "{text}");

    let view = "SELECT TIMESTAMPTZ '2024-03-01 12:00:00+02' AS at, \
                TIMESTAMPTZ '2024-03-01 12:00:00+02'::TIMESTAMP + INTERVAL 1 DAY AS next_day";
    std::fs::write(&config, format!("views:\n  tz: {view}\ntables: [tz]\n")).unwrap();
    let out =
        run(dir.path(), &["--mode", "migrate", "--config", config.to_str().unwrap(), "--sample", "1"], &env);
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("| 2024-03-01T10:00:00Z | 2024-03-02T10:00:00 |"),
        "the sample prints zoned times: {text}"
    );
}

#[test]
fn json_carries_status_log_file_and_duration_or_an_error_and_quiet_keeps_to_warnings() {
    let dir = migrate_testkit::temp_dir();
    let config = fixture();
    let config = config.to_str().unwrap();
    let env = [("CRYPTO_DB_URL", "sqlite:///./rehearsal.db")];
    let out = run(
        dir.path(),
        &["--mode", "migrate", "--config", config, "--tables", "macro_minute", "--json"],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints one JSON document");
    assert_eq!(doc["status"], "ok");
    assert_eq!(doc["exit_code"], 0);
    assert!(doc["log_file"].as_str().unwrap().ends_with(".log"), "{doc}");
    assert!(doc["duration_seconds"].as_f64().unwrap() > 0.0, "{doc}");
    assert_eq!(doc["verification"]["passed"], true);
    assert_eq!(doc["verification"]["tables"][0]["table"], "macro_minute");
    assert_eq!(doc["verification"]["tables"][0]["target_rows"], 1440);

    let out =
        run(dir.path(), &["--mode", "verify", "--config", config, "--tables", "nosuch", "--json"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("an error is JSON too");
    assert_eq!(doc["status"], "usage error");
    assert!(doc["error"]["message"].as_str().unwrap().contains("\"nosuch\""), "{doc}");

    let out =
        run(dir.path(), &["--mode", "verify", "--config", config, "--tables", "macro_minute", "-q"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stderr).trim().is_empty(), "quiet: {}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Overall: PASSED"));
}
