//! Moving one planned batch: its rows streamed from PostgreSQL (each as `row_to_json` text with
//! its dataset, time and key) into the target as RowBinary in pieces of about 1 MiB, tagged
//! with the batch's ledger id; and the fingerprints of the batch on both sides, computed by
//! each server over the same JSON text (see [`fingerprint`]).

use crate::Error;
use crate::fingerprint;
use crate::ledger::Content;
use crate::plan::Position;
use crate::source::{Planned, key_types};
use crate::tables::SourceTable;
use crate::target::{INSERT_COLUMNS, partition_key};
use bytes::{BufMut, BytesMut};
use futures::TryStreamExt;
use sqlx::{AssertSqlSafe, PgConnection, Row};
use store_clickhouse::ClickHouse;
use store_clickhouse::sql::qualified;

/// Where a batch goes, and how it is tagged.
#[derive(Debug, Clone)]
pub struct Destination<'a> {
    /// The ClickHouse server (its database holds the target).
    pub server: &'a ClickHouse,
    /// The target table.
    pub target: &'a str,
    /// The dataset's slug (`__dataset_slug`).
    pub slug: &'a str,
    /// The ledger's id of the batch (`__batch`).
    pub batch: u64,
    /// `__migrated_at`, seconds since the epoch.
    pub migrated_at: u32,
}

const PIECE: usize = 1 << 20;

/// `WHERE` of the batch's rows in `table` with parameters `$1` (dataset), `$2`/`$3…` (the
/// lower bound) and the upper bound after them; returns the condition and the binds in order.
fn range(table: &SourceTable, batch: &Planned, types: &[String]) -> (String, Vec<String>) {
    let time = &table.time_column;
    let mut binds = Vec::new();
    let mut n = 2;
    let mut bound = |p: &Position, binds: &mut Vec<String>| -> String {
        let at = format!("('epoch'::timestamptz + ${n}::bigint * interval '1 microsecond')");
        binds.push(p.time.to_string());
        n += 1;
        let keys: Vec<String> = types
            .iter()
            .zip(&p.key)
            .map(|(ty, value)| {
                binds.push(value.clone());
                n += 1;
                format!("${}::{ty}", n - 1)
            })
            .collect();
        std::iter::once(at).chain(keys).collect::<Vec<_>>().join(", ")
    };
    let columns = std::iter::once(time.clone())
        .chain(table.key.iter().take(types.len()).cloned())
        .collect::<Vec<_>>()
        .join(", ");
    let mut condition = format!("t.{} = $1", table.dataset_column);
    if let Some(after) = &batch.after {
        let lower = bound(after, &mut binds);
        condition.push_str(&format!(" AND ({columns}) > ({lower})"));
    }
    let upper = bound(&batch.through, &mut binds);
    condition.push_str(&format!(" AND ({columns}) <= ({upper})"));
    (condition, binds)
}

/// Rows and fingerprint of the batch in PostgreSQL (in the caller's snapshot).
pub async fn postgres_content(
    conn: &mut PgConnection,
    target: &str,
    table: &SourceTable,
    dataset: &str,
    batch: &Planned,
) -> Result<Content, Error> {
    let types = key_types(conn, table, target).await?;
    let (condition, binds) = range(table, batch, &types);
    let sql = format!(
        "SELECT {} FROM {} AS t WHERE {condition}",
        fingerprint::postgres("row_to_json(t)::text"),
        table.name
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(dataset);
    for value in &binds {
        query = query.bind(value);
    }
    let pg = |source| Error::Postgres { target: target.into(), source };
    let text: String = query.fetch_one(&mut *conn).await.map_err(pg)?.try_get(0).map_err(pg)?;
    Ok(content(&text))
}

/// Rows and fingerprint of batch `batch` in the target.
pub async fn clickhouse_content(server: &ClickHouse, target: &str, batch: u64) -> Result<Content, Error> {
    let sql = format!(
        "SELECT {} FROM {} WHERE __batch = {batch}",
        fingerprint::clickhouse("data"),
        qualified(server.database(), target)
    );
    let text = server.fetch_text(sql).await?;
    Ok(content(text.trim()))
}

fn insert_error(to: &Destination<'_>, e: impl std::fmt::Display) -> Error {
    Error::Insert { target: format!("{} {}", to.server.target(), to.target), message: e.to_string() }
}

fn content(fingerprint: &str) -> Content {
    let rows = fingerprint.split(':').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    Content { rows, fingerprint: fingerprint.to_string() }
}

fn put_string(buf: &mut BytesMut, s: &[u8]) {
    let mut len = s.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            buf.put_u8(byte);
            break;
        }
        buf.put_u8(byte | 0x80);
    }
    buf.put_slice(s);
}

/// Streams the batch's rows from PostgreSQL into the target; returns the rows sent.
pub async fn copy_batch(
    conn: &mut PgConnection,
    pg_target: &str,
    table: &SourceTable,
    dataset: &str,
    batch: &Planned,
    to: &Destination<'_>,
) -> Result<u64, Error> {
    let types = key_types(conn, table, pg_target).await?;
    let (condition, binds) = range(table, batch, &types);
    let key = if table.key.is_empty() {
        "''".to_string()
    } else {
        format!(
            "concat_ws(',', {})",
            table.key.iter().map(|k| format!("t.{k}::text")).collect::<Vec<_>>().join(", ")
        )
    };
    let sql = format!(
        "SELECT row_to_json(t)::text, t.{}::text, (extract(epoch FROM t.{time}) * 1000000)::bigint, {key} \
         FROM {} AS t WHERE {condition}",
        table.dataset_column,
        table.name,
        time = table.time_column
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(dataset);
    for value in &binds {
        query = query.bind(value);
    }
    let mut insert = to.server.insert(&format!(
        "INSERT INTO {} ({INSERT_COLUMNS}) FORMAT RowBinary",
        qualified(to.server.database(), to.target)
    ));
    let partition = partition_key(to.slug, &table.name);
    let mut buf = BytesMut::with_capacity(PIECE + 64 * 1024);
    let mut rows = query.fetch(&mut *conn);
    let mut sent = 0u64;
    let pg = |source| Error::Postgres { target: pg_target.into(), source };
    while let Some(row) = rows.try_next().await.map_err(pg)? {
        let data: String = row.try_get(0).map_err(pg)?;
        let dataset_id: String = row.try_get(1).map_err(pg)?;
        let micros: i64 = row.try_get(2).map_err(pg)?;
        let key: String = row.try_get(3).map_err(pg)?;
        buf.put_u32_le(to.migrated_at);
        put_string(&mut buf, table.name.as_bytes());
        put_string(&mut buf, to.slug.as_bytes());
        put_string(&mut buf, partition.as_bytes());
        buf.put_u64_le(to.batch);
        put_string(&mut buf, dataset_id.as_bytes());
        buf.put_u32_le(u32::try_from(micros.div_euclid(1_000_000)).unwrap_or(0));
        buf.put_i64_le(micros);
        put_string(&mut buf, key.as_bytes());
        put_string(&mut buf, data.as_bytes());
        sent += 1;
        if buf.len() >= PIECE {
            insert.send(buf.split().freeze()).await.map_err(|e| insert_error(to, e))?;
        }
    }
    drop(rows);
    if !buf.is_empty() {
        insert.send(buf.freeze()).await.map_err(|e| insert_error(to, e))?;
    }
    insert.end().await.map_err(|e| insert_error(to, e))?;
    Ok(sent)
}
