//! PostgreSQL's binary COPY output back to Arrow arrays of the expected types.

use crate::encode::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::types::Encoding;
use arrow::array::*;
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::*;
use arrow::error::ArrowError;
use migrate_core::convert::{from_json_text, read_back_type, retype, strict_cast};
use std::sync::Arc;

fn bad(detail: impl Into<String>) -> ArrowError {
    ArrowError::ParseError(detail.into())
}

fn be<const N: usize>(b: &[u8]) -> Result<[u8; N], ArrowError> {
    b.try_into().map_err(|_| bad(format!("expected {N} bytes, got {}", b.len())))
}

/// Values of one column collected in the form PostgreSQL sent them.
pub(crate) enum Raw {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float4(Float32Builder),
    Float8(Float64Builder),
    Text(StringBuilder),
    Bytes(BinaryBuilder),
    Date(Date32Builder),
    Interval(IntervalMonthDayNanoBuilder),
    List { offsets: Vec<i32>, valid: Vec<bool>, values: Box<Raw>, element: Encoding },
}

impl Raw {
    pub fn new(encoding: &Encoding) -> Raw {
        match encoding {
            Encoding::Bool => Raw::Bool(BooleanBuilder::new()),
            Encoding::Int2 | Encoding::Int4 | Encoding::Int8 | Encoding::Time | Encoding::Timestamp => {
                Raw::Int(Int64Builder::new())
            }
            Encoding::Nanos | Encoding::DurationInterval => Raw::Int(Int64Builder::new()),
            Encoding::Float4 => Raw::Float4(Float32Builder::new()),
            Encoding::Float8 => Raw::Float8(Float64Builder::new()),
            Encoding::Numeric | Encoding::Text | Encoding::Json | Encoding::Null => {
                Raw::Text(StringBuilder::new())
            }
            Encoding::Bytea => Raw::Bytes(BinaryBuilder::new()),
            Encoding::Date => Raw::Date(Date32Builder::new()),
            Encoding::Interval => Raw::Interval(IntervalMonthDayNanoBuilder::new()),
            Encoding::Array(e) => Raw::List {
                offsets: vec![0],
                valid: Vec::new(),
                values: Box::new(Raw::new(e)),
                element: (**e).clone(),
            },
        }
    }

