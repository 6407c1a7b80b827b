//! Native, ClickHouse's columnar block format, from Arrow: the server takes its columns as they
//! come (no row parsing), and fixed-width Arrow columns are copied as they are. Loads use it;
//! RowBinary ([`crate::rowbinary`]) reads tables back and carries the LowCardinality columns
//! whose Native form differs between versions.

use crate::rowbinary::{prepare, put_bytes, put_varint, timestamps};
use crate::types::{ChType, digits_of};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::datatypes::*;
use migrate_core::convert::ValueColumn;

/// Whether every column of `types` can be sent as Native.
pub(crate) fn supports(types: &[ChType]) -> bool {
    fn plain(t: &ChType) -> bool {
        match t {
            ChType::LowCardinality(_) => false,
            ChType::Nullable(inner) | ChType::Array(inner) => plain(inner),
            _ => true,
        }
    }
    types.iter().all(plain)
}

/// Appends `batch` as one Native block of columns `types` to `out`. Every column whose values
/// the types cannot hold is reported at once.
pub(crate) fn encode(
    batch: &RecordBatch,
    types: &[ChType],
    out: &mut Vec<u8>,
) -> Result<(), Vec<ValueColumn>> {
    let schema = batch.schema();
    put_varint(out, types.len() as u64);
    put_varint(out, batch.num_rows() as u64);
    let mut problems = Vec::new();
    for ((field, column), t) in schema.fields().iter().zip(batch.columns()).zip(types) {
        put_bytes(out, field.name().as_bytes());
        put_bytes(out, t.sql().as_bytes());
        let written = prepare(column, t).and_then(|array| write_column(&array, t, out));
        if let Err(why) = written {
            problems.push(ValueColumn { column: field.name().clone(), why, fix: "String" });
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn write_column(a: &ArrayRef, t: &ChType, out: &mut Vec<u8>) -> Result<(), String> {
    let nulls = a.nulls().filter(|n| n.null_count() > 0);
    match t {
        ChType::Nullable(inner) => {
            match nulls {
                Some(n) => out.extend(n.iter().map(|valid| u8::from(!valid))),
                None => out.resize(out.len() + a.len(), 0),
            }
            write_values(a, inner, nulls, out)
        }
        _ if nulls.is_some() => Err(match t {
            ChType::Array(_) => "a NULL list (ClickHouse arrays cannot be NULL)".into(),
            _ => "a NULL in a column declared NOT NULL".into(),
        }),
        _ => write_values(a, t, None, out),
    }
}

/// The values of `a` as column data of `t`; slots that are NULL (`nulls`) are written as
/// whatever they hold, unchecked, or as defaults where their width varies.
fn write_values(
    a: &ArrayRef,
    t: &ChType,
    nulls: Option<&NullBuffer>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let valid = |i: usize| nulls.is_none_or(|n| n.is_valid(i));
    macro_rules! raw {
        ($t:ty) => {
            out.extend_from_slice(a.as_primitive::<$t>().values().inner().as_slice())
        };
    }
    match t {
        ChType::Int8 => raw!(Int8Type),
        ChType::Int16 => raw!(Int16Type),
        ChType::Int32 => raw!(Int32Type),
        ChType::Int64 => raw!(Int64Type),
        ChType::UInt8 => raw!(UInt8Type),
        ChType::UInt16 => raw!(UInt16Type),
        ChType::UInt32 => raw!(UInt32Type),
        ChType::UInt64 => raw!(UInt64Type),
        ChType::Float32 => raw!(Float32Type),
        ChType::Float64 => raw!(Float64Type),
        ChType::Date32 => raw!(Date32Type),
        ChType::Bool => out.extend(a.as_boolean().values().iter().map(u8::from)),
        ChType::String => match a.data_type() {
            DataType::Binary => {
                let b = a.as_binary::<i32>();
                for i in 0..b.len() {
                    put_bytes(out, if valid(i) { b.value(i) } else { b"" });
                }
            }
            _ => {
                let s = a.as_string::<i32>();
                for i in 0..s.len() {
                    put_bytes(out, if valid(i) { s.value(i).as_bytes() } else { b"" });
                }
            }
        },
        ChType::FixedString(_) => {
            let b = a.as_fixed_size_binary();
            let width = b.value_length() as usize;
            let data = b.value_data();
            out.extend_from_slice(&data[..b.len() * width]);
        }
        ChType::Decimal(p, _) if *p > 38 => {
            for v in a.as_primitive::<Decimal256Type>().values().iter() {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        ChType::Decimal(p, _) => {
            let width = match p {
                0..=9 => 4,
                10..=18 => 8,
                _ => 16,
            };
            for v in a.as_primitive::<Decimal128Type>().values().iter() {
                out.extend_from_slice(&v.to_le_bytes()[..width]);
            }
        }
        ChType::Date => {
            for (i, d) in a.as_primitive::<Date32Type>().values().iter().enumerate() {
                let day = match u16::try_from(*d) {
                    Ok(day) => day,
                    Err(_) if !valid(i) => 0,
                    Err(_) => {
                        return Err(format!("day {d} since 1970 is outside Date (1970-01-01 to 2149-06-06)"));
                    }
                };
                out.extend_from_slice(&day.to_le_bytes());
            }
        }
        ChType::DateTime(_) => {
            for (i, s) in timestamps(a).iter().enumerate() {
                let v = match u32::try_from(*s) {
                    Ok(v) => v,
                    Err(_) if !valid(i) => 0,
                    Err(_) => {
                        return Err(format!("{s} seconds since 1970 is outside DateTime (1970 to 2106)"));
                    }
                };
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        ChType::DateTime64(p, _) => {
            let DataType::Timestamp(unit, _) = a.data_type() else { return Err("not a timestamp".into()) };
            let (from, to) = (digits_of(*unit) as i32, *p as i32);
            let (mul, div) = if to >= from {
                (10i64.pow((to - from) as u32), 1)
            } else {
                (1, 10i64.pow((from - to) as u32))
            };
            for (i, v) in timestamps(a).iter().enumerate() {
                if !valid(i) {
                    out.extend_from_slice(&0i64.to_le_bytes());
                    continue;
                }
                if div > 1 && v % div != 0 {
                    return Err(format!("{v} has more sub-second digits than the column keeps"));
                }
                let scaled = (v / div).checked_mul(mul).ok_or_else(|| format!("{v} overflows DateTime64"))?;
                out.extend_from_slice(&scaled.to_le_bytes());
            }
        }
        ChType::Uuid => {
            let s = a.as_string::<i32>();
            for i in 0..s.len() {
                let (high, low) = match valid(i) {
                    true => uuid::Uuid::parse_str(s.value(i))
                        .map_err(|e| format!("{:?} is not a UUID ({e})", s.value(i)))?
                        .as_u64_pair(),
                    false => (0, 0),
                };
                out.extend_from_slice(&high.to_le_bytes());
                out.extend_from_slice(&low.to_le_bytes());
            }
        }
        ChType::Array(inner) => {
            let list = a.as_list::<i32>();
            let offsets = list.value_offsets();
            let base = offsets[0];
            for end in &offsets[1..] {
                out.extend_from_slice(&((end - base) as u64).to_le_bytes());
            }
            let values = list.values().slice(base as usize, (offsets[offsets.len() - 1] - base) as usize);
            write_column(&values, inner, out)?;
        }
        ChType::Nullable(_) | ChType::LowCardinality(_) => {
            return Err(format!("{} cannot nest here", t.sql()));
        }
    }
    Ok(())
}
