//! Survey and plan: one pass over both listings gives the layout of each side and what a copy
//! would do with every key.

use crate::backend::ObjectBackend;
use crate::checksum::{Comparison, compare};
use crate::copy::RECORD;
use crate::error::Result;
use crate::join::{Pair, join};
use crate::layout::{CriticalKind, LayoutAnalyzer, LayoutReport};
use crate::report::{Capped, Problem, Progress, Tally};
use futures::TryStreamExt;
use serde::Serialize;

/// What a copy does with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// New in the source: copy.
    Copy,
    /// Same content on both sides: skip.
    Skip,
    /// Differs, and overwriting changed objects was asked for: copy over the target's.
    Overwrite(String),
    /// Differs, and overwriting was not asked for: a conflict that fails the run.
    Conflict(String),
    /// Only in the target: reported, never deleted.
    Extra,
}

/// Decides the action for one key. Pure: the comparison is made beforehand.
pub fn decide(pair: &Pair, comparison: Option<&Comparison>, overwrite_changed: bool) -> Action {
    match (pair, comparison) {
        (Pair::SourceOnly(_), _) => Action::Copy,
        (Pair::TargetOnly(_), _) => Action::Extra,
        (Pair::Both(..), Some(Comparison::Different(why))) if overwrite_changed => {
            Action::Overwrite(why.clone())
        }
        (Pair::Both(..), Some(Comparison::Different(why))) => Action::Conflict(why.clone()),
        (Pair::Both(..), _) => Action::Skip,
    }
}

/// Pairs the listings and compares the keys present on both sides, `jobs` at a time (a
/// comparison may read content), in key order.
pub(crate) fn compared_pairs<'a>(
    source: &'a dyn ObjectBackend,
    target: &'a dyn ObjectBackend,
    jobs: usize,
) -> impl futures::Stream<Item = Result<(Pair, Option<Comparison>)>> + Send + 'a {
    join(source, target)
        .map_ok(move |pair| async move {
            let comparison = match &pair {
                Pair::Both(s, t) => Some(compare(source, s, target, t).await?),
                _ => None,
            };
            Ok((pair, comparison))
        })
        .try_buffered(jobs.max(1))
}

/// What a copy would do, counted.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PlanSummary {
    /// New objects to copy.
    pub to_copy: Tally,
    /// Identical on both sides.
    pub identical: Tally,
    /// Differing objects that will be overwritten (`--overwrite-changed`).
    pub to_overwrite: Tally,
    /// Differing objects left alone: the run fails on them.
    pub conflicts: Capped<Problem>,
    /// Objects only in the target (never deleted).
    pub extra_in_target: Capped<String>,
    /// The first objects to copy, by key.
    pub to_copy_keys: Capped<String>,
}

/// Both layouts and the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Survey {
    /// Source location URL.
    pub source_url: String,
    /// Target location URL.
    pub target_url: String,
    /// What the source holds.
    pub source: LayoutReport,
    /// What the target holds.
    pub target: LayoutReport,
    /// What a copy would do.
    pub plan: PlanSummary,
}

/// Lists both sides once, analysing their layouts and planning the copy.
pub async fn survey(
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    critical: &CriticalKind,
    overwrite_changed: bool,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Survey> {
    let mut src = LayoutAnalyzer::new(critical.clone());
    let mut dst = LayoutAnalyzer::new(critical.clone());
    let mut plan = PlanSummary::default();
    progress.begin("analysing", None, None);
    let mut pairs = std::pin::pin!(compared_pairs(source, target, jobs));
    while let Some((pair, comparison)) = pairs.try_next().await? {
        match &pair {
            Pair::SourceOnly(s) => {
                src.add(s);
                progress.advance(1, s.size);
            }
            Pair::TargetOnly(t) => dst.add(t),
            Pair::Both(s, t) => {
                src.add(s);
                dst.add(t);
                progress.advance(1, s.size);
            }
        }
        // Every decision goes to the log file (the summary keeps only the first few keys).
        let record = |what: &str, key: &str, size: u64| tracing::info!(target: RECORD, "plan: {what} {key} ({size} bytes)");
        match (decide(&pair, comparison.as_ref(), overwrite_changed), &pair) {
            (Action::Copy, Pair::SourceOnly(s)) => {
                record("copy", &s.key, s.size);
                plan.to_copy.add(s.size);
                plan.to_copy_keys.push(s.key.clone());
            }
            (Action::Skip, Pair::Both(s, _)) => plan.identical.add(s.size),
            (Action::Overwrite(reason), Pair::Both(s, _)) => {
                record(&format!("overwrite ({reason})"), &s.key, s.size);
                plan.to_overwrite.add(s.size);
                plan.to_copy_keys.push(s.key.clone());
            }
            (Action::Conflict(reason), Pair::Both(s, _)) => {
                record(&format!("conflict ({reason})"), &s.key, s.size);
                plan.conflicts.push(Problem { key: s.key.clone(), reason })
            }
            (Action::Extra, Pair::TargetOnly(t)) => {
                record("keep, only in target,", &t.key, t.size);
                plan.extra_in_target.push(t.key.clone())
            }
            _ => unreachable!("decide() answers by the pair's side"),
        }
    }
    progress.end();
    Ok(Survey {
        source_url: source.url(),
        target_url: target.url(),
        source: src.finish(),
        target: dst.finish(),
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectEntry;

    #[test]
    fn decisions_cover_every_case() {
        let e = ObjectEntry::new("k", 1);
        let both = Pair::Both(e.clone(), e.clone());
        let same = Comparison::Same(crate::Evidence::ProviderCrc32c);
        let diff = Comparison::Different("size 1 ≠ 2".into());
        assert_eq!(decide(&Pair::SourceOnly(e.clone()), None, false), Action::Copy);
        assert_eq!(decide(&Pair::TargetOnly(e.clone()), None, true), Action::Extra);
        assert_eq!(decide(&both, Some(&same), false), Action::Skip);
        assert_eq!(decide(&both, Some(&same), true), Action::Skip);
        assert_eq!(decide(&both, Some(&diff), false), Action::Conflict("size 1 ≠ 2".into()));
        assert_eq!(decide(&both, Some(&diff), true), Action::Overwrite("size 1 ≠ 2".into()));
    }
}
