//! Arrow columns to the values SQLite stores, and back, vectorised with Arrow's casts.
//! Casts run with `safe: false`: a value that does not convert is an error, never a NULL.

use crate::types::Storage;
use arrow::array::*;
use arrow::datatypes::{DataType, IntervalMonthDayNano, IntervalUnit, TimeUnit};
use arrow::error::ArrowError;
use std::sync::Arc;

use migrate_core::convert::{
    ValueProblem, from_json_text, read_back_type, retype, strict_cast, to_json_text,
};

/// A column ready to bind: one of the four value kinds SQLite has.
#[derive(Debug)]
pub(crate) enum Bindable {
    Integer(Int64Array),
    Real(Float64Array),
    Text(StringArray),
    Blob(BinaryArray),
    Null,
}

/// Converts a column for binding according to its planned storage.
pub(crate) fn to_bindable(col: &ArrayRef, storage: Storage) -> Result<Bindable, ValueProblem> {
    Ok(match storage {
        Storage::Null => Bindable::Null,
        Storage::Integer => Bindable::Integer(strict_cast(col, &DataType::Int64)?.as_primitive().clone()),
        Storage::UnsignedInteger => {
            let ints = col.as_primitive::<arrow::datatypes::UInt64Type>();
            if let Some(v) = ints.iter().flatten().find(|v| *v > i64::MAX as u64) {
                return Err(ValueProblem {
                    why: format!("the value {v} is above SQLite's largest INTEGER (2^63-1)"),
                    fix: "TEXT",
                });
            }
            Bindable::Integer(strict_cast(col, &DataType::Int64)?.as_primitive().clone())
        }
        Storage::Real => {
            let reals: Float64Array = strict_cast(col, &DataType::Float64)?.as_primitive().clone();
            if reals.iter().flatten().any(f64::is_nan) {
                return Err(ValueProblem {
                    why: "NaN would be stored as NULL by SQLite".into(),
                    fix: "TEXT",
                });
            }
            Bindable::Real(reals)
        }
        Storage::DecimalAsReal => {
            Bindable::Real(strict_cast(col, &DataType::Float64)?.as_primitive().clone())
        }
        Storage::Text => Bindable::Text(with_infinities_as_text(col, |finite| match finite.data_type() {
            DataType::Timestamp(unit, Some(_)) => zoned_to_text(finite, *unit),
            _ => Ok(strict_cast(finite, &DataType::Utf8)?.as_string::<i32>().clone()),
        })?),
        Storage::IntervalText => Bindable::Text(interval_text(col)?),
        Storage::Json => Bindable::Text(to_json_text(col)?),
        Storage::Blob => Bindable::Blob(strict_cast(col, &DataType::Binary)?.as_binary::<i32>().clone()),
    })
}

/// A zoned timestamp holds a UTC instant: written as `…Z` text, whatever the zone's name
/// (named zones would need the tz database, offsets do not).
fn zoned_to_text(col: &ArrayRef, unit: TimeUnit) -> Result<StringArray, ArrowError> {
    let naive = strict_cast(&retype(col, DataType::Timestamp(unit, None))?, &DataType::Utf8)?;
    Ok(naive.as_string::<i32>().iter().map(|v| v.map(|t| format!("{t}Z"))).collect())
}

/// Dates and timestamps, whose ±infinity DuckDB writes to Arrow as ±MAX of the storage integer.
fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(..) | DataType::Date32 | DataType::Date64)
}

/// The storage integers of a date or timestamp column, widened to i64, with the MAX of its width.
fn storage_ints(col: &ArrayRef) -> Result<(Int64Array, i64), ArrowError> {
    Ok(match col.data_type() {
        DataType::Date32 => (
            strict_cast(&retype(col, DataType::Int32)?, &DataType::Int64)?.as_primitive().clone(),
            i32::MAX.into(),
        ),
        _ => (retype(col, DataType::Int64)?.as_primitive().clone(), i64::MAX),
    })
}

/// Text of a column through `finite`, with date and timestamp ±infinity written as
/// `infinity` / `-infinity` (as PostgreSQL and DuckDB spell them).
fn with_infinities_as_text(
    col: &ArrayRef,
    finite: impl Fn(&ArrayRef) -> Result<StringArray, ArrowError>,
) -> Result<StringArray, ArrowError> {
    if !is_temporal(col.data_type()) {
        return finite(col);
    }
    let (ints, max) = storage_ints(col)?;
    let infinite: BooleanArray =
        ints.iter().map(|v| Some(matches!(v, Some(v) if v == max || v == -max))).collect();
    if infinite.true_count() == 0 {
        return finite(col);
    }
    let text = finite(&arrow::compute::nullif(col, &infinite)?)?;
    Ok(text
        .iter()
        .zip(ints.iter())
        .map(|(t, v)| match v {
            Some(v) if v == max => Some("infinity".to_string()),
            Some(v) if v == -max => Some("-infinity".to_string()),
            _ => t.map(str::to_string),
        })
        .collect())
}

/// The inverse of [`with_infinities_as_text`]: `infinity` / `-infinity` back to ±MAX.
fn infinities_from_text(
    text: &StringArray,
    to: &DataType,
    finite: impl Fn(&StringArray) -> Result<ArrayRef, ArrowError>,
) -> Result<ArrayRef, ArrowError> {
    let is_inf = |t: Option<&str>| matches!(t, Some("infinity" | "-infinity"));
    if !text.iter().any(is_inf) {
        return finite(text);
    }
    let masked: StringArray = text.iter().map(|t| if is_inf(t) { None } else { t }).collect();
    let values = finite(&masked)?;
    let (ints, max) = storage_ints(&values)?;
    let merged: Int64Array = text
        .iter()
        .zip(ints.iter())
        .map(|(t, v)| match t {
            Some("infinity") => Some(max),
            Some("-infinity") => Some(-max),
            _ => v,
        })
        .collect();
    let merged: ArrayRef = Arc::new(merged);
    match to {
        DataType::Date32 => retype(&strict_cast(&merged, &DataType::Int32)?, to.clone()),
        _ => retype(&merged, to.clone()),
    }
}

