//! Guarded deletion: a fresh verification, critical-file and reference checks, a manifest
//! written before anything goes, and deletion of exactly the manifest's objects, each only if
//! it is unchanged since it was listed.

use crate::backend::{DeleteOutcome, ObjectBackend};
use crate::error::{ObjectsError, Result};
use crate::layout::{CriticalKind, LayoutAnalyzer, LayoutReport};
use crate::manifest::{Manifest, ManifestWriter};
use crate::references::{Reference, ReferenceKind};
use crate::report::{Capped, Problem, Progress, Tally};
use crate::verify::{VerifyReport, verify};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::path::Path;

/// Everything checked before a deletion, and the verdict.
#[derive(Debug, Serialize)]
pub struct DeletionCheck {
    /// The fresh verification of source against target.
    pub verify: VerifyReport,
    /// The source's layout (critical files, partitions).
    pub source_layout: LayoutReport,
    /// Code lines still referring to the source (when a code folder was given).
    pub references: Option<Vec<Reference>>,
    /// Why deletion is refused; empty when it may go ahead.
    pub refusals: Vec<String>,
    /// What an operator should know but does not block deletion.
    pub warnings: Vec<String>,
    #[serde(skip)]
    manifest: Option<ManifestWriter>,
}

impl DeletionCheck {
    /// Whether deletion may go ahead.
    pub fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }

    /// Completes the manifest (only when allowed) and returns it; refused checks discard it.
    pub fn finish_manifest(&mut self, target: &str, tool: &str) -> Result<Option<Manifest>> {
        let Some(writer) = self.manifest.take() else { return Ok(None) };
        if !self.allowed() {
            writer.discard();
            return Ok(None);
        }
        let (path, _) = writer.finish(target, tool)?;
        Manifest::open(&path).map(Some)
    }

    /// Drops a manifest that will not be used (the operator did not confirm).
    pub fn discard_manifest(&mut self) {
        if let Some(w) = self.manifest.take() {
            w.discard();
        }
    }
}

/// Runs every check that must pass before `source` may be deleted. With `manifest_path`, the
/// verified source listing is written there as it is read (completed only if all checks pass).
pub async fn check_deletion(
    source: &dyn ObjectBackend,
    target: &dyn ObjectBackend,
    critical: &CriticalKind,
    references: Option<Vec<Reference>>,
    manifest_path: Option<&Path>,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<DeletionCheck> {
    let mut writer = manifest_path.map(|p| ManifestWriter::create(p, &source.url())).transpose()?;
    let mut layout = LayoutAnalyzer::new(critical.clone());
    let verified = {
        let mut each = |entry: &crate::ObjectEntry| -> Result<()> {
            layout.add(entry);
            match writer.as_mut() {
                Some(w) => w.add(entry),
                None => Ok(()),
            }
        };
        verify(source, target, jobs, progress, &mut each).await
    };
    let verify = match verified {
        Ok(v) => v,
        Err(e) => {
            if let Some(w) = writer {
                w.discard();
            }
            return Err(e);
        }
    };
    let source_layout = layout.finish();
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();
    if verify.source.objects == 0 {
        refusals.push(format!(
            "the source listing of {} is empty: nothing verified, nothing to delete",
            source.url()
        ));
    }
    if !verify.missing.is_empty() {
        refusals.push(format!("{} source objects are missing from {}", verify.missing.total, target.url()));
    }
    if !verify.different.is_empty() {
        refusals.push(format!(
            "{} source objects differ from their copies in {}",
            verify.different.total,
            target.url()
        ));
    }
    if *critical != CriticalKind::None && verify.source.objects > 0 && source_layout.critical_objects == 0 {
        refusals.push(format!(
            "no {} files in the source: this does not look like the expected data, check the location",
            critical.describe()
        ));
    }
    if !source_layout.partitions_lacking_critical.is_empty() {
        warnings.push(format!(
            "{} date partitions have no {} file (first: {})",
            source_layout.partitions_lacking_critical.len(),
            critical.describe(),
            source_layout.partitions_lacking_critical[0]
        ));
    }
    for series in &source_layout.series {
        if !series.missing_dates.is_empty() {
            warnings.push(format!(
                "{}: {} dates missing between {} and {}",
                series.series,
                series.missing_dates.len(),
                series.first,
                series.last
            ));
        }
    }
    if let Some(refs) = &references {
        let sure = refs.iter().filter(|r| r.kind == ReferenceKind::Reference).count();
        if sure > 0 {
            refusals.push(format!("{sure} code lines still refer to {} (update them first)", source.url()));
        }
        let possible = refs.len() - sure;
        if possible > 0 {
            warnings.push(format!(
                "{possible} code lines may refer to {} (half of the location only): review them",
                source.url()
            ));
        }
    }
    Ok(DeletionCheck { verify, source_layout, references, refusals, warnings, manifest: writer })
}

/// What a deletion did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeletionReport {
    /// Objects deleted.
    pub deleted: Tally,
    /// Manifest objects already gone.
    pub already_gone: u64,
    /// Manifest objects kept because they changed after the manifest was written.
    pub kept_changed: Capped<String>,
    /// Objects whose deletion failed.
    pub failed: Capped<Problem>,
    /// Objects still in the source afterwards (written after the manifest, or kept).
    pub remaining_in_source: Capped<String>,
}

/// Deletes exactly the manifest's objects from `source`, each only if it still has the listed
/// version (and size), `jobs` at a time; then lists the source to report what remains.
pub async fn delete_from_manifest(
    source: &dyn ObjectBackend,
    manifest: &Manifest,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<DeletionReport> {
    if manifest.summary.source != source.url() {
        return Err(ObjectsError::Manifest {
            path: manifest.path().display().to_string(),
            line: manifest.summary.objects as usize + 1,
            detail: format!("it lists objects of {}, not of {}", manifest.summary.source, source.url()),
        });
    }
    progress.begin("deleting", Some(manifest.summary.objects), Some(manifest.summary.bytes));
    let mut report = DeletionReport::default();
    let entries = futures::stream::iter(manifest.objects()?);
    let mut outcomes = std::pin::pin!(
        entries
            .map_ok(|entry| async move {
                let outcome = source.delete_if_unchanged(&entry).await;
                Ok::<_, ObjectsError>((entry, outcome))
            })
            .try_buffer_unordered(jobs.max(1))
    );
    while let Some((entry, outcome)) = outcomes.try_next().await? {
        match outcome {
            Ok(DeleteOutcome::Deleted) => {
                tracing::info!(target: crate::copy::RECORD, "deleted {}{} (generation {})", source.url(), entry.key, entry.version.as_deref().unwrap_or("-"));
                report.deleted.add(entry.size);
                progress.advance(1, entry.size);
            }
            Ok(DeleteOutcome::AlreadyGone) => report.already_gone += 1,
            Ok(DeleteOutcome::KeptChanged) => {
                tracing::warn!("kept {}: changed since the manifest was written", entry.key);
                report.kept_changed.push(entry.key);
            }
            Err(e) => {
                tracing::error!("delete failed: {} ({e})", entry.key);
                report.failed.push(Problem { key: entry.key, reason: e.to_string() });
            }
        }
    }
    progress.end();
    let mut remaining = std::pin::pin!(source.list());
    while let Some(entry) = remaining.next().await {
        report.remaining_in_source.push(entry?.key);
    }
    Ok(report)
}
