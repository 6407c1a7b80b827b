//! ClickHouse as a migrate table sink and source, over HTTP with the official `clickhouse` crate.
//!
//! - [`ClickHouseConfig`]: `clickhouse://user:pass@host:port/db`, `http(s)://…`, environment
//!   variables or a builder; the password is masked wherever the config is printed.
//! - [`ClickHouse`]: one server, its [`Capabilities`] probed once at connect (version, formats,
//!   types, settings, database engine, clusters); statements one per request with their own
//!   settings and query id, retried with backoff when the error code says a retry can help.
//! - [`ChError`] carries the server's code and name ([`ServerError`]) and whether to retry.
//! - [`ClickHouseStore`]: a [`migrate_core::TableSink`], [`migrate_core::TableSource`] and
//!   [`migrate_core::TableReadBack`]. Loads stream Arrow batches as Native blocks (RowBinary for
//!   LowCardinality columns; LZ4-compressed by the client unless `?compression=none`) into `_migrate_staging_<table>` and swap it in (EXCHANGE TABLES where the
//!   database supports it, RENAME otherwise). Types map without loss or are refused before
//!   anything is written ([`types`] has the table per server version).
//! - [`cluster`]: ON CLUSTER DDL with per-host results and a timeout that names lagging hosts;
//!   [`mutations`]: waiting for ALTER … UPDATE/DELETE, with the server's failure reason.

#![warn(missing_docs)]

mod capabilities;
pub mod cluster;
mod config;
mod error;
pub mod mutations;
mod native;
mod rowbinary;
mod server;
mod sink;
mod source;
pub mod sql;
mod store;
pub mod types;

pub use capabilities::{Capabilities, ClusterHost, PROBED_SETTINGS, Version};
pub use config::{ClickHouseConfig, ENV_VARS};
pub use error::{ChError, Result, ServerError, error_name};
pub use server::{ClickHouse, RetryPolicy, Statement};
pub use store::{ClickHouseStore, staging_name};
