//! Verification: every source object must be in the target with equal size and equal content
//! checksum. Lists both sides afresh; reads content only where no common checksum exists.

use crate::backend::ObjectBackend;
use crate::checksum::{Comparison, Evidence};
use crate::entry::ObjectEntry;
use crate::error::Result;
use crate::join::Pair;
use crate::plan::compared_pairs;
use crate::report::{Capped, Problem, Progress, Tally};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::Serialize;

/// The verdict over a whole location.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    /// Source location URL.
    pub source_url: String,
    /// Target location URL.
    pub target_url: String,
    /// Source objects checked.
    pub source: Tally,
    /// Source objects found equal in the target.
    pub matched: u64,
    /// Matches decided by equal provider CRC32C.
    pub by_crc32c: u64,
    /// Matches decided by equal provider MD5.
    pub by_md5: u64,
    /// Matches decided by hashing content read from the store(s).
    pub by_streamed_hash: u64,
    /// Source objects absent from the target.
    pub missing: Capped<String>,
    /// Source objects whose target copy differs.
    pub different: Capped<Problem>,
    /// Objects only in the target (allowed).
    pub extra_in_target: u64,
    /// Source objects missing from or different in the target that were written after the
    /// copy began (a live prefix): not a failure of the copy; a re-run copies them.
    pub new_since_copy: Capped<String>,
}

impl VerifyReport {
    /// Whether every source object (but those new since the copy) is in the target, equal.
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.different.is_empty()
    }
}

/// Verifies a copy that began at `copy_started`: like [`verify`], except that a source object
/// written since then (its `updated` time is later) and not yet equal in the target counts as
/// new since the copy, not as a difference. `expected` (the source's totals, when a survey
/// counted them) gives progress its totals.
pub async fn verify_copy(
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    jobs: usize,
    progress: &dyn Progress,
    copy_started: DateTime<Utc>,
    expected: Option<Tally>,
) -> Result<VerifyReport> {
    progress.begin("verifying", expected.map(|t| t.objects), expected.map(|t| t.bytes));
    verify_with(source, target, jobs, progress, Some(copy_started), &mut |_| Ok(())).await
}

/// Verifies `target` against `source`. `each_source` sees every source entry in key order (the
/// delete step writes its manifest from it, so the manifest is exactly what was verified).
pub async fn verify(
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    jobs: usize,
    progress: &dyn Progress,
    each_source: &mut (dyn FnMut(&ObjectEntry) -> Result<()> + Send),
) -> Result<VerifyReport> {
    progress.begin("verifying", None, None);
    verify_with(source, target, jobs, progress, None, each_source).await
}

async fn verify_with(
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    jobs: usize,
    progress: &dyn Progress,
    since: Option<DateTime<Utc>>,
    each_source: &mut (dyn FnMut(&ObjectEntry) -> Result<()> + Send),
) -> Result<VerifyReport> {
    let is_new = |s: &ObjectEntry| since.is_some_and(|t| s.updated.is_some_and(|u| u > t));
    let mut report =
        VerifyReport { source_url: source.url(), target_url: target.url(), ..Default::default() };
    let mut pairs = std::pin::pin!(compared_pairs(source, target, jobs));
    while let Some((pair, comparison)) = pairs.try_next().await? {
        match (pair, comparison) {
            (Pair::SourceOnly(s), _) => {
                each_source(&s)?;
                report.source.add(s.size);
                if is_new(&s) {
                    report.new_since_copy.push(s.key);
                } else {
                    report.missing.push(s.key);
                }
            }
            (Pair::TargetOnly(_), _) => report.extra_in_target += 1,
            (Pair::Both(s, _), comparison) => {
                each_source(&s)?;
                report.source.add(s.size);
                progress.advance(1, s.size);
                match comparison {
                    Some(Comparison::Same(evidence)) => {
                        report.matched += 1;
                        match evidence {
                            Evidence::ProviderCrc32c => report.by_crc32c += 1,
                            Evidence::ProviderMd5 => report.by_md5 += 1,
                            Evidence::StreamedHash => report.by_streamed_hash += 1,
                        }
                    }
                    Some(Comparison::Different(_)) if is_new(&s) => report.new_since_copy.push(s.key),
                    Some(Comparison::Different(reason)) => {
                        report.different.push(Problem { key: s.key, reason })
                    }
                    None => report.different.push(Problem { key: s.key, reason: "not compared".into() }),
                }
            }
        }
    }
    progress.end();
    Ok(report)
}
