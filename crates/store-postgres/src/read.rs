//! Reading a table back for verification: a binary `COPY … TO STDOUT` decoded into Arrow
//! batches of the source's schema.

use crate::decode::{Raw, Reader};
use crate::encode::HEADER;
use crate::error::{PgError, Result};
use crate::store::PostgresStore;
use crate::types::ColumnPlan;
use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema, SchemaRef};
use futures::TryStreamExt;
use migrate_core::convert::read_back_type;
use migrate_core::sql::quote_ident;
use migrate_core::{BatchStream, CoreError};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Postgres};
use std::sync::Arc;

impl PostgresStore {
    /// Streams `table` as Arrow data of `expected` (normally the source's schema), so that equal
    /// data fingerprints equal. Dictionaries come back as their value type.
    pub async fn scan_as(&self, table: &str, expected: SchemaRef, batch_size: usize) -> Result<BatchStream> {
        if !self.table_exists(table).await? {
            return Err(PgError::NotFound { table: table.into(), target: self.label.clone() });
        }
        let plans = self.plan(table, &expected)?;
        let cols: Vec<String> = plans.iter().map(|p| quote_ident(&p.name)).collect();
        let query = format!("SELECT {} FROM {}", cols.join(", "), quote_ident(table));
        self.copy_select(table, &query, None, plans, expected, batch_size).await
    }

    /// Streams the rows of `query` (a `SELECT` over `table`) through binary COPY, decoded by
    /// `plans` into batches of `expected`; inside the exported `snapshot` when one is given.
    pub(crate) async fn copy_select(
        &self,
        table: &str,
        query: &str,
        snapshot: Option<&str>,
        plans: Vec<crate::types::ColumnPlan>,
        expected: SchemaRef,
        batch_size: usize,
    ) -> Result<BatchStream> {
        let sql = format!("COPY ({query}) TO STDOUT (FORMAT binary)");
        let mut conn = self.pool.acquire().await.map_err(|e| self.sql_err(table, e))?;
        if let Some(id) = snapshot {
            let begin = format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT {}",
                migrate_core::sql::quote_literal(id)
            );
            if let Err(e) = sqlx::raw_sql(AssertSqlSafe(begin)).execute(&mut *conn).await {
                conn.close_on_drop();
                return Err(self.sql_err(table, e));
            }
        }
        let in_transaction = snapshot.is_some();
        let out_schema = Arc::new(Schema::new(
            expected
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), read_back_type(f.data_type()), true))
                .collect::<Vec<_>>(),
        ));
        let (tx, rx) = tokio::sync::mpsc::channel::<migrate_core::Result<RecordBatch>>(2);
        let this = self.clone();
        let table = table.to_string();
        tokio::spawn(async move {
            let decoder = CopyDecoder::new(plans, expected, out_schema, batch_size.max(1));
            let finished = this.copy_out(&mut conn, &sql, &table, decoder, &tx).await;
            let closed = !in_transaction || sqlx::raw_sql("COMMIT").execute(&mut *conn).await.is_ok();
            if !finished || !closed {
                // A COPY left unfinished (the reader stopped early, or it failed) or an open
                // transaction would confuse the next user of this connection: close it.
                conn.close_on_drop();
            }
        });
        Ok(Box::pin(futures::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
        )))
    }
    /// Runs `sql` (a `COPY … TO STDOUT (FORMAT binary)`) on `conn` and sends the decoded
    /// batches, or the error, to `tx`. `true` when the COPY ran to its end.
    async fn copy_out(
        &self,
        conn: &mut PoolConnection<Postgres>,
        sql: &str,
        table: &str,
        mut decoder: CopyDecoder,
        tx: &tokio::sync::mpsc::Sender<migrate_core::Result<RecordBatch>>,
    ) -> bool {
        let decode_err =
            |detail: String| -> CoreError { PgError::Decode { table: table.into(), detail }.into() };
        let mut chunks = match conn.copy_out_raw(sql).await {
            Ok(chunks) => chunks,
            Err(e) => {
                let _ = tx.send(Err(self.sql_err(table, e).into())).await;
                return false;
            }
        };
        loop {
            let chunk = match chunks.try_next().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Err(self.sql_err(table, e).into())).await;
                    return false;
                }
            };
            match decoder.feed(&chunk) {
                Ok(batches) => {
                    for b in batches {
                        if tx.send(Ok(b)).await.is_err() {
                            return false; // the reader went away
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(decode_err(e.to_string()))).await;
                    return false;
                }
            }
        }
        match decoder.finish() {
            Ok(Some(b)) => {
                let _ = tx.send(Ok(b)).await;
            }
            Ok(None) => {}
            Err(e) => {
                let _ = tx.send(Err(decode_err(e.to_string()))).await;
            }
        }
        true
    }
}

