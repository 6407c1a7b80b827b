//! Arrow conversions shared by the SQL stores. Casts are strict: a value that does not convert
//! is an error, never a NULL.

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, make_array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use std::sync::Arc;

const STRICT: CastOptions<'static> =
    CastOptions { safe: false, format_options: arrow::util::display::FormatOptions::new() };

/// Casts `a` to `to`, failing on any value that does not convert (Arrow's default turns those
/// into NULLs).
pub fn strict_cast(a: &dyn Array, to: &DataType) -> Result<ArrayRef, ArrowError> {
    cast_with_options(a, to, &STRICT)
}

/// The same values under another type of the same physical layout, e.g. a zoned timestamp as a
/// naive one: the numbers are kept, only the type changes.
pub fn retype(a: &ArrayRef, to: DataType) -> Result<ArrayRef, ArrowError> {
    Ok(make_array(a.to_data().into_builder().data_type(to).build()?))
}

/// Each value of `col` as JSON text; NULL stays NULL.
pub fn to_json_text(col: &ArrayRef) -> Result<StringArray, ArrowError> {
    let schema = Arc::new(Schema::new(vec![Field::new("v", col.data_type().clone(), true)]));
    let batch = RecordBatch::try_new(schema, vec![col.clone()])?;
    let mut out = Vec::new();
    {
        let mut writer = arrow::json::LineDelimitedWriter::new(&mut out);
        writer.write(&batch)?;
        writer.finish()?;
    }
    let text = String::from_utf8(out).map_err(|e| ArrowError::JsonError(e.to_string()))?;
    let values: Vec<Option<&str>> = text
        .lines()
        .map(|line| line.strip_prefix("{\"v\":").and_then(|rest| rest.strip_suffix('}')))
        .collect();
    if values.len() != col.len() {
        return Err(ArrowError::JsonError(format!("expected {} JSON rows, got {}", col.len(), values.len())));
    }
    Ok(values.into_iter().collect())
}

/// Parses JSON text written by [`to_json_text`] back into values of type `to`.
pub fn from_json_text(text: &StringArray, to: &DataType) -> Result<ArrayRef, ArrowError> {
    let schema = Arc::new(Schema::new(vec![Field::new("v", to.clone(), true)]));
    let mut lines = String::with_capacity(text.len() * 16);
    for v in text.iter() {
        match v {
            Some(json) => {
                lines.push_str("{\"v\":");
                lines.push_str(json);
                lines.push_str("}\n");
            }
            None => lines.push_str("{}\n"),
        }
    }
    let mut reader =
        arrow::json::ReaderBuilder::new(schema).with_batch_size(text.len().max(1)).build(lines.as_bytes())?;
    match reader.next() {
        Some(batch) => Ok(batch?.column(0).clone()),
        None => Ok(arrow::array::new_empty_array(to)),
    }
}

/// What a column reads back as from a SQL target: dictionaries as their values (which
/// fingerprint the same).
pub fn value_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        other => other.clone(),
    }
}

/// The type a SQL target's column is read back as for verification: dictionaries as their
/// values, and decimals widened to `Decimal256` with at least 36 fraction digits, so that a value
/// the target holds with more digits than the source's scale (an edited row) is read exactly and
/// compares different instead of being rounded back to the source's value. Fingerprints
/// normalise decimals, so equal values still compare equal.
pub fn read_back_type(dt: &DataType) -> DataType {
    match value_type(dt) {
        DataType::Decimal32(_, s)
        | DataType::Decimal64(_, s)
        | DataType::Decimal128(_, s)
        | DataType::Decimal256(_, s) => DataType::Decimal256(76, s.max(36)),
        other => other,
    }
}

/// `1234567` as `1,234,567`, for log lines and summaries.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A value a target cannot hold without loss; stores add the table and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProblem {
    /// What would be lost.
    pub why: String,
    /// The `column_types` override that stores it.
    pub fix: &'static str,
}

impl From<ArrowError> for ValueProblem {
    fn from(e: ArrowError) -> Self {
        ValueProblem { why: format!("a value does not convert ({e})"), fix: "text" }
    }
}

