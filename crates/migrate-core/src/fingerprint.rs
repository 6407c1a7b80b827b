//! Order-independent content fingerprints of tables, computed from Arrow data.
//!
//! Every value is written in one canonical encoding that depends on its logical value, not on
//! how a store happens to type it: all integer widths and signedness encode as the same 128-bit
//! integer, `Float32` widens exactly to `Float64`, every NaN is one NaN, decimals are normalised
//! (`1.50` = `1.5`), timestamps are nanoseconds since the epoch in any unit, strings and binaries
//! are length-prefixed, dictionaries encode their values. Equal data read from DuckDB, Parquet,
//! SQLite, PostgreSQL or ClickHouse (once read back as the source's Arrow types) therefore gives
//! equal fingerprints, and one changed value changes the fingerprint even when counts match.
//!
//! Each row's encoding is hashed with XXH3-128; the fingerprint is the row count with the sum
//! (mod 2^128) of the row hashes, so row order and batch boundaries do not matter while
//! duplicated rows still count.

use crate::error::{CoreError, Result};
use arrow::array::{
    Array, AsArray, Decimal64Array, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow::datatypes::*;
use std::fmt;
use xxhash_rust::xxh3::xxh3_128;

/// The fingerprint of a multiset of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Rows seen.
    pub rows: u64,
    /// Sum of the rows' 128-bit hashes, wrapping.
    pub sum: u128,
}

impl Fingerprint {
    /// Adds every row of `batch`.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = batch.schema();
        let encoders = batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(col, field)| {
                check_supported(col.data_type()).map_err(|data_type| CoreError::UnsupportedType {
                    column: field.name().clone(),
                    data_type,
                })?;
                Ok(Column::of(col.as_ref()))
            })
            .collect::<Result<Vec<Column>>>()?;
        let mut buf = Vec::with_capacity(256);
        for row in 0..batch.num_rows() {
            buf.clear();
            for col in &encoders {
                col.encode(row, &mut buf);
            }
            self.sum = self.sum.wrapping_add(xxh3_128(&buf));
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Combines fingerprints of disjoint parts of a table.
    pub fn merge(self, other: Fingerprint) -> Fingerprint {
        Fingerprint { rows: self.rows + other.rows, sum: self.sum.wrapping_add(other.sum) }
    }

    /// The fingerprint of all `batches`.
    pub fn of<'a>(batches: impl IntoIterator<Item = &'a RecordBatch>) -> Result<Fingerprint> {
        let mut fp = Fingerprint::default();
        for b in batches {
            fp.update(b)?;
        }
        Ok(fp)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:032x}", self.rows, self.sum)
    }
}

/// `Err(type)` for the first type (possibly nested) that has no canonical encoding.
fn check_supported(dt: &DataType) -> std::result::Result<(), DataType> {
    use DataType::*;
    match dt {
        Null | Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16
        | Float32 | Float64 | Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) | Utf8
        | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView | FixedSizeBinary(_) | Date32 | Date64
        | Time32(_) | Time64(_) | Timestamp(..) | Duration(_) | Interval(_) => Ok(()),
        List(f) | LargeList(f) | FixedSizeList(f, _) | Map(f, _) => check_supported(f.data_type()),
        Struct(fields) => fields.iter().try_for_each(|f| check_supported(f.data_type())),
        Dictionary(_, values) => check_supported(values),
        other => Err(other.clone()),
    }
}

// Tags keep values of different kinds from colliding ("1" the string vs 1 the integer).
const NULL: u8 = 0;
const BOOL: u8 = b'B';
const INT: u8 = b'i';
const FLOAT: u8 = b'f';
const DECIMAL: u8 = b'd';
const TEXT: u8 = b's';
const BYTES: u8 = b'b';
const DATE: u8 = b'D';
const TIME: u8 = b'h';
const TIMESTAMP: u8 = b't';
const TIMESTAMP_TZ: u8 = b'T';
const DURATION: u8 = b'u';
const INTERVAL: u8 = b'I';
const LIST: u8 = b'L';
const STRUCT: u8 = b'S';

fn int(out: &mut Vec<u8>, v: i128) {
    out.push(INT);
    out.extend_from_slice(&v.to_le_bytes());
}

