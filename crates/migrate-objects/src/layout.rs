//! Layout analysis of a listing: counts, bytes, file kinds, date partitions and their gaps,
//! partitions lacking the critical kind of file, largest objects. Fed one entry at a time, so
//! memory grows with the number of partitions, not objects.

use crate::entry::ObjectEntry;
use chrono::NaiveDate;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// Extensions of compression wrappers (`x.jsonl.gz` is a compressed `jsonl`).
const COMPRESSED: &[&str] = &["gz", "bz2", "zst", "zstd", "xz", "lz4", "snappy", "zip"];
/// Extensions of data files, for presets whose critical kind is "any data file".
pub const DATA_KINDS: &[&str] = &["csv", "tsv", "json", "jsonl", "ndjson", "parquet", "avro", "orc"];
/// How many of the largest objects a report keeps.
const LARGEST: usize = 10;

/// Which files every date partition must contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CriticalKind {
    /// No requirement.
    None,
    /// At least one non-empty file of one of these kinds (compressed forms count).
    AnyOf(Vec<String>),
}

impl CriticalKind {
    /// Whether a file of `kind` satisfies the requirement.
    pub fn accepts(&self, kind: &FileKind) -> bool {
        match self {
            CriticalKind::None => false,
            CriticalKind::AnyOf(kinds) => kinds.contains(&kind.base),
        }
    }

    /// Short description for reports (`jsonl`, `csv/json/parquet…`).
    pub fn describe(&self) -> String {
        match self {
            CriticalKind::None => "none".into(),
            CriticalKind::AnyOf(kinds) => kinds.join("/"),
        }
    }
}

/// A file's kind from its name: base extension and compression wrapper.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileKind {
    /// Base extension, lowercased (`jsonl`); `(none)` without one, `(folder)` for folder markers.
    pub base: String,
    /// Compression extension (`gz`), if any.
    pub compression: Option<String>,
}

impl FileKind {
    /// The kind of `key`.
    pub fn of(key: &str) -> Self {
        if key.ends_with('/') {
            return Self { base: "(folder)".into(), compression: None };
        }
        let name = key.rsplit('/').next().unwrap_or(key).to_ascii_lowercase();
        let mut parts: Vec<&str> = name.split('.').skip(1).collect();
        let compression = match parts.last() {
            Some(ext) if COMPRESSED.contains(ext) => parts.pop().map(str::to_string),
            _ => None,
        };
        let base = parts.last().map(|s| s.to_string()).unwrap_or_else(|| "(none)".into());
        Self { base, compression }
    }

    /// `jsonl`, `jsonl.gz`.
    pub fn label(&self) -> String {
        match &self.compression {
            Some(c) => format!("{}.{c}", self.base),
            None => self.base.clone(),
        }
    }
}

/// A date found in a key's folders, with the partition (folder path) it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePartition {
    /// The folder path through the date (`qpi_answers_20240101/`).
    pub path: String,
    /// The series: the path with the date replaced by `{date}` (`qpi_answers_{date}/`).
    pub series: String,
    /// The date.
    pub date: NaiveDate,
}

fn valid_date(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    let year: i32 = y.parse().ok()?;
    if !(1970..=2100).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, m.parse().ok()?, d.parse().ok()?)
}

/// Finds a date inside one segment: `YYYY-MM-DD` or a run of exactly 8 digits `YYYYMMDD`.
/// Returns the date and the byte range it occupies.
fn date_in_segment(seg: &str) -> Option<(NaiveDate, std::ops::Range<usize>)> {
    let b = seg.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let mut i = 0;
    while i < b.len() {
        if !digit(i) || (i > 0 && digit(i - 1)) {
            i += 1;
            continue;
        }
        let run = (i..b.len()).take_while(|&j| digit(j)).count();
        if run == 8
            && let Some(d) = valid_date(&seg[i..i + 4], &seg[i + 4..i + 6], &seg[i + 6..i + 8])
        {
            return Some((d, i..i + 8));
        }
        if run == 4
            && b.get(i + 4) == Some(&b'-')
            && b.get(i + 7) == Some(&b'-')
            && digit(i + 5)
            && digit(i + 6)
            && digit(i + 8)
            && digit(i + 9)
            && !digit(i + 10)
            && let Some(d) = valid_date(&seg[i..i + 4], &seg[i + 5..i + 7], &seg[i + 8..i + 10])
        {
            return Some((d, i..i + 10));
        }
        i += run;
    }
    None
}

