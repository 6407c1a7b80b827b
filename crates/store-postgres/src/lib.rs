//! PostgreSQL as a migration target and, for verification, a source.
//!
//! A load creates `_migrate_staging_<table>`, streams rows into it with binary
//! `COPY … FROM STDIN (FORMAT binary)` encoded straight from Arrow arrays (no text round trip),
//! then in one transaction drops the old table, renames the staging table into place and adds
//! the configured primary key and indexes. A failed or killed load leaves the previous table as
//! it was; a re-run drops the leftover staging table first and never duplicates rows. Types map
//! without loss or are refused before anything is written ([`types`] has the table).
//! [`PostgresStore::scan_as`] reads a table back through binary COPY as the source's Arrow
//! schema, so content fingerprints compare equal when the data is. As a [`migrate_core::TableSource`]
//! it reads any table, each column typed from the catalog ([`source`]).

#![warn(missing_docs)]

mod carry;
mod columnwise;
mod decode;
mod encode;
mod error;
mod load;
mod read;
pub mod source;
mod store;
pub mod types;

pub use error::{PgError, Result};
pub use source::{KeyRange, Snapshot};
pub use store::PostgresStore;
