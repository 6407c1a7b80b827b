//! The engine of the migrate toolkit. It does no I/O of its own: stores implement its traits,
//! and the plans and verdicts it computes are pure functions of what the stores report.
//!
//! - [`table`]: tables as Arrow record-batch streams ([`TableSource`], [`TableSink`]) and
//!   [`copy_table`], which commits only when every batch landed.
//! - [`fingerprint`]: order-independent content fingerprints with one canonical encoding, so
//!   equal data compares equal across DuckDB, Parquet, SQLite, PostgreSQL and ClickHouse.
//! - [`memory`]: in-memory tables, the twin every store is tested against.
//! - [`convert`]: strict Arrow casts and JSON text shared by the SQL stores.
//! - [`verdict`]: reading a target back ([`TableReadBack`]) and the per-table verdict.
//!
//! ```
//! use migrate_core::{Fingerprint, IfExists, MemoryTables, copy_table};
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use std::sync::Arc;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let schema = Arc::new(Schema::new(vec![Field::new("ts", DataType::Int64, false)]));
//! let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
//! let (source, target) = (MemoryTables::new(), MemoryTables::new());
//! source.insert("bars", schema, vec![batch]).unwrap();
//!
//! let rows = copy_table(&source, &target, "bars", 2, IfExists::Replace).await.unwrap();
//! assert_eq!(rows, 3);
//! let fp = |t: &MemoryTables| Fingerprint::of(&t.batches("bars").unwrap()).unwrap();
//! assert_eq!(fp(&source), fp(&target));
//! # });
//! ```

#![warn(missing_docs)]

pub mod convert;
pub mod error;
pub mod fingerprint;
pub mod memory;
pub mod sql;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verdict;

pub use error::{CoreError, Result};
pub use fingerprint::Fingerprint;
pub use memory::MemoryTables;
pub use table::{
    BatchSender, BatchStream, IfExists, TableHints, TableLoad, TableSink, TableSource, blocking_batches,
    copy_table,
};
pub use verdict::{
    Side, Status, TableCheck, TableReadBack, VerifyReport, cast_to, check_table, fingerprint_stream,
};
