//! How each Arrow type is stored in SQLite without loss, or why it cannot be.
//!
//! | Arrow type (DuckDB type) | declared | stored as |
//! |---|---|---|
//! | Boolean (BOOLEAN) | BOOLEAN | INTEGER 0/1 |
//! | Int8…Int64 (TINYINT…BIGINT), UInt8…UInt32 (UTINYINT…UINTEGER) | INTEGER | INTEGER |
//! | UInt64 (UBIGINT) | UBIGINT | INTEGER; a value above 2^63-1 stops the load (override `TEXT`) |
//! | Float16/32/64 (FLOAT, DOUBLE) | REAL | REAL, ±inf kept; NaN stops the load because SQLite stores it as NULL (override `TEXT`) |
//! | Decimal (DECIMAL, HUGEINT) | TEXT | exact decimal text (override `REAL` accepts rounding) |
//! | Utf8, Dictionary (VARCHAR, ENUM) | TEXT | TEXT |
//! | Binary, FixedSizeBinary (BLOB) | BLOB | BLOB |
//! | Date32/64 (DATE) | DATE | TEXT `YYYY-MM-DD` |
//! | Time32/64 (TIME) | TIME | TEXT `HH:MM:SS[.f…]` |
//! | Timestamp (TIMESTAMP, _S, _MS, _NS) | TIMESTAMP | TEXT ISO 8601 with every digit of the unit |
//! | Timestamp with zone (TIMESTAMPTZ) | TIMESTAMPTZ | TEXT ISO 8601 with offset |
//! | Duration | BIGINT | INTEGER count of the unit |
//! | Interval (INTERVAL) | INTERVAL | TEXT `<months> <days> <nanoseconds>` |
//! | List, FixedSizeList, Struct, Map (LIST, ARRAY, STRUCT, MAP) | JSON | TEXT JSON |
//! | Null | TEXT | NULL |
//! | Union (UNION) and others | — | refused before anything is written |
//!
//! Decimals are declared `TEXT`, not `DECIMAL(p,s)`: SQLite gives `DECIMAL` numeric affinity and
//! would turn `'1.500'` into the REAL `1.5`.

use arrow::datatypes::{DataType, Field};

/// How a column's values are kept in SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// INTEGER (signed integers, small unsigned, booleans, durations).
    Integer,
    /// INTEGER, refusing values above `i64::MAX`.
    UnsignedInteger,
    /// REAL, refusing NaN.
    Real,
    /// REAL for a decimal (rounding accepted by an override).
    DecimalAsReal,
    /// TEXT produced by Arrow's exact text form of the value.
    Text,
    /// TEXT `<months> <days> <nanoseconds>` for intervals.
    IntervalText,
    /// TEXT holding the value as JSON.
    Json,
    /// BLOB.
    Blob,
    /// Always NULL.
    Null,
}

/// One column of a table as SQLite will hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    /// Column name.
    pub name: String,
    /// Declared type in `CREATE TABLE`.
    pub declared: String,
    /// How values are stored.
    pub storage: Storage,
}

pub use migrate_core::convert::{Remedy, Unsupported};

/// Plans one column; `override_type` is the configured `column_types` entry, if any.
pub fn plan_column(field: &Field, override_type: Option<&str>) -> Result<ColumnPlan, Unsupported> {
    let (declared, storage) = match override_type.map(|t| t.trim().to_ascii_uppercase()) {
        Some(o) => plan_override(field.data_type(), &o)?,
        None => plan_default(field.data_type())?,
    };
    Ok(ColumnPlan { name: field.name().clone(), declared: declared.to_string(), storage })
}

fn plan_default(dt: &DataType) -> Result<(&'static str, Storage), Unsupported> {
    use DataType::*;
    Ok(match dt {
        Null => ("TEXT", Storage::Null),
        Boolean => ("BOOLEAN", Storage::Integer),
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => ("INTEGER", Storage::Integer),
        UInt64 => ("UBIGINT", Storage::UnsignedInteger),
        Float16 | Float32 | Float64 => ("REAL", Storage::Real),
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => ("TEXT", Storage::Text),
        Utf8 | LargeUtf8 | Utf8View => ("TEXT", Storage::Text),
        Dictionary(_, v) if matches!(v.as_ref(), Utf8 | LargeUtf8 | Utf8View) => ("TEXT", Storage::Text),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => ("BLOB", Storage::Blob),
        Date32 | Date64 => ("DATE", Storage::Text),
        Time32(_) | Time64(_) => ("TIME", Storage::Text),
        Timestamp(_, None) => ("TIMESTAMP", Storage::Text),
        Timestamp(_, Some(_)) => ("TIMESTAMPTZ", Storage::Text),
        Duration(_) => ("BIGINT", Storage::Integer),
        Interval(_) => ("INTERVAL", Storage::IntervalText),
        List(_) | LargeList(_) | FixedSizeList(..) | Struct(_) | Map(..) => ("JSON", Storage::Json),
        _ => {
            return Err(Unsupported {
                why: "SQLite has no lossless form for it".into(),
                fix: Remedy::Exclude,
            });
        }
    })
}

