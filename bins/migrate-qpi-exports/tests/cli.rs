//! `migrate-qpi-exports` as operators run it, against the GCS emulator (buckets named as the
//! documents name them, per test), snapshotted where a person reads the output.

use migrate_testkit::{EnvBuckets, cli, env_buckets, seed_qpi_tree};
use std::path::Path;
use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_migrate-qpi-exports");

/// Runs the binary in `dir` against the emulator.
fn run(buckets: &EnvBuckets, dir: &Path, args: &[&str]) -> Output {
    cli::run(buckets.command(BIN, dir).args(args))
}

#[test]
fn help_documents_examples_flags_and_exit_codes() {
    let (help, settings) = cli::help(BIN);
    settings.bind(|| insta::assert_snapshot!("help", help));
}

#[tokio::test]
async fn dry_run_analyses_both_sides_and_writes_nothing() {
    let (buckets, dir) = (env_buckets().await, migrate_testkit::temp_dir());
    seed_qpi_tree(&buckets.old, "QPI_exports/").await;
    let out = run(&buckets, dir.path(), &["--env", &buckets.env, "--dry-run"]);
    buckets.snapshot_settings(dir.path()).bind(|| insta::assert_snapshot!(cli::transcript(&out)));
    assert_eq!(out.status.code(), Some(0));
    assert!(buckets.new.names("").await.is_empty(), "a dry run writes nothing");
    let log = log_text(dir.path());
    assert_eq!(log.matches("INFO | plan: copy ").count(), 9, "the whole plan is in the log file: {log}");
    let logs: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(logs.len(), 1);
    assert!(
        logs[0].starts_with(&format!("migrate_qpi_exports_{}_", buckets.env)) && logs[0].ends_with(".log"),
        "{logs:?}"
    );
}

#[tokio::test]
async fn execute_copies_verifies_and_a_rerun_copies_only_new_objects() {
    let (buckets, dir) = (env_buckets().await, migrate_testkit::temp_dir());
    seed_qpi_tree(&buckets.old, "QPI_exports/").await;
    let out = run(&buckets, dir.path(), &["--env", &buckets.env, "--execute"]);
    buckets.snapshot_settings(dir.path()).bind(|| insta::assert_snapshot!(cli::transcript(&out)));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(buckets.new.names("qpi_exports/").await.len(), 9);
    let log = log_text(dir.path());
    assert!(
        log.contains("INFO | copied qpi_answers_20240101/part-0.jsonl ("),
        "every copy is recorded: {log}"
    );

    // The external system writes one more day before cutover: only that is copied.
    buckets.old.put("QPI_exports/qpi_answers_20240107/part-0.jsonl", "{\"late\":true}\n").await;
    let out = run(&buckets, dir.path(), &["--env", &buckets.env, "--execute", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(summary["copy"]["copied"]["objects"], 1);
    assert_eq!(summary["copy"]["skipped_identical"]["objects"], 9);
    assert_eq!(summary["verify"]["matched"], 10);
}

#[tokio::test]
async fn a_changed_target_object_is_a_conflict_until_overwrite_is_asked_for() {
    let (buckets, dir) = (env_buckets().await, migrate_testkit::temp_dir());
    seed_qpi_tree(&buckets.old, "QPI_exports/").await;
    buckets
        .new
        .put("qpi_exports/qpi_answers_20240101/part-0.jsonl", "{\"day\":\"XXXXXXXX\",\"part\":0}\n")
        .await;
    let out = run(&buckets, dir.path(), &["--env", &buckets.env, "--execute"]);
    assert_eq!(out.status.code(), Some(3), "{}", cli::transcript(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--overwrite-changed"));
    assert_eq!(buckets.new.names("").await.len(), 1, "nothing copied while conflicts remain");

    let out = run(&buckets, dir.path(), &["--env", &buckets.env, "--execute", "--overwrite-changed"]);
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
}

#[tokio::test]
async fn check_references_lists_every_file_and_line() {
    let (buckets, dir) = (env_buckets().await, migrate_testkit::temp_dir());
    seed_qpi_tree(&buckets.old, "QPI_exports/").await;
    let dags = dir.path().join("dags");
    std::fs::create_dir_all(&dags).unwrap();
    std::fs::write(
        dags.join("a.py"),
        "x = 1\npath = f\"gs://data-bucket-{env}/QPI_exports/qpi_answers_{ds}/\"\n",
    )
    .unwrap();
    std::fs::write(dags.join("b.sh"), "gsutil ls gs://data-bucket-${ENV}/QPI_exports\n").unwrap();
    let out =
        run(&buckets, dir.path(), &["--env", &buckets.env, "--check-references", dags.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a.py:2:"), "{stderr}");
    assert!(stderr.contains("b.sh:1:"), "{stderr}");
}

/// Every log file of the run directory, concatenated in name order.
fn log_text(dir: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("logs")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}
