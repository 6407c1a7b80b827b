//! ClickHouse column types, and how Arrow types map onto them on each server version.
//!
//! | Arrow | ClickHouse ≥ 22 (modern) | ClickHouse 18.16 |
//! |---|---|---|
//! | Int8…Int64, UInt8…UInt64, Float32, Float64 | same | same |
//! | Boolean | Bool | UInt8 (read back as Boolean) |
//! | Utf8, LargeUtf8, Utf8View, Binary, LargeBinary | String | String |
//! | FixedSizeBinary(n) | FixedString(n) | FixedString(n) |
//! | Decimal(p ≤ 38, s) | Decimal(p, s) | Decimal(p, s) |
//! | Decimal256(p > 38, s) | Decimal(p, s) | refused: Float64 would lose digits; `String` keeps them |
//! | Date32 | Date32 | Date (1970-01-01 to 2149-06-06; other days refused per value) |
//! | Timestamp(s, tz) | DateTime(tz) | DateTime(tz) (1970 to 2106 per value) |
//! | Timestamp(ms/µs/ns, tz) | DateTime64(3/6/9, tz) | refused: `DateTime` (whole seconds), `Int64` (units since 1970) or `String` |
//! | List(T) | Array(T) | Array(T) (a NULL list is refused per value) |
//! | Dictionary(_, Utf8) | LowCardinality(String) | String |
//! | nullable field | Nullable(T) | Nullable(T) |
//! | anything else (Struct, Map, Union, Duration, Interval, Time, Float16, Date64) | refused: `String` | refused |
//!
//! A `column_types` override names any ClickHouse type this module reads; the column is cast
//! to that type's Arrow form first, strictly (a value that does not convert is an error).
//! Read back, each ClickHouse type has one Arrow form ([`ChType::arrow`]); UUID reads as text.

use crate::capabilities::Capabilities;
use arrow::datatypes::{DataType, Field, TimeUnit};
use migrate_core::convert::{Remedy, Unsupported};
use std::sync::Arc;

/// A ClickHouse column type this crate reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChType {
    /// Int8.
    Int8,
    /// Int16.
    Int16,
    /// Int32.
    Int32,
    /// Int64.
    Int64,
    /// UInt8.
    UInt8,
    /// UInt16.
    UInt16,
    /// UInt32.
    UInt32,
    /// UInt64.
    UInt64,
    /// Float32.
    Float32,
    /// Float64.
    Float64,
    /// Bool (absent from 18.16).
    Bool,
    /// String: any bytes.
    String,
    /// FixedString(n).
    FixedString(usize),
    /// Decimal(precision, scale).
    Decimal(u8, i8),
    /// Date: days since 1970 as UInt16.
    Date,
    /// Date32: days since 1970 as Int32 (absent from 18.16).
    Date32,
    /// DateTime(tz): seconds since 1970 as UInt32.
    DateTime(Option<String>),
    /// DateTime64(precision, tz) (absent from 18.16).
    DateTime64(u8, Option<String>),
    /// UUID.
    Uuid,
    /// Nullable(T).
    Nullable(Box<ChType>),
    /// Array(T).
    Array(Box<ChType>),
    /// LowCardinality(T): encoded as T in row formats.
    LowCardinality(Box<ChType>),
}

