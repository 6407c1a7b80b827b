//! DuckDB's own types, straight from DuckDB (not hand-built Arrow): UUID, ENUM, HUGEINT and the
//! unsigned integers, DECIMAL, NaN and ±infinity, ±infinity timestamps and dates, TIMESTAMPTZ,
//! nanosecond timestamps, INTERVAL, BLOB, nested types. Each either migrates and verifies on
//! both targets, or stops before writing with an error naming table, column and override.

use migrate_cli::{Failure, exit};
use migrate_sql::app::{self, Mode, RunArgs};
use migrate_sql::engine::RunOptions;
use std::path::Path;

const VIEW: &str = r#"
  SELECT * FROM (VALUES
    (1, '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'::UUID, 'up'::ENUM('up', 'down'),
        170141183460469231731687303715884105727::HUGEINT, 255::UTINYINT, 4294967295::UINTEGER,
        12345678.901::DECIMAL(18, 3), 'NaN'::DOUBLE, 'infinity'::FLOAT,
        'infinity'::TIMESTAMP, '-infinity'::DATE, TIMESTAMPTZ '2024-03-01 12:00:00+02',
        '2024-03-01 12:00:00.123456789'::TIMESTAMP_NS, INTERVAL '1 month 2 days 3 seconds',
        '\xAA\x00\xFF'::BLOB, 'ünïcødé ✓', [1, NULL, 3], {'x': 1, 'y': 'a'}),
    (2, NULL, 'down', -170141183460469231731687303715884105727::HUGEINT, 0, 0,
        -0.001, '-infinity'::DOUBLE, 'NaN'::FLOAT,
        '-infinity'::TIMESTAMP, 'infinity'::DATE, NULL,
        NULL, INTERVAL '-5 hours', ''::BLOB, '', [], NULL)
  ) t(id, u, e, h, ut, ui, d, f64, f32, ts_inf, date_inf, tstz, ts_ns, iv, b, s, l, st)
"#;

fn config(dir: &Path, overrides: &str) -> std::path::PathBuf {
    let body = VIEW.lines().map(|l| format!("    {l}\n")).collect::<String>();
    let text = format!("views:\n  duck_types: >\n{body}tables: [duck_types]\n{overrides}");
    let path = dir.join("config.yml");
    std::fs::write(&path, text).unwrap();
    path
}

fn args(config: std::path::PathBuf, mode: Mode) -> RunArgs {
    RunArgs {
        mode,
        config,
        output: None,
        input: None,
        tables: vec![],
        keep_intermediate: None,
        options: RunOptions::default(),
        sample: 0,
    }
}

/// Migrates, and each time the run stops, applies every override its advice names and runs
/// again. Returns the overrides it took to verify cleanly, and the number of runs.
async fn migrate_with_suggested_overrides(url: &str, tmp: &Path) -> (Vec<(String, String)>, usize) {
    let env = |k: &str| (k == "CRYPTO_DB_URL").then(|| url.to_string());
    let mut overrides: Vec<(String, String)> = Vec::new();
    let mut runs = 0;
    for _ in 0..10 {
        let yaml = if overrides.is_empty() {
            String::new()
        } else {
            let cols: String = overrides.iter().map(|(c, t)| format!("      {c}: {t}\n")).collect();
            format!("table_options:\n  duck_types:\n    column_types:\n{cols}")
        };
        runs += 1;
        match app::run(&args(config(tmp, &yaml), Mode::Migrate), env).await {
            Ok(outcome) => {
                assert_eq!(outcome.exit, exit::OK, "verification passes with {overrides:?}");
                return (overrides, runs);
            }
            Err(e) => {
                // The error names table and column; the tool's advice names the override.
                let text = format!("{e}\n{}", e.advice().unwrap_or_default());
                let fixes: Vec<&str> = text
                    .lines()
                    .filter_map(|l| l.split_once("column_types.")?.1.split_once(" in the config"))
                    .map(|(fix, _)| fix)
                    .collect();
                assert!(!fixes.is_empty(), "an error without a fix: {text}");
                for fix in fixes {
                    let (column, ty) = fix.split_once(" to ").expect("`column to type`");
                    assert!(
                        text.contains("duck_types") && text.contains(column),
                        "names table and column: {text}"
                    );
                    overrides.push((column.to_string(), ty.to_string()));
                }
            }
        }
    }
    panic!("still failing after {overrides:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duckdb_types_migrate_to_sqlite_and_verify() {
    let tmp = migrate_testkit::temp_dir();
    let db = tmp.path().join("types.db");
    let (overrides, runs) =
        migrate_with_suggested_overrides(&format!("sqlite:///{}", db.display()), tmp.path()).await;
    assert_eq!(runs, 2, "every column that needs an override is named by the first failed run");
    // NaN has no SQLite REAL form: the run stops (writing nothing) until the column is TEXT.
    assert_eq!(
        overrides,
        vec![
            ("f64".to_string(), "{sqlite: TEXT}".to_string()),
            ("f32".to_string(), "{sqlite: TEXT}".to_string())
        ]
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (u, e, ts): (String, String, String) = conn
        .query_row("SELECT u, e, ts_inf FROM duck_types WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(u, "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    assert_eq!(e, "up");
    assert_eq!(ts, "infinity");
}

#[tokio::test(flavor = "multi_thread")]
async fn duckdb_types_migrate_to_postgres_and_verify() {
    let pg = migrate_testkit::pg_database().await;
    let tmp = migrate_testkit::temp_dir();
    let (overrides, runs) = migrate_with_suggested_overrides(&pg.url, tmp.path()).await;
    assert_eq!(runs, 2, "every column that needs an override is named by the first failed run");
    // DuckDB writes HUGEINT as DECIMAL(38,0) though it reaches 39 digits: unconstrained numeric.
    // PostgreSQL keeps microseconds: nanosecond timestamps need the bigint override.
    let expected = [("h", "{postgresql: numeric}"), ("ts_ns", "{postgresql: bigint}")];
    assert_eq!(overrides, expected.map(|(c, t)| (c.to_string(), t.to_string())));
}
