//! The canonical encoding: equal logical data fingerprints equal whatever its physical type,
//! row order or batching; any changed value changes the fingerprint.

use arrow::array::*;
use arrow::datatypes::{DataType, Field, Fields, Int32Type, Schema, TimeUnit};
use migrate_core::{CoreError, Fingerprint};
use std::sync::Arc;

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = cols.iter().map(|(n, a)| Field::new(*n, a.data_type().clone(), true)).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols.into_iter().map(|(_, a)| a).collect()).unwrap()
}

fn fp(b: &RecordBatch) -> Fingerprint {
    Fingerprint::of([b]).unwrap()
}

fn one(a: ArrayRef) -> Fingerprint {
    fp(&batch(vec![("c", a)]))
}

fn bars(symbols: Vec<&str>, ts: Vec<i64>, close: Vec<Option<f64>>) -> RecordBatch {
    batch(vec![
        ("symbol", Arc::new(StringArray::from(symbols))),
        ("ts", Arc::new(Int64Array::from(ts))),
        ("close", Arc::new(Float64Array::from(close))),
    ])
}

#[test]
fn row_order_and_batching_do_not_matter() {
    let a = bars(vec!["A", "B", "C"], vec![1, 2, 3], vec![Some(1.0), None, Some(3.5)]);
    let shuffled = bars(vec!["C", "A", "B"], vec![3, 1, 2], vec![Some(3.5), Some(1.0), None]);
    assert_eq!(fp(&a), fp(&shuffled));
    let split = Fingerprint::of([&a.slice(0, 1), &a.slice(1, 2)]).unwrap();
    assert_eq!(fp(&a), split);
    assert_eq!(fp(&a.slice(0, 1)).merge(fp(&a.slice(1, 2))), fp(&a));
    assert_eq!(fp(&a).rows, 3);
}

#[test]
fn one_changed_value_is_caught_even_when_counts_match() {
    let a = bars(vec!["A", "B", "C"], vec![1, 2, 3], vec![Some(1.0), None, Some(3.5)]);
    for changed in [
        bars(vec!["A", "B", "C"], vec![1, 2, 3], vec![Some(1.0), None, Some(3.25)]),
        bars(vec!["A", "B", "D"], vec![1, 2, 3], vec![Some(1.0), None, Some(3.5)]),
        bars(vec!["A", "B", "C"], vec![1, 2, 4], vec![Some(1.0), None, Some(3.5)]),
        bars(vec!["A", "B", "C"], vec![1, 2, 3], vec![Some(1.0), Some(0.0), Some(3.5)]),
    ] {
        assert_eq!(fp(&changed).rows, fp(&a).rows);
        assert_ne!(fp(&changed), fp(&a));
    }
}

#[test]
fn duplicates_count() {
    let aab = bars(vec!["A", "A", "B"], vec![1, 1, 2], vec![None, None, None]);
    let abb = bars(vec!["A", "B", "B"], vec![1, 2, 2], vec![None, None, None]);
    assert_ne!(fp(&aab), fp(&abb));
}

#[test]
fn integer_widths_and_signedness_encode_alike() {
    let i64s = one(Arc::new(Int64Array::from(vec![0, 7, 255])));
    assert_eq!(one(Arc::new(Int32Array::from(vec![0, 7, 255]))), i64s);
    assert_eq!(one(Arc::new(UInt8Array::from(vec![0, 7, 255]))), i64s);
    assert_eq!(one(Arc::new(UInt64Array::from(vec![0, 7, 255]))), i64s);
    assert_ne!(one(Arc::new(Int64Array::from(vec![0, 7, 254]))), i64s);
    // u64::MAX must not collide with -1.
    assert_ne!(one(Arc::new(UInt64Array::from(vec![u64::MAX]))), one(Arc::new(Int64Array::from(vec![-1]))));
}

#[test]
fn floats_widen_exactly_and_nan_is_one_value() {
    assert_eq!(
        one(Arc::new(Float32Array::from(vec![1.5f32, -0.25]))),
        one(Arc::new(Float64Array::from(vec![1.5f64, -0.25])))
    );
    let other_nan = f64::from_bits(f64::NAN.to_bits() | 1);
    assert_eq!(
        one(Arc::new(Float64Array::from(vec![f64::NAN]))),
        one(Arc::new(Float64Array::from(vec![other_nan])))
    );
    assert_ne!(
        one(Arc::new(Float64Array::from(vec![f64::INFINITY]))),
        one(Arc::new(Float64Array::from(vec![f64::NEG_INFINITY])))
    );
}

#[test]
fn decimals_compare_by_value_not_scale() {
    let d = |v: i128, p: u8, s: i8| -> ArrayRef {
        Arc::new(Decimal128Array::from(vec![v]).with_precision_and_scale(p, s).unwrap())
    };
    assert_eq!(one(d(150, 10, 2)), one(d(15, 10, 1)));
    assert_eq!(one(d(0, 10, 3)), one(d(0, 38, 0)));
    assert_ne!(one(d(150, 10, 2)), one(d(150, 10, 1)));
    assert_ne!(one(d(-15, 10, 1)), one(d(15, 10, 1)));
}