impl ChType {
    /// Parses a type as `system.columns` spells it; `None` for types this crate does not read.
    pub fn parse(text: &str) -> Option<ChType> {
        let text = text.trim();
        let (name, args) = match text.find('(') {
            Some(open) if text.ends_with(')') => (&text[..open], Some(&text[open + 1..text.len() - 1])),
            _ => (text, None),
        };
        let inner = || args.and_then(ChType::parse).map(Box::new);
        let args_list = || args.map(split_args).unwrap_or_default();
        Some(match (name, args) {
            ("Int8", None) => ChType::Int8,
            ("Int16", None) => ChType::Int16,
            ("Int32", None) => ChType::Int32,
            ("Int64", None) => ChType::Int64,
            ("UInt8", None) => ChType::UInt8,
            ("UInt16", None) => ChType::UInt16,
            ("UInt32", None) => ChType::UInt32,
            ("UInt64", None) => ChType::UInt64,
            ("Float32", None) => ChType::Float32,
            ("Float64", None) => ChType::Float64,
            ("Bool", None) => ChType::Bool,
            ("String", None) => ChType::String,
            ("UUID", None) => ChType::Uuid,
            ("Date", None) => ChType::Date,
            ("Date32", None) => ChType::Date32,
            ("DateTime", None) => ChType::DateTime(None),
            ("DateTime", Some(tz)) => ChType::DateTime(Some(unquote(tz))),
            ("FixedString", Some(n)) => ChType::FixedString(n.trim().parse().ok()?),
            ("Decimal", Some(_)) => {
                let a = args_list();
                ChType::Decimal(a.first()?.parse().ok()?, a.get(1).map_or(Some(0), |s| s.parse().ok())?)
            }
            ("Decimal32" | "Decimal64" | "Decimal128" | "Decimal256", Some(s)) => {
                let precision = match name {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    "Decimal128" => 38,
                    _ => 76,
                };
                ChType::Decimal(precision, s.trim().parse().ok()?)
            }
            ("DateTime64", Some(_)) => {
                let a = args_list();
                ChType::DateTime64(a.first()?.parse().ok()?, a.get(1).map(|tz| unquote(tz)))
            }
            ("Nullable", Some(_)) => ChType::Nullable(inner()?),
            ("Array", Some(_)) => ChType::Array(inner()?),
            ("LowCardinality", Some(_)) => ChType::LowCardinality(inner()?),
            _ => return None,
        })
    }

    /// The type as SQL.
    pub fn sql(&self) -> String {
        match self {
            ChType::FixedString(n) => format!("FixedString({n})"),
            ChType::Decimal(p, s) => format!("Decimal({p}, {s})"),
            ChType::DateTime(None) => "DateTime".into(),
            ChType::DateTime(Some(tz)) => format!("DateTime({})", crate::sql::literal(tz)),
            ChType::DateTime64(p, None) => format!("DateTime64({p})"),
            ChType::DateTime64(p, Some(tz)) => format!("DateTime64({p}, {})", crate::sql::literal(tz)),
            ChType::Nullable(t) => format!("Nullable({})", t.sql()),
            ChType::Array(t) => format!("Array({})", t.sql()),
            ChType::LowCardinality(t) => format!("LowCardinality({})", t.sql()),
            ChType::Uuid => "UUID".into(),
            other => format!("{other:?}"),
        }
    }

    /// The type without Nullable / LowCardinality wrappers.
    pub fn base(&self) -> &ChType {
        match self {
            ChType::Nullable(t) | ChType::LowCardinality(t) => t.base(),
            other => other,
        }
    }

    /// The type with NULL taken out (`Nullable(T)` → `T`, inside LowCardinality too).
    pub fn without_null(&self) -> ChType {
        match self {
            ChType::Nullable(t) => t.without_null(),
            ChType::LowCardinality(t) => ChType::LowCardinality(Box::new(t.without_null())),
            other => other.clone(),
        }
    }

    /// Whether NULL is a value of this type.
    pub fn is_nullable(&self) -> bool {
        match self {
            ChType::Nullable(_) => true,
            ChType::LowCardinality(t) => t.is_nullable(),
            _ => false,
        }
    }

    /// The Arrow type values of this type read as (and are cast to before writing).
    pub fn arrow(&self) -> DataType {
        match self {
            ChType::Int8 => DataType::Int8,
            ChType::Int16 => DataType::Int16,
            ChType::Int32 => DataType::Int32,
            ChType::Int64 => DataType::Int64,
            ChType::UInt8 => DataType::UInt8,
            ChType::UInt16 => DataType::UInt16,
            ChType::UInt32 => DataType::UInt32,
            ChType::UInt64 => DataType::UInt64,
            ChType::Float32 => DataType::Float32,
            ChType::Float64 => DataType::Float64,
            ChType::Bool => DataType::Boolean,
            ChType::String | ChType::Uuid => DataType::Utf8,
            ChType::FixedString(n) => DataType::FixedSizeBinary(*n as i32),
            ChType::Decimal(p, s) if *p <= 38 => DataType::Decimal128(*p, *s),
            ChType::Decimal(p, s) => DataType::Decimal256(*p, *s),
            ChType::Date | ChType::Date32 => DataType::Date32,
            ChType::DateTime(tz) => DataType::Timestamp(TimeUnit::Second, tz.as_deref().map(Arc::from)),
            ChType::DateTime64(p, tz) => DataType::Timestamp(unit_of(*p), tz.as_deref().map(Arc::from)),
            ChType::Nullable(t) | ChType::LowCardinality(t) => t.arrow(),
            ChType::Array(t) => DataType::List(Arc::new(Field::new("item", t.arrow(), t.is_nullable()))),
        }
    }
}

