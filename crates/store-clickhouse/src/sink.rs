//! Loads: Arrow batches streamed as Native blocks (or RowBinary rows) into a staging table,
//! swapped in on commit.

use crate::error::{ChError, Result};
use crate::rowbinary;
use crate::sql::ident;
use crate::store::{ClickHouseStore, retired_name, staging_name};
use crate::types::ChType;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use migrate_core::{CoreError, IfExists, TableLoad, TableSink};

#[async_trait]
impl TableSink for ClickHouseStore {
    fn describe(&self) -> String {
        self.label()
    }

    async fn begin(
        &self,
        table: &str,
        schema: SchemaRef,
        if_exists: IfExists,
    ) -> migrate_core::Result<Box<dyn TableLoad>> {
        Ok(Box::new(self.start_load(table, schema, if_exists).await?))
    }
}

/// What commit does with the staging table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swap {
    /// No table yet: rename the staging table into place.
    Create,
    /// Replace the existing table (EXCHANGE, or RENAME on servers without it).
    Replace,
    /// Insert the staged rows into the existing table.
    Append,
}

/// One table being loaded.
pub struct ClickHouseLoad {
    store: ClickHouseStore,
    table: String,
    schema: SchemaRef,
    types: Vec<ChType>,
    swap: Swap,
    /// Blocks are sent as Native (else RowBinary rows).
    native: bool,
    insert: Option<clickhouse::insert_formatted::InsertFormatted>,
    buffer: Vec<u8>,
    written: u64,
}

impl ClickHouseStore {
    async fn start_load(
        &self,
        table: &str,
        schema: SchemaRef,
        if_exists: IfExists,
    ) -> Result<ClickHouseLoad, CoreError> {
        let types = self.plan(table, &schema)?;
        let exists = self.table_exists(table).await?;
        let swap = match (exists, if_exists) {
            (false, _) => Swap::Create,
            (true, IfExists::Fail) => {
                return Err(CoreError::TableExists { table: table.into(), store: self.describe() });
            }
            (true, IfExists::Replace) => Swap::Replace,
            (true, IfExists::Append) => Swap::Append,
        };
        let engine = if exists { self.table_engine(table).await?.unwrap_or_default() } else { String::new() };
        // A replica or a Distributed table is shared with other hosts: a staging table made in
        // its likeness would be shared too, and a local swap would split the cluster.
        let shared = engine.starts_with("Replicated") || engine == "Distributed";
        if shared && swap == Swap::Replace {
            return Err(ChError::NotSupported {
                target: self.server.target(),
                version: self.server.capabilities().version_text.clone(),
                feature: format!(
                    "replacing table {table} ({engine}): a swap on one host would leave the other replicas or shards \
                     with the old table; append to it, or recreate it with ON CLUSTER DDL first"
                ),
            }
            .into());
        }
        let existing = if exists { Some(self.columns(table).await?) } else { None };
        // The existing table's types, where its columns are the source's (by name, in order)
        // and each holds what the source's would, NULL aside: a NULL sent to a column that
        // cannot hold one is refused per value.
        let kept_types: Option<Vec<ChType>> = existing.as_ref().and_then(|columns| {
            (columns.len() == types.len())
                .then(|| {
                    columns
                        .iter()
                        .zip(schema.fields())
                        .zip(&types)
                        .map(|(((name, ch), field), planned)| {
                            let current = ChType::parse(ch)?;
                            (name == field.name() && current.without_null() == planned.without_null())
                                .then_some(current)
                        })
                        .collect::<Option<Vec<_>>>()
                })
                .flatten()
        });
        if swap == Swap::Append && kept_types.is_none() {
            let found = existing
                .unwrap_or_default()
                .iter()
                .map(|(n, t)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ");
            let wanted = schema
                .fields()
                .iter()
                .zip(&types)
                .map(|(f, t)| format!("{} {}", f.name(), t.sql()))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(CoreError::SchemaMismatch {
                table: table.into(),
                detail: format!(
                    "appending needs the columns ({wanted}); the table has ({found}). Replace it instead"
                ),
            });
        }
        let same_columns = kept_types.is_some();
        let types = kept_types.unwrap_or(types);
        let staging = staging_name(table);
        self.server.execute(format!("DROP TABLE IF EXISTS {}", self.qualified(&staging))).await?;
        // A replaced table with the same columns keeps its engine, sorting key, partitioning
        // and TTL: the staging table is made in its likeness.
        let create = if same_columns && swap == Swap::Append {
            // Only the rows matter: a local table of the same columns.
            format!(
                "CREATE TABLE {} AS {} ENGINE = MergeTree ORDER BY tuple()",
                self.qualified(&staging),
                self.qualified(table)
            )
        } else if same_columns {
            format!("CREATE TABLE {} AS {}", self.qualified(&staging), self.qualified(table))
        } else {
            self.create_statement(&staging, &schema, &types, table)
        };
        self.server.execute(create).await?;
        let columns = schema.fields().iter().map(|f| ident(f.name())).collect::<Vec<_>>().join(", ");
        let native = crate::native::supports(&types);
        let format = if native { "Native" } else { "RowBinary" };
        let staged = self.qualified(&staging);
        let insert = self.server.insert(&format!("INSERT INTO {staged} ({columns}) FORMAT {format}"));
        tracing::debug!(table, ?swap, "loading into {staging}");
        Ok(ClickHouseLoad {
            store: self.clone(),
            table: table.into(),
            schema,
            types,
            swap,
            native,
            insert: Some(insert),
            buffer: Vec::new(),
            written: 0,
        })
    }
}

impl ClickHouseLoad {
    fn staging(&self) -> String {
        self.store.qualified(&staging_name(&self.table))
    }