/// Plans every column of a table for a SQL target: `plan_one` maps a field (and its configured
/// override) to the store's column plan. Overrides naming a column the table lacks are refused.
pub fn plan_columns<P, E>(
    schema: &Schema,
    column_types: &std::collections::BTreeMap<String, String>,
    plan_one: impl Fn(&Field, Option<&str>) -> Result<P, E>,
) -> Result<Vec<P>, PlanError<E>> {
    if let Some(unknown) = column_types.keys().find(|c| schema.field_with_name(c).is_err()) {
        return Err(PlanError::UnknownColumn(unknown.clone()));
    }
    schema
        .fields()
        .iter()
        .map(|f| {
            plan_one(f, column_types.get(f.name()).map(String::as_str)).map_err(|e| PlanError::Column {
                column: f.name().clone(),
                data_type: f.data_type().to_string(),
                error: e,
            })
        })
        .collect()
}

/// Why [`plan_columns`] refused a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError<E> {
    /// An override names a column the table does not have.
    UnknownColumn(String),
    /// A column cannot be stored.
    Column {
        /// The column.
        column: String,
        /// Its Arrow type.
        data_type: String,
        /// The store's reason.
        error: E,
    },
}

/// Whether any string of `a` (a Utf8 array) contains a NUL character.
pub fn has_nul(a: &StringArray) -> bool {
    let offsets = a.value_offsets();
    let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else { return false };
    // One pass over all the bytes; only when a NUL shows up is each value checked, since the
    // bytes under a null slot may be anything.
    a.value_data()[*first as usize..*last as usize].contains(&0)
        && a.iter().flatten().any(|s| s.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int32Array, ListArray, TimestampMicrosecondArray};
    use arrow::datatypes::{Int32Type, TimeUnit};

    #[test]
    fn nul_is_found_in_values_but_not_under_null_slots() {
        use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer};
        let with_null_slot = |valid: [bool; 3]| {
            StringArray::new(
                OffsetBuffer::new(vec![0, 1, 2, 3].into()),
                Buffer::from(b"x\0y".to_vec()),
                Some(NullBuffer::from(valid.to_vec())),
            )
        };
        assert!(!has_nul(&with_null_slot([true, false, true])));
        assert!(has_nul(&with_null_slot([true, true, true])));
        assert!(!has_nul(&StringArray::from(vec!["a", "b"])));
        assert!(has_nul(&StringArray::from(vec!["a", "b\0"]).slice(1, 1)));
        assert!(!has_nul(&StringArray::from(vec!["a\0", "b"]).slice(1, 1)));
        assert!(!has_nul(&StringArray::from(Vec::<&str>::new())));
    }

    #[test]
    fn json_round_trip_of_lists() {
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None, Some(3)]),
            None,
            Some(vec![]),
        ]));
        let text = to_json_text(&list).unwrap();
        assert_eq!(text.value(0), "[1,null,3]");
        assert!(text.is_null(1));
        assert_eq!(from_json_text(&text, list.data_type()).unwrap().as_ref(), list.as_ref());
    }

    #[test]
    fn strict_cast_refuses_instead_of_nulling() {
        let text: ArrayRef = Arc::new(StringArray::from(vec!["1", "x"]));
        assert!(strict_cast(&text, &DataType::Int32).is_err());
        let ok: ArrayRef = Arc::new(StringArray::from(vec!["1", "2"]));
        assert_eq!(
            strict_cast(&ok, &DataType::Int32).unwrap().as_ref(),
            &Int32Array::from(vec![1, 2]) as &dyn Array
        );
    }

    #[test]
    fn retype_keeps_the_numbers() {
        let zoned: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![5]).with_timezone("UTC"));
        let naive = retype(&zoned, DataType::Timestamp(TimeUnit::Microsecond, None)).unwrap();
        assert_eq!(naive.as_primitive::<arrow::datatypes::TimestampMicrosecondType>().value(0), 5);
    }
}