/// The Arrow unit that holds DateTime64(`precision`) exactly.
pub fn unit_of(precision: u8) -> TimeUnit {
    match precision {
        0 => TimeUnit::Second,
        1..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

/// Digits of a time unit (0, 3, 6, 9).
pub fn digits_of(unit: TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

fn unquote(text: &str) -> String {
    text.trim().trim_matches('\'').to_string()
}

/// Splits `a, b(c, d), 'e'` at top-level commas.
fn split_args(text: &str) -> Vec<String> {
    let (mut depth, mut quoted, mut start, mut out) = (0, false, 0, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(text[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim().to_string());
    out
}

/// The ClickHouse type a column of `field` is stored as on this server, or why it cannot be
/// stored without loss and what would store it. `override_type` is the configured
/// `column_types` entry for the column, if any.
pub fn column_type(
    field: &Field,
    override_type: Option<&str>,
    caps: &Capabilities,
) -> Result<ChType, Unsupported> {
    if let Some(text) = override_type {
        let parsed = ChType::parse(text).ok_or_else(|| Unsupported {
            why: format!("the column type override {text:?} is not a type this tool writes"),
            fix: Remedy::OneOf("String, Int64, Float64, Decimal(P, S), DateTime, Date, UInt8, Bool (where the server has it)".into()),
        })?;
        let castable = arrow::compute::can_cast_types(field.data_type(), &parsed.arrow());
        if !castable {
            return Err(Unsupported {
                why: format!("{} does not convert to {text}", field.data_type()),
                fix: Remedy::OneOf("String".into()),
            });
        }
        return Ok(wrap_nullable(parsed, field.is_nullable()));
    }
    let base = base_type(field.data_type(), caps)?;
    Ok(match base {
        ChType::Array(_) => base,
        other => wrap_nullable(other, field.is_nullable()),
    })
}

fn wrap_nullable(t: ChType, nullable: bool) -> ChType {
    match t {
        ChType::Nullable(_) | ChType::Array(_) => t,
        ChType::LowCardinality(inner) if nullable => {
            ChType::LowCardinality(Box::new(ChType::Nullable(inner)))
        }
        other if nullable => ChType::Nullable(Box::new(other)),
        other => other,
    }
}

fn base_type(dt: &DataType, caps: &Capabilities) -> Result<ChType, Unsupported> {
    let version = &caps.version_text;
    let refuse = |why: String, fix: &str| Unsupported { why, fix: Remedy::OneOf(fix.into()) };
    Ok(match dt {
        DataType::Int8 => ChType::Int8,
        DataType::Int16 => ChType::Int16,
        DataType::Int32 => ChType::Int32,
        DataType::Int64 => ChType::Int64,
        DataType::UInt8 => ChType::UInt8,
        DataType::UInt16 => ChType::UInt16,
        DataType::UInt32 => ChType::UInt32,
        DataType::UInt64 => ChType::UInt64,
        DataType::Float32 => ChType::Float32,
        DataType::Float64 => ChType::Float64,
        DataType::Boolean if caps.has_type("Bool") => ChType::Bool,
        DataType::Boolean => ChType::UInt8,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ChType::String,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => ChType::String,
        DataType::FixedSizeBinary(n) => ChType::FixedString(*n as usize),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) if *s >= 0 => {
            ChType::Decimal(*p, *s)
        }
        DataType::Decimal256(p, s) if *s >= 0 && caps.has_type("Decimal256") => ChType::Decimal(*p, *s),
        DataType::Decimal256(p, s) if *s >= 0 && *p <= 38 => ChType::Decimal(*p, *s),
        DataType::Decimal256(..) => {
            return Err(refuse(format!("ClickHouse {version} has no Decimal above 38 digits"), "String"));
        }
        DataType::Date32 if caps.has_type("Date32") => ChType::Date32,
        DataType::Date32 => ChType::Date,
        DataType::Timestamp(unit, tz) => {
            let tz = match tz.as_deref() {
                None => None,
                Some("UTC" | "+00:00" | "Z" | "+0000" | "Etc/UTC") => Some("UTC".to_string()),
                Some(name) if name.contains('/') => Some(name.to_string()),
                Some(offset) => {
                    return Err(refuse(
                        format!("ClickHouse time zones are IANA names, not the offset {offset}"),
                        "DateTime64(6, 'UTC') after converting to UTC, or String",
                    ));
                }
            };
            match unit {
                TimeUnit::Second => ChType::DateTime(tz),
                _ if caps.has_type("DateTime64") => ChType::DateTime64(digits_of(*unit), tz),
                _ => {
                    return Err(refuse(
                        format!("ClickHouse {version} has no DateTime64: sub-second digits would be lost"),
                        "DateTime (whole seconds), Int64 (units since 1970), String",
                    ));
                }
            }
        }
        DataType::List(item) | DataType::LargeList(item) => {
            let inner = column_type(item, None, caps)?;
            if matches!(inner, ChType::Array(_)) && item.is_nullable() {
                return Err(refuse("ClickHouse arrays cannot hold NULL arrays".into(), "String"));
            }
            ChType::Array(Box::new(inner))
        }
        DataType::Dictionary(_, value) if value.is_nested() => {
            return Err(refuse(format!("dictionaries of {value} are not written yet"), "String"));
        }
        DataType::Dictionary(_, value) => match base_type(value, caps)? {
            ChType::String if caps.version.at_least(19, 9) => {
                ChType::LowCardinality(Box::new(ChType::String))
            }
            other => other,
        },
        other => {
            return Err(Unsupported {
                why: format!("{other} has no ClickHouse counterpart this tool writes"),
                fix: Remedy::OneOf("String".into()),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(version: &str, types: &[&str]) -> Capabilities {
        Capabilities::of(version, types).unwrap()
    }

    #[test]
    fn parse_and_print() {
        for text in [
            "Int64",
            "Nullable(String)",
            "Decimal(18, 3)",
            "DateTime64(6, 'UTC')",
            "Array(Nullable(Int32))",
            "LowCardinality(Nullable(String))",
            "FixedString(16)",
            "DateTime('Europe/Berlin')",
        ] {
            assert_eq!(ChType::parse(text).unwrap().sql(), text);
        }
        assert_eq!(ChType::parse("Decimal64(4)"), Some(ChType::Decimal(18, 4)));
        assert_eq!(ChType::parse("Map(String, Int32)"), None);
        assert_eq!(ChType::parse("Enum8('a' = 1)"), None);
    }

    #[test]
    fn modern_and_old_servers_map_differently() {
        let modern = caps("26.9.2.1", &["Bool", "Date32", "DateTime64", "Decimal256"]);
        let old = caps("18.16.1", &[]);
        let us = Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())), true);
        assert_eq!(column_type(&us, None, &modern).unwrap().sql(), "Nullable(DateTime64(6, 'UTC'))");
        let refused = column_type(&us, None, &old).unwrap_err();
        assert!(refused.why.contains("no DateTime64"), "{refused:?}");
        assert_eq!(column_type(&us, Some("Int64"), &old).unwrap().sql(), "Nullable(Int64)");
        let flag = Field::new("flag", DataType::Boolean, false);
        assert_eq!(column_type(&flag, None, &modern).unwrap(), ChType::Bool);
        assert_eq!(column_type(&flag, None, &old).unwrap(), ChType::UInt8);
        let day = Field::new("d", DataType::Date32, false);
        assert_eq!(column_type(&day, None, &old).unwrap(), ChType::Date);
        let tags =
            Field::new("tags", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true);
        assert_eq!(column_type(&tags, None, &old).unwrap().sql(), "Array(Nullable(String))");
        let odd = Field::new("s", DataType::Struct(Default::default()), true);
        assert!(column_type(&odd, None, &modern).is_err());
        assert!(column_type(&odd, Some("Map(String, Int32)"), &modern).is_err());
    }
}
