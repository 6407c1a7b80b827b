//! Versioned ClickHouse schema migrations (the `ch-migrate` tool's library). This part is pure
//! and tested without a server: migration files of the seed's format and golang-migrate's
//! ([`file`](mod@file)), statement splitting that respects strings and comments
//! ([`split`](mod@split)), checksums that ignore line endings ([`checksum`](mod@checksum)) and
//! placeholders that let one source tree serve a single node and a cluster ([`placeholders`]).
//! [`validate`](mod@validate) checks files against the applied history and plans what
//! `migrate` applies. [`config`](mod@config) reads `configs/migration-config.yml` with its
//! environments. [`lock`](mod@lock) keeps one applier per database or cluster on every
//! ClickHouse version; [`history`](mod@history) keeps the applied state and the statement
//! journal, and [`apply`](mod@apply) runs a migration with them so that a crash never leaves it
//! half-known: finished statements are skipped on the rerun, one in doubt is named.

#![warn(missing_docs)]

pub mod adopt;
pub mod apply;
pub mod checksum;
pub mod cli;
pub mod compat;
pub mod config;
pub mod doubt;
pub mod file;
pub mod history;
pub mod lock;
pub mod placeholders;
pub mod project;
pub mod report;
pub mod rollback;
pub mod schedule;
pub mod split;
pub mod templates;
pub mod validate;

pub use checksum::{Checksum, checksum};
pub use config::{Config, ConfigError, Resolved, load as load_config};
pub use file::{
    FileName, Header, Layout, Migration, Problem, parse_file_name, parse_sections, parse_up_down,
    parse_versioned,
};
pub use placeholders::Placeholders;
pub use split::split;
pub use validate::{Applied, Checks, Source, plan, validate};
