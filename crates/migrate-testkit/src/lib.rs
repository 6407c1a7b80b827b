//! Test harness: each test gets its own PostgreSQL database, ClickHouse database, GCS bucket
//! and temp dir, dropped when the handle is, so tests run in parallel and never share state.
//!
//! Service addresses come from the environment or from `.services/env`, which
//! `scripts/services up` writes. A service that is not reachable makes the test FAIL with a
//! message saying how to start it: nothing here skips silently.
//!
//! ```no_run
//! # async fn demo() {
//! let pg = migrate_testkit::pg_database().await;
//! let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
//! # }
//! ```

#![warn(missing_docs)]

pub mod browser;
pub mod cli;
mod clickhouse;
mod config;
mod gcs;
mod postgres;

pub use clickhouse::{
    ENGINES, Engine, FRONT_HEADER, TestClickHouse, TestCluster, clickhouse_cluster, clickhouse_database,
    clickhouse_database_at, clickhouse_database_on, on_every_clickhouse,
};
pub use config::{Services, services};
pub use gcs::{
    EnvBuckets, TestBucket, env_buckets, gcs_bucket, gcs_bucket_at, gcs_bucket_named, put_object,
    seed_qpi_tree,
};
pub use postgres::{TestPg, pg_database, pg_database_at};

/// A fresh temporary directory, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("migrate-test-")
        .tempdir()
        .expect("cannot create a temporary directory (is /tmp writable?)")
}

/// A unique, SQL- and bucket-safe name with the given prefix.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..16])
}

/// Runs `cleanup` to completion on a thread of its own, so `Drop` can await I/O whether or not
/// it runs inside a tokio runtime. Failures are reported on stderr, never panicked on.
pub(crate) fn cleanup_in_background<F>(what: String, cleanup: F)
where
    F: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let joined = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
        match rt {
            Ok(rt) => rt.block_on(cleanup),
            Err(e) => Err(e.to_string()),
        }
    })
    .join();
    match joined {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("migrate-testkit: could not clean up {what}: {e}"),
        Err(_) => eprintln!("migrate-testkit: cleanup of {what} panicked"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unique_names_differ_and_are_safe() {
        let a = super::unique_name("t");
        let b = super::unique_name("t");
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }
}
