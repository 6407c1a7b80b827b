//! Arrow columns to PostgreSQL's binary COPY format.

use crate::types::Encoding;
use arrow::array::*;
use arrow::datatypes::*;
use arrow::error::ArrowError;
use migrate_core::convert::{ValueProblem, has_nul, retype, strict_cast, to_json_text};

/// The binary COPY header: signature, flags, header extension length.
pub(crate) const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// A NULL field: length -1, no bytes.
pub(crate) const NULL_FIELD: [u8; 4] = (-1i32).to_be_bytes();
/// The binary COPY trailer.
pub(crate) const TRAILER: [u8; 2] = (-1i16).to_be_bytes();

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
pub(crate) const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between the two epochs.
pub(crate) const PG_EPOCH_DAYS: i32 = 10_957;

/// A column converted once per batch into the form its encoding writes from.
pub(crate) enum Prepared {
    Bool(BooleanArray),
    Int2(Int16Array),
    Int4(Int32Array),
    Int8(Int64Array),
    Float4(Float32Array),
    Float8(Float64Array),
    /// Decimal text (`-123.4500`).
    Numeric(StringArray),
    Text(StringArray),
    Bytea(BinaryArray),
    /// Days since 1970.
    Date(Int32Array),
    /// Microseconds of the day.
    Time(Int64Array),
    /// Microseconds since 1970.
    Timestamp(Int64Array),
    Interval(IntervalMonthDayNanoArray),
    /// Microseconds.
    DurationMicros(Int64Array),
    Array {
        offsets: Vec<usize>,
        nulls: Option<arrow::buffer::NullBuffer>,
        values: Box<Prepared>,
        oid: u32,
    },
    Null,
}

fn ns_to_micros(ns: &Int64Array, what: &str, fix: &'static str) -> Result<Int64Array, ValueProblem> {
    if let Some(v) = ns.iter().flatten().find(|v| v % 1000 != 0) {
        return Err(ValueProblem {
            why: format!("{what} {v} ns has nanoseconds; PostgreSQL keeps microseconds"),
            fix,
        });
    }
    Ok(ns.unary(|v| v / 1000))
}

