//! The six binaries as operators run them, against the GCS emulator (buckets named as the
//! documents name them, per test), snapshotted where a person reads the output.

use bytes::Bytes;
use futures::TryStreamExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use store_gcs::{GcsClient, UploadOptions};

/// The workspace's built binaries sit beside this test's own executable's folder.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` (nextest and `cargo test --workspace` build it)",
        path.display()
    );
    path
}

/// A pair of buckets named like production (`data-bucket-{env}`, `de-bigquery-data-export-{env}`)
/// for a fresh environment name; removed on drop.
struct Env {
    name: String,
    gcs: GcsClient,
    endpoint: String,
    dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Self {
        let endpoint = migrate_testkit::gcs_bucket().await.endpoint.clone();
        let name = format!("t{}", migrate_testkit::unique_name("").replace('_', "").to_lowercase());
        let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect();
        let gcs = GcsClient::anonymous(&endpoint).unwrap();
        for bucket in [format!("data-bucket-{name}"), format!("de-bigquery-data-export-{name}")] {
            gcs.create_bucket(&bucket, None).await.unwrap();
        }
        Self { name, gcs, endpoint, dir: migrate_testkit::temp_dir() }
    }

    fn old(&self) -> String {
        format!("data-bucket-{}", self.name)
    }

    fn new_bucket(&self) -> String {
        format!("de-bigquery-data-export-{}", self.name)
    }

    async fn put(&self, bucket: &str, name: &str, body: &str) {
        let opts = UploadOptions { content_type: Some("application/jsonl".into()), ..Default::default() };
        self.gcs.upload(bucket, name, Bytes::from(body.to_string()), &opts).await.unwrap();
    }

    /// All log files starting with `stem`, concatenated.
    fn log_text(&self, stem: &str) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("logs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name().unwrap().to_string_lossy().starts_with(stem)
                    && p.extension().is_some_and(|x| x == "log")
            })
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    async fn names(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.gcs.list(bucket, prefix).map_ok(|o| o.name).try_collect().await.unwrap()
    }

    /// A QPI export tree: daily folders, a missing day, a day without JSONL.
    async fn qpi_tree(&self) {
        for day in ["20240101", "20240102", "20240103", "20240105"] {
            for part in 0..2 {
                let name = format!("QPI_exports/qpi_answers_{day}/part-{part}.jsonl");
                self.put(&self.old(), &name, &format!("{{\"day\":\"{day}\",\"part\":{part}}}\n")).await;
            }
        }
        self.put(&self.old(), "QPI_exports/qpi_answers_20240106/_SUCCESS", "").await;
    }

    fn run(&self, bin: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(binary(bin));
        cmd.current_dir(self.dir.path()).args(args);
        cmd.stdin(std::process::Stdio::null()).env("COLUMNS", "100");
        cmd.env("STORAGE_EMULATOR_HOST", &self.endpoint).env_remove("GOOGLE_APPLICATION_CREDENTIALS");
        cmd.output().expect("the binary runs")
    }

    /// Exit code, stdout and stderr with bucket names, the temp dir and times made stable.
    fn transcript(&self, out: &Output) -> String {
        let text = format!(
            "exit code: {}\n--- stdout\n{}--- stderr\n{}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = text.replace(&self.dir.path().display().to_string(), "[DIR]").replace(&self.name, "[ENV]");
        redact_times(&text)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let (endpoint, buckets) = (self.endpoint.clone(), [self.old(), self.new_bucket()]);
        // A client of its own: the test's runtime is blocked in this join.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let gcs = GcsClient::anonymous(&endpoint).unwrap();
            rt.block_on(async {
                for b in buckets {
                    let _ = gcs.delete_bucket_and_objects(&b).await;
                }
            });
        })
        .join();
    }
}

