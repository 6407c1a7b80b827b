//! SQLite as a migration target (the rehearsal database) and, for verification, a source.
//!
//! Each table loads in one transaction on a thread of its own: a staging table is created and
//! filled with multi-row prepared INSERTs bound straight from Arrow arrays, then the old table is
//! dropped, the staging table renamed into place and the configured indexes built, then COMMIT.
//! A failed or killed load rolls back whole, so the previous table stays as it was and a re-run
//! never duplicates rows. Types map without loss or are refused before anything is written; see
//! [`types`] for the table. [`SqliteStore::scan_as`] reads a table back as the source's Arrow
//! schema so fingerprints compare equal when the data is.

#![warn(missing_docs)]

mod convert;
mod error;
mod store;
pub mod types;

pub use error::{Result, SqliteError};
pub use store::SqliteStore;
