//! The store: one database on one server, with per-table hints.

use crate::config::ClickHouseConfig;
use crate::error::{ChError, Result};
use crate::server::ClickHouse;
use crate::sql::{ident, literal, qualified};
use crate::types::{ChType, column_type};
use arrow::datatypes::{Field, Schema, SchemaRef};
use migrate_core::TableHints;
use migrate_core::convert::{PlanError, plan_columns};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The table a load writes into before it is swapped in.
pub fn staging_name(table: &str) -> String {
    format!("_migrate_staging_{table}")
}

/// Where the previous table goes for the moment of a RENAME swap (servers without EXCHANGE).
pub(crate) fn retired_name(table: &str) -> String {
    format!("_migrate_old_{table}")
}

/// Tables in one ClickHouse database, as a sink, a source and a read-back for verification.
#[derive(Debug, Clone)]
pub struct ClickHouseStore {
    pub(crate) server: ClickHouse,
    hints: Arc<BTreeMap<String, TableHints>>,
}

impl ClickHouseStore {
    /// Connects to the server and database `config` names.
    pub async fn connect(config: ClickHouseConfig) -> Result<Self> {
        Ok(Self::new(ClickHouse::connect(config).await?))
    }

    /// A store over an existing connection.
    pub fn new(server: ClickHouse) -> Self {
        Self { server, hints: Arc::new(BTreeMap::new()) }
    }

    /// Per-table hints: `primary_key` becomes the sorting key (`ORDER BY`) of a created table,
    /// `column_types` overrides the mapping of single columns ([`crate::types`]).
    pub fn with_hints(mut self, hints: BTreeMap<String, TableHints>) -> Self {
        self.hints = Arc::new(hints);
        self
    }

    /// `clickhouse:<server>`, as the store names itself in messages (password masked).
    pub fn label(&self) -> String {
        format!("clickhouse:{}", self.server.target())
    }

    /// The server underneath.
    pub fn server(&self) -> &ClickHouse {
        &self.server
    }

    pub(crate) fn hints(&self, table: &str) -> TableHints {
        self.hints.get(table).cloned().unwrap_or_default()
    }

    pub(crate) fn qualified(&self, table: &str) -> String {
        qualified(self.server.database(), table)
    }

    /// The ClickHouse type of each column of `schema`, or every column that cannot be stored
    /// without loss on this server, with what would store it.
    pub fn plan(&self, table: &str, schema: &Schema) -> Result<Vec<ChType>> {
        let hints = self.hints(table);
        if !hints.indexes.is_empty() {
            return Err(ChError::Config(format!(
                "table {table}: ClickHouse has no secondary indexes to build after a load; \
                 name the columns in primary_key instead (they become the sorting key)"
            )));
        }
        let caps = self.server.capabilities();
        plan_columns(schema, &hints, |field, override_type| column_type(field, override_type, caps)).map_err(
            |e| match e {
                PlanError::UnknownColumn { hint, column } => ChError::Config(format!(
                    "table {table}: the {hint} names column {column:?}, which the source does not have"
                )),
                PlanError::Unsupported(columns) => {
                    ChError::Unsupported { table: table.into(), version: caps.version_text.clone(), columns }
                }
            },
        )
    }

    /// Whether `table` exists in the database.
    pub async fn table_exists(&self, table: &str) -> Result<bool> {
        let rows = self
            .server
            .fetch_rows(format!(
                "SELECT count() FROM system.tables WHERE database = {} AND name = {}",
                literal(self.server.database()),
                literal(table)
            ))
            .await?;
        Ok(rows.first().and_then(|r| r.first()).is_some_and(|n| n != "0"))
    }

    /// The table's engine (`MergeTree`, `ReplicatedMergeTree`, `Distributed`…), `None` when the
    /// table does not exist.
    pub async fn table_engine(&self, table: &str) -> Result<Option<String>> {
        let rows = self
            .server
            .fetch_rows(format!(
                "SELECT engine FROM system.tables WHERE database = {} AND name = {}",
                literal(self.server.database()),
                literal(table)
            ))
            .await?;
        Ok(rows.into_iter().next().and_then(|r| r.into_iter().next()))
    }

    /// Each column's name and ClickHouse type, in table order; [`ChError::NotFound`] when the
    /// table does not exist.
    pub async fn columns(&self, table: &str) -> Result<Vec<(String, String)>> {
        if !self.table_exists(table).await? {
            return Err(self.not_found(table));
        }
        let rows = self.server.fetch_rows(format!("DESCRIBE TABLE {}", self.qualified(table))).await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.len() >= 2)
            .map(|mut r| (std::mem::take(&mut r[0]), std::mem::take(&mut r[1])))
            .collect())
    }

    /// The table's Arrow schema, each column typed by [`ChType::arrow`].
    pub async fn arrow_schema(&self, table: &str) -> Result<SchemaRef> {
        let fields = self
            .columns(table)
            .await?
            .into_iter()
            .map(|(name, ch)| {
                let t = ChType::parse(&ch).ok_or_else(|| ChError::UnreadableType {
                    table: table.into(),
                    column: name.clone(),
                    ch_type: ch.clone(),
                })?;
                Ok(Field::new(name, t.arrow(), t.is_nullable()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Exact number of rows.
    pub async fn row_count(&self, table: &str) -> Result<u64> {
        if !self.table_exists(table).await? {
            return Err(self.not_found(table));
        }
        self.count(table).await
    }

    pub(crate) async fn count(&self, table: &str) -> Result<u64> {
        let rows = self.server.fetch_rows(format!("SELECT count() FROM {}", self.qualified(table))).await?;
        let text = rows.first().and_then(|r| r.first()).cloned().unwrap_or_default();
        text.parse().map_err(|_| ChError::Decode {
            table: table.into(),
            detail: format!("count() returned {text:?}"),
        })
    }

    pub(crate) fn not_found(&self, table: &str) -> ChError {
        ChError::NotFound { target: self.server.target(), table: table.into() }
    }

    /// `CREATE TABLE … (columns) ENGINE = MergeTree ORDER BY …` for a new table.
    pub(crate) fn create_statement(
        &self,
        name: &str,
        schema: &Schema,
        types: &[ChType],
        table: &str,
    ) -> String {
        let columns = schema
            .fields()
            .iter()
            .zip(types)
            .map(|(f, t)| format!("{} {}", ident(f.name()), t.sql()))
            .collect::<Vec<_>>()
            .join(", ");
        let key = self.hints(table).primary_key;
        let order = if key.is_empty() {
            "tuple()".to_string()
        } else {
            format!("({})", key.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", "))
        };
        format!("CREATE TABLE {} ({columns}) ENGINE = MergeTree ORDER BY {order}", self.qualified(name))
    }
}
