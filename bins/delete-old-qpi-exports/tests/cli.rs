//! `delete-old-qpi-exports` as operators run it, against the GCS emulator (buckets named as the
//! documents name them, per test), snapshotted where a person reads the output.

use migrate_testkit::{EnvBuckets, cli, env_buckets, seed_qpi_tree};
use std::path::{Path, PathBuf};
use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_delete-old-qpi-exports");

fn run(buckets: &EnvBuckets, dir: &Path, args: &[&str]) -> Output {
    cli::run(buckets.command(BIN, dir).args(args))
}

#[test]
fn help_documents_examples_flags_and_exit_codes() {
    let (help, settings) = cli::help(BIN);
    settings.bind(|| insta::assert_snapshot!("help", help));
}

#[tokio::test]
async fn deletion_refuses_wrong_or_missing_confirmation_then_deletes_with_a_manifest_and_restores() {
    let (buckets, tmp) = (env_buckets().await, migrate_testkit::temp_dir());
    let dir = tmp.path();
    let env = buckets.env.as_str();
    seed_qpi_tree(&buckets.old, "QPI_exports/").await;
    let code_dir = dir.join("orchestration/dags/jobs/import");
    std::fs::create_dir_all(&code_dir).unwrap();
    std::fs::write(
        code_dir.join("import_qpi.py"),
        "qpi_exports_path = f\"gs://data-bucket-{env}/QPI_exports/\"\n",
    )
    .unwrap();
    let code = dir.join("orchestration");
    let code = code.to_str().unwrap();
    let source = buckets.old.url() + "QPI_exports/";

    // Before the copy: verification fails, so even a confirmed run refuses.
    let out = run(&buckets, dir, &["--env", env, "--confirm-delete", "--confirm-text", &source]);
    assert_eq!(out.status.code(), Some(4), "{}", cli::transcript(&out));

    // The migration copied everything (as migrate-qpi-exports --execute does).
    seed_qpi_tree(&buckets.new, "qpi_exports/").await;

    // Code still points at the old location: refused, and every file:line is listed.
    let out = run(&buckets, dir, &["--env", env, "--dry-run", "--code-dir", code]);
    buckets
        .snapshot_settings(dir)
        .bind(|| insta::assert_snapshot!("delete_refused_by_code_references", cli::transcript(&out)));
    assert_eq!(out.status.code(), Some(4));
    std::fs::write(
        code_dir.join("import_qpi.py"),
        "qpi_exports_path = f\"gs://de-bigquery-data-export-{env}/qpi_exports/\"\n",
    )
    .unwrap();

    // Dry run passes and deletes nothing; wrong text and no terminal both refuse.
    let out = run(&buckets, dir, &["--env", env, "--code-dir", code]);
    buckets.snapshot_settings(dir).bind(|| insta::assert_snapshot!("delete_dry_run", cli::transcript(&out)));
    assert_eq!(out.status.code(), Some(0));
    let out = run(
        &buckets,
        dir,
        &["--env", env, "--confirm-delete", "--confirm-text", "gs://data-bucket-prod/QPI_exports/"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", cli::transcript(&out));
    let out = run(&buckets, dir, &["--env", env, "--confirm-delete"]);
    assert_eq!(out.status.code(), Some(4), "{}", cli::transcript(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--confirm-text"));
    assert_eq!(buckets.old.names("QPI_exports/").await.len(), 9, "nothing deleted by refused runs");

    // Confirmed: manifest locally and in the target bucket, then exactly its objects go.
    let out = run(
        &buckets,
        dir,
        &["--env", env, "--confirm-delete", "--confirm-text", &source, "--code-dir", code],
    );
    buckets
        .snapshot_settings(dir)
        .bind(|| insta::assert_snapshot!("delete_confirmed", cli::transcript(&out)));
    assert_eq!(out.status.code(), Some(0));
    assert!(buckets.old.names("QPI_exports/").await.is_empty());
    let log = log_text(dir);
    let deleted = format!("INFO | deleted {source}qpi_answers_20240105/part-1.jsonl (generation ");
    assert!(log.contains(&deleted), "every deletion is recorded: {log}");
    let remote = buckets.new.names("_migration_manifests/").await;
    assert_eq!(remote.len(), 1, "{remote:?}");
    let manifest =
        files(dir).into_iter().find(|p| p.to_string_lossy().ends_with("_manifest.jsonl")).expect("manifest");
    assert_eq!(std::fs::read_to_string(&manifest).unwrap().lines().count(), 10, "9 objects and the summary");

    // Restore puts them back.
    let m = manifest.to_str().unwrap();
    let out = run(&buckets, dir, &["restore", "--manifest", m]);
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    assert!(buckets.old.names("QPI_exports/").await.is_empty(), "restore is a dry run by default");
    let out = run(&buckets, dir, &["restore", "--manifest", m, "--execute"]);
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    assert_eq!(buckets.old.names("QPI_exports/").await.len(), 9);
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("logs")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Every log file of the run directory, concatenated in name order.
fn log_text(dir: &Path) -> String {
    files(dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[tokio::test]
async fn the_reference_scan_catches_how_pipeline_code_builds_paths_and_skips_its_own_logs() {
    let (buckets, tmp) = (env_buckets().await, migrate_testkit::temp_dir());
    let dir = tmp.path();
    let env = buckets.env.as_str();
    seed_qpi_tree(&buckets.old, "QPI_exports/").await;
    seed_qpi_tree(&buckets.new, "qpi_exports/").await;
    let code = dir.join("dags");
    std::fs::create_dir_all(&code).unwrap();
    let write = |name: &str, text: &str| std::fs::write(code.join(name), text).unwrap();
    write("variable_bucket.py", "path = f\"gs://{DATA_GCS_BUCKET_NAME}/QPI_exports/\"\n");
    write("joined.py", "path = os.path.join(f\"gs://data-bucket-{env}\", \"QPI_exports\", day)\n");
    write("concatenated.py", "path = \"gs://data-bucket-\" + env + \"/QPI_exports/\"\n");
    write("sibling.py", "old = f\"gs://data-bucket-{env}/QPI_exports_old/\"\n");
    write("other_bucket.py", "other = \"gs://new-data-bucket-\" + env + \"/QPI_exports_old/\"\n");

    // Scanning the run folder itself: the tool's own log files (they name the source) are not
    // references.
    let first = run(&buckets, dir, &["--env", env, "--dry-run"]);
    assert_eq!(first.status.code(), Some(0), "{}", cli::transcript(&first));
    let out = run(&buckets, dir, &["--env", env, "--dry-run", "--code-dir", "."]);
    let text = cli::transcript(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    for file in ["variable_bucket.py", "joined.py", "concatenated.py"] {
        assert!(text.contains(&format!("Update reference: dags/{file}:1:")), "{file}: {text}");
    }
    assert!(text.contains("Possible reference (review): dags/sibling.py:1:"), "{text}");
    assert!(!text.contains("other_bucket.py"), "{text}");
    assert!(!text.contains("reference: logs/") && !text.contains("(review): logs/"), "{text}");
    assert!(text.contains("cannot see a location assembled at run time"), "{text}");

    // Only half a location left: the checks pass, but not silently.
    for file in ["variable_bucket.py", "joined.py", "concatenated.py"] {
        std::fs::remove_file(code.join(file)).unwrap();
    }
    let out = run(&buckets, dir, &["--env", env, "--dry-run", "--code-dir", "dags"]);
    let text = cli::transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("All checks passed, but 1 code line may still refer to the source"), "{text}");

    let out = run(&buckets, dir, &["--env", env, "--dry-run", "--code-dir", "no-such-folder"]);
    assert_eq!(out.status.code(), Some(2), "{}", cli::transcript(&out));
    assert_eq!(buckets.old.names("QPI_exports/").await.len(), 9, "nothing deleted");
}

#[tokio::test]
async fn a_cut_off_deletion_is_found_and_the_complete_manifest_restores_everything() {
    let (buckets, tmp) = (env_buckets().await, migrate_testkit::temp_dir());
    let dir = tmp.path();
    let env = buckets.env.as_str();
    let source = buckets.old.url() + "QPI_exports/";
    seed_qpi_tree(&buckets.old, "QPI_exports/").await;
    seed_qpi_tree(&buckets.new, "qpi_exports/").await;
    let confirm = ["--env", env, "--confirm-delete", "--confirm-text", source.as_str()];

    // A deletion cut off after some objects: its manifest lists all 9, 4 are still there and
    // no completion was recorded.
    let out = run(&buckets, dir, &confirm);
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    let first = files(dir).into_iter().find(|p| p.to_string_lossy().ends_with("_manifest.jsonl")).unwrap();
    let record = first.with_extension("deletion.json");
    std::fs::write(&record, r#"{"status": "started"}"#).unwrap();
    for day in ["20240101", "20240102"] {
        for part in 0..2 {
            let name = format!("QPI_exports/qpi_answers_{day}/part-{part}.jsonl");
            buckets.old.put(&name, &format!("{{\"day\":\"{day}\",\"part\":{part}}}\n")).await;
        }
    }
    // As the tool names it: relative to the run folder.
    let name = first.file_name().unwrap().to_str().unwrap().to_string();
    let first = format!("logs/{name}");
    let first = first.as_str();

    // The next run says so, names the complete manifest, and prints the command to restore all.
    let out = run(&buckets, dir, &confirm);
    let text = cli::transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "An earlier deletion of {source} did not complete: {first} lists the 9 objects"
        )),
        "{text}"
    );
    let restore_all = format!("delete-old-qpi-exports restore --manifest {first} --execute");
    assert!(text.contains(&format!("restore all 9 objects with:\n  {restore_all}")), "{text}");
    assert!(buckets.old.names("QPI_exports/").await.is_empty());

    // Finished by the second run, the first is no longer reported.
    let out = run(&buckets, dir, &["--env", env, "--dry-run"]);
    assert!(!cli::transcript(&out).contains("did not complete"), "{}", cli::transcript(&out));

    // The copy kept in the target bucket restores everything, as the printed command does.
    let remote = buckets.new.names("_migration_manifests/").await;
    assert!(remote.iter().any(|r| r.ends_with(&name)), "{remote:?}");
    let url = format!("{}_migration_manifests/{name}", buckets.new.url());
    let out = run(&buckets, dir, &["restore", "--manifest", &url, "--execute"]);
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    assert_eq!(buckets.old.names("QPI_exports/").await.len(), 9, "all 9 back");

    // A source object that differs from the manifest is named as such.
    buckets.old.put("QPI_exports/qpi_answers_20240101/part-0.jsonl", "changed\n").await;
    let out = run(&buckets, dir, &["restore", "--manifest", first]);
    let text = cli::transcript(&out);
    assert!(text.contains("the source holds other content than the manifest records"), "{text}");
}
