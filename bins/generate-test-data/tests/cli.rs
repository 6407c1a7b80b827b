//! `generate-test-data` as operators run it, against the test PostgreSQL: the schema created and
//! filled with rows spread around the age cutoff, many sharing a timestamp; bad arguments and
//! settings refused with exit 2, an unreachable server with exit 1, nothing written.

use migrate_testkit::{cli, pg_database};

const BIN: &str = env!("CARGO_BIN_EXE_generate-test-data");

#[test]
fn help_documents_examples_and_exit_codes() {
    let (help, settings) = cli::help(BIN);
    settings.bind(|| insta::assert_snapshot!("help", help));
}

fn generate(url: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dir = migrate_testkit::temp_dir();
    let mut cmd = cli::command(BIN, dir.path());
    cmd.env("TIMESTORE_POSTGRES_URL", url).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cli::run(&mut cmd)
}

#[tokio::test]
async fn rows_spread_around_the_cutoff_many_sharing_a_timestamp() {
    let pg = pg_database().await;
    let hour = [("TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS", "1")];
    let out =
        generate(&pg.url, &["--records", "700", "--datasets", "2", "--equal-timestamps", "--json"], &hour);
    assert_eq!(out.status.code(), Some(0), "{}", cli::transcript(&out));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table =
        |name: &str| value["tables"].as_array().unwrap().iter().find(|t| t["table"] == name).unwrap().clone();
    let audit = table("dataset_access_audit");
    assert_eq!(audit["rows"], 700);
    let old = audit["older_than_cutoff"].as_i64().unwrap();
    assert!((200..=500).contains(&old), "about half are older than the cutoff: {audit}");
    assert!(audit["sharing_a_timestamp"].as_i64().unwrap() >= 600, "groups of 35 share one: {audit}");
    assert_eq!(table("lifecycle_audit_log")["rows"], 70);
    assert_eq!(table("lifecycle_job_runs")["rows"], 7);
    // Again: the schema is kept, rows are added.
    let again = generate(&pg.url, &["--records", "10", "--json"], &hour);
    assert_eq!(again.status.code(), Some(0), "{}", cli::transcript(&again));
    let value: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(value["tables"][0]["rows"], 710);
}

#[tokio::test]
async fn bad_arguments_settings_and_servers_are_refused() {
    let pg = pg_database().await;
    for (args, env, code, expected) in [
        (vec!["--records", "0"], vec![], 2, "--records"),
        (vec!["--records", "ten"], vec![], 2, "--records"),
        (vec!["--records", "5", "--datasets", "0"], vec![], 2, "--datasets"),
        (
            vec!["--records", "5"],
            vec![("TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS", "-1")],
            2,
            "TIMESTORE_POSTGRES_MIGRATION_MAX_AGE_HOURS=\"-1\"",
        ),
    ] {
        let out = generate(&pg.url, &args, &env);
        let text = cli::transcript(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {text}");
        assert!(text.contains(expected), "{args:?}: {text}");
    }
    let out = generate("postgres://postgres:secret@127.0.0.1:1/nowhere", &["--records", "5"], &[]);
    let text = cli::transcript(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("TIMESTORE_POSTGRES_URL") && !text.contains("secret"), "{text}");
}
