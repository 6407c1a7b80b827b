//! `migrate-qpi-exports`: Copy gs://data-bucket-{env}/QPI_exports/ to the dedicated export bucket, verified.
//! Argument parsing and the run live in the `migrate-buckets` library.

use migrate_buckets::{Preset, cli};

fn main() -> std::process::ExitCode {
    cli::migrate_main(Preset::QpiExports)
}