fn zoned_from_text(text: &StringArray, to: &DataType) -> Result<ArrayRef, ArrowError> {
    let DataType::Timestamp(unit, Some(_)) = to else {
        return strict_cast(text, to);
    };
    let naive: StringArray = text.iter().map(|v| v.map(|t| t.strip_suffix('Z').unwrap_or(t))).collect();
    retype(&strict_cast(&naive, &DataType::Timestamp(*unit, None))?, to.clone())
}

fn interval_text(col: &ArrayRef) -> Result<StringArray, ArrowError> {
    let mdn = strict_cast(col, &DataType::Interval(IntervalUnit::MonthDayNano))?;
    let mdn = mdn.as_primitive::<arrow::datatypes::IntervalMonthDayNanoType>();
    Ok(mdn.iter().map(|v| v.map(|v| format!("{} {} {}", v.months, v.days, v.nanoseconds))).collect())
}

fn parse_interval(text: &str) -> Option<IntervalMonthDayNano> {
    let mut parts = text.split(' ');
    let months = parts.next()?.parse().ok()?;
    let days = parts.next()?.parse().ok()?;
    let nanoseconds = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some(IntervalMonthDayNano { months, days, nanoseconds })
}

/// Raw columns read from SQLite, one per planned storage kind.
pub(crate) enum RawColumn {
    Integer(Int64Builder),
    Real(Float64Builder),
    Text(StringBuilder),
    Blob(BinaryBuilder),
}

impl RawColumn {
    pub fn for_storage(storage: Storage) -> RawColumn {
        match storage {
            Storage::Integer | Storage::UnsignedInteger => RawColumn::Integer(Int64Builder::new()),
            Storage::Real | Storage::DecimalAsReal => RawColumn::Real(Float64Builder::new()),
            Storage::Text | Storage::IntervalText | Storage::Json | Storage::Null => {
                RawColumn::Text(StringBuilder::new())
            }
            Storage::Blob => RawColumn::Blob(BinaryBuilder::new()),
        }
    }

    /// Appends one SQLite value; a value of another kind than planned is an error.
    pub fn push(&mut self, v: rusqlite::types::ValueRef<'_>) -> Result<(), String> {
        use rusqlite::types::ValueRef as V;
        match (self, v) {
            (RawColumn::Integer(b), V::Null) => b.append_null(),
            (RawColumn::Real(b), V::Null) => b.append_null(),
            (RawColumn::Text(b), V::Null) => b.append_null(),
            (RawColumn::Blob(b), V::Null) => b.append_null(),
            (RawColumn::Integer(b), V::Integer(i)) => b.append_value(i),
            (RawColumn::Real(b), V::Real(f)) => b.append_value(f),
            (RawColumn::Real(b), V::Integer(i)) => b.append_value(i as f64),
            (RawColumn::Text(b), V::Text(t)) => {
                b.append_value(std::str::from_utf8(t).map_err(|e| e.to_string())?)
            }
            (RawColumn::Blob(b), V::Blob(x)) => b.append_value(x),
            (_, other) => return Err(format!("unexpected SQLite {:?} value", other.data_type())),
        }
        Ok(())
    }

    /// The column as Arrow data of type `to` (dictionaries come back as their value type).
    pub fn finish(self, storage: Storage, to: &DataType) -> Result<ArrayRef, ArrowError> {
        let to = read_back_type(to);
        let raw: ArrayRef = match self {
            RawColumn::Integer(mut b) => Arc::new(b.finish()),
            RawColumn::Real(mut b) => Arc::new(b.finish()),
            RawColumn::Text(mut b) => Arc::new(b.finish()),
            RawColumn::Blob(mut b) => Arc::new(b.finish()),
        };
        match storage {
            Storage::Null => Ok(arrow::array::new_null_array(&to, raw.len())),
            Storage::Json => from_json_text(raw.as_string::<i32>(), &to),
            Storage::IntervalText => {
                let text = raw.as_string::<i32>();
                let parsed: Result<IntervalMonthDayNanoArray, ArrowError> = text
                    .iter()
                    .map(|v| match v {
                        None => Ok(None),
                        Some(s) => parse_interval(s).map(Some).ok_or_else(|| {
                            ArrowError::CastError(format!("{s:?} is not an interval written by migrate"))
                        }),
                    })
                    .collect();
                strict_cast(&parsed?, &to)
            }
            Storage::Text if is_temporal(&to) => {
                infinities_from_text(raw.as_string::<i32>(), &to, |finite| zoned_from_text(finite, &to))
            }
            _ => strict_cast(&raw, &to),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_round_trip() {
        let v = IntervalMonthDayNano { months: 14, days: -3, nanoseconds: 1_000_000_007 };
        let text = format!("{} {} {}", v.months, v.days, v.nanoseconds);
        assert_eq!(parse_interval(&text), Some(v));
        assert_eq!(parse_interval("1 2"), None);
        assert_eq!(parse_interval("1 2 3 4"), None);
    }

    #[test]
    fn nan_and_big_unsigned_are_refused() {
        let nan: ArrayRef = Arc::new(Float64Array::from(vec![1.0, f64::NAN]));
        assert!(to_bindable(&nan, Storage::Real).unwrap_err().why.contains("NaN"));
        let big: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
        assert!(to_bindable(&big, Storage::UnsignedInteger).unwrap_err().why.contains("2^63-1"));
    }
}
