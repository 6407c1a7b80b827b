//! `ch-migrate`: versioned ClickHouse schema migrations. Argument parsing and the commands live
//! in the `ch-migrate` library (`ch_migrate::cli`).

fn main() -> std::process::ExitCode {
    ch_migrate::cli::main()
}