fn tagged_i128(out: &mut Vec<u8>, tag: u8, v: i128) {
    out.push(tag);
    out.extend_from_slice(&v.to_le_bytes());
}

fn float(out: &mut Vec<u8>, v: f64) {
    out.push(FLOAT);
    let bits = if v.is_nan() { f64::NAN.to_bits() } else { v.to_bits() };
    out.extend_from_slice(&bits.to_le_bytes());
}

fn bytes(out: &mut Vec<u8>, tag: u8, v: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(v.len() as u64).to_le_bytes());
    out.extend_from_slice(v);
}

/// A decimal as `digits e-scale` with trailing zeros of the fraction removed, computed on the
/// integer (no text in between); the same bytes as [`decimal`] writes.
fn decimal_int(out: &mut Vec<u8>, unscaled: i128, scale: i8) {
    use std::io::Write;
    let (mut digits, mut scale) = (unscaled.unsigned_abs(), i32::from(scale));
    if digits == 0 {
        scale = 0;
    }
    while scale > 0 && digits % 10 == 0 {
        digits /= 10;
        scale -= 1;
    }
    let sign = if unscaled < 0 && digits != 0 { "-" } else { "" };
    let mut text = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut text[..]);
    // 39 digits, a sign, "e" and a 4-character exponent fit in 64 bytes.
    let _ = write!(cursor, "{sign}{digits}e{}", -scale);
    let len = cursor.position() as usize;
    bytes(out, DECIMAL, &text[..len]);
}

/// A decimal as `digits e-scale` with trailing zeros of the fraction removed.
fn decimal(out: &mut Vec<u8>, unscaled: String, scale: i8) {
    let (neg, mut digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, unscaled),
    };
    let mut scale = i32::from(scale);
    if digits.bytes().all(|d| d == b'0') {
        // Zero has one encoding whatever its scale or sign.
        digits = "0".to_string();
        scale = 0;
    }
    while scale > 0 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    let neg = neg && digits != "0";
    let text = format!("{}{digits}e{}", if neg { "-" } else { "" }, -scale);
    bytes(out, DECIMAL, text.as_bytes());
}

