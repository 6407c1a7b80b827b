//! `delete-old-clickhouse-export`: Guarded deletion of the old clickhouse_export prefix, with a backup manifest.
//! Argument parsing and the run live in the `migrate-buckets` library.

use migrate_buckets::{Preset, cli};

fn main() -> std::process::ExitCode {
    cli::delete_main(Preset::ClickhouseExport)
}
