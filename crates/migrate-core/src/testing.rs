//! Helpers for stores' tests (feature `testing`): record batches from named columns, and a
//! source that fails midway, as a killed export or a lost connection would.

use crate::error::{CoreError, Result};
use crate::table::{BatchStream, TableSource};
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{Field, Schema, SchemaRef};
use async_trait::async_trait;
use std::sync::Arc;

/// A batch from `(name, column)` pairs, every field nullable.
pub fn batch_of(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols.into_iter().map(|(_, a)| a).collect())
        .expect("columns of equal length")
}

/// A source that yields one batch, then fails with `message`.
pub struct FailsMidway {
    batch: RecordBatch,
    message: &'static str,
}

impl FailsMidway {
    /// Yields `batch`, then the error `message`.
    pub fn new(batch: RecordBatch, message: &'static str) -> Self {
        Self { batch, message }
    }
}

#[async_trait]
impl TableSource for FailsMidway {
    fn describe(&self) -> String {
        "failing".into()
    }

    async fn schema(&self, _: &str) -> Result<SchemaRef> {
        Ok(self.batch.schema())
    }

    async fn row_count(&self, _: &str) -> Result<u64> {
        Ok(self.batch.num_rows() as u64)
    }

    async fn scan(&self, _: &str, _: usize) -> Result<BatchStream> {
        let err = CoreError::Store { store: "failing".into(), source: self.message.into() };
        Ok(Box::pin(futures::stream::iter(vec![Ok(self.batch.clone()), Err(err)])))
    }
}