fn plan_override(dt: &DataType, wanted: &str) -> Result<(&'static str, Storage), Unsupported> {
    use DataType::*;
    let textual = !matches!(dt, Union(..) | RunEndEncoded(..) | Binary | LargeBinary | BinaryView);
    match wanted {
        "TEXT" if matches!(dt, Interval(_)) => Ok(("TEXT", Storage::IntervalText)),
        "TEXT" if matches!(dt, List(_) | LargeList(_) | FixedSizeList(..) | Struct(_) | Map(..)) => {
            Ok(("TEXT", Storage::Json))
        }
        "TEXT" if textual => Ok(("TEXT", Storage::Text)),
        "REAL" if matches!(dt, Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..)) => {
            Ok(("REAL", Storage::DecimalAsReal))
        }
        "REAL" if matches!(dt, Float16 | Float32 | Float64) => Ok(("REAL", Storage::Real)),
        "JSON" if matches!(dt, List(_) | LargeList(_) | FixedSizeList(..) | Struct(_) | Map(..)) => {
            Ok(("JSON", Storage::Json))
        }
        _ => Err(Unsupported {
            why: format!("the override {wanted:?} cannot hold {dt}"),
            fix: Remedy::OneOf("TEXT (any scalar), REAL (decimals) or JSON (nested values)".into()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Fields, TimeUnit, UnionFields, UnionMode};
    use std::sync::Arc;

    fn plan(dt: DataType, o: Option<&str>) -> Result<(String, Storage), Unsupported> {
        plan_column(&Field::new("c", dt, true), o).map(|p| (p.declared, p.storage))
    }

    #[test]
    fn defaults_are_lossless() {
        let cases = [
            (DataType::Int64, "INTEGER", Storage::Integer),
            (DataType::UInt64, "UBIGINT", Storage::UnsignedInteger),
            (DataType::Float64, "REAL", Storage::Real),
            (DataType::Decimal128(18, 3), "TEXT", Storage::Text),
            (DataType::Timestamp(TimeUnit::Nanosecond, None), "TIMESTAMP", Storage::Text),
            (DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), "TIMESTAMPTZ", Storage::Text),
            (DataType::Binary, "BLOB", Storage::Blob),
            (DataType::List(Arc::new(Field::new("item", DataType::Int32, true))), "JSON", Storage::Json),
            (
                DataType::Dictionary(Box::new(DataType::UInt8), Box::new(DataType::Utf8)),
                "TEXT",
                Storage::Text,
            ),
        ];
        for (dt, declared, storage) in cases {
            assert_eq!(plan(dt.clone(), None), Ok((declared.to_string(), storage)), "{dt}");
        }
    }

    #[test]
    fn unions_are_refused_with_a_fix() {
        let union = DataType::Union(
            UnionFields::try_new(
                vec![0, 1],
                vec![Field::new("a", DataType::Int32, true), Field::new("b", DataType::Utf8, true)],
            )
            .unwrap(),
            UnionMode::Dense,
        );
        let err = plan(union, None).unwrap_err();
        assert!(err.why.contains("no lossless form"), "{err:?}");
    }

    #[test]
    fn overrides() {
        assert_eq!(plan(DataType::UInt64, Some("text")), Ok(("TEXT".into(), Storage::Text)));
        assert_eq!(plan(DataType::Float64, Some("TEXT")), Ok(("TEXT".into(), Storage::Text)));
        assert_eq!(
            plan(DataType::Decimal128(38, 0), Some("REAL")),
            Ok(("REAL".into(), Storage::DecimalAsReal))
        );
        assert!(plan(DataType::Utf8, Some("INTEGER")).is_err());
        let s = DataType::Struct(Fields::from(vec![Field::new("x", DataType::Int32, true)]));
        assert_eq!(plan(s, Some("TEXT")), Ok(("TEXT".into(), Storage::Json)));
    }
}
