//! PostgreSQL as a table source: each column's type read from the catalog and mapped to the
//! Arrow type that holds it without loss, the rows streamed by binary `COPY … TO STDOUT`.
//! Types without a binary form of their own here (unconstrained `numeric`, `json`, `jsonb`,
//! `uuid`, enums, anything else) are read as their text, which loses nothing.

use crate::error::{PgError, Result};
use crate::store::PostgresStore;
use crate::types::plan_column;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use async_trait::async_trait;
use migrate_core::sql::quote_ident;
use migrate_core::{BatchStream, TableSource};
use std::sync::Arc;

/// A column as the catalog describes it: name, `format_type` text, and whether it allows NULL.
const COLUMNS: &str = "
SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
  FROM pg_attribute a
 WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum";

/// The Arrow type a PostgreSQL column type (`format_type` text) is read as, and whether the
/// column must be read as its text.
pub fn arrow_type(pg_type: &str) -> (DataType, bool) {
    if let Some(element) = pg_type.strip_suffix("[]") {
        return match arrow_type(element) {
            (item, false) => (DataType::List(Arc::new(Field::new("item", item, true))), false),
            (_, true) => (DataType::Utf8, true),
        };
    }
    let base = pg_type.split('(').next().unwrap_or(pg_type).trim();
    let exact = |t: DataType| (t, false);
    match base {
        "boolean" => exact(DataType::Boolean),
        "smallint" => exact(DataType::Int16),
        "integer" => exact(DataType::Int32),
        "bigint" => exact(DataType::Int64),
        "real" => exact(DataType::Float32),
        "double precision" => exact(DataType::Float64),
        "numeric" => match numeric_precision(pg_type) {
            Some((p, s)) if p <= 38 => exact(DataType::Decimal128(p, s)),
            _ => (DataType::Utf8, true),
        },
        "text" | "character varying" | "character" | "name" => exact(DataType::Utf8),
        "bytea" => exact(DataType::Binary),
        "date" => exact(DataType::Date32),
        "time without time zone" => exact(DataType::Time64(TimeUnit::Microsecond)),
        "timestamp without time zone" => exact(DataType::Timestamp(TimeUnit::Microsecond, None)),
        "timestamp with time zone" => exact(DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))),
        "interval" => exact(DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano)),
        _ => (DataType::Utf8, true),
    }
}