/// Turns the bytes of a binary COPY into record batches, across chunk boundaries.
struct CopyDecoder {
    plans: Vec<ColumnPlan>,
    expected: SchemaRef,
    out_schema: SchemaRef,
    batch_size: usize,
    pending: Vec<u8>,
    header_seen: bool,
    raw: Vec<Raw>,
    rows: usize,
}

impl CopyDecoder {
    fn new(plans: Vec<ColumnPlan>, expected: SchemaRef, out_schema: SchemaRef, batch_size: usize) -> Self {
        let raw = plans.iter().map(|p| Raw::new(&p.encoding)).collect();
        Self {
            plans,
            expected,
            out_schema,
            batch_size,
            pending: Vec::new(),
            header_seen: false,
            raw,
            rows: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> std::result::Result<Vec<RecordBatch>, arrow::error::ArrowError> {
        self.pending.extend_from_slice(chunk);
        let mut done = Vec::new();
        let mut consumed = 0;
        if !self.header_seen {
            if self.pending.len() < HEADER.len() {
                return Ok(done);
            }
            if !self.pending.starts_with(&HEADER[..11]) {
                return Err(arrow::error::ArrowError::ParseError("not a binary COPY stream".into()));
            }
            let ext = u32::from_be_bytes(self.pending[15..19].try_into().unwrap_or_default()) as usize;
            if self.pending.len() < 19 + ext {
                return Ok(done);
            }
            consumed = 19 + ext;
            self.header_seen = true;
        }
        // One list of a tuple's fields (offset and length, None for NULL), reused for every tuple.
        let mut fields: Vec<Option<(usize, usize)>> = Vec::with_capacity(self.plans.len());
        loop {
            let mut r = Reader::new(&self.pending[consumed..]);
            let Ok(count) = r.i16() else { break };
            if count == -1 {
                consumed += 2;
                break;
            }
            // Parse the whole tuple before appending, so a tuple split across chunks waits.
            fields.clear();
            let mut complete = true;
            for _ in 0..count {
                match r.field() {
                    // Where the field sits in `pending`, so the list borrows nothing.
                    Ok(f) => fields.push(f.map(|f| (consumed + r.position() - f.len(), f.len()))),
                    Err(_) => {
                        complete = false;
                        break;
                    }
                }
            }
            if !complete {
                break;
            }
            if fields.len() != self.plans.len() {
                return Err(arrow::error::ArrowError::ParseError(format!(
                    "tuple has {} fields, expected {}",
                    fields.len(),
                    self.plans.len()
                )));
            }
            for ((raw, plan), field) in self.raw.iter_mut().zip(&self.plans).zip(fields.drain(..)) {
                let field = field.map(|(start, len)| &self.pending[start..start + len]);
                raw.push(field, &plan.encoding)?;
            }
            consumed += r.position();
            self.rows += 1;
            if self.rows == self.batch_size {
                done.push(self.flush()?);
            }
        }
        self.pending.drain(..consumed);
        Ok(done)
    }

    fn flush(&mut self) -> std::result::Result<RecordBatch, arrow::error::ArrowError> {
        let raw =
            std::mem::replace(&mut self.raw, self.plans.iter().map(|p| Raw::new(&p.encoding)).collect());
        self.rows = 0;
        let columns = raw
            .into_iter()
            .zip(&self.plans)
            .zip(self.expected.fields())
            .map(|((r, p), f)| r.finish(&p.encoding, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        RecordBatch::try_new(self.out_schema.clone(), columns)
    }

    fn finish(mut self) -> std::result::Result<Option<RecordBatch>, arrow::error::ArrowError> {
        if !self.pending.is_empty() {
            return Err(arrow::error::ArrowError::ParseError("the COPY stream ended mid-tuple".into()));
        }
        if self.rows == 0 { Ok(None) } else { self.flush().map(Some) }
    }
}
