//! Restore: copies a manifest's objects back from the target into the source.

use crate::ObjectEntry;
use crate::backend::ObjectBackend;
use crate::checksum::{Comparison, compare_reported};
use crate::copy::copy_object;
use crate::error::{ObjectsError, Result};
use crate::manifest::Manifest;
use crate::report::{Capped, Problem, Progress, Tally};
use futures::TryStreamExt;
use serde::Serialize;

/// What a restore did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    /// Objects copied back (or to copy back, in a dry run).
    pub restored: Tally,
    /// Objects already in the source with the manifest's content.
    pub already_present: Tally,
    /// Objects in the source whose content differs from the manifest (left alone).
    pub conflicts: Capped<Problem>,
    /// Manifest objects the target no longer holds (cannot be restored from it).
    pub missing_in_target: Capped<String>,
    /// Copies that failed.
    pub failed: Capped<Problem>,
}

impl RestoreReport {
    /// Whether every manifest object is in the source now (or would be).
    pub fn complete(&self) -> bool {
        self.conflicts.is_empty() && self.missing_in_target.is_empty() && self.failed.is_empty()
    }
}

enum Outcome {
    Restored(u64),
    Present(u64),
    Conflict(Problem),
    Missing(String),
    Failed(Problem),
}

fn same(expected: &ObjectEntry, found: &ObjectEntry) -> Option<String> {
    match compare_reported(expected, found) {
        Some(Comparison::Different(why)) => Some(why),
        _ => None,
    }
}

/// Copies every manifest object absent from `source` back from `target`; `execute: false`
/// only reports what it would do.
pub async fn restore(
    manifest: &Manifest,
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    execute: bool,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<RestoreReport> {
    progress.begin("restoring", Some(manifest.summary.objects), Some(manifest.summary.bytes));
    let one = |entry: ObjectEntry| async move {
        if let Some(current) = source.head(&entry.key).await? {
            return Ok(match same(&entry, &current) {
                None => Outcome::Present(entry.size),
                Some(why) => Outcome::Conflict(Problem {
                    key: entry.key,
                    reason: format!(
                        "the source holds other content than the manifest records ({why}); left alone"
                    ),
                }),
            });
        }
        let Some(copy) = target.head(&entry.key).await? else { return Ok(Outcome::Missing(entry.key)) };
        if let Some(why) = same(&entry, &copy) {
            return Ok(Outcome::Conflict(Problem {
                key: entry.key,
                reason: format!("the target's copy differs from the manifest ({why}); not copied back"),
            }));
        }
        if !execute {
            return Ok(Outcome::Restored(entry.size));
        }
        Ok::<_, ObjectsError>(match copy_object(target, source, &copy, &entry.key, None).await {
            Ok(_) => Outcome::Restored(entry.size),
            Err(e) => Outcome::Failed(Problem { key: entry.key, reason: e.to_string() }),
        })
    };
    let mut outcomes = std::pin::pin!(
        futures::stream::iter(manifest.objects()?).map_ok(one).try_buffer_unordered(jobs.max(1))
    );
    let mut report = RestoreReport::default();
    while let Some(outcome) = outcomes.try_next().await? {
        match outcome {
            Outcome::Restored(size) => {
                report.restored.add(size);
                progress.advance(1, size);
            }
            Outcome::Present(size) => report.already_present.add(size),
            Outcome::Conflict(p) => report.conflicts.push(p),
            Outcome::Missing(key) => report.missing_in_target.push(key),
            Outcome::Failed(p) => report.failed.push(p),
        }
    }
    progress.end();
    Ok(report)
}