/// `(p, s)` of `numeric(p,s)`; `None` for an unconstrained `numeric`.
fn numeric_precision(pg_type: &str) -> Option<(u8, i8)> {
    let inner = pg_type.strip_prefix("numeric(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',').unwrap_or((inner, "0"));
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

impl PostgresStore {
    /// The columns of `table` (name, `format_type` text, nullable), in table order.
    async fn columns(&self, table: &str) -> Result<Vec<(String, String, bool)>> {
        if !self.table_exists(table).await? {
            return Err(PgError::NotFound { table: table.into(), target: self.label.clone() });
        }
        sqlx::query_as(COLUMNS)
            .bind(quote_ident(table))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.sql_err(table, e))
    }
}

#[async_trait]
impl TableSource for PostgresStore {
    fn describe(&self) -> String {
        self.label.clone()
    }

    async fn schema(&self, table: &str) -> migrate_core::Result<SchemaRef> {
        let fields: Vec<Field> = self
            .columns(table)
            .await?
            .into_iter()
            .map(|(name, pg_type, nullable)| Field::new(name, arrow_type(&pg_type).0, nullable))
            .collect();
        Ok(Arc::new(Schema::new(fields)))
    }

    async fn row_count(&self, table: &str) -> migrate_core::Result<u64> {
        Ok(PostgresStore::row_count(self, table).await?)
    }

    async fn scan(&self, table: &str, batch_size: usize) -> migrate_core::Result<BatchStream> {
        let read = self.reading(table).await?;
        let query = format!("SELECT {} FROM {}", read.select.join(", "), quote_ident(table));
        Ok(self.source_select(table, &query, None, read, batch_size).await?)
    }
}

/// How a table's columns are selected and decoded.
struct Reading {
    schema: SchemaRef,
    select: Vec<String>,
    plans: Vec<crate::types::ColumnPlan>,
}

impl PostgresStore {
    /// The schema of `table` as read, with the select list and the decoding of each column.
    async fn reading(&self, table: &str) -> Result<Reading> {
        let columns = self.columns(table).await?;
        Self::reading_of(table, columns)
    }

    /// The columns of the result of `query` (name, `format_type` text, nullable), read from a
    /// temporary view made in a transaction that is rolled back.
    async fn query_columns(&self, query: &str) -> Result<Vec<(String, String, bool)>> {
        const LABEL: &str = "(query)";
        let mut tx = self.pool.begin().await.map_err(|e| self.sql_err(LABEL, e))?;
        let view = "_migrate_query_columns";
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE TEMP VIEW {view} AS {query}")))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.sql_err(LABEL, e))?;
        let columns = sqlx::query_as(COLUMNS)
            .bind(view)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| self.sql_err(LABEL, e))?;
        tx.rollback().await.map_err(|e| self.sql_err(LABEL, e))?;
        Ok(columns)
    }

    /// Streams the rows of `query` (one `SELECT`, as written: its order, its filters), each
    /// column typed from what the server says of the result, inside `snapshot` when given.
    pub async fn scan_query(
        &self,
        query: &str,
        snapshot: Option<&Snapshot>,
        batch_size: usize,
    ) -> Result<BatchStream> {
        let query = query.trim().trim_end_matches(';');
        let read = Self::reading_of("(query)", self.query_columns(query).await?)?;
        let select = format!("SELECT {} FROM ({query}) AS q", read.select.join(", "));
        self.source_select("(query)", &select, snapshot, read, batch_size).await
    }

    /// Streams `query` decoded as `read` says, in batches of exactly `read.schema` (the decoder
    /// reads decimals wide, for verification; a source gives them back at their own precision,
    /// so a sink sees the types [`TableSource::schema`] announced).
    async fn source_select(
        &self,
        label: &str,
        query: &str,
        snapshot: Option<&Snapshot>,
        read: Reading,
        batch_size: usize,
    ) -> Result<BatchStream> {
        let schema = read.schema.clone();
        let stream = self
            .copy_select(label, query, snapshot.map(|s| s.id.as_str()), read.plans, read.schema, batch_size)
            .await?;
        Ok(migrate_core::cast_to(stream, schema))
    }

    /// How columns described by the catalog are selected and decoded.
    fn reading_of(table: &str, columns: Vec<(String, String, bool)>) -> Result<Reading> {
        let mut fields = Vec::with_capacity(columns.len());
        let mut select = Vec::with_capacity(columns.len());
        let mut plans = Vec::with_capacity(columns.len());
        for (name, pg_type, nullable) in columns {
            let (data_type, as_text) = arrow_type(&pg_type);
            let field = Field::new(&name, data_type, nullable);
            let plan = plan_column(&field, None).map_err(|u| PgError::Decode {
                table: table.into(),
                detail: format!("column {name} ({pg_type}): {}", u.why),
            })?;
            select.push(match as_text {
                true => format!("{}::text", quote_ident(&name)),
                false => quote_ident(&name),
            });
            plans.push(plan);
            fields.push(field);
        }
        Ok(Reading { schema: Arc::new(Schema::new(fields)), select, plans })
    }

    /// Takes a snapshot other reads can share: a read-only REPEATABLE READ transaction, held
    /// open until [`Snapshot::release`], whose snapshot is exported.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.sql_err("", e))?;
        let id: std::result::Result<String, sqlx::Error> = async {
            sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *conn).await?;
            sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut *conn).await
        }
        .await;
        match id {
            Ok(id) => Ok(Snapshot { conn: Some(conn), id }),
            Err(e) => {
                conn.close_on_drop();
                Err(self.sql_err("", e))
            }
        }
    }

    /// Streams the rows of `table` in `range`, ordered by its time and key columns, inside
    /// `snapshot` when given (so several reads see the same data).
    pub async fn scan_range(
        &self,
        table: &str,
        range: &KeyRange,
        snapshot: Option<&Snapshot>,
        batch_size: usize,
    ) -> Result<BatchStream> {
        let read = self.reading(table).await?;
        let query = range
            .query(table, &read.select)
            .map_err(|detail| PgError::Range { table: table.into(), detail })?;
        self.source_select(table, &query, snapshot, read, batch_size).await
    }
}

