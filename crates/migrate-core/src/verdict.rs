//! Reading a loaded table back and judging it against its source: the seam every target store
//! implements ([`TableReadBack`]) and the verdict per table (row counts and content fingerprints
//! on both sides), shared by every tool and any service that embeds the stores.

use crate::error::Result;
use crate::fingerprint::Fingerprint;
use crate::table::{BatchStream, TableSource};
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use futures::TryStreamExt;

/// A target's tables read back for verification.
#[async_trait]
pub trait TableReadBack: Send + Sync {
    /// A short name for messages; never holds credentials.
    fn describe(&self) -> String;

    /// Whether `table` exists.
    async fn exists(&self, table: &str) -> Result<bool>;

    /// The exact number of rows of `table` (an error when it does not exist).
    async fn count_rows(&self, table: &str) -> Result<u64>;

    /// Streams `table` as Arrow data of `schema` (normally the source's), so that equal data
    /// fingerprints equal whatever types the target stores it in.
    async fn scan_as(&self, table: &str, schema: SchemaRef, batch_size: usize) -> Result<BatchStream>;
}

/// `batches` with each column cast to `schema`'s type: a read-back for stores that keep the
/// source's types anyway (memory, Parquet), where the casts change nothing or only widen.
pub fn cast_to(batches: BatchStream, schema: SchemaRef) -> BatchStream {
    Box::pin(batches.and_then(move |b| {
        let columns = b
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>();
        let batch = columns.and_then(|c| arrow::array::RecordBatch::try_new(schema.clone(), c));
        futures::future::ready(batch.map_err(crate::CoreError::from))
    }))
}

/// One side of one table, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side {
    /// Rows counted.
    pub rows: u64,
    /// Content fingerprint (`rows` is repeated inside it).
    pub fingerprint: Fingerprint,
}

/// How one table compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Same rows, same content.
    Match,
    /// Row counts differ.
    CountMismatch,
    /// Same count, different content (a changed value).
    ContentMismatch,
    /// The target has no such table.
    MissingInTarget,
}

/// The comparison of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    /// Table name.
    pub table: String,
    /// The source side.
    pub source: Side,
    /// The target side, `None` when the table is missing there.
    pub target: Option<Side>,
}

impl TableCheck {
    /// The verdict for this table.
    pub fn status(&self) -> Status {
        match &self.target {
            None => Status::MissingInTarget,
            Some(t) if t.rows != self.source.rows => Status::CountMismatch,
            Some(t) if t.fingerprint != self.source.fingerprint => Status::ContentMismatch,
            Some(_) => Status::Match,
        }
    }
}

/// All tables compared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// One entry per table, in the order verified.
    pub tables: Vec<TableCheck>,
}

impl VerifyReport {
    /// True when every table matches (and there is at least one).
    pub fn passed(&self) -> bool {
        !self.tables.is_empty() && self.tables.iter().all(|t| t.status() == Status::Match)
    }
}

/// The fingerprint of a stream, hashed on a task of its own so both sides hash at once.
pub async fn fingerprint_stream(batches: BatchStream) -> Result<Fingerprint> {
    let hashing = tokio::spawn(async move {
        let mut batches = batches;
        let mut fp = Fingerprint::default();
        while let Some(b) = batches.try_next().await? {
            fp.update(&b)?;
        }
        Ok(fp)
    });
    hashing.await.map_err(|e| crate::CoreError::Store { store: "fingerprint".into(), source: Box::new(e) })?
}

/// Compares `table` in `source` and `target` by row count and content fingerprint, reading both
/// at once; `tap` sees each side's stream (to draw progress, say) before it is hashed.
pub async fn check_table(
    source: &dyn TableSource,
    target: &dyn TableReadBack,
    table: &str,
    batch_size: usize,
    tap: &(dyn Fn(BatchStream) -> BatchStream + Sync),
) -> Result<TableCheck> {
    let schema = source.schema(table).await?;
    let source_side = fingerprint_stream(tap(source.scan(table, batch_size).await?));
    let (source_fp, target_fp) = if target.exists(table).await? {
        let target_side = fingerprint_stream(tap(target.scan_as(table, schema, batch_size).await?));
        let (s, t) = tokio::try_join!(source_side, target_side)?;
        (s, Some(t))
    } else {
        (source_side.await?, None)
    };
    Ok(TableCheck {
        table: table.to_string(),
        source: Side { rows: source_fp.rows, fingerprint: source_fp },
        target: target_fp.map(|fp| Side { rows: fp.rows, fingerprint: fp }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryTables;
    use arrow::array::{Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn put(tables: &MemoryTables, values: Vec<i64>) {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(values))]).unwrap();
        tables.insert("t", schema, vec![batch]).unwrap();
    }

    #[tokio::test]
    async fn the_verdict_reads_both_sides_through_the_seam() {
        let (source, target) = (MemoryTables::new(), MemoryTables::new());
        put(&source, vec![1, 2, 3]);
        let none = |s: BatchStream| s;
        let check = |s, t| async move { check_table(s, t, "t", 2, &none).await.unwrap().status() };
        assert_eq!(check(&source, &target).await, Status::MissingInTarget);
        put(&target, vec![3, 1, 2]);
        assert_eq!(check(&source, &target).await, Status::Match, "order does not matter");
        put(&target, vec![1, 2, 4]);
        assert_eq!(check(&source, &target).await, Status::ContentMismatch);
        put(&target, vec![1, 2]);
        assert_eq!(check(&source, &target).await, Status::CountMismatch);
    }
}