/// `20261121_101500_123` (log and manifest names) → `[TIME]`; elapsed times are not printed.
fn redact_times(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let is_stamp = |s: &[u8]| {
        s.len() >= 19
            && s[..8].iter().all(u8::is_ascii_digit)
            && s[8] == b'_'
            && s[9..15].iter().all(u8::is_ascii_digit)
            && s[15] == b'_'
            && s[16..19].iter().all(u8::is_ascii_digit)
    };
    while i < b.len() {
        if is_stamp(&b[i..]) {
            out.push_str("[TIME]");
            i += 19;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[tokio::test]
async fn help_documents_examples_flags_and_exit_codes() {
    let env = Env::new().await;
    for bin in ["migrate-qpi-exports", "delete-old-qpi-exports", "migrate-prefix"] {
        let out = env.run(bin, &["--help"]);
        insta::assert_snapshot!(bin, env.transcript(&out));
    }
}

#[tokio::test]
async fn qpi_dry_run_analyses_both_sides_and_writes_nothing() {
    let env = Env::new().await;
    env.qpi_tree().await;
    let out = env.run("migrate-qpi-exports", &["--env", &env.name, "--dry-run"]);
    insta::assert_snapshot!(env.transcript(&out));
    assert_eq!(out.status.code(), Some(0));
    assert!(env.names(&env.new_bucket(), "").await.is_empty(), "a dry run writes nothing");
    let logs: Vec<String> = std::fs::read_dir(env.dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(logs.len(), 1);
    assert!(
        logs[0].starts_with(&format!("migrate_qpi_exports_{}_", env.name)) && logs[0].ends_with(".log"),
        "{logs:?}"
    );
}

#[tokio::test]
async fn qpi_execute_copies_verifies_and_a_rerun_copies_only_new_objects() {
    let env = Env::new().await;
    env.qpi_tree().await;
    let out = env.run("migrate-qpi-exports", &["--env", &env.name, "--execute"]);
    insta::assert_snapshot!(env.transcript(&out));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(env.names(&env.new_bucket(), "qpi_exports/").await.len(), 9);
    let log = env.log_text("migrate_qpi_exports_");
    assert!(
        log.contains("INFO | copied qpi_answers_20240101/part-0.jsonl ("),
        "every copy is recorded: {log}"
    );

    // The external system writes one more day before cutover: only that is copied.
    env.put(&env.old(), "QPI_exports/qpi_answers_20240107/part-0.jsonl", "{\"late\":true}\n").await;
    let out = env.run("migrate-qpi-exports", &["--env", &env.name, "--execute", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.transcript(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(summary["copy"]["copied"]["objects"], 1);
    assert_eq!(summary["copy"]["skipped_identical"]["objects"], 9);
    assert_eq!(summary["verify"]["matched"], 10);
}

#[tokio::test]
async fn a_changed_target_object_is_a_conflict_and_corruption_fails_verification() {
    let env = Env::new().await;
    env.qpi_tree().await;
    env.put(
        &env.new_bucket(),
        "qpi_exports/qpi_answers_20240101/part-0.jsonl",
        "{\"day\":\"XXXXXXXX\",\"part\":0}\n",
    )
    .await;
    let out = env.run("migrate-qpi-exports", &["--env", &env.name, "--execute"]);
    assert_eq!(out.status.code(), Some(3), "{}", env.transcript(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--overwrite-changed"));
    assert_eq!(env.names(&env.new_bucket(), "").await.len(), 1, "nothing copied while conflicts remain");

    let out = env.run("migrate-qpi-exports", &["--env", &env.name, "--execute", "--overwrite-changed"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.transcript(&out));
}

#[tokio::test]
async fn deletion_refuses_wrong_or_missing_confirmation_then_deletes_with_a_manifest_and_restores() {
    let env = Env::new().await;
    env.qpi_tree().await;
    let code_dir = env.dir.path().join("orchestration/dags/jobs/import");
    std::fs::create_dir_all(&code_dir).unwrap();
    std::fs::write(
        code_dir.join("import_qpi.py"),
        "qpi_exports_path = f\"gs://data-bucket-{env}/QPI_exports/\"\n",
    )
    .unwrap();
    let code = env.dir.path().join("orchestration");
    let code = code.to_str().unwrap();
    let source = format!("gs://{}/QPI_exports/", env.old());

    // Before the copy: verification fails, so even a confirmed run refuses.
    let out = env
        .run("delete-old-qpi-exports", &["--env", &env.name, "--confirm-delete", "--confirm-text", &source]);
    assert_eq!(out.status.code(), Some(4), "{}", env.transcript(&out));

    assert_eq!(env.run("migrate-qpi-exports", &["--env", &env.name, "--execute"]).status.code(), Some(0));

    // Code still points at the old location: refused, and every file:line is listed.
    let out = env.run("delete-old-qpi-exports", &["--env", &env.name, "--dry-run", "--code-dir", code]);
    insta::assert_snapshot!("delete_refused_by_code_references", env.transcript(&out));
    assert_eq!(out.status.code(), Some(4));
    std::fs::write(
        code_dir.join("import_qpi.py"),
        "qpi_exports_path = f\"gs://de-bigquery-data-export-{env}/qpi_exports/\"\n",
    )
    .unwrap();

    // Dry run passes and deletes nothing; wrong text and no terminal both refuse.
    let out = env.run("delete-old-qpi-exports", &["--env", &env.name, "--code-dir", code]);
    insta::assert_snapshot!("delete_dry_run", env.transcript(&out));
    assert_eq!(out.status.code(), Some(0));
    let out = env.run(
        "delete-old-qpi-exports",
        &["--env", &env.name, "--confirm-delete", "--confirm-text", "gs://data-bucket-prod/QPI_exports/"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", env.transcript(&out));
    let out = env.run("delete-old-qpi-exports", &["--env", &env.name, "--confirm-delete"]);
    assert_eq!(out.status.code(), Some(4), "{}", env.transcript(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--confirm-text"));
    assert_eq!(env.names(&env.old(), "QPI_exports/").await.len(), 9, "nothing deleted by refused runs");

    // Confirmed: manifest locally and in the target bucket, then exactly its objects go.
    let out = env.run(
        "delete-old-qpi-exports",
        &["--env", &env.name, "--confirm-delete", "--confirm-text", &source, "--code-dir", code],
    );
    insta::assert_snapshot!("delete_confirmed", env.transcript(&out));
    assert_eq!(out.status.code(), Some(0));
    assert!(env.names(&env.old(), "QPI_exports/").await.is_empty());
    let log = env.log_text("delete_old_qpi_exports_");
    let deleted = format!(
        "INFO | deleted gs://{}/QPI_exports/qpi_answers_20240105/part-1.jsonl (generation ",
        env.old()
    );
    assert!(log.contains(&deleted), "every deletion is recorded: {log}");
    let remote = env.names(&env.new_bucket(), "_migration_manifests/").await;
    assert_eq!(remote.len(), 1, "{remote:?}");
    let manifest = std::fs::read_dir(env.dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_manifest.jsonl"))
        .expect("local manifest");
    assert_eq!(std::fs::read_to_string(&manifest).unwrap().lines().count(), 10, "9 objects and the summary");

    // Restore puts them back.
    let m = manifest.to_str().unwrap();
    let out = env.run("delete-old-qpi-exports", &["restore", "--manifest", m]);
    assert_eq!(out.status.code(), Some(0), "{}", env.transcript(&out));
    assert!(env.names(&env.old(), "QPI_exports/").await.is_empty(), "restore is a dry run by default");
    let out = env.run("delete-old-qpi-exports", &["restore", "--manifest", m, "--execute"]);
    assert_eq!(out.status.code(), Some(0), "{}", env.transcript(&out));
    assert_eq!(env.names(&env.old(), "QPI_exports/").await.len(), 9);
}

#[tokio::test]
async fn failed_or_empty_listings_refuse_deletion_and_bad_urls_are_usage_errors() {
    let env = Env::new().await;
    let args = |from: &str| {
        vec!["--from".to_string(), from.to_string(), "--to".into(), format!("gs://{}/x/", env.new_bucket())]
    };
    let empty = env.run(
        "delete-prefix",
        &args(&format!("gs://{}/nothing-here/", env.old())).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(empty.status.code(), Some(4), "{}", env.transcript(&empty));
    assert!(String::from_utf8_lossy(&empty.stdout).contains("empty"));
    let missing = env.run(
        "delete-prefix",
        &args("gs://no-such-bucket-anywhere/x/").iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(missing.status.code(), Some(1), "{}", env.transcript(&missing));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("REFUSED"));
    let bad = env.run("migrate-prefix", &["--from", "gs://A/x", "--to", "memory://m/y/"]);
    assert_eq!(bad.status.code(), Some(2), "{}", env.transcript(&bad));
    let none = env.run("migrate-prefix", &["--env", "prod"]);
    assert_eq!(none.status.code(), Some(2), "{}", env.transcript(&none));
}

#[tokio::test]
async fn check_references_lists_every_file_and_line() {
    let env = Env::new().await;
    env.qpi_tree().await;
    let dags = env.dir.path().join("dags");
    std::fs::create_dir_all(&dags).unwrap();
    std::fs::write(
        dags.join("a.py"),
        "x = 1\npath = f\"gs://data-bucket-{env}/QPI_exports/qpi_answers_{ds}/\"\n",
    )
    .unwrap();
    std::fs::write(dags.join("b.sh"), "gsutil ls gs://data-bucket-${ENV}/QPI_exports\n").unwrap();
    let out =
        env.run("migrate-qpi-exports", &["--env", &env.name, "--check-references", dags.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a.py:2:"), "{stderr}");
    assert!(stderr.contains("b.sh:1:"), "{stderr}");
}

/// Runs `bin args` on a pseudo-terminal (util-linux `script`), typing `input` at its prompts.
fn run_on_terminal(dir: &Path, bin: &str, args: &[&str], input: &str) -> (i32, String) {
    use std::io::Write;
    assert!(
        Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success()),
        "`script` (util-linux) is needed to drive the interactive confirmation: apt-get install util-linux"
    );
    let command = std::iter::once(binary(bin).display().to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn interactive_confirmation_needs_the_exact_url_then_a_second_yes() {
    let dir = migrate_testkit::temp_dir();
    let old = dir.path().join("old/day_20240101");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(dir.path().join("new")).unwrap();
    std::fs::write(old.join("a.jsonl"), "{\"a\":1}\n").unwrap();
    let from = format!("file://{}/old/", dir.path().display());
    let to = format!("file://{}/new/", dir.path().display());
    let copy = Command::new(binary("migrate-prefix"))
        .args(["--from", &from, "--to", &to, "--execute"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(copy.status.code(), Some(0));
    let args = ["--from", from.as_str(), "--to", to.as_str(), "--confirm-delete"];

    let (code, screen) = run_on_terminal(dir.path(), "delete-prefix", &args, "file:///somewhere/else/\n");
    assert_eq!(code, 4, "{screen}");
    assert!(old.join("a.jsonl").exists(), "a wrong URL deletes nothing");

    let (code, screen) = run_on_terminal(dir.path(), "delete-prefix", &args, &format!("{from}\nn\n"));
    assert_eq!(code, 4, "{screen}");
    assert!(old.join("a.jsonl").exists(), "no second yes, nothing deleted");

    let (code, screen) = run_on_terminal(dir.path(), "delete-prefix", &args, &format!("{from}\ny\n"));
    assert_eq!(code, 0, "{screen}");
    assert!(!old.join("a.jsonl").exists());
    assert!(dir.path().join("new/day_20240101/a.jsonl").exists());
}
