//! Verification: every source object must be in the target with equal size and equal content
//! checksum. Lists both sides afresh; reads content only where no common checksum exists.

use crate::backend::ObjectBackend;
use crate::checksum::{Comparison, Evidence};
use crate::entry::ObjectEntry;
use crate::error::Result;
use crate::join::Pair;
use crate::plan::compared_pairs;
use crate::report::{Capped, Problem, Progress, Tally};
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
}

impl VerifyReport {
    /// Whether every source object is in the target, equal.
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.different.is_empty()
    }
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
    let mut report =
        VerifyReport { source_url: source.url(), target_url: target.url(), ..Default::default() };
    progress.begin("verifying", None, None);
    let mut pairs = std::pin::pin!(compared_pairs(source, target, jobs));
    while let Some((pair, comparison)) = pairs.try_next().await? {
        match (pair, comparison) {
            (Pair::SourceOnly(s), _) => {
                each_source(&s)?;
                report.source.add(s.size);
                report.missing.push(s.key);
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
