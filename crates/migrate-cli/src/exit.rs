//! Exit codes: the one definition every migrate binary, runbook and `--help` refers to.

/// Done: the work finished and, where it verifies, source and target are in sync.
pub const OK: u8 = 0;
/// Failed: I/O, a store or server error, objects or rows that could not be moved.
pub const FAILED: u8 = 1;
/// Usage or configuration error: nothing was started.
pub const USAGE: u8 = 2;
/// Verification found a difference between source and target (or conflicts stopped a copy).
pub const DIFFERENT: u8 = 3;
/// A safety check or the operator's confirmation refused a destructive step; nothing was changed.
pub const REFUSED: u8 = 4;
/// Interrupted by Ctrl-C (128 + SIGINT, as shells report it); the log file says how far it got.
pub const INTERRUPTED: u8 = 130;

/// The exit codes as `--help` and the runbooks print them.
pub const HELP: &str = "Exit codes: 0 done (in sync, verified), 1 failed, 2 usage or configuration error,
3 verification found a difference, 4 refused (nothing changed), 130 interrupted (Ctrl-C).";
