//! `migrate-prefix`: Copy any bucket prefix to another location, verified.
//! Argument parsing and the run live in the `migrate-buckets` library.

use migrate_buckets::{Preset, cli};

fn main() -> std::process::ExitCode {
    cli::migrate_main(Preset::Generic)
}
