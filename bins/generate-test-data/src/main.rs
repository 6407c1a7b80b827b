//! `generate-test-data`: the seed's tables with realistic rows for pg-to-clickhouse. Argument
//! parsing and the work live in the `pg-to-clickhouse` library (`pg_to_clickhouse::generate`).

fn main() -> std::process::ExitCode {
    pg_to_clickhouse::generate::main()
}