/// The first date partition in `key`'s folder segments (the file name itself is not a
/// partition): `qpi_answers_20240101/`, `dt=2024-01-01/`, `2024-01-01/`, `2024/01/01/`.
pub fn date_partition(key: &str) -> Option<DatePartition> {
    let segments: Vec<&str> = key.split('/').collect();
    let folders = &segments[..segments.len().saturating_sub(1)];
    for (i, seg) in folders.iter().enumerate() {
        let is_num = |s: &str, n: usize| s.len() == n && s.bytes().all(|c| c.is_ascii_digit());
        if is_num(seg, 4)
            && i + 2 < folders.len()
            && is_num(folders[i + 1], 2)
            && is_num(folders[i + 2], 2)
            && let Some(date) = valid_date(seg, folders[i + 1], folders[i + 2])
        {
            let head = folders[..i].iter().map(|s| format!("{s}/")).collect::<String>();
            return Some(DatePartition {
                path: format!("{head}{}/{}/{}/", seg, folders[i + 1], folders[i + 2]),
                series: format!("{head}{{date}}/"),
                date,
            });
        }
        if let Some((date, range)) = date_in_segment(seg) {
            let head = folders[..i].iter().map(|s| format!("{s}/")).collect::<String>();
            return Some(DatePartition {
                path: format!("{head}{seg}/"),
                series: format!("{head}{}{{date}}{}/", &seg[..range.start], &seg[range.end..]),
                date,
            });
        }
    }
    None
}

#[derive(Debug, Default, Clone)]
struct PartitionStats {
    series: String,
    date: Option<NaiveDate>,
    objects: u64,
    bytes: u64,
    non_empty: u64,
    critical: u64,
}

/// Counts and bytes of one file kind.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct KindCount {
    /// Objects of this kind.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One series of date partitions (e.g. `qpi_answers_{date}/`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeriesReport {
    /// The path pattern with `{date}`.
    pub series: String,
    /// Partitions found.
    pub partitions: u64,
    /// First date.
    pub first: NaiveDate,
    /// Last date.
    pub last: NaiveDate,
    /// Dates inside [first, last] with no partition.
    pub missing_dates: Vec<NaiveDate>,
}

/// What a location holds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LayoutReport {
    /// Objects in all.
    pub objects: u64,
    /// Bytes in all.
    pub bytes: u64,
    /// Objects and bytes by kind label (`jsonl`, `jsonl.gz`, `(none)`).
    pub kinds: BTreeMap<String, KindCount>,
    /// Objects of the critical kind.
    pub critical_objects: u64,
    /// Date partition series with their gaps.
    pub series: Vec<SeriesReport>,
    /// Date partitions found, all series.
    pub partitions: u64,
    /// First and last date over all series.
    pub first_date: Option<NaiveDate>,
    /// Last date over all series.
    pub last_date: Option<NaiveDate>,
    /// Partitions holding only empty objects.
    pub empty_partitions: Vec<String>,
    /// Partitions without a non-empty file of the critical kind.
    pub partitions_lacking_critical: Vec<String>,
    /// Objects outside any date partition.
    pub unpartitioned_objects: u64,
    /// The largest objects, largest first: (key, size).
    pub largest: Vec<(String, u64)>,
}