    async fn drop_staging(&self) -> Result<()> {
        self.store.server.execute(format!("DROP TABLE IF EXISTS {}", self.staging())).await
    }

    async fn finish(&mut self) -> Result<u64> {
        let insert = self.insert.take().expect("commit runs once");
        insert.end().await.map_err(|e| self.store.server.error(e))?;
        let staged = self.store.count(&staging_name(&self.table)).await?;
        if staged != self.written {
            return Err(ChError::Decode {
                table: self.table.clone(),
                detail: format!(
                    "{} rows were sent but the staging table holds {staged} (deduplicated or dropped by the engine)",
                    self.written
                ),
            });
        }
        let store = &self.store;
        let (target, staging) = (store.qualified(&self.table), self.staging());
        match self.swap {
            Swap::Create => store.server.execute(format!("RENAME TABLE {staging} TO {target}")).await?,
            Swap::Replace if store.server.capabilities().exchange_tables() => {
                store.server.execute(format!("EXCHANGE TABLES {staging} AND {target}")).await?;
                store.server.execute(format!("DROP TABLE {staging}")).await?;
            }
            Swap::Replace => {
                let retired = store.qualified(&retired_name(&self.table));
                store.server.execute(format!("DROP TABLE IF EXISTS {retired}")).await?;
                store
                    .server
                    .execute(format!("RENAME TABLE {target} TO {retired}, {staging} TO {target}"))
                    .await?;
                store.server.execute(format!("DROP TABLE {retired}")).await?;
            }
            Swap::Append => {
                store.server.execute(format!("INSERT INTO {target} SELECT * FROM {staging}")).await?;
                store.server.execute(format!("DROP TABLE {staging}")).await?;
            }
        }
        Ok(self.written)
    }
}

#[async_trait]
impl TableLoad for ClickHouseLoad {
    async fn write(&mut self, batch: RecordBatch) -> migrate_core::Result<()> {
        let same = batch.schema().fields().len() == self.schema.fields().len()
            && batch
                .schema()
                .fields()
                .iter()
                .zip(self.schema.fields())
                .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
        if !same {
            return Err(CoreError::SchemaMismatch {
                table: self.table.clone(),
                detail: format!(
                    "the load began with {:?}, this batch has {:?}",
                    self.schema.fields(),
                    batch.schema().fields()
                ),
            });
        }
        self.buffer.clear();
        let encoded = match self.native {
            true => crate::native::encode(&batch, &self.types, &mut self.buffer),
            false => rowbinary::encode(&batch, &self.types, &mut self.buffer),
        };
        encoded.map_err(|columns| ChError::Value { table: self.table.clone(), columns })?;
        let data = bytes::Bytes::from(std::mem::take(&mut self.buffer));
        let insert = self.insert.as_mut().expect("writes come before commit");
        insert.send(data).await.map_err(|e| self.store.server.error(e))?;
        self.written += batch.num_rows() as u64;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> migrate_core::Result<u64> {
        match self.finish().await {
            Ok(rows) => Ok(rows),
            Err(e) => {
                if let Err(cleanup) = self.drop_staging().await {
                    tracing::warn!("could not drop the staging table of {}: {cleanup}", self.table);
                }
                Err(e.into())
            }
        }
    }

    async fn abort(mut self: Box<Self>) -> migrate_core::Result<()> {
        // Dropping the unfinished insert cancels its request; nothing of it is committed.
        drop(self.insert.take());
        Ok(self.drop_staging().await?)
    }
}
