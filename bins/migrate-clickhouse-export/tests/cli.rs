//! `migrate-clickhouse-export` as operators run it, snapshotted where a person reads the output.

use migrate_testkit::cli;

#[test]
fn help_documents_examples_flags_and_exit_codes() {
    let dir = migrate_testkit::temp_dir();
    let out =
        cli::run(cli::command(env!("CARGO_BIN_EXE_migrate-clickhouse-export"), dir.path()).arg("--help"));
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    cli::snapshot_settings(dir.path(), &[]).bind(|| insta::assert_snapshot!("help", cli::transcript(&out)));
}
