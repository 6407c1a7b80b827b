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

/// A value a target cannot hold without loss; stores add the table and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProblem {
    /// What would be lost.
    pub why: String,
    /// The `column_types` override that stores it.
    pub fix: &'static str,
}

/// A column whose values a target cannot hold without loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueColumn {
    /// The column.
    pub column: String,
    /// What would be lost (the first such value).
    pub why: String,
    /// The column type that would store it.
    pub fix: &'static str,
}

impl std::fmt::Display for ValueColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column {}: {}", self.column, self.why)
    }
}

/// `column a: why; column b: why`: value problems for one line of an error message.
pub fn list_values(columns: &[ValueColumn]) -> String {
    columns.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl From<ArrowError> for ValueProblem {
    fn from(e: ArrowError) -> Self {
        ValueProblem { why: format!("a value does not convert ({e})"), fix: "text" }
    }
}

/// Why a column cannot be stored as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// What would be lost.
    pub why: String,
    /// What would store it instead.
    pub fix: Remedy,
}

/// What would store a column a target refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// No column type of the target holds it: leave it out of the source, or cast it there.
    Exclude,
    /// The requested column type cannot hold it; these can (`text (any scalar), json (…)`).
    OneOf(String),
}

/// A column a target cannot hold without loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedColumn {
    /// The column.
    pub column: String,
    /// Its Arrow type.
    pub data_type: String,
    /// What would be lost.
    pub why: String,
    /// What would store it instead.
    pub fix: Remedy,
}

impl std::fmt::Display for UnsupportedColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}: {})", self.column, self.data_type, self.why)
    }
}

/// Plans every column of a table for a SQL target: `plan_one` maps a field (and its configured
/// override) to the store's column plan. Hints (primary key, indexes, overrides) naming a column
/// the table lacks are refused; otherwise every column that cannot be stored is reported at once.
pub fn plan_columns<P>(
    schema: &Schema,
    hints: &crate::TableHints,
    plan_one: impl Fn(&Field, Option<&str>) -> Result<P, Unsupported>,
) -> Result<Vec<P>, PlanError> {
    let named = hints
        .primary_key
        .iter()
        .map(|c| ("primary key", c))
        .chain(hints.indexes.iter().flatten().map(|c| ("index", c)))
        .chain(hints.column_types.keys().map(|c| ("column type override", c)));
    for (hint, column) in named {
        if schema.field_with_name(column).is_err() {
            return Err(PlanError::UnknownColumn { hint, column: column.clone() });
        }
    }
    let column_types = &hints.column_types;
    let mut plans = Vec::with_capacity(schema.fields().len());
    let mut unsupported = Vec::new();
    for f in schema.fields() {
        match plan_one(f, column_types.get(f.name()).map(String::as_str)) {
            Ok(plan) => plans.push(plan),
            Err(Unsupported { why, fix }) => unsupported.push(UnsupportedColumn {
                column: f.name().clone(),
                data_type: f.data_type().to_string(),
                why,
                fix,
            }),
        }
    }
    if unsupported.is_empty() { Ok(plans) } else { Err(PlanError::Unsupported(unsupported)) }
}

/// Why [`plan_columns`] refused a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A hint names a column the table does not have.
    UnknownColumn {
        /// Which hint: `primary key`, `index` or `column type override`.
        hint: &'static str,
        /// The column it names.
        column: String,
    },
    /// These columns cannot be stored (every one of them, in schema order).
    Unsupported(Vec<UnsupportedColumn>),
}

/// `a (Union…: why), b (Map…: why)`: unsupported columns for one line of an error message.
pub fn list_unsupported(columns: &[UnsupportedColumn]) -> String {
    columns.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
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

    #[test]
    fn plan_columns_reports_every_unsupported_column_at_once() {
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Null, true),
            Field::new("c", DataType::Int64, true),
            Field::new("d", DataType::Null, true),
        ]);
        let plan = |f: &Field, _: Option<&str>| match f.data_type() {
            DataType::Null => Err(Unsupported { why: "no form".into(), fix: Remedy::Exclude }),
            _ => Ok(f.name().clone()),
        };
        let none = crate::TableHints::default();
        match plan_columns(&schema, &none, plan) {
            Err(PlanError::Unsupported(columns)) => {
                let names: Vec<&str> = columns.iter().map(|c| c.column.as_str()).collect();
                assert_eq!(names, ["b", "d"]);
                assert_eq!(list_unsupported(&columns), "b (Null: no form), d (Null: no form)");
            }
            other => panic!("expected both columns refused: {other:?}"),
        }
        let mut unknown = crate::TableHints::default();
        unknown.column_types.insert("zz".to_string(), "text".to_string());
        let refused = Err(PlanError::UnknownColumn { hint: "column type override", column: "zz".into() });
        assert_eq!(plan_columns(&schema, &unknown, plan), refused);
        let key = crate::TableHints { primary_key: vec!["nosuchcol".into()], ..Default::default() };
        let refused = Err(PlanError::UnknownColumn { hint: "primary key", column: "nosuchcol".into() });
        assert_eq!(plan_columns(&schema, &key, plan), refused);
    }
}