    /// Appends one field (`None` for NULL) sent for `encoding`.
    pub fn push(&mut self, field: Option<&[u8]>, encoding: &Encoding) -> Result<(), ArrowError> {
        let Some(b) = field else {
            match self {
                Raw::Bool(x) => x.append_null(),
                Raw::Int(x) => x.append_null(),
                Raw::Float4(x) => x.append_null(),
                Raw::Float8(x) => x.append_null(),
                Raw::Text(x) => x.append_null(),
                Raw::Bytes(x) => x.append_null(),
                Raw::Date(x) => x.append_null(),
                Raw::Interval(x) => x.append_null(),
                Raw::List { offsets, valid, .. } => {
                    offsets.push(*offsets.last().unwrap_or(&0));
                    valid.push(false);
                }
            }
            return Ok(());
        };
        match (self, encoding) {
            (Raw::Bool(x), _) => x.append_value(b.first().copied().unwrap_or(0) != 0),
            (Raw::Int(x), Encoding::Int2) => x.append_value(i16::from_be_bytes(be(b)?).into()),
            (Raw::Int(x), Encoding::Int4) => x.append_value(i32::from_be_bytes(be(b)?).into()),
            (Raw::Int(x), Encoding::Timestamp) => x.append_value(match i64::from_be_bytes(be(b)?) {
                i64::MAX => i64::MAX,
                i64::MIN => -i64::MAX, // -infinity, as DuckDB writes it to Arrow
                v => v.checked_add(PG_EPOCH_MICROS).ok_or_else(|| bad("timestamp out of range"))?,
            }),
            (Raw::Int(x), Encoding::DurationInterval) => {
                let (micros, rest) = b.split_at_checked(8).ok_or_else(|| bad("short interval"))?;
                if rest.iter().any(|&c| c != 0) {
                    return Err(bad("an interval with days or months cannot be read back as a duration"));
                }
                x.append_value(i64::from_be_bytes(be(micros)?));
            }
            (Raw::Int(x), _) => x.append_value(i64::from_be_bytes(be(b)?)),
            (Raw::Float4(x), _) => x.append_value(f32::from_be_bytes(be(b)?)),
            (Raw::Float8(x), _) => x.append_value(f64::from_be_bytes(be(b)?)),
            (Raw::Text(x), Encoding::Numeric) => x.append_value(decode_numeric(b)?),
            (Raw::Text(x), _) => x.append_value(std::str::from_utf8(b).map_err(|e| bad(e.to_string()))?),
            (Raw::Bytes(x), _) => x.append_value(b),
            (Raw::Date(x), _) => x.append_value(match i32::from_be_bytes(be(b)?) {
                i32::MAX => i32::MAX,
                i32::MIN => -i32::MAX, // -infinity, as DuckDB writes it to Arrow
                d => d.checked_add(PG_EPOCH_DAYS).ok_or_else(|| bad("date out of range"))?,
            }),
            (Raw::Interval(x), _) => {
                if b.len() != 16 {
                    return Err(bad("an interval is 16 bytes"));
                }
                let micros = i64::from_be_bytes(be(&b[..8])?);
                let days = i32::from_be_bytes(be(&b[8..12])?);
                let months = i32::from_be_bytes(be(&b[12..])?);
                x.append_value(IntervalMonthDayNano::new(months, days, micros * 1000));
            }
            (Raw::List { offsets, valid, values, element }, _) => {
                let mut r = Reader::new(b);
                let ndim = r.i32()?;
                let _flags = r.i32()?;
                let _oid = r.i32()?;
                let len = match ndim {
                    0 => 0,
                    1 => {
                        let len = r.i32()?;
                        let _lower = r.i32()?;
                        len
                    }
                    n => return Err(bad(format!("{n}-dimensional arrays are not read back"))),
                };
                for _ in 0..len {
                    values.push(r.field()?, element)?;
                }
                offsets.push(offsets.last().unwrap_or(&0) + len);
                valid.push(true);
            }
        }
        Ok(())
    }

    /// The collected values as Arrow data of type `to` (dictionaries as their values).
    pub fn finish(self, encoding: &Encoding, to: &DataType) -> Result<ArrayRef, ArrowError> {
        let to = read_back_type(to);
        Ok(match (self, encoding) {
            (Raw::Int(mut x), Encoding::Timestamp) => {
                let DataType::Timestamp(unit, tz) = &to else { return strict_cast(&x.finish(), &to) };
                let micros: ArrayRef = Arc::new(x.finish());
                let naive = retype(&micros, DataType::Timestamp(TimeUnit::Microsecond, None))?;
                retype(
                    &strict_cast(&naive, &DataType::Timestamp(*unit, None))?,
                    DataType::Timestamp(*unit, tz.clone()),
                )?
            }
            (Raw::Int(mut x), Encoding::Time) => {
                let micros: ArrayRef = Arc::new(x.finish());
                strict_cast(&retype(&micros, DataType::Time64(TimeUnit::Microsecond))?, &to)?
            }
            (Raw::Int(mut x), Encoding::DurationInterval) => {
                let micros: ArrayRef = Arc::new(x.finish());
                strict_cast(&retype(&micros, DataType::Duration(TimeUnit::Microsecond))?, &to)?
            }
            (Raw::Int(mut x), Encoding::Nanos) => {
                let nanos: ArrayRef = Arc::new(x.finish());
                match &to {
                    DataType::Timestamp(unit, tz) => {
                        let naive = retype(&nanos, DataType::Timestamp(TimeUnit::Nanosecond, None))?;
                        retype(
                            &strict_cast(&naive, &DataType::Timestamp(*unit, None))?,
                            DataType::Timestamp(*unit, tz.clone()),
                        )?
                    }
                    _ => strict_cast(&retype(&nanos, DataType::Time64(TimeUnit::Nanosecond))?, &to)?,
                }
            }
            (Raw::Text(mut x), Encoding::Json) => from_json_text(&x.finish(), &to)?,
            (Raw::Text(mut x), Encoding::Null) => new_null_array(&to, x.finish().len()),
            (Raw::List { offsets, valid, values, element }, _) => {
                let (child_field, list_of) = match &to {
                    DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                        (f.clone(), to.clone())
                    }
                    other => return Err(bad(format!("an array cannot be read back as {other}"))),
                };
                let child = values.finish(&element, child_field.data_type())?;
                let list = ListArray::try_new(
                    Arc::new(Field::new("item", child.data_type().clone(), true)),
                    OffsetBuffer::new(offsets.into()),
                    child,
                    Some(NullBuffer::from(valid)),
                )?;
                strict_cast(&list, &list_of)?
            }
            (Raw::Bool(mut x), _) => strict_cast(&x.finish(), &to)?,
            (Raw::Int(mut x), _) => strict_cast(&x.finish(), &to)?,
            (Raw::Float4(mut x), _) => strict_cast(&x.finish(), &to)?,
            (Raw::Float8(mut x), _) => strict_cast(&x.finish(), &to)?,
            (Raw::Text(mut x), _) => strict_cast(&x.finish(), &to)?,
            (Raw::Bytes(mut x), _) => strict_cast(&x.finish(), &to)?,
            (Raw::Date(mut x), _) => strict_cast(&x.finish(), &to)?,
            (Raw::Interval(mut x), _) => strict_cast(&x.finish(), &to)?,
        })
    }
}

