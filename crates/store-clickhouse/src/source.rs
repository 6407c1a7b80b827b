//! Reading tables back as Arrow: `SELECT … FORMAT RowBinary`, decoded as the bytes arrive.

use crate::error::{ChError, Result};
use crate::rowbinary::RowDecoder;
use crate::server::Statement;
use crate::sql::ident;
use crate::store::ClickHouseStore;
use crate::types::ChType;
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use migrate_core::verdict::TableReadBack;
use migrate_core::{BatchStream, CoreError, TableSource};
use std::sync::Arc;

impl ClickHouseStore {
    /// Streams the columns of `table` named by `schema` (in its order), each decoded as its
    /// ClickHouse type's Arrow form and then cast to `schema`'s type.
    pub async fn scan_columns(
        &self,
        table: &str,
        schema: SchemaRef,
        batch_size: usize,
    ) -> Result<BatchStream> {
        let columns = self.columns(table).await?;
        let mut types = Vec::with_capacity(schema.fields().len());
        let mut native = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let (_, ch) =
                columns.iter().find(|(name, _)| name == field.name()).ok_or_else(|| ChError::Decode {
                    table: table.into(),
                    detail: format!("the table has no column {}", field.name()),
                })?;
            let t = ChType::parse(ch).ok_or_else(|| ChError::UnreadableType {
                table: table.into(),
                column: field.name().clone(),
                ch_type: ch.clone(),
            })?;
            let arrow = match (t.base(), field.data_type()) {
                (ChType::String, DataType::Binary | DataType::LargeBinary | DataType::BinaryView) => {
                    DataType::Binary
                }
                _ => t.arrow(),
            };
            native.push(Field::new(field.name(), arrow, t.is_nullable()));
            types.push(t);
        }
        let native = Arc::new(Schema::new(native));
        let list = schema.fields().iter().map(|f| ident(f.name())).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {list} FROM {}", self.qualified(table));
        let cursor = self.server.stream(&Statement::new(sql), "RowBinary")?;
        let reader = Reader {
            cursor,
            decoder: RowDecoder::new(native, &types),
            target: schema,
            batch_size: batch_size.max(1),
            table: table.to_string(),
            server: self.server.clone(),
            done: false,
        };
        Ok(Box::pin(futures::stream::unfold(reader, |mut reader| async move {
            reader.next_batch().await.map(|batch| (batch, reader))
        })))
    }
}

struct Reader {
    cursor: clickhouse::query::BytesCursor,
    decoder: RowDecoder,
    target: SchemaRef,
    batch_size: usize,
    table: String,
    server: crate::server::ClickHouse,
    done: bool,
}

impl Reader {
    async fn next_batch(&mut self) -> Option<migrate_core::Result<RecordBatch>> {
        loop {
            // Rows beyond the last batch wait as bytes: decode them before reading more.
            if self.decoder.rows() < self.batch_size && self.decoder.has_partial_row() {
                let _ = self.decoder.push(&[], self.batch_size);
            }
            if self.decoder.rows() >= self.batch_size || (self.done && self.decoder.rows() > 0) {
                return Some(self.take());
            }
            if self.done {
                if self.decoder.has_partial_row() {
                    self.decoder = RowDecoder::new(self.target.clone(), &[]);
                    let detail = "the stream ended inside a row".to_string();
                    return Some(Err(ChError::Decode { table: self.table.clone(), detail }.into()));
                }
                return None;
            }
            match self.cursor.next().await {
                Ok(Some(bytes)) => {
                    if let Err(detail) = self.decoder.push(&bytes, self.batch_size) {
                        self.done = true;
                        return Some(Err(ChError::Decode { table: self.table.clone(), detail }.into()));
                    }
                }
                Ok(None) => self.done = true,
                Err(e) => {
                    self.done = true;
                    self.decoder = RowDecoder::new(self.target.clone(), &[]);
                    return Some(Err(self.server.error(e).into()));
                }
            }
        }
    }

    fn take(&mut self) -> migrate_core::Result<RecordBatch> {
        let batch = self
            .decoder
            .take_batch()
            .map_err(|detail| CoreError::from(ChError::Decode { table: self.table.clone(), detail }))?;
        let columns = batch
            .columns()
            .iter()
            .zip(self.target.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c.clone())
                } else {
                    arrow::compute::cast(c, f.data_type())
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new_with_options(
            self.target.clone(),
            columns,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )?)
    }
}

#[async_trait]
impl TableSource for ClickHouseStore {
    fn describe(&self) -> String {
        self.label()
    }

    async fn schema(&self, table: &str) -> migrate_core::Result<SchemaRef> {
        Ok(self.arrow_schema(table).await?)
    }

    async fn row_count(&self, table: &str) -> migrate_core::Result<u64> {
        Ok(ClickHouseStore::row_count(self, table).await?)
    }

    async fn scan(&self, table: &str, batch_size: usize) -> migrate_core::Result<BatchStream> {
        let schema = self.arrow_schema(table).await?;
        Ok(self.scan_columns(table, schema, batch_size).await?)
    }
}

#[async_trait]
impl TableReadBack for ClickHouseStore {
    fn describe(&self) -> String {
        self.label()
    }

    async fn exists(&self, table: &str) -> migrate_core::Result<bool> {
        Ok(self.table_exists(table).await?)
    }

    async fn count_rows(&self, table: &str) -> migrate_core::Result<u64> {
        Ok(ClickHouseStore::row_count(self, table).await?)
    }

    async fn scan_as(
        &self,
        table: &str,
        schema: SchemaRef,
        batch_size: usize,
    ) -> migrate_core::Result<BatchStream> {
        Ok(self.scan_columns(table, schema, batch_size).await?)
    }
}
