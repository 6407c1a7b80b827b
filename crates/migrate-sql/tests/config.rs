//! config.yml: the guide's shape, views in file order, unknown keys refused.

use migrate_cli::Failure;
use migrate_sql::config::{Config, TargetKind};

const GUIDE: &str = r#"
duckdb:
  path: lake.duckdb
  threads: 2
base_path: ./data
views:
  bars_1s: SELECT * FROM read_parquet('{base_path}/bars_1s/*.parquet')
  bars_1m: SELECT * FROM bars_1s WHERE ts % 60000 = 0
tables: [bars_1s, bars_1m]
database:
  url: sqlite:///./migration-rehearsal.db
table_options:
  bars_1s:
    primary_key: [symbol, ts]
    indexes: [[ts]]
    column_types: {volume: TEXT, close: {sqlite: TEXT}}
"#;

#[test]
fn reads_the_guides_config_and_keeps_view_order() {
    let c = Config::parse(GUIDE).unwrap();
    assert_eq!(c.views.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), vec!["bars_1s", "bars_1m"]);
    assert_eq!(c.tables, vec!["bars_1s", "bars_1m"]);
    assert_eq!(c.database.unwrap().url.as_deref(), Some("sqlite:///./migration-rehearsal.db"));
    let o = c.table_options.get("bars_1s").unwrap();
    assert_eq!(o.primary_key, vec!["symbol", "ts"]);
    let ty = |column: &str, target| o.column_types.get(column).and_then(|t| t.for_target(target));
    assert_eq!(ty("volume", TargetKind::Sqlite), Some("TEXT"));
    assert_eq!(ty("volume", TargetKind::Postgresql), Some("TEXT"));
    assert_eq!(ty("close", TargetKind::Sqlite), Some("TEXT"), "per-target override");
    assert_eq!(ty("close", TargetKind::Postgresql), None, "PostgreSQL keeps its default mapping");
}

#[test]
fn a_per_target_override_names_only_known_targets() {
    let text = GUIDE.replace("{sqlite: TEXT}", "{sqlite: TEXT, mysql: TEXT}");
    let err = Config::parse(&text).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
}

#[test]
fn paths_are_relative_to_the_config_file_and_base_path_is_substituted() {
    let dir = migrate_testkit::temp_dir();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, GUIDE).unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.duckdb.path.as_deref(), Some(dir.path().join("lake.duckdb").as_path()));
    let sql = c.view_sql(&c.views[0]);
    assert_eq!(
        sql,
        format!("SELECT * FROM read_parquet('{}/bars_1s/*.parquet')", dir.path().join("./data").display())
    );
}

#[test]
fn unknown_keys_and_bad_names_are_errors() {
    for (text, expect) in [
        ("tables: [a]\nbatchsize: 5\n", "unknown field `batchsize`"),
        ("duckdb:\n  pth: x\n", "unknown field `pth`"),
        ("table_options:\n  t:\n    primary_keys: [a]\n", "unknown field `primary_keys`"),
        ("views:\n  - a\n", "views"),
        ("views:\n  v: 5\n", "name: SQL text"),
        ("tables: [\"bad name\"]\n", "letters, digits and _"),
        ("views:\n  \"x;drop\": SELECT 1\n", "letters, digits and _"),
    ] {
        let err = Config::parse(text).unwrap_err();
        assert!(err.to_string().contains(expect), "{text:?}: {err}");
        assert_eq!(err.exit_code(), 2);
    }
}

#[test]
fn a_missing_file_is_named() {
    let err = Config::load(std::path::Path::new("/nonexistent/config.yml")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/config.yml"), "{err}");
    assert_eq!(err.exit_code(), 2);
}
