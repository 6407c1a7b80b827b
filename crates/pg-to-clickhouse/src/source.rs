//! Reading PostgreSQL for the next batch of one dataset's table: the oldest transaction still
//! open (it holds the horizon back), and the batch's range, read in keyset order in the
//! caller's snapshot and cut by [`plan::cut`](crate::plan::cut).
//!
//! Times cross the wire as microseconds since the epoch (`bigint`), exact both ways; key values
//! as text, cast back to the key columns' own types for comparisons.

use crate::Error;
use crate::plan::{Cut, Position, cut};
use crate::tables::SourceTable;
use sqlx::{AssertSqlSafe, PgConnection, Row};

/// The next batch of a table for one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// After this position (exclusive): the watermark.
    pub after: Option<Position>,
    /// Up to this position (inclusive).
    pub through: Position,
    /// Rows in the range.
    pub rows: u64,
}

fn pg(target: &str) -> impl Fn(sqlx::Error) -> Error + '_ {
    move |source| Error::Postgres { target: target.to_string(), source }
}

/// When the oldest transaction of another session began (microseconds since the epoch), if any
/// is open: rows it writes with that time may commit after a batch passed it.
pub async fn oldest_open_transaction(conn: &mut PgConnection, target: &str) -> Result<Option<i64>, Error> {
    let row = sqlx::query(
        "SELECT (extract(epoch FROM min(xact_start)) * 1000000)::bigint FROM pg_stat_activity \
         WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    .fetch_one(conn)
    .await
    .map_err(pg(target))?;
    row.try_get::<Option<i64>, _>(0).map_err(pg(target))
}

/// The types of `table`'s key columns, as `format_type` writes them (for casts).
pub(crate) async fn key_types(
    conn: &mut PgConnection,
    table: &SourceTable,
    target: &str,
) -> Result<Vec<String>, Error> {
    let mut types = Vec::with_capacity(table.key.len());
    for column in &table.key {
        let row = sqlx::query(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             WHERE a.attrelid = $1::regclass AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind(&table.name)
        .bind(column)
        .fetch_optional(&mut *conn)
        .await
        .map_err(pg(target))?;
        let Some(row) = row else {
            return Err(Error::Tables {
                path: table.name.clone(),
                why: format!("key column {column} is not a column of the table"),
            });
        };
        types.push(row.try_get::<String, _>(0).map_err(pg(target))?);
    }
    Ok(types)
}

/// `'epoch' + micros` as an exact `timestamptz` expression for bind parameter `n`.
fn at(n: usize) -> String {
    format!("('epoch'::timestamptz + ${n}::bigint * interval '1 microsecond')")
}

/// Plans the next batch of `table` for `dataset` after `after`, before `horizon`, of at most
/// `batch_size` rows (more only when a table without a key has more rows at one time). `None`
/// when nothing is left to move. Run it inside the snapshot the batch is read in.
pub async fn plan_batch(
    conn: &mut PgConnection,
    target: &str,
    table: &SourceTable,
    dataset: &str,
    after: Option<&Position>,
    horizon: i64,
    batch_size: u32,
) -> Result<Option<Planned>, Error> {
    let types = key_types(conn, table, target).await?;
    let time = &table.time_column;
    // Aliased: an output column named like a key column would be what ORDER BY sorts by.
    let keys: Vec<String> =
        table.key.iter().enumerate().map(|(i, k)| format!("{k}::text AS key_{i}")).collect();
    let select = std::iter::once(format!("(extract(epoch FROM {time}) * 1000000)::bigint AS time_micros"))
        .chain(keys)
        .collect::<Vec<_>>()
        .join(", ");
    let order = std::iter::once(time.clone()).chain(table.key.iter().cloned()).collect::<Vec<_>>().join(", ");
    // $1 dataset, $2 horizon, then the watermark: $3 time, $4… key values.
    let mut condition = format!("{} = $1 AND {time} < {}", table.dataset_column, at(2));
    if after.is_some() {
        let left =
            std::iter::once(time.clone()).chain(table.key.iter().cloned()).collect::<Vec<_>>().join(", ");
        let right = std::iter::once(at(3))
            .chain(types.iter().enumerate().map(|(i, ty)| format!("${}::{ty}", i + 4)))
            .collect::<Vec<_>>()
            .join(", ");
        condition.push_str(&format!(" AND ({left}) > ({right})"));
    }
    let sql = format!(
        "SELECT {select} FROM {} WHERE {condition} ORDER BY {order} LIMIT {}",
        table.name,
        u64::from(batch_size) + 1
    );
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(dataset).bind(horizon);
    if let Some(after) = after {
        query = query.bind(after.time);
        for value in &after.key {
            query = query.bind(value);
        }
    }
    let rows = query.fetch_all(&mut *conn).await.map_err(pg(target))?;
    let position = |row: &sqlx::postgres::PgRow| -> Result<Position, Error> {
        let time: i64 = row.try_get(0).map_err(pg(target))?;
        let key = (1..=table.key.len()).map(|i| row.try_get::<String, _>(i)).collect::<Result<Vec<_>, _>>();
        Ok(Position { time, key: key.map_err(pg(target))? })
    };
    let times: Vec<i64> =
        rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<_, _>>().map_err(pg(target))?;
    let planned = match cut(&times, batch_size as usize, !table.key.is_empty()) {
        Cut::Rows(0) => return Ok(None),
        Cut::Rows(n) => Planned { after: after.cloned(), through: position(&rows[n - 1])?, rows: n as u64 },
        Cut::Through(through) => {
            let mut count = format!(
                "SELECT count(*) FROM {} WHERE {} = $1 AND {time} <= {}",
                table.name,
                table.dataset_column,
                at(2)
            );
            if after.is_some() {
                count.push_str(&format!(" AND {time} > {}", at(3)));
            }
            let mut query = sqlx::query(AssertSqlSafe(count)).bind(dataset).bind(through);
            if let Some(after) = after {
                query = query.bind(after.time);
            }
            let rows: i64 =
                query.fetch_one(&mut *conn).await.map_err(pg(target))?.try_get(0).map_err(pg(target))?;
            Planned {
                after: after.cloned(),
                through: Position { time: through, key: Vec::new() },
                rows: rows as u64,
            }
        }
    };
    Ok(Some(planned))
}
