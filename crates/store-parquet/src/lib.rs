//! A directory of Parquet files, one per table, with `manifest.json` recording each file's rows,
//! bytes, SHA-256 and Arrow schema. As a [`TableSink`] it writes `<table>.parquet` through a
//! temporary file renamed into place on commit (a failed export never leaves a half file under
//! the final name) and updates the manifest after each table. As a [`TableSource`] it reads the
//! files back; [`ParquetDir::check`] proves every file matches its manifest entry first.
//!
//! [`TableSink`]: migrate_core::TableSink
//! [`TableSource`]: migrate_core::TableSource

#![warn(missing_docs)]

mod dir;
mod error;
mod manifest;
mod writer;

pub use dir::{ParquetDir, WriteOptions};
pub use error::{ParquetError, Result};
pub use manifest::{MANIFEST_FILE, Manifest, ManifestEntry, SchemaField};
