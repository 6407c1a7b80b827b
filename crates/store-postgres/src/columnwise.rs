//! Binary COPY rows written one column at a time.
//!
//! COPY's format is row after row, but Arrow keeps columns. When every field's size is known
//! up front (fixed-width values, text, bytea, NULL), each row's size is summed first, the
//! buffer grows once, and every column then fills its field of every row in one tight loop:
//! no per-field dispatch on the column's type, no per-field capacity checks.

use crate::encode::{NULL_FIELD, Prepared};
use arrow::array::{Array, ArrowPrimitiveType, PrimitiveArray};
use arrow::buffer::NullBuffer;

/// Appends `rows` rows of `columns` to `out` and returns `true`, or returns `false` (writing
/// nothing) when a column's fields are computed as they are written (numeric, dates,
/// timestamps, intervals, arrays): those go row by row.
pub(crate) fn write_columnwise(columns: &[Prepared], rows: usize, out: &mut Vec<u8>) -> bool {
    if !columns.iter().all(Prepared::bytes_at_hand) {
        return false;
    }
    // Each row's size (its field count, then every field), turned into where each row starts.
    let mut cursors = vec![2usize; rows];
    for column in columns {
        add_field_sizes(column, &mut cursors);
    }
    let mut at = out.len();
    for cursor in cursors.iter_mut() {
        let size = *cursor;
        *cursor = at;
        at += size;
    }
    out.resize(at, 0);
    let field_count = (columns.len() as i16).to_be_bytes();
    for cursor in cursors.iter_mut() {
        out[*cursor..*cursor + 2].copy_from_slice(&field_count);
        *cursor += 2;
    }
    for column in columns {
        write_column(column, out, &mut cursors);
    }
    true
}

fn add_field_sizes(column: &Prepared, sizes: &mut [usize]) {
    match column {
        Prepared::Null => sizes.iter_mut().for_each(|s| *s += 4),
        Prepared::Bool(a) => add_fixed(a.nulls(), 1, sizes),
        Prepared::Int2(a) => add_fixed(a.nulls(), 2, sizes),
        Prepared::Int4(a) => add_fixed(a.nulls(), 4, sizes),
        Prepared::Float4(a) => add_fixed(a.nulls(), 4, sizes),
        Prepared::Int8(a) | Prepared::Time(a) => add_fixed(a.nulls(), 8, sizes),
        Prepared::Float8(a) => add_fixed(a.nulls(), 8, sizes),
        Prepared::Text(a) => add_varlen(a.nulls(), a.value_offsets(), sizes),
        Prepared::Bytea(a) => add_varlen(a.nulls(), a.value_offsets(), sizes),
        _ => unreachable!("only columns with their bytes at hand are written column by column"),
    }
}

fn add_fixed(nulls: Option<&NullBuffer>, width: usize, sizes: &mut [usize]) {
    match nulls {
        None => sizes.iter_mut().for_each(|s| *s += 4 + width),
        Some(n) => {
            sizes.iter_mut().zip(n.iter()).for_each(|(s, valid)| *s += if valid { 4 + width } else { 4 })
        }
    }
}

fn add_varlen(nulls: Option<&NullBuffer>, offsets: &[i32], sizes: &mut [usize]) {
    for (row, size) in sizes.iter_mut().enumerate() {
        let valid = nulls.is_none_or(|n| n.is_valid(row));
        *size += if valid { 4 + (offsets[row + 1] - offsets[row]) as usize } else { 4 };
    }
}

fn write_column(column: &Prepared, out: &mut [u8], cursors: &mut [usize]) {
    match column {
        Prepared::Null => cursors.iter_mut().for_each(|at| {
            out[*at..*at + 4].copy_from_slice(&NULL_FIELD);
            *at += 4;
        }),
        Prepared::Bool(a) => write_fixed(a.nulls(), a.values().iter().map(|b| [u8::from(b)]), out, cursors),
        Prepared::Int2(a) => write_primitive(a, |v| v.to_be_bytes(), out, cursors),
        Prepared::Int4(a) => write_primitive(a, |v| v.to_be_bytes(), out, cursors),
        Prepared::Int8(a) | Prepared::Time(a) => write_primitive(a, |v| v.to_be_bytes(), out, cursors),
        Prepared::Float4(a) => write_primitive(a, |v| v.to_be_bytes(), out, cursors),
        Prepared::Float8(a) => write_primitive(a, |v| v.to_be_bytes(), out, cursors),
        Prepared::Text(a) => write_varlen(a.nulls(), a.value_offsets(), a.value_data(), out, cursors),
        Prepared::Bytea(a) => write_varlen(a.nulls(), a.value_offsets(), a.value_data(), out, cursors),
        _ => unreachable!("only columns with their bytes at hand are written column by column"),
    }
}

fn write_primitive<T: ArrowPrimitiveType, const W: usize>(
    array: &PrimitiveArray<T>,
    be_bytes: impl Fn(T::Native) -> [u8; W],
    out: &mut [u8],
    cursors: &mut [usize],
) {
    write_fixed(array.nulls(), array.values().iter().map(|v| be_bytes(*v)), out, cursors);
}

