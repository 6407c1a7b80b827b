//! Operator-facing plumbing shared by the migrate binaries: `LEVEL | message` log lines on the
//! terminal with a timestamped log file per run, and progress bars that only draw on a terminal.

pub mod logging;
pub mod progress;
