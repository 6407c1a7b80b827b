//! How each Arrow type is stored in PostgreSQL without loss, or why it cannot be.
//!
//! | Arrow type (DuckDB type) | PostgreSQL type | notes |
//! |---|---|---|
//! | Boolean (BOOLEAN) | boolean | |
//! | Int8, Int16, UInt8 (TINYINT, SMALLINT, UTINYINT) | smallint | |
//! | Int32, UInt16 (INTEGER, USMALLINT) | integer | |
//! | Int64, UInt32 (BIGINT, UINTEGER) | bigint | |
//! | UInt64 (UBIGINT) | numeric(20,0) | |
//! | Float16, Float32 (FLOAT) | real | NaN and ±Infinity kept |
//! | Float64 (DOUBLE) | double precision | NaN and ±Infinity kept |
//! | Decimal(p,s) (DECIMAL, HUGEINT) | numeric(p,s) | exact |
//! | Utf8, Dictionary (VARCHAR, ENUM) | text | a NUL character stops the load (override `bytea`) |
//! | Binary, FixedSizeBinary (BLOB) | bytea | |
//! | Date32/64 (DATE) | date | |
//! | Time32/64 (TIME) | time | nanoseconds must be whole microseconds (override `bigint`: nanoseconds of the day) |
//! | Timestamp (TIMESTAMP, _S, _MS, _NS) | timestamp | nanoseconds must be whole microseconds (override `bigint`: epoch nanoseconds) |
//! | Timestamp with zone (TIMESTAMPTZ) | timestamptz | as above |
//! | Duration | interval | microseconds |
//! | Interval (INTERVAL) | interval | nanoseconds must be whole microseconds |
//! | List of a scalar type (LIST, ARRAY) | `<element>[]` | one-dimensional array |
//! | other List, Struct, Map (STRUCT, MAP, nested LIST) | json | exact JSON text |
//! | Null | text | NULL |
//! | Union (UNION) and others | — | refused before anything is written |

use arrow::datatypes::{DataType, Field};

/// How values of a column are encoded in binary COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoding {
    /// `boolean`.
    Bool,
    /// `smallint`.
    Int2,
    /// `integer`.
    Int4,
    /// `bigint`.
    Int8,
    /// `real`.
    Float4,
    /// `double precision`.
    Float8,
    /// `numeric` from a decimal or an unsigned 64-bit integer.
    Numeric,
    /// `text`.
    Text,
    /// `bytea`.
    Bytea,
    /// `date`.
    Date,
    /// `time` (microseconds of the day).
    Time,
    /// `timestamp` / `timestamptz` (microseconds since 2000-01-01).
    Timestamp,
    /// `interval` from an Arrow interval.
    Interval,
    /// `interval` from an Arrow duration.
    DurationInterval,
    /// `bigint` holding nanoseconds (timestamps since the epoch, times since midnight).
    Nanos,
    /// One-dimensional array of a scalar encoding.
    Array(Box<Encoding>),
    /// `json` text.
    Json,
    /// Always NULL.
    Null,
}

impl Encoding {
    /// The element type OID for arrays of this encoding.
    pub(crate) fn oid(&self) -> u32 {
        match self {
            Encoding::Bool => 16,
            Encoding::Int2 => 21,
            Encoding::Int4 => 23,
            Encoding::Int8 | Encoding::Nanos => 20,
            Encoding::Float4 => 700,
            Encoding::Float8 => 701,
            Encoding::Numeric => 1700,
            Encoding::Text | Encoding::Null => 25,
            Encoding::Bytea => 17,
            Encoding::Date => 1082,
            Encoding::Time => 1083,
            Encoding::Timestamp => 1114,
            Encoding::Interval | Encoding::DurationInterval => 1186,
            Encoding::Json => 114,
            Encoding::Array(_) => 0,
        }
    }
}

/// One column of a table as PostgreSQL will hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    /// Column name.
    pub name: String,
    /// SQL type in `CREATE TABLE`.
    pub sql_type: String,
    /// How values are encoded.
    pub encoding: Encoding,
}

pub use migrate_core::convert::{Remedy, Unsupported};

/// Plans one column; `override_type` is the configured `column_types` entry, if any.
pub fn plan_column(field: &Field, override_type: Option<&str>) -> Result<ColumnPlan, Unsupported> {
    let (sql_type, encoding) = match override_type {
        Some(o) => plan_override(field.data_type(), o)?,
        None => plan_default(field.data_type())?,
    };
    Ok(ColumnPlan { name: field.name().clone(), sql_type, encoding })
}

