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
        let columns = self.columns(table).await?;
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
        let schema = Arc::new(Schema::new(fields));
        Ok(self.copy_select(table, &select, plans, schema, batch_size).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
