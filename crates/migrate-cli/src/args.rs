//! The flags every binary takes for its run's output, flattened into each parser so they are
//! spelled and documented the same everywhere.

use crate::logging::Verbosity;
use crate::startup::Tool;
use std::path::PathBuf;

/// `--log-dir`, `--json`, `-q` and `-v` (global: they go before or after a subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Directory for the run's log file.
    #[arg(long, default_value = "logs", global = true)]
    pub log_dir: PathBuf,
    /// Print the summary as JSON on stdout (log lines stay on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// Only warnings, errors and the summary on the terminal (the log file keeps everything).
    #[arg(short, long, conflicts_with = "verbose", global = true)]
    pub quiet: bool,
    /// Debug lines too, on the terminal and in the log file.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl OutputArgs {
    /// The start-up path of binary `name` with these flags; the log file is named
    /// `<log_stem>_<time>.log`.
    pub fn tool(&self, name: &str, log_stem: impl Into<String>) -> Tool {
        Tool::new(name, &self.log_dir)
            .log_stem(log_stem)
            .json(self.json)
            .verbosity(Verbosity::from_flags(self.quiet, self.verbose))
    }
}
