//! Copying what the plan says, concurrently, with retries; a re-run copies only what is still
//! missing (rsync semantics).

use crate::backend::ObjectBackend;
use crate::entry::ObjectEntry;
use crate::error::{ObjectsError, Result};
use crate::join::Pair;
use crate::plan::{Action, compared_pairs, decide};
use crate::report::{Capped, Problem, Progress, Tally};
use futures::TryStreamExt;
use serde::Serialize;
use std::time::Duration;

/// How to copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// Objects copied at once.
    pub jobs: usize,
    /// Replace target objects whose content differs (otherwise they are conflicts).
    pub overwrite_changed: bool,
    /// Attempts per object for transient failures, the first included.
    pub attempts: u32,
    /// What the source holds, when a survey just counted it: the totals progress counts to.
    pub expected: Option<Tally>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self { jobs: 16, overwrite_changed: false, attempts: 4, expected: None }
    }
}

/// How one object travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPath {
    /// Inside the store (GCS rewrite, store-side copy): no bytes through this process.
    ServerSide,
    /// Read from the source and written to the target.
    Streamed,
}

/// What a copy did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CopyReport {
    /// New objects copied.
    pub copied: Tally,
    /// Differing objects overwritten.
    pub overwritten: Tally,
    /// Identical objects skipped.
    pub skipped_identical: Tally,
    /// Copies done inside the store.
    pub server_side: u64,
    /// Copies streamed through this process.
    pub streamed: u64,
    /// Differing objects left alone (no `--overwrite-changed`).
    pub conflicts: Capped<Problem>,
    /// Objects that could not be copied.
    pub failed: Capped<Problem>,
    /// Objects only in the target.
    pub extra_in_target: u64,
}

impl CopyReport {
    /// Whether every source object is now in the target (nothing failed, no conflict left).
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.conflicts.is_empty()
    }
}

/// Copies one object, server-side where the store can, streamed otherwise. With `replace`,
/// overwrites that target object; without, writes only if the key is absent.
pub async fn copy_object(
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    entry: &ObjectEntry,
    target_key: &str,
    replace: Option<&ObjectEntry>,
) -> Result<(ObjectEntry, CopyPath)> {
    let (copied, path) = match target.copy_from_same_store(source, entry, target_key, replace).await? {
        Some(copied) => (copied, CopyPath::ServerSide),
        None => {
            let (attrs, data) = source.get(&entry.key).await?;
            (target.put(target_key, &attrs, data, replace.is_none()).await?, CopyPath::Streamed)
        }
    };
    if copied.size != entry.size {
        return Err(ObjectsError::Changed {
            url: format!("{}{}", source.url(), entry.key),
            detail: format!("listed with {} bytes, copied {} bytes", entry.size, copied.size),
        });
    }
    Ok((copied, path))
}

/// [`copy_object`] with retries and backoff on transient errors.
pub async fn copy_with_retries(
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    entry: &ObjectEntry,
    replace: Option<&ObjectEntry>,
    attempts: u32,
) -> Result<CopyPath> {
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match copy_object(source, target, entry, &entry.key, replace).await {
            Ok((_, path)) => return Ok(path),
            Err(e) if e.is_transient() && attempt < attempts => {
                // Recorded in the log file only: a retry that succeeds is no news on the terminal.
                tracing::warn!(target: RECORD, "retrying {} after: {e}", entry.key);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Tracing target of per-object records (the binaries send them to the log file only).
pub const RECORD: &str = "migrate::record";

enum Outcome {
    Copied(String, u64, CopyPath, bool),
    Skipped(String, u64),
    Conflict(Problem),
    Failed(Problem),
    Extra,
}

/// Lists both sides again and copies every source object that is missing from the target (and,
/// with `overwrite_changed`, every one that differs). Failures are collected per object; the
/// report says whether the copy is complete.
pub async fn copy(
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    options: CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    let jobs = options.jobs.max(1);
    progress.begin("copying", options.expected.map(|t| t.objects), options.expected.map(|t| t.bytes));
    let outcomes = compared_pairs(source, target, jobs)
        .map_ok(|(pair, comparison)| async move {
            let action = decide(&pair, comparison.as_ref(), options.overwrite_changed);
            let outcome = match (action, pair) {
                (Action::Copy, Pair::SourceOnly(s)) => {
                    match copy_with_retries(source, target, &s, None, options.attempts).await {
                        Ok(path) => Outcome::Copied(s.key, s.size, path, false),
                        Err(e) => Outcome::Failed(Problem { key: s.key, reason: e.to_string() }),
                    }
                }
                (Action::Overwrite(_), Pair::Both(s, t)) => {
                    match copy_with_retries(source, target, &s, Some(&t), options.attempts).await {
                        Ok(path) => Outcome::Copied(s.key, s.size, path, true),
                        Err(e) => Outcome::Failed(Problem { key: s.key, reason: e.to_string() }),
                    }
                }
                (Action::Skip, Pair::Both(s, _)) => Outcome::Skipped(s.key, s.size),
                (Action::Conflict(reason), Pair::Both(s, _)) => {
                    Outcome::Conflict(Problem { key: s.key, reason })
                }
                _ => Outcome::Extra,
            };
            Ok::<_, ObjectsError>(outcome)
        })
        .try_buffer_unordered(jobs);
    let mut outcomes = std::pin::pin!(outcomes);
    let mut report = CopyReport::default();
    while let Some(outcome) = outcomes.try_next().await? {
        match outcome {
            Outcome::Copied(key, size, path, overwritten) => {
                let how = if path == CopyPath::ServerSide { "server-side" } else { "streamed" };
                let what = if overwritten { "overwrote" } else { "copied" };
                tracing::info!(target: RECORD, "{what} {key} ({size} bytes, {how})");
                if overwritten {
                    report.overwritten.add(size)
                } else {
                    report.copied.add(size)
                }
                match path {
                    CopyPath::ServerSide => report.server_side += 1,
                    CopyPath::Streamed => report.streamed += 1,
                }
                progress.advance(1, size);
            }
            Outcome::Skipped(key, size) => {
                tracing::info!(target: RECORD, "skipped {key}: identical in the target");
                report.skipped_identical.add(size);
                progress.advance(1, size);
            }
            Outcome::Conflict(p) => {
                tracing::warn!("conflict, not overwritten: {} ({})", p.key, p.reason);
                report.conflicts.push(p);
            }
            Outcome::Failed(p) => {
                tracing::error!("copy failed: {} ({})", p.key, p.reason);
                report.failed.push(p);
            }
            Outcome::Extra => report.extra_in_target += 1,
        }
    }
    progress.end();
    Ok(report)
}