#[test]
fn timestamps_compare_as_instants_in_any_unit() {
    let ms: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![1_700_000_000_123]));
    let us: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![1_700_000_000_123_000]));
    let ns: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![1_700_000_000_123_000_001]));
    assert_eq!(one(ms.clone()), one(us));
    assert_ne!(one(ms.clone()), one(ns));
    let utc: ArrayRef =
        Arc::new(TimestampMillisecondArray::from(vec![1_700_000_000_123]).with_timezone("UTC"));
    assert_ne!(one(ms), one(utc), "naive and zoned timestamps are different kinds");
    assert_eq!(
        one(Arc::new(Date32Array::from(vec![19_000]))),
        one(Arc::new(Date64Array::from(vec![19_000i64 * 86_400_000])))
    );
    assert_eq!(
        one(Arc::new(Time64MicrosecondArray::from(vec![1_000]))),
        one(Arc::new(Time32MillisecondArray::from(vec![1])))
    );
    let dt = DataType::Timestamp(TimeUnit::Second, None);
    assert_eq!(one(Arc::new(TimestampSecondArray::from(vec![1]))).rows, 1, "{dt}");
}

#[test]
fn kinds_and_boundaries_do_not_collide() {
    assert_ne!(
        one(Arc::new(StringArray::from(vec![Some("")]))),
        one(Arc::new(StringArray::from(vec![None::<&str>])))
    );
    assert_ne!(one(Arc::new(StringArray::from(vec!["1"]))), one(Arc::new(Int64Array::from(vec![1]))));
    assert_ne!(
        one(Arc::new(StringArray::from(vec!["a"]))),
        one(Arc::new(BinaryArray::from(vec![b"a".as_slice()])))
    );
    let two = |x: &str, y: &str| {
        fp(&batch(vec![
            ("x", Arc::new(StringArray::from(vec![x]))),
            ("y", Arc::new(StringArray::from(vec![y]))),
        ]))
    };
    assert_ne!(two("ab", "c"), two("a", "bc"));
    assert_eq!(
        one(Arc::new(StringArray::from(vec!["héllo ✓"]))),
        one(Arc::new(LargeStringArray::from(vec!["héllo ✓"])))
    );
    assert_eq!(one(Arc::new(StringArray::from(vec!["x"]))), one(Arc::new(StringViewArray::from(vec!["x"]))));
}

#[test]
fn dictionaries_encode_their_values() {
    let dict: DictionaryArray<Int32Type> = vec!["b", "a", "b"].into_iter().collect();
    assert_eq!(one(Arc::new(dict)), one(Arc::new(StringArray::from(vec!["b", "a", "b"]))));
}

#[test]
fn nested_values_are_fingerprinted() {
    let list = |v: Vec<Option<Vec<Option<i32>>>>| -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(v))
    };
    let a = list(vec![Some(vec![Some(1), Some(2)]), None]);
    assert_eq!(one(a.clone()), one(list(vec![Some(vec![Some(1), Some(2)]), None])));
    assert_ne!(one(a.clone()), one(list(vec![Some(vec![Some(2), Some(1)]), None])), "list order matters");
    assert_ne!(one(a), one(list(vec![Some(vec![Some(1)]), Some(vec![Some(2)])])));

    let s = |x: i32, y: &str| -> ArrayRef {
        Arc::new(StructArray::new(
            Fields::from(vec![Field::new("x", DataType::Int32, true), Field::new("y", DataType::Utf8, true)]),
            vec![Arc::new(Int32Array::from(vec![x])), Arc::new(StringArray::from(vec![y]))],
            None,
        ))
    };
    assert_eq!(one(s(1, "a")), one(s(1, "a")));
    assert_ne!(one(s(1, "a")), one(s(1, "b")));
}

#[test]
fn unsupported_types_name_the_column() {
    let run_ends = Int32Array::from(vec![2]);
    let values = Int64Array::from(vec![5]);
    let ree: ArrayRef = Arc::new(RunArray::try_new(&run_ends, &values).unwrap());
    let b = batch(vec![("ok", Arc::new(Int64Array::from(vec![1, 2]))), ("weird", ree)]);
    match Fingerprint::of([&b]) {
        Err(CoreError::UnsupportedType { column, .. }) => assert_eq!(column, "weird"),
        other => panic!("expected UnsupportedType, got {other:?}"),
    }
}

#[test]
fn display_is_rows_and_hex() {
    let f = one(Arc::new(Int64Array::from(vec![1, 2])));
    let text = f.to_string();
    assert!(text.starts_with("2:") && text.len() == 2 + 32, "{text}");
}