/// Converts a column for `encoding`, checking every value that PostgreSQL could not hold.
pub(crate) fn prepare(col: &ArrayRef, encoding: &Encoding) -> Result<Prepared, ValueProblem> {
    Ok(match encoding {
        Encoding::Null => Prepared::Null,
        Encoding::Bool => Prepared::Bool(col.as_boolean().clone()),
        Encoding::Int2 => Prepared::Int2(strict_cast(col, &DataType::Int16)?.as_primitive().clone()),
        Encoding::Int4 => Prepared::Int4(strict_cast(col, &DataType::Int32)?.as_primitive().clone()),
        Encoding::Int8 => Prepared::Int8(strict_cast(col, &DataType::Int64)?.as_primitive().clone()),
        Encoding::Float4 => Prepared::Float4(strict_cast(col, &DataType::Float32)?.as_primitive().clone()),
        Encoding::Float8 => Prepared::Float8(strict_cast(col, &DataType::Float64)?.as_primitive().clone()),
        Encoding::Numeric => Prepared::Numeric(strict_cast(col, &DataType::Utf8)?.as_string::<i32>().clone()),
        Encoding::Text => {
            let text = strict_cast(col, &DataType::Utf8)?.as_string::<i32>().clone();
            if has_nul(&text) {
                return Err(ValueProblem {
                    why: "a string holds a NUL character, which PostgreSQL text cannot".into(),
                    fix: "bytea",
                });
            }
            Prepared::Text(text)
        }
        Encoding::Json => Prepared::Text(to_json_text(col)?),
        Encoding::Bytea => Prepared::Bytea(strict_cast(col, &DataType::Binary)?.as_binary::<i32>().clone()),
        Encoding::Date => Prepared::Date(
            strict_cast(col, &DataType::Date32)?.as_primitive::<Date32Type>().reinterpret_cast(),
        ),
        Encoding::Time => {
            let ns = strict_cast(col, &DataType::Time64(TimeUnit::Nanosecond))?;
            let ns: Int64Array = ns.as_primitive::<Time64NanosecondType>().reinterpret_cast();
            Prepared::Time(ns_to_micros(&ns, "time", "bigint")?)
        }
        Encoding::Timestamp => {
            let DataType::Timestamp(unit, _) = col.data_type() else {
                return Err(ValueProblem {
                    why: format!("{} is not a timestamp", col.data_type()),
                    fix: "text",
                });
            };
            let naive = retype(col, DataType::Timestamp(*unit, None))?;
            let micros: Int64Array = match unit {
                TimeUnit::Nanosecond => {
                    let ns: Int64Array = naive.as_primitive::<TimestampNanosecondType>().reinterpret_cast();
                    ns_to_micros(&ns, "timestamp", "bigint")?
                }
                _ => {
                    let us = strict_cast(&naive, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
                    us.as_primitive::<TimestampMicrosecondType>().reinterpret_cast()
                }
            };
            Prepared::Timestamp(micros)
        }
        Encoding::Interval => {
            let iv = strict_cast(col, &DataType::Interval(IntervalUnit::MonthDayNano))?;
            let iv = iv.as_primitive::<IntervalMonthDayNanoType>().clone();
            if let Some(v) = iv.iter().flatten().find(|v| v.nanoseconds % 1000 != 0) {
                return Err(ValueProblem {
                    why: format!(
                        "the interval with {} ns has nanoseconds; PostgreSQL keeps microseconds",
                        v.nanoseconds
                    ),
                    fix: "text",
                });
            }
            Prepared::Interval(iv)
        }
        Encoding::DurationInterval => {
            let DataType::Duration(unit) = col.data_type() else {
                return Err(ValueProblem {
                    why: format!("{} is not a duration", col.data_type()),
                    fix: "text",
                });
            };
            let raw: Int64Array = strict_cast(col, &DataType::Int64)?.as_primitive().clone();
            let micros = match unit {
                TimeUnit::Second => raw.try_unary(|v| v.checked_mul(1_000_000).ok_or(())).map_err(|_| {
                    ValueProblem { why: "a duration overflows microseconds".into(), fix: "text" }
                })?,
                TimeUnit::Millisecond => raw.try_unary(|v| v.checked_mul(1_000).ok_or(())).map_err(|_| {
                    ValueProblem { why: "a duration overflows microseconds".into(), fix: "text" }
                })?,
                TimeUnit::Microsecond => raw,
                TimeUnit::Nanosecond => ns_to_micros(&raw, "duration", "text")?,
            };
            Prepared::DurationMicros(micros)
        }
        Encoding::Nanos => {
            let (DataType::Timestamp(unit, _) | DataType::Time64(unit) | DataType::Time32(unit)) =
                col.data_type()
            else {
                return Err(ValueProblem {
                    why: format!("{} cannot be stored as nanoseconds", col.data_type()),
                    fix: "text",
                });
            };
            let raw: Int64Array = strict_cast(&retype_plain(col)?, &DataType::Int64)?.as_primitive().clone();
            let factor = match unit {
                TimeUnit::Second => 1_000_000_000,
                TimeUnit::Millisecond => 1_000_000,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1,
            };
            Prepared::Int8(raw.try_unary(|v| v.checked_mul(factor).ok_or(())).map_err(|_| ValueProblem {
                why: "a value overflows 64-bit nanoseconds".into(),
                fix: "text",
            })?)
        }
        Encoding::Array(element) => {
            let (offsets, values, nulls): (Vec<usize>, ArrayRef, _) = match col.data_type() {
                DataType::List(_) => {
                    let l = col.as_list::<i32>();
                    (
                        l.offsets().iter().map(|o| *o as usize).collect(),
                        l.values().clone(),
                        l.nulls().cloned(),
                    )
                }
                DataType::LargeList(_) => {
                    let l = col.as_list::<i64>();
                    (
                        l.offsets().iter().map(|o| *o as usize).collect(),
                        l.values().clone(),
                        l.nulls().cloned(),
                    )
                }
                DataType::FixedSizeList(_, n) => {
                    let l = col.as_fixed_size_list();
                    let n = *n as usize;
                    ((0..=l.len()).map(|i| i * n).collect(), l.values().clone(), l.nulls().cloned())
                }
                other => return Err(ValueProblem { why: format!("{other} is not a list"), fix: "json" }),
            };
            Prepared::Array {
                offsets,
                nulls,
                values: Box::new(prepare(&values, element)?),
                oid: element.oid(),
            }
        }
    })
}

/// Time and timestamp arrays as plain integers of their unit.
fn retype_plain(col: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    match col.data_type() {
        DataType::Time32(_) => strict_cast(&retype(col, DataType::Int32)?, &DataType::Int64),
        _ => retype(col, DataType::Int64),
    }
}

impl Prepared {
    fn is_null(&self, row: usize) -> bool {
        match self {
            Prepared::Null => true,
            Prepared::Bool(a) => a.is_null(row),
            Prepared::Int2(a) => a.is_null(row),
            Prepared::Int4(a) => a.is_null(row),
            Prepared::Int8(a) | Prepared::Time(a) | Prepared::Timestamp(a) | Prepared::DurationMicros(a) => {
                a.is_null(row)
            }
            Prepared::Float4(a) => a.is_null(row),
            Prepared::Float8(a) => a.is_null(row),
            Prepared::Numeric(a) | Prepared::Text(a) => a.is_null(row),
            Prepared::Bytea(a) => a.is_null(row),
            Prepared::Date(a) => a.is_null(row),
            Prepared::Interval(a) => a.is_null(row),
            Prepared::Array { nulls, .. } => nulls.as_ref().is_some_and(|n| n.is_null(row)),
        }
    }

    /// Whether every field's bytes are at hand (NULL, fixed-width values, text, bytea) rather
    /// than computed as they are written: their sizes are known before writing.
    pub(crate) fn bytes_at_hand(&self) -> bool {
        matches!(
            self,
            Prepared::Null
                | Prepared::Bool(_)
                | Prepared::Int2(_)
                | Prepared::Int4(_)
                | Prepared::Int8(_)
                | Prepared::Time(_)
                | Prepared::Float4(_)
                | Prepared::Float8(_)
                | Prepared::Text(_)
                | Prepared::Bytea(_)
        )
    }

    /// Appends field `row`: its length, then its bytes (or -1 for NULL).
    pub(crate) fn write_field(&self, row: usize, out: &mut Vec<u8>) -> Result<(), ValueProblem> {
        if self.is_null(row) {
            out.extend_from_slice(&NULL_FIELD);
            return Ok(());
        }
        match self {
            Prepared::Bool(a) => field(out, &[u8::from(a.value(row))]),
            Prepared::Int2(a) => field(out, &a.value(row).to_be_bytes()),
            Prepared::Int4(a) => field(out, &a.value(row).to_be_bytes()),
            Prepared::Int8(a) | Prepared::Time(a) => field(out, &a.value(row).to_be_bytes()),
            Prepared::Float4(a) => field(out, &a.value(row).to_be_bytes()),
            Prepared::Float8(a) => field(out, &a.value(row).to_be_bytes()),
            Prepared::Text(a) => field(out, a.value(row).as_bytes()),
            Prepared::Bytea(a) => field(out, a.value(row)),
            _ => return self.write_measured(row, out),
        }
        Ok(())
    }

    /// The fields that are computed (and may fail) as they are written: a placeholder length
    /// first, patched once the bytes are out.
    fn write_measured(&self, row: usize, out: &mut Vec<u8>) -> Result<(), ValueProblem> {
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        match self {
            Prepared::Numeric(a) => {
                encode_numeric(a.value(row), out).map_err(|why| ValueProblem { why, fix: "text" })?
            }
            Prepared::Date(a) => {
                // ±infinity as DuckDB writes them to Arrow (±i32::MAX); PostgreSQL's -infinity
                // on the wire is i32::MIN.
                let days = match a.value(row) {
                    i32::MAX => i32::MAX,
                    d if d == -i32::MAX => i32::MIN,
                    d => d.checked_sub(PG_EPOCH_DAYS).ok_or_else(|| ValueProblem {
                        why: format!("the date {d} (days since 1970) is out of PostgreSQL's range"),
                        fix: "integer",
                    })?,
                };
                out.extend_from_slice(&days.to_be_bytes());
            }
            Prepared::Timestamp(a) => {
                // ±infinity as DuckDB writes them to Arrow (±i64::MAX); PostgreSQL's -infinity
                // on the wire is i64::MIN.
                let micros = match a.value(row) {
                    i64::MAX => i64::MAX,
                    v if v == -i64::MAX => i64::MIN,
                    v => v.checked_sub(PG_EPOCH_MICROS).ok_or_else(|| ValueProblem {
                        why: format!("the timestamp {v} µs is out of PostgreSQL's range"),
                        fix: "bigint",
                    })?,
                };
                out.extend_from_slice(&micros.to_be_bytes());
            }
            Prepared::Interval(a) => {
                let v = a.value(row);
                out.extend_from_slice(&(v.nanoseconds / 1000).to_be_bytes());
                out.extend_from_slice(&v.days.to_be_bytes());
                out.extend_from_slice(&v.months.to_be_bytes());
            }
            Prepared::DurationMicros(a) => {
                out.extend_from_slice(&a.value(row).to_be_bytes());
                out.extend_from_slice(&0i32.to_be_bytes());
                out.extend_from_slice(&0i32.to_be_bytes());
            }
            Prepared::Array { offsets, values, oid, .. } => {
                let (start, end) = (offsets[row], offsets[row + 1]);
                let has_nulls = (start..end).any(|i| values.is_null(i));
                if start == end {
                    out.extend_from_slice(&0i32.to_be_bytes()); // no dimensions: the empty array
                    out.extend_from_slice(&0i32.to_be_bytes());
                    out.extend_from_slice(&oid.to_be_bytes());
                } else {
                    out.extend_from_slice(&1i32.to_be_bytes());
                    out.extend_from_slice(&i32::from(has_nulls).to_be_bytes());
                    out.extend_from_slice(&oid.to_be_bytes());
                    out.extend_from_slice(&((end - start) as i32).to_be_bytes());
                    out.extend_from_slice(&1i32.to_be_bytes());
                    for i in start..end {
                        values.write_field(i, out)?;
                    }
                }
            }
            _ => unreachable!("fields with their bytes at hand are written by write_field"),
        }
        let len = (out.len() - len_at - 4) as i32;
        out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

/// A field whose bytes are at hand: its length, then the bytes.
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Writes a decimal string (`-123.4500`) as PostgreSQL's binary `numeric`.
/// Checks that every value fits a `numeric(p,s)` column (`sql_type`); other types pass. Arrow
/// data can carry more digits than its declared precision (DuckDB writes HUGEINT as
/// DECIMAL(38,0), and HUGEINT reaches 39 digits); PostgreSQL would refuse the whole COPY.
pub(crate) fn check_numeric_fits(prepared: &Prepared, sql_type: &str) -> Result<(), ValueProblem> {
    let Prepared::Numeric(values) = prepared else { return Ok(()) };
    let Some((p, s)) = sql_type
        .strip_prefix("numeric(")
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|r| r.split_once(','))
        .and_then(|(p, s)| Some((p.trim().parse::<usize>().ok()?, s.trim().parse::<usize>().ok()?)))
    else {
        return Ok(());
    };
    for v in values.iter().flatten() {
        let int_part = v.trim_start_matches('-').split('.').next().unwrap_or("");
        let digits = int_part.trim_start_matches('0').len();
        if digits > p.saturating_sub(s) {
            return Err(ValueProblem {
                why: format!("the value {v} has more digits than {sql_type} holds"),
                fix: "numeric",
            });
        }
    }
    Ok(())
}

pub(crate) fn encode_numeric(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit())
        || (int_part.is_empty() && frac_part.is_empty())
    {
        return Err(format!("{text:?} is not a decimal number"));
    }
    let dscale = frac_part.len() as u16;
    // Base-10000 groups: integer part padded on the left, fraction on the right.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let int_digits = format!("{}{}", "0".repeat(int_pad), int_part);
    let frac_digits = format!("{}{}", frac_part, "0".repeat(frac_pad));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or("0").parse().unwrap_or(0)).collect()
    };
    let mut groups = group(&int_digits);
    let mut weight = groups.len() as i16 - 1;
    groups.extend(group(&frac_digits));
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign: u16 = if negative && !groups.is_empty() { 0x4000 } else { 0 };
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_numeric(text, &mut out).unwrap();
        out
    }

    fn words(v: &[i16]) -> Vec<u8> {
        v.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn numeric_binary_layout() {
        // ndigits, weight, sign, dscale, digits…
        assert_eq!(numeric("123.45"), words(&[2, 0, 0, 2, 123, 4500]));
        assert_eq!(numeric("-0.0001"), words(&[1, -1, 0x4000, 4, 1]));
        assert_eq!(numeric("10000"), words(&[1, 1, 0, 0, 1]));
        assert_eq!(numeric("0.000"), words(&[0, 0, 0, 3]));
        assert_eq!(numeric("-0"), words(&[0, 0, 0, 0]));
        let mut out = Vec::new();
        assert!(encode_numeric("1e5", &mut out).is_err());
    }
}
