//! The bucket prefix tools: `migrate-qpi-exports`, `delete-old-qpi-exports`,
//! `migrate-clickhouse-export`, `delete-old-clickhouse-export`, `migrate-prefix` and
//! `delete-prefix`. Presets name the documented migrations; [`run`] holds the runs an embedding
//! service can call directly; [`cli`] is what the binaries call.

#![warn(missing_docs)]

pub mod cli;
mod error;
mod interrupted;
mod locations;
mod preset;
mod progress;
mod render;
pub mod run;

pub use error::{BucketsError, Result};
pub use locations::{Locations, Overlap};
pub use preset::{Preset, log_stem};
pub use progress::BarProgress;
