//! What the ch-migrate CLI tests share: a project made with `init` for a test database, and
//! running the binary in it.

#![allow(dead_code)]

use migrate_testkit::{TestClickHouse, cli};
use std::path::Path;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_ch-migrate");

/// A project in `dir` for the test database `db` with migration `files` (name, text).
pub fn project_with(dir: &Path, db: &TestClickHouse, files: &[(&str, &str)]) {
    project_at(dir, &db.url, &db.database, files);
}

/// A project in `dir` for `database` on the server at `url` with migration `files`.
pub fn project_at(dir: &Path, url: &str, database: &str, files: &[(&str, &str)]) {
    let out = cli::run(cli::command(BIN, dir).arg("init"));
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    let config = dir.join("configs/migration-config.yml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("database: default", &format!("database: {database}"))
        .replace("http_port: 8123", &format!("http_port: {port}"))
        .replace("host: localhost", "host: 127.0.0.1");
    std::fs::write(config, text).unwrap();
    for (name, body) in files {
        std::fs::write(dir.join("migrations").join(name), body).unwrap();
    }
}

pub fn migrate(dir: &Path, args: &[&str]) -> std::process::Output {
    cli::run(cli::command(BIN, dir).arg("migrate").args(args))
}

pub async fn scalar(db: &TestClickHouse, sql: &str) -> String {
    db.execute(sql).await.unwrap().trim().to_string()
}

/// `ch-migrate ARGS` run in the project `dir`.
pub fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    cli::run(cli::command(BIN, dir).args(args))
}

/// Sets `key: value` under `migration:` in the project's configuration.
pub fn set_migration_option(dir: &Path, key: &str, value: &str) {
    let config = dir.join("configs/migration-config.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    let mut out = String::new();
    let mut replaced = false;
    for line in text.lines() {
        if line.starts_with(&format!("  {key}:")) && !replaced {
            out.push_str(&format!("  {key}: {value}\n"));
            replaced = true;
        } else {
            out.push_str(line);
            out.push('\n');
            if line == "migration:" && !text.contains(&format!("  {key}:")) {
                out.push_str(&format!("  {key}: {value}\n"));
                replaced = true;
            }
        }
    }
    std::fs::write(config, out).unwrap();
}
