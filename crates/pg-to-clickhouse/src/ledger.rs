//! The life of a batch, as the ledger in PostgreSQL records it, and the rules that make every
//! step safe to repeat after a crash:
//!
//! 1. `writing`: recorded (with its key range, row count and fingerprint read from PostgreSQL)
//!    before a row is sent to ClickHouse. A rerun that finds a batch still `writing` looks at
//!    ClickHouse: the whole batch there → it only needs verifying; nothing there → write it;
//!    part of it → clear that range in ClickHouse and write it again ([`Batch::recover`]).
//! 2. `verified`: ClickHouse holds exactly the batch (same count, same order-independent
//!    fingerprint). Recorded in the same PostgreSQL transaction that advances the watermark.
//! 3. `cleaned`: deleted from PostgreSQL, once verified longer ago than the grace period, and
//!    only when the rows the delete removes have the ledger's count and fingerprint
//!    ([`Batch::cleaned`]); otherwise the delete is rolled back and the batch reported.

use crate::Error;
use crate::plan::Position;
use std::time::Duration;

/// Where a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Being written to ClickHouse (recorded before the first row went).
    Writing,
    /// ClickHouse holds exactly these rows; `at` (microseconds since the epoch) when verified.
    Verified {
        /// When.
        at: i64,
    },
    /// Deleted from PostgreSQL after the grace period.
    Cleaned {
        /// When.
        at: i64,
    },
}

impl Stage {
    /// The word the ledger table holds.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Writing => "writing",
            Stage::Verified { .. } => "verified",
            Stage::Cleaned { .. } => "cleaned",
        }
    }
}

/// Rows and their order-independent fingerprint, as one side counted them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Rows.
    pub rows: u64,
    /// The fingerprint of those rows (migrate-core's, independent of order).
    pub fingerprint: String,
}

/// One batch of one table of one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The dataset.
    pub dataset: String,
    /// The source table.
    pub table: String,
    /// After this position (exclusive); `None` from the table's start.
    pub after: Option<Position>,
    /// Up to this position (inclusive).
    pub through: Position,
    /// What PostgreSQL held in the range when the batch was planned.
    pub content: Content,
    /// Where it is.
    pub stage: Stage,
}

/// What a rerun does with a batch it finds still `writing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Nothing of it reached ClickHouse: write it.
    Write,
    /// All of it is there: verify and record it; write nothing.
    Verify,
    /// Part of it (or something else) is there: clear the range in ClickHouse, then write it.
    ClearThenWrite,
}

impl Batch {
    /// A batch planned from PostgreSQL's `content` in `(after, through]`, about to be written.
    pub fn planned(
        dataset: &str,
        table: &str,
        after: Option<Position>,
        through: Position,
        content: Content,
    ) -> Self {
        Batch { dataset: dataset.into(), table: table.into(), after, through, content, stage: Stage::Writing }
    }

    /// A name for messages: dataset, table and range.
    pub fn label(&self) -> String {
        let after = self.after.as_ref().map_or_else(|| "the start".to_string(), position);
        format!("{}/{} ({after}, {}]", self.dataset, self.table, position(&self.through))
    }

    fn refuse(&self, why: String) -> Error {
        Error::Ledger { batch: self.label(), why }
    }

    /// What a rerun does with this `writing` batch, given what ClickHouse holds in its range.
    pub fn recover(&self, in_clickhouse: &Content) -> Recovery {
        if in_clickhouse.rows == 0 {
            Recovery::Write
        } else if *in_clickhouse == self.content {
            Recovery::Verify
        } else {
            Recovery::ClearThenWrite
        }
    }

    /// The batch verified at `at`, when ClickHouse's content equals the ledger's.
    pub fn verified(&self, at: i64, in_clickhouse: &Content) -> Result<Batch, Error> {
        if self.stage != Stage::Writing {
            return Err(self.refuse(format!("is {}, not writing", self.stage.as_str())));
        }
        if *in_clickhouse != self.content {
            return Err(self.refuse(format!(
                "ClickHouse holds {} row(s) (fingerprint {}), PostgreSQL had {} ({})",
                in_clickhouse.rows, in_clickhouse.fingerprint, self.content.rows, self.content.fingerprint
            )));
        }
        Ok(Batch { stage: Stage::Verified { at }, ..self.clone() })
    }

    /// Whether the batch may be deleted from PostgreSQL at `now`: verified, and at least
    /// `grace` ago.
    pub fn cleanup_due(&self, now: i64, grace: Duration) -> bool {
        match self.stage {
            Stage::Verified { at } => {
                now.saturating_sub(at) >= i64::try_from(grace.as_micros()).unwrap_or(i64::MAX)
            }
            _ => false,
        }
    }