/// Accumulates a [`LayoutReport`] one entry at a time.
#[derive(Debug)]
pub struct LayoutAnalyzer {
    critical: CriticalKind,
    objects: u64,
    bytes: u64,
    kinds: BTreeMap<String, KindCount>,
    critical_objects: u64,
    partitions: BTreeMap<String, PartitionStats>,
    unpartitioned: u64,
    largest: BinaryHeap<Reverse<(u64, String)>>,
}

impl LayoutAnalyzer {
    /// An analyzer checking each partition for `critical` files.
    pub fn new(critical: CriticalKind) -> Self {
        Self {
            critical,
            objects: 0,
            bytes: 0,
            kinds: BTreeMap::new(),
            critical_objects: 0,
            partitions: BTreeMap::new(),
            unpartitioned: 0,
            largest: BinaryHeap::new(),
        }
    }

    /// Adds one object.
    pub fn add(&mut self, entry: &ObjectEntry) {
        self.objects += 1;
        self.bytes += entry.size;
        let kind = FileKind::of(&entry.key);
        let count = self.kinds.entry(kind.label()).or_default();
        count.objects += 1;
        count.bytes += entry.size;
        let is_critical = entry.size > 0 && self.critical.accepts(&kind);
        if is_critical {
            self.critical_objects += 1;
        }
        match date_partition(&entry.key) {
            Some(p) => {
                let stats = self.partitions.entry(p.path).or_insert_with(|| PartitionStats {
                    series: p.series,
                    date: Some(p.date),
                    ..Default::default()
                });
                stats.objects += 1;
                stats.bytes += entry.size;
                stats.non_empty += u64::from(entry.size > 0);
                stats.critical += u64::from(is_critical);
            }
            None => self.unpartitioned += 1,
        }
        self.largest.push(Reverse((entry.size, entry.key.clone())));
        if self.largest.len() > LARGEST {
            self.largest.pop();
        }
    }