/// Binary `numeric` as decimal text with its display scale (`-123.4500`).
pub(crate) fn decode_numeric(b: &[u8]) -> Result<String, ArrowError> {
    let mut r = Reader::new(b);
    let ndigits = r.i16()? as usize;
    let weight = r.i16()? as isize;
    let sign = r.i16()? as u16;
    let dscale = r.i16()? as usize;
    let digits: Vec<i16> = (0..ndigits).map(|_| r.i16()).collect::<Result<_, _>>()?;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        other => return Err(bad(format!("numeric sign {other:#x}"))),
    }
    let digit = |i: isize| if i < 0 { 0 } else { digits.get(i as usize).copied().unwrap_or(0) };
    let mut int = String::new();
    if weight < 0 {
        int.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                int.push_str(&digit(i).to_string());
            } else {
                int.push_str(&format!("{:04}", digit(i)));
            }
        }
    }
    let mut frac = String::new();
    let mut i = weight + 1;
    while frac.len() < dscale {
        frac.push_str(&format!("{:04}", digit(i)));
        i += 1;
    }
    frac.truncate(dscale);
    let zero = digits.iter().all(|d| *d == 0);
    let mut out = String::with_capacity(int.len() + frac.len() + 2);
    if sign == 0x4000 && !zero {
        out.push('-');
    }
    out.push_str(&int);
    if dscale > 0 {
        out.push('.');
        out.push_str(&frac);
    }
    Ok(out)
}

/// Reads big-endian values and length-prefixed fields from a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ArrowError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| bad("truncated COPY data"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn i16(&mut self) -> Result<i16, ArrowError> {
        Ok(i16::from_be_bytes(be(self.take(2)?)?))
    }

    pub fn i32(&mut self) -> Result<i32, ArrowError> {
        Ok(i32::from_be_bytes(be(self.take(4)?)?))
    }

    /// A length-prefixed field; `None` for NULL.
    pub fn field(&mut self) -> Result<Option<&'a [u8]>, ArrowError> {
        match self.i32()? {
            -1 => Ok(None),
            n if n >= 0 => self.take(n as usize).map(Some),
            n => Err(bad(format!("field length {n}"))),
        }
    }

    pub fn position(&self) -> usize {
        self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode_numeric;

    #[test]
    fn numeric_round_trips_through_binary() {
        for text in [
            "123.45",
            "-0.0001",
            "10000",
            "0.000",
            "0",
            "99999999999999999999.123456789",
            "-170141183460469231731687303715884105727",
            "0.5",
            "1.0500",
        ] {
            let mut bin = Vec::new();
            encode_numeric(text, &mut bin).unwrap();
            let back = decode_numeric(&bin).unwrap();
            let want = if text.starts_with("-0") && text.trim_start_matches(['-', '0', '.']).is_empty() {
                &text[1..]
            } else {
                text
            };
            assert_eq!(back, want, "{text}");
        }
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(decode_numeric(&[0, 1]).is_err());
        assert!(Reader::new(&[0, 0, 0, 5, 1]).field().is_err());
    }
}
