//! `delete-old-qpi-exports`: Guarded deletion of the old QPI_exports prefix, with a backup manifest.
//! Argument parsing and the run live in the `migrate-buckets` library.

use migrate_buckets::{Preset, cli};

fn main() -> std::process::ExitCode {
    cli::delete_main(Preset::QpiExports)
}
