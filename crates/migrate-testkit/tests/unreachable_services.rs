//! A test whose service is down must fail, saying how to start it (never skip silently).
//! Port 1 on loopback has nothing listening.

#[tokio::test]
#[should_panic(expected = "scripts/services up")]
async fn postgres_down_fails_with_the_start_hint() {
    migrate_testkit::pg_database_at("postgres://postgres@127.0.0.1:1/postgres").await;
}

#[tokio::test]
#[should_panic(expected = "scripts/services up")]
async fn clickhouse_down_fails_with_the_start_hint() {
    migrate_testkit::clickhouse_database_at(migrate_testkit::Engine::Legacy, "http://127.0.0.1:1").await;
}

#[tokio::test]
#[should_panic(expected = "clickhouse-modern is not usable at http://127.0.0.1:1")]
async fn modern_clickhouse_down_fails_naming_the_engine() {
    migrate_testkit::clickhouse_database_at(migrate_testkit::Engine::Modern, "http://127.0.0.1:1").await;
}

#[tokio::test]
#[should_panic(expected = "scripts/services up")]
async fn gcs_down_fails_with_the_start_hint() {
    migrate_testkit::gcs_bucket_at("http://127.0.0.1:1").await;
}

#[tokio::test]
#[should_panic(expected = "****")]
async fn postgres_password_is_masked_in_the_failure() {
    migrate_testkit::pg_database_at("postgres://someone:hunter2@127.0.0.1:1/postgres").await;
}
