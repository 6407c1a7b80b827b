//! The engine behind the `migrate-sql` tool: DuckDB tables and views exported to Parquet,
//! imported into PostgreSQL or SQLite, and verified by row counts and content fingerprints.
//!
//! - [`config`]: `config.yml` (DuckDB source, views, tables, per-table hints); unknown keys are errors.
//! - [`target_url`]: where the target URL comes from (`CRYPTO_DB_URL`, the `CRYPTO_DB_*` parts,
//!   `database.url`), the SQLAlchemy-style URLs users already have, and masking (`****`).
//! - [`engine`]: the modes (export, import, verify) over DuckDB, Parquet, SQLite and PostgreSQL.
//! - [`verify`]: row counts and content fingerprints per table, and the summary table.

#![warn(missing_docs)]

pub mod app;
pub mod config;
pub mod engine;
pub mod error;
pub mod progress;
pub mod target_url;
pub mod verify;

pub use config::Config;
pub use error::{Result, SqlError};
pub use migrate_cli::secrets::mask_url;
pub use migrate_core::IfExists;
pub use target_url::{Target, UrlSource, resolve_url};