fn scalar(dt: &DataType) -> Option<(String, Encoding)> {
    use DataType::*;
    Some(match dt {
        Boolean => ("boolean".into(), Encoding::Bool),
        Int8 | Int16 | UInt8 => ("smallint".into(), Encoding::Int2),
        Int32 | UInt16 => ("integer".into(), Encoding::Int4),
        Int64 | UInt32 => ("bigint".into(), Encoding::Int8),
        UInt64 => ("numeric(20,0)".into(), Encoding::Numeric),
        Float16 | Float32 => ("real".into(), Encoding::Float4),
        Float64 => ("double precision".into(), Encoding::Float8),
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) | Decimal256(p, s) if *s >= 0 => {
            (format!("numeric({p},{s})"), Encoding::Numeric)
        }
        Utf8 | LargeUtf8 | Utf8View => ("text".into(), Encoding::Text),
        Dictionary(_, v) if matches!(v.as_ref(), Utf8 | LargeUtf8 | Utf8View) => {
            ("text".into(), Encoding::Text)
        }
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => ("bytea".into(), Encoding::Bytea),
        Date32 | Date64 => ("date".into(), Encoding::Date),
        Time32(_) | Time64(_) => ("time".into(), Encoding::Time),
        Timestamp(_, None) => ("timestamp".into(), Encoding::Timestamp),
        Timestamp(_, Some(_)) => ("timestamptz".into(), Encoding::Timestamp),
        Duration(_) => ("interval".into(), Encoding::DurationInterval),
        Interval(_) => ("interval".into(), Encoding::Interval),
        _ => return None,
    })
}

fn plan_default(dt: &DataType) -> Result<(String, Encoding), Unsupported> {
    use DataType::*;
    if let Some(s) = scalar(dt) {
        return Ok(s);
    }
    match dt {
        Null => Ok(("text".into(), Encoding::Null)),
        List(f) | LargeList(f) | FixedSizeList(f, _) => match scalar(f.data_type()) {
            Some((t, e)) if !matches!(e, Encoding::DurationInterval) => {
                Ok((format!("{t}[]"), Encoding::Array(Box::new(e))))
            }
            _ => Ok(("json".into(), Encoding::Json)),
        },
        Struct(_) | Map(..) => Ok(("json".into(), Encoding::Json)),
        _ => Err(Unsupported { why: "PostgreSQL has no lossless form for it".into(), fix: Remedy::Exclude }),
    }
}

fn plan_override(dt: &DataType, wanted: &str) -> Result<(String, Encoding), Unsupported> {
    use DataType::*;
    let w = wanted.trim().to_ascii_lowercase();
    let ok = |e: Encoding| Ok((w.clone(), e));
    match (w.as_str(), dt) {
        ("bigint" | "int8", Timestamp(..) | Time64(_) | Time32(_)) => ok(Encoding::Nanos),
        ("bytea", Utf8 | LargeUtf8 | Utf8View) => ok(Encoding::Bytea),
        ("text", _) if scalar(dt).is_some() && !matches!(dt, Binary | LargeBinary | BinaryView | FixedSizeBinary(_)) => {
            ok(Encoding::Text)
        }
        ("json" | "jsonb", List(_) | LargeList(_) | FixedSizeList(..) | Struct(_) | Map(..)) => {
            Ok(("json".into(), Encoding::Json))
        }
        (t, _) if t.starts_with("numeric") && matches!(dt, Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) | UInt64) => {
            ok(Encoding::Numeric)
        }
        (t, _) if Some(t) == scalar(dt).map(|(s, _)| s).as_deref() => plan_default(dt),
        _ => Err(Unsupported {
            why: format!("the override {wanted:?} cannot hold {dt}"),
            fix: Remedy::OneOf("bigint (nanosecond timestamps and times), text (any scalar), numeric(p,s) (decimals), bytea (strings with NUL) or json (nested values)".into()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;
    use std::sync::Arc;

    fn plan(dt: DataType, o: Option<&str>) -> Result<(String, Encoding), Unsupported> {
        plan_column(&Field::new("c", dt, true), o).map(|p| (p.sql_type, p.encoding))
    }

    #[test]
    fn defaults() {
        assert_eq!(plan(DataType::UInt64, None), Ok(("numeric(20,0)".into(), Encoding::Numeric)));
        assert_eq!(
            plan(DataType::Decimal128(38, 10), None),
            Ok(("numeric(38,10)".into(), Encoding::Numeric))
        );
        assert_eq!(
            plan(DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())), None),
            Ok(("timestamptz".into(), Encoding::Timestamp))
        );
        let ints = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        assert_eq!(plan(ints, None), Ok(("bigint[]".into(), Encoding::Array(Box::new(Encoding::Int8)))));
        let nested = DataType::List(Arc::new(Field::new(
            "item",
            DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
            true,
        )));
        assert_eq!(plan(nested, None), Ok(("json".into(), Encoding::Json)));
    }

    #[test]
    fn overrides() {
        assert_eq!(
            plan(DataType::Timestamp(TimeUnit::Nanosecond, None), Some("BIGINT")),
            Ok(("bigint".into(), Encoding::Nanos))
        );
        assert_eq!(plan(DataType::Float64, Some("text")), Ok(("text".into(), Encoding::Text)));
        assert!(plan(DataType::Utf8, Some("integer")).is_err());
    }
}