fn unit_nanos(unit: &TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

fn interval(out: &mut Vec<u8>, months: i32, days: i32, nanos: i64) {
    out.push(INTERVAL);
    out.extend_from_slice(&months.to_le_bytes());
    out.extend_from_slice(&days.to_le_bytes());
    out.extend_from_slice(&nanos.to_le_bytes());
}

/// A column resolved to its concrete array once per batch, so the row loop of the common flat
/// types does not dispatch on the data type for every value. Writes what [`encode`] writes.
enum Column<'a> {
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    Float64(&'a Float64Array),
    Utf8(&'a StringArray),
    Decimal64(&'a Decimal64Array, i8),
    Decimal128(&'a Decimal128Array, i8),
    Other(&'a dyn Array),
}

impl<'a> Column<'a> {
    fn of(a: &'a dyn Array) -> Column<'a> {
        match a.data_type() {
            DataType::Int32 => Column::Int32(a.as_primitive()),
            DataType::Int64 => Column::Int64(a.as_primitive()),
            DataType::Float64 => Column::Float64(a.as_primitive()),
            DataType::Utf8 => Column::Utf8(a.as_string()),
            DataType::Decimal64(_, s) => Column::Decimal64(a.as_primitive(), *s),
            DataType::Decimal128(_, s) => Column::Decimal128(a.as_primitive(), *s),
            _ => Column::Other(a),
        }
    }

    fn encode(&self, row: usize, out: &mut Vec<u8>) {
        let null = match self {
            Column::Int32(a) => a.is_null(row),
            Column::Int64(a) => a.is_null(row),
            Column::Float64(a) => a.is_null(row),
            Column::Utf8(a) => a.is_null(row),
            Column::Decimal64(a, _) => a.is_null(row),
            Column::Decimal128(a, _) => a.is_null(row),
            Column::Other(a) => return encode(*a, row, out),
        };
        if null {
            out.push(NULL);
            return;
        }
        match self {
            Column::Int32(a) => int(out, a.value(row).into()),
            Column::Int64(a) => int(out, a.value(row).into()),
            Column::Float64(a) => float(out, a.value(row)),
            Column::Utf8(a) => bytes(out, TEXT, a.value(row).as_bytes()),
            Column::Decimal64(a, s) => decimal_int(out, a.value(row).into(), *s),
            Column::Decimal128(a, s) => decimal_int(out, a.value(row), *s),
            Column::Other(a) => encode(*a, row, out),
        }
    }
}

/// Appends the canonical encoding of `a[row]`. Types were checked by [`check_supported`].
fn encode(a: &dyn Array, row: usize, out: &mut Vec<u8>) {
    if a.is_null(row) {
        out.push(NULL);
        return;
    }
    match a.data_type() {
        DataType::Null => out.push(NULL),
        DataType::Boolean => {
            out.push(BOOL);
            out.push(u8::from(a.as_boolean().value(row)));
        }
        DataType::Int8 => int(out, a.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => int(out, a.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => int(out, a.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => int(out, a.as_primitive::<Int64Type>().value(row).into()),
        DataType::UInt8 => int(out, a.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => int(out, a.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => int(out, a.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => int(out, a.as_primitive::<UInt64Type>().value(row).into()),
        DataType::Float16 => float(out, a.as_primitive::<Float16Type>().value(row).to_f64()),
        DataType::Float32 => float(out, a.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => float(out, a.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal32(_, s) => {
            decimal_int(out, a.as_primitive::<Decimal32Type>().value(row).into(), *s)
        }
        DataType::Decimal64(_, s) => {
            decimal_int(out, a.as_primitive::<Decimal64Type>().value(row).into(), *s)
        }
        DataType::Decimal128(_, s) => decimal_int(out, a.as_primitive::<Decimal128Type>().value(row), *s),
        DataType::Decimal256(_, s) => {
            decimal(out, a.as_primitive::<Decimal256Type>().value(row).to_string(), *s)
        }
        DataType::Utf8 => bytes(out, TEXT, a.as_string::<i32>().value(row).as_bytes()),
        DataType::LargeUtf8 => bytes(out, TEXT, a.as_string::<i64>().value(row).as_bytes()),
        DataType::Utf8View => bytes(out, TEXT, a.as_string_view().value(row).as_bytes()),
        DataType::Binary => bytes(out, BYTES, a.as_binary::<i32>().value(row)),
        DataType::LargeBinary => bytes(out, BYTES, a.as_binary::<i64>().value(row)),
        DataType::BinaryView => bytes(out, BYTES, a.as_binary_view().value(row)),
        DataType::FixedSizeBinary(_) => bytes(out, BYTES, a.as_fixed_size_binary().value(row)),
        DataType::Date32 => tagged_i128(out, DATE, a.as_primitive::<Date32Type>().value(row).into()),
        DataType::Date64 => {
            // Milliseconds, always a whole number of days for valid data: encode as days.
            let ms = i128::from(a.as_primitive::<Date64Type>().value(row));
            tagged_i128(out, DATE, ms.div_euclid(86_400_000));
        }
        DataType::Time32(unit) => {
            let v = match unit {
                TimeUnit::Second => i128::from(a.as_primitive::<Time32SecondType>().value(row)),
                _ => i128::from(a.as_primitive::<Time32MillisecondType>().value(row)),
            };
            tagged_i128(out, TIME, v * unit_nanos(unit));
        }
        DataType::Time64(unit) => {
            let v = match unit {
                TimeUnit::Microsecond => i128::from(a.as_primitive::<Time64MicrosecondType>().value(row)),
                _ => i128::from(a.as_primitive::<Time64NanosecondType>().value(row)),
            };
            tagged_i128(out, TIME, v * unit_nanos(unit));
        }
        DataType::Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => a.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().value(row),
                TimeUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().value(row),
                TimeUnit::Nanosecond => a.as_primitive::<TimestampNanosecondType>().value(row),
            };
            let tag = if tz.is_some() { TIMESTAMP_TZ } else { TIMESTAMP };
            tagged_i128(out, tag, i128::from(v) * unit_nanos(unit));
        }
        DataType::Duration(unit) => {
            let v = match unit {
                TimeUnit::Second => a.as_primitive::<DurationSecondType>().value(row),
                TimeUnit::Millisecond => a.as_primitive::<DurationMillisecondType>().value(row),
                TimeUnit::Microsecond => a.as_primitive::<DurationMicrosecondType>().value(row),
                TimeUnit::Nanosecond => a.as_primitive::<DurationNanosecondType>().value(row),
            };
            tagged_i128(out, DURATION, i128::from(v) * unit_nanos(unit));
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            interval(out, a.as_primitive::<IntervalYearMonthType>().value(row), 0, 0)
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            let v = a.as_primitive::<IntervalDayTimeType>().value(row);
            interval(out, 0, v.days, i64::from(v.milliseconds) * 1_000_000)
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let v = a.as_primitive::<IntervalMonthDayNanoType>().value(row);
            interval(out, v.months, v.days, v.nanoseconds)
        }
        DataType::List(_) => list(out, a.as_list::<i32>().value(row).as_ref()),
        DataType::LargeList(_) => list(out, a.as_list::<i64>().value(row).as_ref()),
        DataType::FixedSizeList(..) => list(out, a.as_fixed_size_list().value(row).as_ref()),
        DataType::Map(..) => list(out, &a.as_map().value(row)),
        DataType::Struct(_) => {
            let s = a.as_struct();
            out.push(STRUCT);
            out.extend_from_slice(&(s.num_columns() as u64).to_le_bytes());
            for col in s.columns() {
                encode(col.as_ref(), row, out);
            }
        }
        DataType::Dictionary(..) => {
            let d = a.as_any_dictionary();
            encode(d.values().as_ref(), dictionary_key(d.keys(), row), out);
        }
        // check_supported rejected everything else before encoding started.
        _ => unreachable!("unsupported type reached encode: {}", a.data_type()),
    }
}

fn list(out: &mut Vec<u8>, values: &dyn Array) {
    out.push(LIST);
    out.extend_from_slice(&(values.len() as u64).to_le_bytes());
    for i in 0..values.len() {
        encode(values, i, out);
    }
}

/// The dictionary index at `row` (keys are non-negative for valid dictionaries).
fn dictionary_key(keys: &dyn Array, row: usize) -> usize {
    let k: i128 = match keys.data_type() {
        DataType::Int8 => keys.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => keys.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => keys.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => keys.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => keys.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => keys.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => keys.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => keys.as_primitive::<UInt64Type>().value(row).into(),
        other => unreachable!("dictionary keys of type {other}"),
    };
    usize::try_from(k).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::*;
    use std::sync::Arc;

    /// The per-batch column path writes exactly the bytes of the generic per-value path, and
    /// decimals written from the integer match the text normalisation they replaced.
    #[test]
    fn resolved_columns_write_what_encode_writes() {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![Some(7), None, Some(i32::MIN)])),
            Arc::new(Int64Array::from(vec![Some(i64::MAX), Some(-1), None])),
            Arc::new(Float64Array::from(vec![Some(f64::NAN), None, Some(-0.5)])),
            Arc::new(StringArray::from(vec![Some("é"), Some(""), None])),
            Arc::new(
                Decimal64Array::from(vec![Some(1500), Some(-0), None])
                    .with_precision_and_scale(18, 3)
                    .unwrap(),
            ),
            Arc::new(
                Decimal128Array::from(vec![Some(-120_000), Some(i128::MAX / 10), Some(5)])
                    .with_precision_and_scale(38, -2)
                    .unwrap(),
            ),
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ];
        for col in &columns {
            for row in 0..col.len() {
                let (mut fast, mut reference) = (Vec::new(), Vec::new());
                Column::of(col.as_ref()).encode(row, &mut fast);
                encode(col.as_ref(), row, &mut reference);
                assert_eq!(fast, reference, "{} row {row}", col.data_type());
            }
        }
        for (unscaled, scale) in [(0i128, 3i8), (-1500, 3), (1500, 3), (-7, 0), (120, -2), (10, 1), (-100, 2)]
        {
            let (mut from_int, mut from_text) = (Vec::new(), Vec::new());
            decimal_int(&mut from_int, unscaled, scale);
            decimal(&mut from_text, unscaled.to_string(), scale);
            assert_eq!(from_int, from_text, "{unscaled}e-{scale}");
        }
    }
}