    /// The report.
    pub fn finish(self) -> LayoutReport {
        let mut by_series: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
        let mut empty = Vec::new();
        let mut lacking = Vec::new();
        for (path, stats) in &self.partitions {
            if let Some(date) = stats.date {
                by_series.entry(stats.series.clone()).or_default().insert(date);
            }
            if stats.non_empty == 0 {
                empty.push(path.clone());
            }
            if self.critical != CriticalKind::None && stats.critical == 0 {
                lacking.push(path.clone());
            }
        }
        let series: Vec<SeriesReport> = by_series
            .into_iter()
            .filter_map(|(series, dates)| {
                let first = *dates.first()?;
                let last = *dates.last()?;
                let missing =
                    first.iter_days().take_while(|d| *d <= last).filter(|d| !dates.contains(d)).collect();
                Some(SeriesReport {
                    series,
                    partitions: dates.len() as u64,
                    first,
                    last,
                    missing_dates: missing,
                })
            })
            .collect();
        let mut largest: Vec<(String, u64)> =
            self.largest.into_iter().map(|Reverse((size, key))| (key, size)).collect();
        largest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        LayoutReport {
            objects: self.objects,
            bytes: self.bytes,
            kinds: self.kinds,
            critical_objects: self.critical_objects,
            first_date: series.iter().map(|s| s.first).min(),
            last_date: series.iter().map(|s| s.last).max(),
            partitions: self.partitions.len() as u64,
            series,
            empty_partitions: empty,
            partitions_lacking_critical: lacking,
            unpartitioned_objects: self.unpartitioned,
            largest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn kinds_know_compression_and_folders() {
        assert_eq!(FileKind::of("a/b.JSONL").label(), "jsonl");
        assert_eq!(FileKind::of("a/b.jsonl.gz").label(), "jsonl.gz");
        assert_eq!(FileKind::of("a/b.jsonl.gz").base, "jsonl");
        assert_eq!(FileKind::of("a/README").label(), "(none)");
        assert_eq!(FileKind::of("a/").label(), "(folder)");
        assert_eq!(FileKind::of("x.tar.gz").label(), "tar.gz");
    }

    #[test]
    fn finds_dates_in_every_documented_form() {
        let cases = [
            (
                "qpi_answers_20240105/part-0.jsonl",
                "qpi_answers_20240105/",
                "qpi_answers_{date}/",
                "2024-01-05",
            ),
            ("prd/export/2024-01-05/a.csv", "prd/export/2024-01-05/", "prd/export/{date}/", "2024-01-05"),
            ("t/2024/01/05/a.csv", "t/2024/01/05/", "t/{date}/", "2024-01-05"),
            ("t/dt=2024-01-05/a.csv", "t/dt=2024-01-05/", "t/dt={date}/", "2024-01-05"),
            ("t/dt=20240105/x/a.csv", "t/dt=20240105/", "t/dt={date}/", "2024-01-05"),
        ];
        for (key, path, series, date) in cases {
            let p = date_partition(key).unwrap_or_else(|| panic!("no date in {key}"));
            assert_eq!((p.path.as_str(), p.series.as_str(), p.date), (path, series, d(date)), "{key}");
        }
    }

    #[test]
    fn ignores_numbers_that_are_not_dates() {
        for key in [
            "a/20241399/x.csv",        // month 13
            "a/123456789/x.csv",       // 9 digits
            "a/b/export_20240105.csv", // date in the file name only
            "a/2024-1-05/x",
            "a/18991231/x",
        ] {
            assert_eq!(date_partition(key), None, "{key}");
        }
    }

    #[test]
    fn reports_gaps_empty_partitions_and_missing_critical_files() {
        let mut a = LayoutAnalyzer::new(CriticalKind::AnyOf(vec!["jsonl".into()]));
        let entries = [
            ("qpi_answers_20240101/part-0.jsonl", 100),
            ("qpi_answers_20240101/part-1.jsonl.gz", 50),
            ("qpi_answers_20240102/_SUCCESS", 0),
            ("qpi_answers_20240104/part-0.csv", 10),
            ("qpi_answers_20240105/part-0.jsonl", 0),
            ("README.md", 7),
        ];
        for (k, s) in entries {
            a.add(&ObjectEntry::new(k, s));
        }
        let r = a.finish();
        assert_eq!((r.objects, r.bytes, r.partitions, r.unpartitioned_objects), (6, 167, 4, 1));
        assert_eq!(r.critical_objects, 2);
        assert_eq!(r.kinds["jsonl"], KindCount { objects: 2, bytes: 100 });
        assert_eq!(r.kinds["jsonl.gz"].objects, 1);
        assert_eq!(r.series.len(), 1);
        assert_eq!(r.series[0].missing_dates, vec![d("2024-01-03")]);
        assert_eq!((r.first_date, r.last_date), (Some(d("2024-01-01")), Some(d("2024-01-05"))));
        assert_eq!(r.empty_partitions, vec!["qpi_answers_20240102/", "qpi_answers_20240105/"]);
        assert_eq!(
            r.partitions_lacking_critical,
            vec!["qpi_answers_20240102/", "qpi_answers_20240104/", "qpi_answers_20240105/"]
        );
        assert_eq!(r.largest[0], ("qpi_answers_20240101/part-0.jsonl".to_string(), 100));
    }

    #[test]
    fn series_are_kept_apart() {
        let mut a = LayoutAnalyzer::new(CriticalKind::None);
        for k in ["prd/export/2024-01-01/a.csv", "prd/export/2024-01-03/a.csv", "stg/export/2024-01-02/a.csv"]
        {
            a.add(&ObjectEntry::new(k, 1));
        }
        let r = a.finish();
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0].missing_dates, vec![d("2024-01-02")]);
        assert!(r.series[1].missing_dates.is_empty());
        assert!(r.partitions_lacking_critical.is_empty());
    }
}
