//! `migrate-clickhouse-export` as operators run it, snapshotted where a person reads the output.

use migrate_testkit::cli;

#[test]
fn help_documents_examples_flags_and_exit_codes() {
    let (help, settings) = cli::help(env!("CARGO_BIN_EXE_migrate-clickhouse-export"));
    settings.bind(|| insta::assert_snapshot!("help", help));
}
