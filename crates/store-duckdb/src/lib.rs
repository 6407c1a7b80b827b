//! DuckDB as a [`TableSource`]: a database file opened read-only (or an in-memory database),
//! views registered from SQL, and tables streamed as Arrow record batches with bounded memory.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use migrate_core::TableSource;
//! let duck = store_duckdb::DuckDbSource::open(None, &Default::default()).unwrap();
//! duck.register_view("numbers", "SELECT range AS n FROM range(10)").unwrap();
//! assert_eq!(duck.row_count("numbers").await.unwrap(), 10);
//! # });
//! ```

#![warn(missing_docs)]

mod error;
mod source;

pub use error::{DuckDbError, Result};
pub use source::{ColumnInfo, DuckDbOptions, DuckDbSource, Relation, RelationKind, quote_ident};

/// Re-exported so callers implement against the same traits.
pub use migrate_core::TableSource;
