//! The `pg-to-clickhouse` tool's library: archive old PostgreSQL rows into ClickHouse with no
//! row lost, duplicated or deleted unverified. This part is pure and tested without a server:
//! [`settings`] reads the seed's `TIMESTORE_POSTGRES_MIGRATION_*` variables, [`tables`] says
//! which tables move (the seed's three by default, any table with a time column by
//! configuration), [`plan`] decides where the next batch of a table ends, and [`ledger`] is the
//! life of a batch from written to cleaned, with the rules that keep deletes exact.

#![warn(missing_docs)]

pub mod copy;
pub mod error;
pub mod fingerprint;
pub mod generate;
pub mod ledger;
pub mod plan;
pub mod schema;
pub mod settings;
pub mod source;
pub mod state;
pub mod tables;
pub mod target;
pub mod testdata;

pub use error::Error;
pub use ledger::{Batch, Stage};
pub use plan::{Position, cut, horizon};
pub use settings::Settings;
pub use tables::{SourceTable, Tables};