    /// The batch cleaned at `at`, when what the delete removed (`deleted`, counted inside the
    /// deleting transaction) is exactly what was verified; otherwise an error, and the caller
    /// rolls the delete back. Refused before the grace period ends.
    pub fn cleaned(&self, at: i64, grace: Duration, deleted: &Content) -> Result<Batch, Error> {
        if !self.cleanup_due(at, grace) {
            return Err(self.refuse(match self.stage {
                Stage::Verified { .. } => "the grace period has not passed".into(),
                other => format!("is {}, not verified", other.as_str()),
            }));
        }
        if *deleted != self.content {
            return Err(self.refuse(format!(
                "the delete would remove {} row(s) (fingerprint {}), but {} ({}) were verified: rolled back; \
                 rows changed or arrived in the range since (they are migrated before anything is deleted)",
                deleted.rows, deleted.fingerprint, self.content.rows, self.content.fingerprint
            )));
        }
        Ok(Batch { stage: Stage::Cleaned { at }, ..self.clone() })
    }
}

/// Whether a table's watermark may be moved back to `to`: refused while a batch beyond it is not
/// cleaned (its rows would move twice, or be deleted unverified), unless `force`. Returns the
/// batches in the way.
pub fn reset_blockers(batches: &[Batch], to: i64, force: bool) -> Vec<&Batch> {
    if force {
        return Vec::new();
    }
    batches.iter().filter(|b| b.through.time > to && !matches!(b.stage, Stage::Cleaned { .. })).collect()
}

fn position(p: &Position) -> String {
    let time = chrono::DateTime::from_timestamp_micros(p.time)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_else(|| p.time.to_string());
    if p.key.is_empty() { time } else { format!("{time} {}", p.key.join(",")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    fn content(rows: u64, fp: &str) -> Content {
        Content { rows, fingerprint: fp.into() }
    }

    fn batch() -> Batch {
        let at = |t: i64, k: &str| Position { time: t * SECOND, key: vec![k.into()] };
        Batch::planned("ds1", "dataset_access_audit", Some(at(100, "7")), at(200, "19"), content(12, "abc"))
    }

    #[test]
    fn a_batch_goes_from_writing_to_verified_to_cleaned() {
        let b = batch();
        assert_eq!(b.stage, Stage::Writing);
        let v = b.verified(1_000 * SECOND, &content(12, "abc")).unwrap();
        assert_eq!(v.stage, Stage::Verified { at: 1_000 * SECOND });
        let grace = Duration::from_secs(60);
        assert!(!v.cleanup_due(1_059 * SECOND, grace));
        assert!(v.cleanup_due(1_060 * SECOND, grace), "due to the second");
        let c = v.cleaned(1_060 * SECOND, grace, &content(12, "abc")).unwrap();
        assert_eq!(c.stage.as_str(), "cleaned");
        assert!(!c.cleanup_due(9_999 * SECOND, grace), "never twice");
    }

    #[test]
    fn nothing_is_verified_or_deleted_that_does_not_match() {
        let b = batch();
        let wrong = b.verified(1, &content(12, "abd")).unwrap_err().to_string();
        assert!(
            wrong.contains("ClickHouse holds 12 row(s) (fingerprint abd), PostgreSQL had 12 (abc)"),
            "{wrong}"
        );
        assert!(
            wrong.starts_with("batch ds1/dataset_access_audit (1970-01-01 00:01:40.000000 7, "),
            "{wrong}"
        );
        let v = b.verified(0, &content(12, "abc")).unwrap();
        assert!(v.verified(1, &content(12, "abc")).is_err(), "verified once");
        let grace = Duration::from_secs(1);
        let late_row = v.cleaned(SECOND, grace, &content(13, "zzz")).unwrap_err().to_string();
        assert!(
            late_row.contains("would remove 13 row(s)") && late_row.contains("rolled back"),
            "{late_row}"
        );
        let early = v.cleaned(SECOND - 1, grace, &content(12, "abc")).unwrap_err().to_string();
        assert!(early.contains("grace period has not passed"), "{early}");
        let unverified = b.cleaned(10 * SECOND, grace, &content(12, "abc")).unwrap_err().to_string();
        assert!(unverified.contains("is writing, not verified"), "{unverified}");
    }

    #[test]
    fn a_rerun_finishes_a_batch_left_writing_without_duplicates() {
        let b = batch();
        assert_eq!(b.recover(&content(0, "")), Recovery::Write);
        assert_eq!(b.recover(&content(12, "abc")), Recovery::Verify);
        assert_eq!(b.recover(&content(5, "part")), Recovery::ClearThenWrite);
        assert_eq!(b.recover(&content(12, "other")), Recovery::ClearThenWrite);
    }

    #[test]
    fn a_watermark_goes_back_only_over_cleaned_batches_unless_forced() {
        let grace = Duration::ZERO;
        let v = batch().verified(0, &content(12, "abc")).unwrap();
        let c = v.cleaned(0, grace, &content(12, "abc")).unwrap();
        let batches = [c.clone(), v.clone()];
        assert_eq!(reset_blockers(&batches, 50 * SECOND, false).len(), 1, "the verified one blocks");
        assert!(reset_blockers(&batches, 200 * SECOND, false).is_empty(), "nothing beyond 200 s");
        assert!(reset_blockers(&batches, 50 * SECOND, true).is_empty());
        assert!(reset_blockers(&[c], 0, false).is_empty());
    }
}
