//! The ledger and the watermarks, kept in PostgreSQL: a batch recorded as `writing` before its
//! rows go, then marked `verified` in the same transaction that advances its table's watermark.

use crate::Error;
use crate::ledger::{Batch, Content, Stage};
use crate::plan::Position;
use crate::schema::{ledger_table, watermark_table};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

/// The ledger and watermark tables of one configuration.
#[derive(Debug, Clone)]
pub struct State {
    /// The watermark table.
    pub watermarks: String,
    /// The ledger table.
    pub ledger: String,
    /// The server, for messages (password masked).
    pub target: String,
}

impl State {
    fn pg(&self) -> impl Fn(sqlx::Error) -> Error + '_ {
        |source| Error::Postgres { target: self.target.clone(), source }
    }

    /// Creates both tables when missing.
    pub async fn ensure(&self, conn: &mut PgConnection) -> Result<(), Error> {
        let ddl = format!("{};\n{}", watermark_table(&self.watermarks), ledger_table(&self.ledger));
        for statement in ddl.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            sqlx::query(AssertSqlSafe(statement.to_string())).execute(&mut *conn).await.map_err(self.pg())?;
        }
        Ok(())
    }

    /// The watermark of `table` for `dataset`, if any batch was verified.
    pub async fn watermark(
        &self,
        conn: &mut PgConnection,
        dataset: &str,
        table: &str,
    ) -> Result<Option<Position>, Error> {
        let sql = format!(
            "SELECT (extract(epoch FROM watermark_timestamp) * 1000000)::bigint, watermark_key FROM {} \
             WHERE dataset_id = $1 AND table_name = $2",
            self.watermarks
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(dataset)
            .bind(table)
            .fetch_optional(&mut *conn)
            .await
            .map_err(self.pg())?;
        row.map(|r| Ok(Position { time: r.try_get(0)?, key: r.try_get(1)? })).transpose().map_err(self.pg())
    }

    /// Records `batch` as `writing` (before its rows go); returns its ledger id.
    pub async fn record_writing(&self, conn: &mut PgConnection, batch: &Batch) -> Result<u64, Error> {
        let sql = format!(
            "INSERT INTO {} (dataset_id, table_name, after_time, after_key, through_time, through_key, rows, fingerprint, stage) \
             VALUES ($1, $2, 'epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4, \
             'epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6, $7, $8, 'writing') RETURNING id",
            self.ledger
        );
        let id: i64 = sqlx::query(AssertSqlSafe(sql))
            .bind(&batch.dataset)
            .bind(&batch.table)
            .bind(batch.after.as_ref().map(|p| p.time))
            .bind(batch.after.as_ref().map(|p| p.key.clone()))
            .bind(batch.through.time)
            .bind(&batch.through.key)
            .bind(batch.content.rows as i64)
            .bind(&batch.content.fingerprint)
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.pg())?;
        Ok(id as u64)
    }

    /// Marks batch `id` verified and advances the watermark of its table to the batch's end,
    /// in one transaction. Refused (nothing changed) unless the batch is still `writing`.
    pub async fn verify_and_advance(
        &self,
        conn: &mut PgConnection,
        id: u64,
        batch: &Batch,
    ) -> Result<(), Error> {
        let mut tx = conn.begin().await.map_err(self.pg())?;
        let marked = sqlx::query(AssertSqlSafe(format!(
            "UPDATE {} SET stage = 'verified', verified_at = now() WHERE id = $1 AND stage = 'writing'",
            self.ledger
        )))
        .bind(id as i64)
        .execute(&mut *tx)
        .await
        .map_err(self.pg())?;
        if marked.rows_affected() != 1 {
            return Err(Error::Ledger {
                batch: batch.label(),
                why: format!("ledger row {id} is not writing"),
            });
        }
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {} (dataset_id, table_name, watermark_timestamp, watermark_key, updated_at) \
             VALUES ($1, $2, 'epoch'::timestamptz + $3::bigint * interval '1 microsecond', $4, now()) \
             ON CONFLICT (dataset_id, table_name) DO UPDATE SET watermark_timestamp = EXCLUDED.watermark_timestamp, \
             watermark_key = EXCLUDED.watermark_key, updated_at = now()",
            self.watermarks
        )))
        .bind(&batch.dataset)
        .bind(&batch.table)
        .bind(batch.through.time)
        .bind(&batch.through.key)
        .execute(&mut *tx)
        .await
        .map_err(self.pg())?;
        tx.commit().await.map_err(self.pg())
    }

    /// The batches of `table` for `dataset` not cleaned yet, oldest first, with their ids.
    pub async fn open_batches(
        &self,
        conn: &mut PgConnection,
        dataset: &str,
        table: &str,
    ) -> Result<Vec<(u64, Batch)>, Error> {
        let sql = format!(
            "SELECT id, (extract(epoch FROM after_time) * 1000000)::bigint, after_key, \
             (extract(epoch FROM through_time) * 1000000)::bigint, through_key, rows, fingerprint, stage, \
             (extract(epoch FROM verified_at) * 1000000)::bigint \
             FROM {} WHERE dataset_id = $1 AND table_name = $2 AND stage <> 'cleaned' ORDER BY id",
            self.ledger
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(dataset)
            .bind(table)
            .fetch_all(&mut *conn)
            .await
            .map_err(self.pg())?;
        rows.iter()
            .map(|r| -> Result<(u64, Batch), sqlx::Error> {
                let after_time: Option<i64> = r.try_get(1)?;
                let after_key: Option<Vec<String>> = r.try_get(2)?;
                let stage = match (r.try_get::<String, _>(7)?.as_str(), r.try_get::<Option<i64>, _>(8)?) {
                    ("verified", Some(at)) => Stage::Verified { at },
                    _ => Stage::Writing,
                };
                let batch = Batch {
                    dataset: dataset.into(),
                    table: table.into(),
                    after: after_time.map(|time| Position { time, key: after_key.unwrap_or_default() }),
                    through: Position { time: r.try_get(3)?, key: r.try_get(4)? },
                    content: Content { rows: r.try_get::<i64, _>(5)? as u64, fingerprint: r.try_get(6)? },
                    stage,
                };
                Ok((r.try_get::<i64, _>(0)? as u64, batch))
            })
            .collect::<Result<_, _>>()
            .map_err(self.pg())
    }
}