/// A consistent view of the database shared by several reads (see [`PostgresStore::snapshot`]).
#[derive(Debug)]
pub struct Snapshot {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    id: String,
}

impl Snapshot {
    /// The exported snapshot's identifier (`SET TRANSACTION SNAPSHOT` takes it).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Ends the transaction that holds the snapshot.
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take()
            && sqlx::raw_sql("COMMIT").execute(&mut *conn).await.is_err()
        {
            conn.close_on_drop();
        }
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // Not released: the connection must not go back to the pool inside the transaction.
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}

/// A keyset range of a table: rows whose `(time, keys…)` come after `after` (exclusive),
/// whose time is before `before` (exclusive), in that order, at most `limit` of them. Values
/// are given as text; the server reads them as the columns' types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRange {
    /// The time column.
    pub time: String,
    /// The key columns that order rows of equal time (a unique key makes pages exact).
    pub keys: Vec<String>,
    /// The last `(time, keys…)` already read; `None` to start at the beginning.
    pub after: Option<Vec<String>>,
    /// Only rows whose time is before this.
    pub before: Option<String>,
    /// At most this many rows.
    pub limit: Option<u64>,
}

impl KeyRange {
    /// The `SELECT` over `table` for this range, or why the range is malformed.
    pub fn query(&self, table: &str, select: &[String]) -> std::result::Result<String, String> {
        use migrate_core::sql::quote_literal;
        let order: Vec<String> =
            std::iter::once(&self.time).chain(&self.keys).map(|c| quote_ident(c)).collect();
        let mut conditions = Vec::new();
        if let Some(after) = &self.after {
            if after.len() != order.len() {
                return Err(format!(
                    "`after` has {} values for the {} columns {}",
                    after.len(),
                    order.len(),
                    order.join(", ")
                ));
            }
            let values: Vec<String> = after.iter().map(|v| quote_literal(v)).collect();
            conditions.push(format!("({}) > ({})", order.join(", "), values.join(", ")));
        }
        if let Some(before) = &self.before {
            conditions.push(format!("{} < {}", quote_ident(&self.time), quote_literal(before)));
        }
        let mut query = format!("SELECT {} FROM {}", select.join(", "), quote_ident(table));
        if !conditions.is_empty() {
            query.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        query.push_str(&format!(" ORDER BY {}", order.join(", ")));
        if let Some(limit) = self.limit {
            query.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_range_is_one_ordered_keyset_query() {
        let range = KeyRange {
            time: "created_at".into(),
            keys: vec!["id".into()],
            after: Some(vec!["2024-01-01 00:00:00+00".into(), "42".into()]),
            before: Some("2024-02-01 00:00:00+00".into()),
            limit: Some(10_000),
        };
        assert_eq!(
            range.query("audit", &["\"id\"".into()]).unwrap(),
            "SELECT \"id\" FROM \"audit\" WHERE (\"created_at\", \"id\") > ('2024-01-01 00:00:00+00', '42') \
             AND \"created_at\" < '2024-02-01 00:00:00+00' ORDER BY \"created_at\", \"id\" LIMIT 10000"
        );
        let wrong = KeyRange { after: Some(vec!["x".into()]), ..range };
        assert!(wrong.query("audit", &[]).unwrap_err().contains("1 values for the 2 columns"));
    }

    #[test]
    fn catalog_types_map_to_lossless_arrow_types() {
        let cases = [
            ("integer", DataType::Int32, false),
            ("numeric(18,3)", DataType::Decimal128(18, 3), false),
            ("numeric(10)", DataType::Decimal128(10, 0), false),
            ("numeric", DataType::Utf8, true),
            ("numeric(60,2)", DataType::Utf8, true),
            ("character varying(20)", DataType::Utf8, false),
            ("jsonb", DataType::Utf8, true),
            ("uuid", DataType::Utf8, true),
            (
                "timestamp with time zone",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            ("bigint[]", DataType::List(Arc::new(Field::new("item", DataType::Int64, true))), false),
            ("jsonb[]", DataType::Utf8, true),
        ];
        for (pg, arrow, as_text) in cases {
            assert_eq!(arrow_type(pg), (arrow, as_text), "{pg}");
        }
    }
}