fn write_fixed<const W: usize>(
    nulls: Option<&NullBuffer>,
    values: impl Iterator<Item = [u8; W]>,
    out: &mut [u8],
    cursors: &mut [usize],
) {
    let length = (W as i32).to_be_bytes();
    for (row, (at, bytes)) in cursors.iter_mut().zip(values).enumerate() {
        if nulls.is_some_and(|n| n.is_null(row)) {
            out[*at..*at + 4].copy_from_slice(&NULL_FIELD);
            *at += 4;
        } else {
            let field = &mut out[*at..*at + 4 + W];
            field[..4].copy_from_slice(&length);
            field[4..].copy_from_slice(&bytes);
            *at += 4 + W;
        }
    }
}

fn write_varlen(
    nulls: Option<&NullBuffer>,
    offsets: &[i32],
    data: &[u8],
    out: &mut [u8],
    cursors: &mut [usize],
) {
    for (row, at) in cursors.iter_mut().enumerate() {
        if nulls.is_some_and(|n| n.is_null(row)) {
            out[*at..*at + 4].copy_from_slice(&NULL_FIELD);
            *at += 4;
            continue;
        }
        let bytes = &data[offsets[row] as usize..offsets[row + 1] as usize];
        out[*at..*at + 4].copy_from_slice(&(bytes.len() as i32).to_be_bytes());
        out[*at + 4..*at + 4 + bytes.len()].copy_from_slice(bytes);
        *at += 4 + bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::*;

    fn row_by_row(columns: &[Prepared], rows: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for row in 0..rows {
            out.extend_from_slice(&(columns.len() as i16).to_be_bytes());
            for column in columns {
                column.write_field(row, &mut out).unwrap();
            }
        }
        out
    }

    fn columns(offset: usize, len: usize) -> Vec<Prepared> {
        let text = StringArray::from(vec![Some("a"), None, Some(""), Some("ünïcode ✓"), Some("z"), None]);
        let bytes =
            BinaryArray::from(vec![Some(&b"\x00\x01"[..]), Some(b""), None, Some(b"x"), None, Some(b"yz")]);
        vec![
            Prepared::Bool(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                None,
                Some(false),
            ])),
            Prepared::Int2(Int16Array::from(vec![
                Some(-1),
                None,
                Some(i16::MAX),
                Some(0),
                Some(7),
                Some(i16::MIN),
            ])),
            Prepared::Int4(Int32Array::from(vec![1, 2, 3, 4, 5, 6])),
            Prepared::Int8(Int64Array::from(vec![
                None,
                Some(i64::MIN),
                Some(2),
                None,
                Some(4),
                Some(i64::MAX),
            ])),
            Prepared::Time(Int64Array::from(vec![0, 1, 86_399_999_999, 3, 4, 5])),
            Prepared::Float4(Float32Array::from(vec![
                Some(1.5),
                Some(f32::NAN),
                None,
                Some(-0.0),
                Some(f32::INFINITY),
                Some(2.0),
            ])),
            Prepared::Float8(Float64Array::from(vec![0.1, f64::NEG_INFINITY, 3.25, 4.0, 5.5, -6.0])),
            Prepared::Text(text),
            Prepared::Bytea(bytes),
            Prepared::Null,
        ]
        .into_iter()
        .map(|c| slice(c, offset, len))
        .collect()
    }

    fn slice(column: Prepared, offset: usize, len: usize) -> Prepared {
        match column {
            Prepared::Bool(a) => Prepared::Bool(a.slice(offset, len)),
            Prepared::Int2(a) => Prepared::Int2(a.slice(offset, len)),
            Prepared::Int4(a) => Prepared::Int4(a.slice(offset, len)),
            Prepared::Int8(a) => Prepared::Int8(a.slice(offset, len)),
            Prepared::Time(a) => Prepared::Time(a.slice(offset, len)),
            Prepared::Float4(a) => Prepared::Float4(a.slice(offset, len)),
            Prepared::Float8(a) => Prepared::Float8(a.slice(offset, len)),
            Prepared::Text(a) => Prepared::Text(a.slice(offset, len)),
            Prepared::Bytea(a) => Prepared::Bytea(a.slice(offset, len)),
            other => other,
        }
    }

    #[test]
    fn columnwise_writes_the_same_bytes_as_row_by_row() {
        for (offset, len) in [(0, 6), (1, 4), (5, 1), (3, 0)] {
            let cols = columns(offset, len);
            let mut out = b"already here".to_vec();
            assert!(write_columnwise(&cols, len, &mut out));
            assert_eq!(&out[..12], b"already here");
            assert_eq!(out[12..], row_by_row(&cols, len), "rows {offset}..{}", offset + len);
        }
    }

    #[test]
    fn computed_fields_are_left_to_the_row_by_row_path() {
        let cols = vec![Prepared::Int4(Int32Array::from(vec![1])), Prepared::Date(Int32Array::from(vec![1]))];
        let mut out = Vec::new();
        assert!(!write_columnwise(&cols, 1, &mut out));
        assert!(out.is_empty());
    }
}
