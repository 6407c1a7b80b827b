//! Target URLs: the sources in order, the SQLAlchemy forms users have, and masking.

use migrate_cli::Failure;
use migrate_sql::SqlError;
use migrate_sql::target_url::{PgTarget, Target, UrlSource, resolve_url};
use std::collections::HashMap;
use std::path::PathBuf;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

fn pg(url: &str) -> PgTarget {
    match Target::parse(url).unwrap() {
        Target::Postgres(p) => p,
        other => panic!("{url} parsed as {other:?}"),
    }
}

#[test]
fn precedence_is_url_then_parts_then_config() {
    let all = env(&[
        ("CRYPTO_DB_URL", "sqlite:///./a.db"),
        ("CRYPTO_DB_USER", "u"),
        ("CRYPTO_DB_PASS", "p"),
        ("CRYPTO_DB_HOST", "h"),
        ("CRYPTO_DB_NAME", "n"),
    ]);
    assert_eq!(
        resolve_url(&all, Some("sqlite:///c.db")).unwrap(),
        ("sqlite:///./a.db".into(), UrlSource::EnvUrl)
    );
    let parts = env(&[
        ("CRYPTO_DB_USER", "crypto_user"),
        ("CRYPTO_DB_PASS", "p@ss/w:rd"),
        ("CRYPTO_DB_HOST", "db.internal"),
        ("CRYPTO_DB_NAME", "crypto_lake"),
    ]);
    let (url, source) = resolve_url(&parts, Some("sqlite:///c.db")).unwrap();
    assert_eq!(source, UrlSource::EnvParts);
    let p = pg(&url);
    assert_eq!(p.password.as_deref(), Some("p@ss/w:rd"), "special characters survive: {url}");
    assert_eq!((p.host.as_deref(), p.database.as_deref()), (Some("db.internal"), Some("crypto_lake")));
    assert_eq!(resolve_url(env(&[]), Some("sqlite:///c.db")).unwrap().1, UrlSource::Config);
    assert!(matches!(resolve_url(env(&[]), None), Err(SqlError::NoTarget)));
    assert!(matches!(resolve_url(env(&[("CRYPTO_DB_URL", "  ")]), None), Err(SqlError::NoTarget)));
}

#[test]
fn a_partly_set_crypto_db_target_names_what_is_missing_instead_of_falling_back() {
    let partial = env(&[("CRYPTO_DB_USER", "u"), ("CRYPTO_DB_PASS", "p"), ("CRYPTO_DB_HOST", "h")]);
    let err = resolve_url(&partial, Some("sqlite:///./local.db")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CRYPTO_DB_USER, CRYPTO_DB_PASS and CRYPTO_DB_HOST set but CRYPTO_DB_NAME not: the target database is incompletely configured"
    );
    assert_eq!(err.exit_code(), 2);
    let advice = err.advice().unwrap();
    assert!(advice.starts_with("Set CRYPTO_DB_NAME as well"), "{advice}");
    let port_only =
        resolve_url(env(&[("CRYPTO_DB_PORT", "5433")]), Some("sqlite:///./local.db")).unwrap_err();
    let text = port_only.to_string();
    assert!(text.contains("CRYPTO_DB_USER, CRYPTO_DB_PASS, CRYPTO_DB_HOST and CRYPTO_DB_NAME not"), "{text}");
}

#[test]
fn a_directory_host_is_a_unix_socket() {
    let parts = env(&[
        ("CRYPTO_DB_USER", "crypto_user"),
        ("CRYPTO_DB_PASS", "secret"),
        ("CRYPTO_DB_HOST", "/cloudsql/project-id:region:instance-name"),
        ("CRYPTO_DB_NAME", "crypto_lake"),
    ]);
    let (url, _) = resolve_url(&parts, None).unwrap();
    let p = pg(&url);
    assert_eq!(p.host.as_deref(), Some("/cloudsql/project-id:region:instance-name"));
    assert_eq!(
        Target::Postgres(p).to_string(),
        "postgresql://crypto_user:****@/crypto_lake?host=/cloudsql/project-id:region:instance-name"
    );
}

#[test]
fn sqlalchemy_forms() {
    assert_eq!(
        Target::parse("sqlite:///./migration-rehearsal.db").unwrap(),
        Target::Sqlite {
            path: Some(PathBuf::from("./migration-rehearsal.db")),
            original: "sqlite:///./migration-rehearsal.db".into()
        }
    );
    match Target::parse("sqlite:////abs/x.db").unwrap() {
        Target::Sqlite { path, .. } => assert_eq!(path, Some(PathBuf::from("/abs/x.db"))),
        other => panic!("{other:?}"),
    }
    assert!(matches!(Target::parse("sqlite://").unwrap(), Target::Sqlite { path: None, .. }));

    let p = pg(
        "postgresql+pg8000://username:password@/crypto_lake?host=/cloudsql/project-id:region:instance-name",
    );
    assert_eq!((p.user.as_deref(), p.password.as_deref()), (Some("username"), Some("password")));
    assert_eq!(p.host.as_deref(), Some("/cloudsql/project-id:region:instance-name"));
    assert_eq!(p.database.as_deref(), Some("crypto_lake"));

    let p = pg("postgresql+psycopg2://username:password@localhost:5432/crypto_lake");
    assert_eq!((p.host.as_deref(), p.port), (Some("localhost"), Some(5432)));
    let p = pg("postgres://u@127.0.0.1/db?sslmode=disable&application_name=migrate");
    assert_eq!(p.sslmode.as_deref(), Some("disable"));
    let p = pg("postgresql+pg8000://u:p@/db?unix_sock=/cloudsql/x:y:z/.s.PGSQL.6543");
    assert_eq!((p.host.as_deref(), p.port), (Some("/cloudsql/x:y:z"), Some(6543)));
    p.connect_options().unwrap();
}

#[test]
fn bad_urls_name_the_problem_without_the_password() {
    for (url, expect) in [
        ("mysql://u:hunter2@h/db", "unsupported scheme"),
        ("postgresql://u:hunter2@h:notaport/db", "port"),
        ("postgresql://u:hunter2@h/db?frobnicate=1", "unknown parameter"),
        ("sqlite:relative.db", "scheme"),
        ("sqlite://relative.db", "three slashes"),
        ("postgresql://u:hunter2@h/db?sslmode=sometimes", ""),
    ] {
        let err = match Target::parse(url) {
            Ok(Target::Postgres(p)) => p.connect_options().unwrap_err(),
            Ok(other) => panic!("{url} parsed as {other:?}"),
            Err(e) => e,
        };
        let text = err.to_string();
        assert!(text.contains(expect), "{url}: {text}");
        assert!(!text.contains("hunter2"), "{url} leaked its password: {text}");
        assert_eq!(err.exit_code(), 2);
    }
}

#[test]
fn targets_display_masked() {
    assert_eq!(
        Target::parse("postgresql://u:pw@h:5433/db").unwrap().to_string(),
        "postgresql://u:****@h:5433/db"
    );
}
