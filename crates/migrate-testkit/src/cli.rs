//! Running a binary the way an operator does, and snapshotting what they would read.
//!
//! Every binary's CLI test uses these: [`command`] sets up a run without a terminal and with a
//! fixed width (so `--help` wraps the same everywhere), [`transcript`] puts the exit code,
//! stdout and stderr in one text, and [`snapshot_settings`] redacts what changes between runs
//! (temp dirs, timestamps in file names, fingerprints, the version) with insta filters.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `bin` (the path from `env!("CARGO_BIN_EXE_<name>")`) run in `dir`, with no terminal on
/// stdin, 100 columns, no GCS credentials of the machine and no target database settings
/// inherited from the caller's shell.
pub fn command(bin: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir).stdin(Stdio::null()).env("COLUMNS", "100");
    for var in [
        "GOOGLE_APPLICATION_CREDENTIALS",
        "CRYPTO_DB_URL",
        "CRYPTO_DB_USER",
        "CRYPTO_DB_PASS",
        "CRYPTO_DB_HOST",
        "CRYPTO_DB_NAME",
        "MIGRATE_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd` and returns its output; panics if the binary cannot be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
}

/// The exit code, stdout and stderr of a run, as one text for a snapshot or an assertion message.
pub fn transcript(out: &Output) -> String {
    format!(
        "exit code: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// insta settings that redact `dir` as `[DIR]`, each `(text, name)` of `more` as `[name]`,
/// timestamps in file names (`20261121_101500_123`) as `[TIME]`, durations (`0.42 s`) as
/// `[DURATION]`, rates (`1,230 rows/s`, `1.50 MiB/s`) as `[RATE]`, content fingerprints
/// (`rows:32 hex digits`) as `[FINGERPRINT]` and the workspace version as `[VERSION]`.
pub fn snapshot_settings(dir: &Path, more: &[(&str, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&escape(&dir.display().to_string()), "[DIR]");
    for (text, name) in more {
        settings.add_filter(&escape(text), format!("[{name}]"));
    }
    settings.add_filter(r"\d{8}_\d{6}_\d{3}", "[TIME]");
    settings.add_filter(r"\b\d+(\.\d{1,2})? s\b|\b\d+ min \d\d s\b|\b\d+ h \d\d min\b", "[DURATION]");
    settings.add_filter(r"\b[\d.,]+ (B|KiB|MiB|GiB|TiB|[a-z]+)/s\b", "[RATE]");
    settings.add_filter(r"\b\d+:[0-9a-f]{32}\b", "[FINGERPRINT]");
    settings.add_filter(&format!(r"\b{}\b", escape(env!("CARGO_PKG_VERSION"))), "[VERSION]");
    settings
}

/// Runs `bin --help` in a fresh temp dir; returns the transcript and the settings to snapshot
/// it with: `let (help, settings) = help(BIN); settings.bind(|| insta::assert_snapshot!("help", help));`
/// Needs no service. Panics unless `--help` exits 0.
pub fn help(bin: &str) -> (String, insta::Settings) {
    let dir = crate::temp_dir();
    let out = run(command(bin, dir.path()).arg("--help"));
    let text = transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    (text, snapshot_settings(dir.path(), &[]))
}

/// `text` as a regular expression that matches it literally.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_redact_what_changes_between_runs() {
        let dir = std::path::Path::new("/tmp/migrate-test-a.b");
        let text = "log /tmp/migrate-test-a.b/logs/x_20261121_101500_123.log fp 1440:0123456789abcdef0123456789abcdef env t9z";
        super::snapshot_settings(dir, &[("t9z", "ENV")]).bind(|| {
            insta::assert_snapshot!(text, @"log [DIR]/logs/x_[TIME].log fp [FINGERPRINT] env [ENV]");
        });
        let text =
            "Copied 9 objects, 224 B in 0.42 s (21.4 objects/s, 533 B/s); took 4 min 05 s, 1,230 rows/s";
        super::snapshot_settings(dir, &[]).bind(|| {
            insta::assert_snapshot!(text, @"Copied 9 objects, 224 B in [DURATION] ([RATE], [RATE]); took [DURATION], [RATE]");
        });
    }
}
