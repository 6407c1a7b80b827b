//! RowBinary, ClickHouse's row format, to and from Arrow: every server since 1.1 reads and
//! writes it, 18.16 included, and it carries values exactly (no text round trip).

use crate::types::{ChType, digits_of};
use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Decimal128Array, Decimal256Array,
    FixedSizeBinaryArray, ListArray, PrimitiveArray, RecordBatch, StringArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::*;
use migrate_core::convert::{ValueColumn, strict_cast};
use std::sync::Arc;

// ------------------------------------------------------------------------------------ encoding

/// Appends `batch` as RowBinary rows of `types` (one per column) to `out`. Every column whose
/// values the types cannot hold is reported at once.
pub(crate) fn encode(
    batch: &RecordBatch,
    types: &[ChType],
    out: &mut Vec<u8>,
) -> Result<(), Vec<ValueColumn>> {
    let mut problems = Vec::new();
    let mut prepared = Vec::with_capacity(types.len());
    for ((field, column), t) in batch.schema().fields().iter().zip(batch.columns()).zip(types) {
        match prepare(column, t) {
            Ok(array) => prepared.push(array),
            Err(why) => problems.push(ValueColumn { column: field.name().clone(), why, fix: "String" }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let writers: Vec<Writer> = prepared.iter().zip(types).map(|(a, t)| Writer::new(a, t)).collect();
    let mut failed = vec![None; writers.len()];
    for row in 0..batch.num_rows() {
        for (i, w) in writers.iter().enumerate() {
            if let Err(why) = w.write(row, out)
                && failed[i].is_none()
            {
                failed[i] = Some(why);
            }
        }
        if failed.iter().any(Option::is_some) {
            break;
        }
    }
    let problems: Vec<ValueColumn> = failed
        .into_iter()
        .zip(batch.schema().fields())
        .filter_map(|(why, f)| why.map(|why| ValueColumn { column: f.name().clone(), why, fix: "String" }))
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// `column` cast to the Arrow form the writer expects for `t` (strictly).
pub(crate) fn prepare(column: &ArrayRef, t: &ChType) -> Result<ArrayRef, String> {
    let base = t.base();
    let want = match (base, column.data_type()) {
        // Bytes that are not UTF-8 are still a ClickHouse String.
        (ChType::String, DataType::Binary | DataType::LargeBinary | DataType::BinaryView) => DataType::Binary,
        (ChType::DateTime(_) | ChType::DateTime64(..), DataType::Timestamp(unit, _))
            if !matches!(base, ChType::DateTime(_)) =>
        {
            DataType::Timestamp(*unit, None)
        }
        (ChType::Array(inner), DataType::List(_) | DataType::LargeList(_)) => {
            let list = if let DataType::LargeList(_) = column.data_type() {
                strict_cast(
                    column,
                    &DataType::List(Arc::new(Field::new("item", value_type_of(column), true))),
                )
                .map_err(|e| e.to_string())?
            } else {
                column.clone()
            };
            let list = list.as_list::<i32>();
            let values = prepare(list.values(), inner)?;
            let field = Arc::new(Field::new("item", values.data_type().clone(), true));
            return Ok(Arc::new(ListArray::new(
                field,
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )));
        }
        _ => base.arrow(),
    };
    let want = match (&want, column.data_type()) {
        (DataType::Timestamp(u, _), DataType::Timestamp(_, tz)) => DataType::Timestamp(*u, tz.clone()),
        _ => want,
    };
    if column.data_type() == &want {
        return Ok(column.clone());
    }
    strict_cast(column, &want).map_err(|e| format!("a value does not convert to {} ({e})", t.sql()))
}

fn value_type_of(list: &ArrayRef) -> DataType {
    match list.data_type() {
        DataType::List(f) | DataType::LargeList(f) => f.data_type().clone(),
        other => other.clone(),
    }
}

enum Values<'a> {
    Fixed(&'a [u8], usize),
    Bool(&'a BooleanArray),
    Str(&'a StringArray),
    Bin(&'a BinaryArray),
    FixedBytes(&'a FixedSizeBinaryArray),
    Decimal(&'a Decimal128Array, usize),
    Decimal256(&'a Decimal256Array),
    Date(&'a [i32]),
    Seconds(&'a [i64]),
    Ticks(&'a [i64], i64, i64),
    Uuid(&'a StringArray),
    List(&'a ListArray, Box<Writer<'a>>),
}

struct Writer<'a> {
    nullable: bool,
    /// Days are written as Date's UInt16 (else as Date32's Int32).
    date16: bool,
    nulls: Option<&'a NullBuffer>,
    values: Values<'a>,
}

macro_rules! raw {
    ($a:expr, $t:ty) => {{
        Values::Fixed(
            $a.as_primitive::<$t>().values().inner().as_slice(),
            std::mem::size_of::<<$t as ArrowPrimitiveType>::Native>(),
        )
    }};
}

impl<'a> Writer<'a> {
    fn new(a: &'a ArrayRef, t: &ChType) -> Writer<'a> {
        let values = match (t.base(), a.data_type()) {
            (ChType::String, DataType::Binary) => Values::Bin(a.as_binary::<i32>()),
            (ChType::String, _) => Values::Str(a.as_string::<i32>()),
            (ChType::Uuid, _) => Values::Uuid(a.as_string::<i32>()),
            (ChType::Bool, _) => Values::Bool(a.as_boolean()),
            (ChType::FixedString(_), _) => Values::FixedBytes(a.as_fixed_size_binary()),
            (ChType::Decimal(p, _), DataType::Decimal128(..)) => {
                Values::Decimal(a.as_primitive::<Decimal128Type>(), decimal_width(*p))
            }
            (ChType::Decimal(..), _) => Values::Decimal256(a.as_primitive::<Decimal256Type>()),
            (ChType::Date | ChType::Date32, _) => Values::Date(a.as_primitive::<Date32Type>().values()),
            (ChType::DateTime(_), _) => Values::Seconds(timestamps(a)),
            (ChType::DateTime64(p, _), DataType::Timestamp(unit, _)) => {
                let from = digits_of(*unit) as i32;
                let to = *p as i32;
                let (mul, div) = if to >= from {
                    (10i64.pow((to - from) as u32), 1)
                } else {
                    (1, 10i64.pow((from - to) as u32))
                };
                Values::Ticks(timestamps(a), mul, div)
            }
            (ChType::Array(inner), _) => {
                let list = a.as_list::<i32>();
                Values::List(list, Box::new(Writer::new(list.values(), inner)))
            }
            (ChType::Int8, _) => raw!(a, Int8Type),
            (ChType::Int16, _) => raw!(a, Int16Type),
            (ChType::Int32, _) => raw!(a, Int32Type),
            (ChType::Int64, _) => raw!(a, Int64Type),
            (ChType::UInt8, _) => raw!(a, UInt8Type),
            (ChType::UInt16, _) => raw!(a, UInt16Type),
            (ChType::UInt32, _) => raw!(a, UInt32Type),
            (ChType::UInt64, _) => raw!(a, UInt64Type),
            (ChType::Float32, _) => raw!(a, Float32Type),
            (ChType::Float64, _) => raw!(a, Float64Type),
            (other, _) => unreachable!("prepare() gives {other:?} its Arrow form"),
        };
        Writer {
            nullable: t.is_nullable(),
            date16: matches!(t.base(), ChType::Date),
            nulls: a.nulls(),
            values,
        }
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) -> Result<(), String> {
        let null = self.nulls.is_some_and(|n| n.is_null(row));
        if self.nullable {
            out.push(null as u8);
            if null {
                return Ok(());
            }
        } else if null {
            return Err(match self.values {
                Values::List(..) => "a NULL list (ClickHouse arrays cannot be NULL)".into(),
                _ => "a NULL in a column declared NOT NULL".into(),
            });
        }
        match &self.values {
            Values::Fixed(bytes, width) => out.extend_from_slice(&bytes[row * width..(row + 1) * width]),
            Values::Bool(a) => out.push(a.value(row) as u8),
            Values::Str(a) => put_bytes(out, a.value(row).as_bytes()),
            Values::Bin(a) => put_bytes(out, a.value(row)),
            Values::FixedBytes(a) => out.extend_from_slice(a.value(row)),
            Values::Decimal(a, width) => out.extend_from_slice(&a.value(row).to_le_bytes()[..*width]),
            Values::Decimal256(a) => out.extend_from_slice(&a.value(row).to_le_bytes()),
            Values::Date(days) => match self.date16 {
                true => {
                    let d = days[row];
                    let day = u16::try_from(d).map_err(|_| {
                        format!("day {d} since 1970 is outside Date (1970-01-01 to 2149-06-06)")
                    })?;
                    out.extend_from_slice(&day.to_le_bytes());
                }
                false => out.extend_from_slice(&days[row].to_le_bytes()),
            },
            Values::Seconds(s) => {
                let v = u32::try_from(s[row]).map_err(|_| {
                    format!("{} seconds since 1970 is outside DateTime (1970 to 2106)", s[row])
                })?;
                out.extend_from_slice(&v.to_le_bytes());
            }
            Values::Ticks(t, mul, div) => {
                let v = t[row];
                if *div > 1 && v % div != 0 {
                    return Err(format!("{v} has more sub-second digits than the column keeps"));
                }
                let v = (v / div).checked_mul(*mul).ok_or_else(|| format!("{v} overflows DateTime64"))?;
                out.extend_from_slice(&v.to_le_bytes());
            }
            Values::Uuid(a) => {
                let u = uuid::Uuid::parse_str(a.value(row))
                    .map_err(|e| format!("{:?} is not a UUID ({e})", a.value(row)))?;
                let (high, low) = u.as_u64_pair();
                out.extend_from_slice(&high.to_le_bytes());
                out.extend_from_slice(&low.to_le_bytes());
            }
            Values::List(list, child) => {
                let offsets = list.value_offsets();
                let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                put_varint(out, (end - start) as u64);
                for i in start..end {
                    child.write(i, out)?;
                }
            }
        }
        Ok(())
    }
}

fn decimal_width(precision: u8) -> usize {
    match precision {
        0..=9 => 4,
        10..=18 => 8,
        _ => 16,
    }
}

/// A timestamp column's raw values.
pub(crate) fn timestamps(a: &ArrayRef) -> &[i64] {
    match a.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => a.as_primitive::<TimestampSecondType>().values(),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            a.as_primitive::<TimestampMillisecondType>().values()
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            a.as_primitive::<TimestampMicrosecondType>().values()
        }
        _ => a.as_primitive::<TimestampNanosecondType>().values(),
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

// ------------------------------------------------------------------------------------ decoding

/// Turns a RowBinary stream of known column types into Arrow batches. Bytes arrive in pieces
/// of any size; a row split across pieces waits for the rest.
pub(crate) struct RowDecoder {
    schema: SchemaRef,
    columns: Vec<Column>,
    pending: Vec<u8>,
    rows: usize,
}

impl RowDecoder {
    /// A decoder for columns of `types`, producing batches of `schema` (whose types are the
    /// types' Arrow forms, or Binary for a String column read as bytes).
    pub(crate) fn new(schema: SchemaRef, types: &[ChType]) -> Self {
        let columns = types.iter().map(Column::new).collect();
        Self { schema, columns, pending: Vec::new(), rows: 0 }
    }

    /// Rows decoded and not yet taken.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Decodes every complete row of `bytes` (with what was left over before), up to
    /// `max_rows`; the rest waits for the next call. Returns whether rows remain buffered.
    pub(crate) fn push(&mut self, bytes: &[u8], max_rows: usize) -> Result<(), String> {
        self.pending.extend_from_slice(bytes);
        let buf = std::mem::take(&mut self.pending);
        let mut pos = 0;
        while self.rows < max_rows {
            let mut end = pos;
            if !self.columns.iter().all(|c| skip(&c.ch, &buf, &mut end)) {
                break;
            }
            for c in &mut self.columns {
                c.read(&buf, &mut pos);
            }
            debug_assert_eq!(pos, end);
            self.rows += 1;
        }
        self.pending = buf[pos..].to_vec();
        Ok(())
    }

    /// Whether bytes of an incomplete row are waiting.
    pub(crate) fn has_partial_row(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes the decoded rows as one batch.
    pub(crate) fn take_batch(&mut self) -> Result<RecordBatch, String> {
        let arrays = self
            .columns
            .iter_mut()
            .zip(self.schema.fields())
            .map(|(c, f)| c.finish(f.data_type()).map_err(|e| format!("column {}: {e}", f.name())))
            .collect::<Result<Vec<_>, _>>()?;
        let rows = std::mem::take(&mut self.rows);
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| e.to_string())
    }
}

/// Whether one value of `t` is complete at `*pos`, moving past it.
fn skip(t: &ChType, buf: &[u8], pos: &mut usize) -> bool {
    let fixed = |pos: &mut usize, n: usize| {
        if buf.len() < *pos + n {
            return false;
        }
        *pos += n;
        true
    };
    match t {
        ChType::Nullable(inner) => {
            let Some(&flag) = buf.get(*pos) else { return false };
            *pos += 1;
            flag != 0 || skip(inner, buf, pos)
        }
        ChType::LowCardinality(inner) => skip(inner, buf, pos),
        ChType::String => match varint(buf, pos) {
            Some(n) => fixed(pos, n as usize),
            None => false,
        },
        ChType::Array(inner) => match varint(buf, pos) {
            Some(n) => (0..n).all(|_| skip(inner, buf, pos)),
            None => false,
        },
        other => fixed(pos, width(other)),
    }
}

/// Bytes of one value of a fixed-width type.
fn width(t: &ChType) -> usize {
    match t {
        ChType::Int8 | ChType::UInt8 | ChType::Bool => 1,
        ChType::Int16 | ChType::UInt16 | ChType::Date => 2,
        ChType::Int32 | ChType::UInt32 | ChType::Float32 | ChType::Date32 | ChType::DateTime(_) => 4,
        ChType::Int64 | ChType::UInt64 | ChType::Float64 | ChType::DateTime64(..) => 8,
        ChType::Uuid => 16,
        ChType::FixedString(n) => *n,
        ChType::Decimal(p, _) if *p > 38 => 32,
        ChType::Decimal(p, _) => decimal_width(*p),
        _ => 0,
    }
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    Some(v)
}

/// Decoded values of one column (or of an array's elements).
struct Column {
    /// The type as the server names it (for [`skip`]).
    ch: ChType,
    /// Without Nullable and LowCardinality.
    base: ChType,
    validity: Option<Vec<bool>>,
    fixed: Vec<u8>,
    offsets: Vec<i32>,
    child: Option<Box<Column>>,
}

impl Column {
    fn new(ch: &ChType) -> Column {
        let base = match ch {
            ChType::LowCardinality(inner) => inner.as_ref().clone(),
            other => other.clone(),
        };
        let (validity, base) = match base {
            ChType::Nullable(inner) => (Some(Vec::new()), *inner),
            other => (None, other),
        };
        let base = match base {
            ChType::LowCardinality(inner) => *inner,
            other => other,
        };
        let child = match &base {
            ChType::Array(inner) => Some(Box::new(Column::new(inner))),
            _ => None,
        };
        let offsets = if matches!(base, ChType::String | ChType::Array(_)) { vec![0] } else { Vec::new() };
        Column { ch: ch.clone(), base, validity, fixed: Vec::new(), offsets, child }
    }

    /// Reads one value; [`skip`] has checked that it is complete.
    fn read(&mut self, buf: &[u8], pos: &mut usize) {
        if let Some(validity) = &mut self.validity {
            let null = buf[*pos] != 0;
            *pos += 1;
            validity.push(!null);
            if null {
                self.push_default();
                return;
            }
        }
        match &self.base {
            ChType::String => {
                let n = varint(buf, pos).unwrap_or(0) as usize;
                self.fixed.extend_from_slice(&buf[*pos..*pos + n]);
                *pos += n;
                self.offsets.push(self.fixed.len() as i32);
            }
            ChType::Array(_) => {
                let n = varint(buf, pos).unwrap_or(0) as usize;
                let child = self.child.as_mut().expect("arrays have a child column");
                for _ in 0..n {
                    child.read(buf, pos);
                }
                let last = *self.offsets.last().unwrap_or(&0);
                self.offsets.push(last + n as i32);
            }
            other => {
                let n = width(other);
                self.fixed.extend_from_slice(&buf[*pos..*pos + n]);
                *pos += n;
            }
        }
    }

    fn push_default(&mut self) {
        match &self.base {
            ChType::String => self.offsets.push(self.fixed.len() as i32),
            ChType::Array(_) => {
                let last = *self.offsets.last().unwrap_or(&0);
                self.offsets.push(last);
            }
            other => {
                let n = width(other);
                self.fixed.extend(std::iter::repeat_n(0, n));
            }
        }
    }

    /// The values as an Arrow array of `dt` (the type's Arrow form, or Binary for String);
    /// the column is left empty for the next batch.
    fn finish(&mut self, dt: &DataType) -> Result<ArrayRef, String> {
        let nulls = self.validity.as_mut().map(|v| NullBuffer::from(std::mem::take(v)));
        let fixed = std::mem::take(&mut self.fixed);
        let base = self.base.clone();
        let array: ArrayRef = match &base {
            ChType::String | ChType::Array(_) => {
                let offsets = std::mem::replace(&mut self.offsets, vec![0]);
                let offsets = OffsetBuffer::new(offsets.into());
                match (&base, dt) {
                    (ChType::Array(_), DataType::List(field)) => {
                        let child = self.child.as_mut().expect("arrays have a child column");
                        let values = child.finish(field.data_type())?;
                        let field =
                            Arc::new(Field::new("item", values.data_type().clone(), field.is_nullable()));
                        Arc::new(
                            ListArray::try_new(field, offsets, values, nulls).map_err(|e| e.to_string())?,
                        )
                    }
                    (_, DataType::Binary) => Arc::new(BinaryArray::new(offsets, fixed.into(), nulls)),
                    _ => Arc::new(
                        StringArray::try_new(offsets, fixed.into(), nulls)
                            .map_err(|e| format!("{e}; read the column as bytes (Binary) instead"))?,
                    ),
                }
            }
            ChType::Bool => Arc::new(BooleanArray::new(fixed.iter().map(|b| *b != 0).collect(), nulls)),
            ChType::Int8 => primitive::<Int8Type>(&fixed, nulls),
            ChType::Int16 => primitive::<Int16Type>(&fixed, nulls),
            ChType::Int32 => primitive::<Int32Type>(&fixed, nulls),
            ChType::Int64 => primitive::<Int64Type>(&fixed, nulls),
            ChType::UInt8 => primitive::<UInt8Type>(&fixed, nulls),
            ChType::UInt16 => primitive::<UInt16Type>(&fixed, nulls),
            ChType::UInt32 => primitive::<UInt32Type>(&fixed, nulls),
            ChType::UInt64 => primitive::<UInt64Type>(&fixed, nulls),
            ChType::Float32 => primitive::<Float32Type>(&fixed, nulls),
            ChType::Float64 => primitive::<Float64Type>(&fixed, nulls),
            ChType::Date => {
                let days: Vec<i32> =
                    fixed.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]) as i32).collect();
                Arc::new(PrimitiveArray::<Date32Type>::new(days.into(), nulls))
            }
            ChType::Date32 => primitive::<Date32Type>(&fixed, nulls),
            ChType::DateTime(tz) => {
                let secs: Vec<i64> = fixed
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                    .collect();
                Arc::new(
                    PrimitiveArray::<TimestampSecondType>::new(secs.into(), nulls)
                        .with_timezone_opt(tz.as_deref()),
                )
            }
            ChType::DateTime64(p, tz) => {
                let unit = crate::types::unit_of(*p);
                let scale = 10i64.pow((digits_of(unit) - p.min(&9)) as u32);
                let ticks: Vec<i64> = fixed
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")).saturating_mul(scale))
                    .collect();
                let data = arrow::array::Int64Array::new(ticks.into(), nulls);
                let target = DataType::Timestamp(unit, tz.as_deref().map(Arc::from));
                arrow::compute::cast(&data, &target).map_err(|e| e.to_string())?
            }
            ChType::FixedString(n) => Arc::new(
                FixedSizeBinaryArray::try_new(*n as i32, fixed.into(), nulls).map_err(|e| e.to_string())?,
            ),
            ChType::Uuid => {
                let text: Vec<String> = fixed
                    .chunks_exact(16)
                    .map(|c| {
                        let high = u64::from_le_bytes(c[..8].try_into().expect("8 bytes"));
                        let low = u64::from_le_bytes(c[8..].try_into().expect("8 bytes"));
                        uuid::Uuid::from_u64_pair(high, low).to_string()
                    })
                    .collect();
                Arc::new(StringArray::new(
                    OffsetBuffer::from_lengths(text.iter().map(String::len)),
                    text.concat().into_bytes().into(),
                    nulls,
                ))
            }
            ChType::Decimal(p, s) if *p > 38 => {
                let values: Vec<i256> = fixed
                    .chunks_exact(32)
                    .map(|c| i256::from_le_bytes(c.try_into().expect("32 bytes")))
                    .collect();
                Arc::new(
                    Decimal256Array::new(values.into(), nulls)
                        .with_precision_and_scale(*p, *s)
                        .map_err(|e| e.to_string())?,
                )
            }
            ChType::Decimal(p, s) => {
                let w = decimal_width(*p);
                let values: Vec<i128> = fixed
                    .chunks_exact(w)
                    .map(|c| {
                        let mut bytes = [if c[w - 1] & 0x80 != 0 { 0xff } else { 0 }; 16];
                        bytes[..w].copy_from_slice(c);
                        i128::from_le_bytes(bytes)
                    })
                    .collect();
                Arc::new(
                    Decimal128Array::new(values.into(), nulls)
                        .with_precision_and_scale(*p, *s)
                        .map_err(|e| e.to_string())?,
                )
            }
            ChType::Nullable(_) | ChType::LowCardinality(_) => unreachable!("unwrapped in Column::new"),
        };
        Ok(array)
    }
}

fn primitive<T: ArrowPrimitiveType>(bytes: &[u8], nulls: Option<NullBuffer>) -> ArrayRef {
    let buffer = arrow::buffer::Buffer::from(bytes.to_vec());
    Arc::new(PrimitiveArray::<T>::new(
        arrow::buffer::ScalarBuffer::new(buffer, 0, bytes.len() / T::Native::get_byte_width()),
        nulls,
    ))
}
