//! `migrate-prefix` as operators run it, snapshotted where a person reads the output.

use migrate_testkit::cli;

const BIN: &str = env!("CARGO_BIN_EXE_migrate-prefix");

#[test]
fn help_documents_examples_flags_and_exit_codes() {
    let (help, settings) = cli::help(BIN);
    settings.bind(|| insta::assert_snapshot!("help", help));
}

#[test]
fn bad_locations_are_usage_errors() {
    let dir = migrate_testkit::temp_dir();
    let run = |args: &[&str]| cli::run(cli::command(BIN, dir.path()).args(args));
    for args in [
        &["--from", "gs://A/x", "--to", "memory://m/y/"][..],
        &["--env", "prod"],
        &["--env", "../etc", "--from", "memory://m/x/", "--to", "memory://m/y/"],
        &["--env", "Prod", "--from", "memory://m/x/", "--to", "memory://m/y/"],
        &["--from", "memory://m/x/", "--to", "memory://m/x"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", cli::transcript(&out));
    }
}

#[test]
fn a_target_inside_the_source_or_the_reverse_is_refused_and_nothing_is_written() {
    let dir = migrate_testkit::temp_dir();
    std::fs::create_dir_all(dir.path().join("p/day_20240101")).unwrap();
    std::fs::write(dir.path().join("p/day_20240101/a.jsonl"), "{\"a\":1}\n").unwrap();
    let source = format!("file://{}/p/", dir.path().display());
    let inside = format!("file://{}/p/backup/", dir.path().display());
    for (from, to, says) in
        [(&source, &inside, "lies inside the source"), (&inside, &source, "lies inside the target")]
    {
        let out = cli::run(cli::command(BIN, dir.path()).args(["--from", from, "--to", to, "--execute"]));
        assert_eq!(out.status.code(), Some(2), "{}", cli::transcript(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{}", cli::transcript(&out));
    }
    assert!(!dir.path().join("p/backup").exists(), "nothing written into the source");
}

#[test]
fn copies_a_local_tree_and_verifies_it() {
    let dir = migrate_testkit::temp_dir();
    std::fs::create_dir_all(dir.path().join("old/day_20240101")).unwrap();
    std::fs::write(dir.path().join("old/day_20240101/a.jsonl"), "{\"a\":1}\n").unwrap();
    let from = format!("file://{}/old/", dir.path().display());
    let to = format!("file://{}/new/", dir.path().display());
    let out = cli::run(cli::command(BIN, dir.path()).args(["--from", &from, "--to", &to, "--execute"]));
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    assert!(dir.path().join("new/day_20240101/a.jsonl").exists());
}

#[test]
fn an_unwritable_log_directory_is_a_configuration_error() {
    let dir = migrate_testkit::temp_dir();
    std::fs::write(dir.path().join("not-a-dir"), "").unwrap();
    let out = cli::run(cli::command(BIN, dir.path()).args([
        "--from",
        "memory://m/x/",
        "--to",
        "memory://m/y/",
        "--log-dir",
        "not-a-dir/logs",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", cli::transcript(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-dir"), "{}", cli::transcript(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_written_while_the_copy_runs_are_new_since_the_plan_not_a_failure() {
    let (old, new) = (migrate_testkit::gcs_bucket().await, migrate_testkit::gcs_bucket().await);
    for i in 0..150 {
        old.put(&format!("live/day_20240101/part-{i:03}.jsonl"), "{\"a\":1}\n").await;
    }
    // The exporting system keeps writing for as long as the run lasts, under keys that sort
    // first, so the copy's listing (streamed in key order) has passed them when they appear.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, endpoint, bucket) = (stop.clone(), old.endpoint.clone(), old.name.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let name = format!("live/day_20231231/late-{i:04}.jsonl");
                migrate_testkit::put_object(&endpoint, &bucket, &name, "{\"late\":1}\n").await;
                i += 1;
            }
            i
        })
    };
    let dir = migrate_testkit::temp_dir();
    let (from, to) = (format!("{}live/", old.url()), format!("{}live/", new.url()));
    let mut cmd = cli::command(BIN, dir.path());
    cmd.args(["--from", &from, "--to", &to, "--execute"]).env("STORAGE_EMULATOR_HOST", &old.endpoint);
    let out = tokio::task::spawn_blocking(move || cli::run(&mut cmd)).await.unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = writer.await.unwrap();
    let text = cli::transcript(&out);
    assert!(written > 0, "{text}");
    assert_eq!(out.status.code(), Some(0), "new objects are not a failed copy: {text}");
    assert!(text.contains("new since the plan: re-run to copy"), "{text}");
}
