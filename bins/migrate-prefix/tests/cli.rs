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
