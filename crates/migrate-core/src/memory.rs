//! In-memory tables: the twin of every table store, for fast engine tests and embedding.

use crate::error::{CoreError, Result};
use crate::table::{BatchStream, IfExists, TableLoad, TableSink, TableSource};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Table {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

/// Tables held in memory. Clones share the same tables.
#[derive(Debug, Clone, Default)]
pub struct MemoryTables {
    tables: Arc<Mutex<BTreeMap<String, Table>>>,
}

impl MemoryTables {
    /// An empty set of tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates or replaces `table` with these batches (all must share `schema`).
    pub fn insert(&self, table: &str, schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<()> {
        for b in &batches {
            check_schema(table, &schema, b)?;
        }
        self.lock().insert(table.to_string(), Table { schema, batches });
        Ok(())
    }

    /// The batches of `table`, if it exists.
    pub fn batches(&self, table: &str) -> Option<Vec<RecordBatch>> {
        self.lock().get(table).map(|t| t.batches.clone())
    }

    /// Names of the tables, sorted.
    pub fn table_names(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Table>> {
        // A panic while holding the lock cannot leave a half-written table: every write is one insert.
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, table: &str) -> Result<Table> {
        self.lock()
            .get(table)
            .cloned()
            .ok_or_else(|| CoreError::TableNotFound { table: table.to_string(), store: "memory".into() })
    }
}

fn check_schema(table: &str, schema: &SchemaRef, batch: &RecordBatch) -> Result<()> {
    if batch.schema().fields() != schema.fields() {
        return Err(CoreError::SchemaMismatch {
            table: table.to_string(),
            detail: format!("expected {:?}, got {:?}", schema.fields(), batch.schema().fields()),
        });
    }
    Ok(())
}

#[async_trait]
impl TableSource for MemoryTables {
    fn describe(&self) -> String {
        "memory".into()
    }

    async fn schema(&self, table: &str) -> Result<SchemaRef> {
        Ok(self.get(table)?.schema)
    }

    async fn row_count(&self, table: &str) -> Result<u64> {
        Ok(self.get(table)?.batches.iter().map(|b| b.num_rows() as u64).sum())
    }

    async fn scan(&self, table: &str, batch_size: usize) -> Result<BatchStream> {
        let batch_size = batch_size.max(1);
        let slices: Vec<Result<RecordBatch>> = self
            .get(table)?
            .batches
            .into_iter()
            .flat_map(|b| {
                (0..b.num_rows())
                    .step_by(batch_size)
                    .map(|offset| Ok(b.slice(offset, batch_size.min(b.num_rows() - offset))))
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(Box::pin(futures::stream::iter(slices)))
    }
}

#[async_trait]
impl TableSink for MemoryTables {
    fn describe(&self) -> String {
        "memory".into()
    }

    async fn begin(&self, table: &str, schema: SchemaRef, if_exists: IfExists) -> Result<Box<dyn TableLoad>> {
        let existing = self.lock().get(table).cloned();
        let batches = match (existing, if_exists) {
            (Some(_), IfExists::Fail) => {
                return Err(CoreError::TableExists { table: table.to_string(), store: "memory".into() });
            }
            (Some(t), IfExists::Append) => {
                if t.schema.fields() != schema.fields() {
                    return Err(CoreError::SchemaMismatch {
                        table: table.to_string(),
                        detail: "appending rows of another schema".into(),
                    });
                }
                t.batches
            }
            _ => Vec::new(),
        };
        let kept = batches.iter().map(|b| b.num_rows() as u64).sum();
        Ok(Box::new(MemoryLoad {
            tables: self.clone(),
            table: table.to_string(),
            staged: Table { schema, batches },
            kept,
        }))
    }
}

/// A load staged beside the live table and swapped in on commit.
struct MemoryLoad {
    tables: MemoryTables,
    table: String,
    staged: Table,
    kept: u64,
}

#[async_trait]
impl TableLoad for MemoryLoad {
    async fn write(&mut self, batch: RecordBatch) -> Result<()> {
        check_schema(&self.table, &self.staged.schema, &batch)?;
        self.staged.batches.push(batch);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<u64> {
        let total: u64 = self.staged.batches.iter().map(|b| b.num_rows() as u64).sum();
        self.tables.lock().insert(self.table.clone(), self.staged);
        Ok(total - self.kept)
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl crate::verdict::TableReadBack for MemoryTables {
    fn describe(&self) -> String {
        "memory".into()
    }

    async fn exists(&self, table: &str) -> Result<bool> {
        Ok(self.batches(table).is_some())
    }

    async fn count_rows(&self, table: &str) -> Result<u64> {
        TableSource::row_count(self, table).await
    }

    async fn scan_as(&self, table: &str, schema: SchemaRef, batch_size: usize) -> Result<BatchStream> {
        Ok(crate::verdict::cast_to(self.scan(table, batch_size).await?, schema))
    }
}
