//! The contract every migrate binary follows, in one place, so that each tool starts, logs,
//! masks credentials, confirms destructive steps and ends the same way. Operators read it as
//! docs/tools.md; this crate is its implementation.
//!
//! - [`startup`]: the one start-up path (log file → runtime → run → outcome → exit code), Ctrl-C.
//! - [`args`]: the output flags every binary takes (`--log-dir`, `--json`, `-q`, `-v`).
//! - [`exit`]: the exit codes.
//! - [`logging`]: `LEVEL | message` lines on stderr and a timestamped log file per run.
//! - [`secrets`]: `****` for passwords in URLs and in every log line.
//! - [`confirm`]: typed confirmation before anything is destroyed.
//! - [`format`](mod@format): numbers and sizes as operators read them.
//! - [`progress`]: progress bars, drawn only on a terminal.
//!
//! A binary is a parser plus one call:
//!
//! ```no_run
//! use migrate_cli::{Failure, Outcome, Tool, exit};
//!
//! #[derive(Debug)]
//! struct Error(String);
//! impl std::fmt::Display for Error {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
//! }
//! impl Failure for Error {
//!     fn exit_code(&self) -> u8 { exit::FAILED }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     Tool::new("my-tool", "logs").run(|_started| async {
//!         Ok::<_, Error>(Outcome::new(exit::OK, "Nothing to do."))
//!     })
//! }
//! ```

#![warn(missing_docs)]

pub mod args;
pub mod confirm;
pub mod exit;
pub mod format;
pub mod logging;
pub mod progress;
pub mod secrets;
pub mod startup;

pub use args::OutputArgs;
pub use confirm::{Ask, Confirmation};
pub use startup::{Failure, Outcome, Started, Tool, usage_error};
