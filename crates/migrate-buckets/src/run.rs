//! The runs behind the binaries: migrate (analyse, plan, copy, verify), delete-old (checks,
//! manifest, confirmation, deletion) and restore.

use crate::error::{BucketsError, Result};
use crate::interrupted;
use crate::locations::Locations;
use crate::preset::Preset;
use crate::render;
use migrate_cli::format::{bytes, count};
use migrate_cli::{Ask, Confirmation, exit};
use migrate_objects::{
    CopyOptions, ObjectBackend, ObjectsError, Progress, Reference, ReferenceKind, ReferencePattern,
    SCAN_LIMITS, check_deletion, copy, delete_from_manifest, restore, scan_references, survey, verify_copy,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use tracing::{info, warn};

pub use migrate_cli::Outcome;

/// A migrate run.
#[derive(Debug, Clone)]
pub struct MigrateRun {
    /// Which documented migration.
    pub preset: Preset,
    /// Environment name, when given.
    pub env: Option<String>,
    /// Source location URL.
    pub source: String,
    /// Target location URL.
    pub target: String,
    /// Copy (otherwise a dry run).
    pub execute: bool,
    /// Replace differing target objects.
    pub overwrite_changed: bool,
    /// Objects at once.
    pub jobs: usize,
    /// A code tree to scan for references to the source.
    pub check_references: Option<PathBuf>,
    /// The run's own folders (log, manifests): never scanned, they name the source by design.
    pub own_dirs: Vec<PathBuf>,
}

/// A code tree to scan, the option that named it, and the run's own folders to leave out.
struct CodeScan<'a> {
    dir: &'a Path,
    option: &'a str,
    own_dirs: &'a [PathBuf],
}

impl CodeScan<'_> {
    /// Lists every line that refers, or may refer, to `url`.
    fn run(&self, url: &str, env: Option<&str>) -> Result<Vec<Reference>> {
        if !self.dir.is_dir() {
            return Err(BucketsError::Usage(format!(
                "{} {}: no such folder (give the folder of the code that uses the bucket)",
                self.option,
                self.dir.display()
            )));
        }
        let found = scan_references(self.dir, &[ReferencePattern::new(url, env)], self.own_dirs)?;
        let possible = found.iter().filter(|r| r.kind == ReferenceKind::Possible).count();
        let possible_note =
            if possible > 0 { format!(", {} possible", count(possible as u64)) } else { String::new() };
        info!(
            "Scanned {} for references to {url}: {} found{possible_note}",
            self.dir.display(),
            count((found.len() - possible) as u64)
        );
        for r in &found {
            match r.kind {
                ReferenceKind::Reference => {
                    warn!("Update reference: {}:{}: {}", r.file.display(), r.line, r.text)
                }
                ReferenceKind::Possible => {
                    warn!("Possible reference (review): {}:{}: {}", r.file.display(), r.line, r.text)
                }
            }
        }
        info!("{SCAN_LIMITS}");
        Ok(found)
    }
}

/// Analyse, plan and (with `execute`) copy and verify.
pub async fn run_migrate(
    locations: &Locations,
    run: &MigrateRun,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let source = locations.open(&run.source)?;
    let target = locations.open(&run.target)?;
    let critical = run.preset.critical();
    info!("Migration {} → {}", source.url(), target.url());
    info!(
        "Mode: {}",
        if run.execute { "EXECUTE" } else { "DRY-RUN (nothing is written; --execute to copy)" }
    );
    let references = match &run.check_references {
        Some(dir) => {
            let scan = CodeScan { dir, option: "--check-references", own_dirs: &run.own_dirs };
            Some(scan.run(&run.source, run.env.as_deref())?)
        }
        None => None,
    };
    let s = survey(source.as_ref(), target.as_ref(), &critical, run.overwrite_changed, run.jobs, progress)
        .await?;
    let checked = critical != migrate_objects::CriticalKind::None;
    render::log_layout("Source", &s.source_url, &s.source, run.preset.critical_label(), checked);
    render::log_layout("Target", &s.target_url, &s.target, run.preset.critical_label(), checked);
    render::log_plan(&s.plan);
    let mut summary = json!({ "source": s.source_url, "target": s.target_url, "execute": run.execute,
        "analysis": { "source": s.source, "target": s.target }, "plan": s.plan, "references": references });
    if s.source.objects == 0 {
        warn!("The source {} is empty: nothing to migrate (check the URL and permissions)", s.source_url);
        return Ok(Outcome {
            exit: exit::FAILED,
            json: summary,
            text: format!("Source {} is empty: nothing to migrate.", s.source_url),
        });
    }
    let conflicts = !s.plan.conflicts.is_empty();
    if !run.execute {
        for key in s.plan.to_copy_keys.items.iter().take(20) {
            info!("[DRY-RUN] Would copy {}{key} → {}{key}", s.source_url, s.target_url);
        }
        if s.plan.to_copy_keys.total > 20 {
            info!(
                "[DRY-RUN] … and {} more (the log file lists every one)",
                count(s.plan.to_copy_keys.total - 20)
            );
        }
        let mut text = format!(
            "[DRY-RUN] Would copy {} new and overwrite {}; {} identical; {} conflicts; {} only in target.\nRun again with --execute to copy.",
            render::tally(&s.plan.to_copy),
            count(s.plan.to_overwrite.objects),
            count(s.plan.identical.objects),
            count(s.plan.conflicts.total),
            count(s.plan.extra_in_target.total),
        );
        if conflicts {
            text.push_str("\nConflicts: objects differ in the target; --overwrite-changed replaces them.");
        }
        return Ok(Outcome { exit: if conflicts { exit::DIFFERENT } else { exit::OK }, json: summary, text });
    }
    if conflicts {
        let text = format!(
            "{} objects differ in the target; nothing was copied. Resolve them, or run again with --overwrite-changed to replace them.",
            count(s.plan.conflicts.total)
        );
        warn!("{text}");
        return Ok(Outcome { exit: exit::DIFFERENT, json: summary, text });
    }
    let expected = Some(migrate_objects::Tally { objects: s.source.objects, bytes: s.source.bytes });
    let options = CopyOptions {
        jobs: run.jobs,
        overwrite_changed: run.overwrite_changed,
        expected,
        ..Default::default()
    };
    // Objects written into the source after this are new since the plan, not copy failures.
    let copy_started = chrono::Utc::now();
    let clock = std::time::Instant::now();
    let copied = copy(source.as_ref(), target.as_ref(), options, progress).await?;
    let took = clock.elapsed();
    render::log_copy(&copied);
    let verified =
        verify_copy(source.as_ref(), target.as_ref(), run.jobs, progress, copy_started, expected).await?;
    let table = render::verify_table(&verified);
    summary["copy"] = json!(copied);
    summary["verify"] = json!(verified);
    let code = if !copied.failed.is_empty() {
        exit::FAILED
    } else if !verified.passed() || !copied.conflicts.is_empty() {
        exit::DIFFERENT
    } else {
        exit::OK
    };
    let text = format!(
        "Copied {} in {} ({}, {}).\n{table}",
        render::tally(&copied.copied),
        migrate_cli::format::duration(took),
        migrate_cli::format::rate(copied.copied.objects, took, "objects"),
        migrate_cli::format::byte_rate(copied.copied.bytes, took)
    );
    Ok(Outcome { exit: code, json: summary, text })
}

/// A delete-old run.
#[derive(Debug, Clone)]
pub struct DeleteRun {
    /// Which documented migration.
    pub preset: Preset,
    /// Environment name, when given.
    pub env: Option<String>,
    /// The location to delete.
    pub source: String,
    /// Where its verified copy is.
    pub target: String,
    /// Delete (otherwise a dry run).
    pub confirm_delete: bool,
    /// How deletion is confirmed (the source URL is the text to type).
    pub confirmation: Confirmation,
    /// A code tree that must no longer refer to the source.
    pub code_dir: Option<PathBuf>,
    /// Objects at once.
    pub jobs: usize,
    /// Where the manifest is written locally.
    pub manifest_dir: PathBuf,
    /// The run's own folders (log, manifests): never scanned, they name the source by design.
    pub own_dirs: Vec<PathBuf>,
    /// File stem of this run (`delete_old_qpi_exports_prod_20261121_101500`).
    pub run_stem: String,
}

/// Checks, and with confirmation writes the manifest and deletes.
pub async fn run_delete(locations: &Locations, run: &DeleteRun, progress: &dyn Progress) -> Result<Outcome> {
    let source = locations.open(&run.source)?;
    let target = locations.open(&run.target)?;
    info!("Deletion of {} (verified copy: {})", source.url(), target.url());
    info!(
        "Mode: {}",
        if run.confirm_delete {
            "DELETE (after checks and confirmation)"
        } else {
            "DRY-RUN (nothing is deleted; --confirm-delete to delete)"
        }
    );
    let earlier = interrupted::find(&run.manifest_dir, &source.url());
    for (path, m) in &earlier {
        warn!(
            "An earlier deletion of {} did not complete: {} lists the {} it held then; restore them all with: {} restore --manifest {} --execute",
            source.url(),
            path.display(),
            migrate_cli::format::counted(m.summary.objects, "object", "objects"),
            run.preset.delete_binary(),
            path.display()
        );
    }
    let references = match &run.code_dir {
        Some(dir) => {
            let scan = CodeScan { dir, option: "--code-dir", own_dirs: &run.own_dirs };
            Some(scan.run(&run.source, run.env.as_deref())?)
        }
        None => None,
    };
    let manifest_path = run.manifest_dir.join(format!("{}_manifest.jsonl", run.run_stem));
    let mut check = match check_deletion(
        source.as_ref(),
        target.as_ref(),
        &run.preset.critical(),
        references,
        run.confirm_delete.then_some(manifest_path.as_path()),
        run.jobs,
        progress,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => {
            warn!("REFUSED: the checks could not complete, nothing is deleted: {e}");
            return Err(e.into());
        }
    };
    let table = render::verify_table(&check.verify);
    render::log_deletion_check(&check);
    let mut summary = json!({ "source": source.url(), "target": target.url(), "checks": &check });
    let objects = check.verify.source;
    if !check.allowed() {
        check.discard_manifest();
        let text = format!("{table}\nDeletion REFUSED: {}\nNothing was deleted.", check.refusals.join("; "));
        return Ok(Outcome { exit: exit::REFUSED, json: summary, text });
    }
    let what = format!("{} from {}", render::tally(&objects), source.url());
    if !run.confirm_delete {
        info!("[DRY-RUN] Would delete {what}");
        let possible =
            check.references.iter().flatten().filter(|r| r.kind == ReferenceKind::Possible).count();
        let passed = match possible {
            0 => "All checks passed.".to_string(),
            n => format!(
                "All checks passed, but {} may still refer to the source: review them (listed above) before deleting.",
                migrate_cli::format::counted(n as u64, "code line", "code lines")
            ),
        };
        let text = format!(
            "{table}\n[DRY-RUN] Would delete {what}.\n{passed} Run again with --confirm-delete to delete."
        );
        return Ok(Outcome { exit: exit::OK, json: summary, text });
    }
    let summary_text = format!("{table}\nAbout to delete {what}.");
    let question = format!("Really delete every object listed in the manifest from {}?", source.url());
    let ask = Ask {
        expected: &source.url(),
        what: "the source URL",
        summary: &summary_text,
        question: &question,
        flag: "--confirm-text",
    };
    if let Err(why) = run.confirmation.check(&ask) {
        check.discard_manifest();
        warn!("REFUSED: {why}");
        summary["refused"] = json!(why);
        return Ok(Outcome {
            exit: exit::REFUSED,
            json: summary,
            text: format!("Deletion REFUSED: {why}. Nothing was deleted."),
        });
    }
    let manifest = check
        .finish_manifest(&target.url(), &run.run_stem)?
        .ok_or_else(|| BucketsError::Usage("the manifest was not written".into()))?;
    info!("Manifest written: {} ({} objects)", manifest.path().display(), count(manifest.summary.objects));
    let remote = upload_manifest(target.as_ref(), manifest.path()).await?;
    info!("Manifest saved to {remote}");
    let continues: Vec<PathBuf> = earlier.iter().map(|(p, _)| p.clone()).collect();
    interrupted::mark_started(manifest.path(), &continues)?;
    let deleted = delete_from_manifest(source.as_ref(), &manifest, run.jobs, progress).await?;
    let table = render::deletion_table(&deleted);
    summary["manifest"] = json!({ "local": manifest.path(), "remote": remote });
    summary["deletion"] = json!(deleted);
    let report_path = interrupted::mark_completed(manifest.path(), &continues, summary.clone())?;
    info!("Deletion summary written: {}", report_path.display());
    let code = if deleted.failed.is_empty() { exit::OK } else { exit::FAILED };
    let bin = run.preset.delete_binary();
    let restore_all = match earlier.first() {
        Some((first, m)) => format!(
            "\nThis run finished the deletion begun with {}: restore all {} with:\n  {bin} restore --manifest {} --execute",
            first.display(),
            migrate_cli::format::counted(m.summary.objects, "object", "objects"),
            first.display()
        ),
        None => String::new(),
    };
    let text = format!(
        "{table}\nManifest: {}\nRestore with: {bin} restore --manifest {} --execute{restore_all}",
        manifest.path().display(),
        manifest.path().display()
    );
    Ok(Outcome { exit: code, json: summary, text })
}

/// Reads a manifest kept in a bucket (`gs://bucket/_migration_manifests/x_manifest.jsonl`)
/// into a local temporary file and opens it.
async fn fetch_manifest(locations: &Locations, url: &str) -> Result<migrate_objects::Manifest> {
    use futures::TryStreamExt;
    let (folder, name) = url.rsplit_once('/').filter(|(_, name)| !name.is_empty()).ok_or_else(|| {
        BucketsError::Usage(format!("--manifest {url}: give the manifest object's full URL"))
    })?;
    let (_, stream) = locations.open(&format!("{folder}/"))?.get(name).await?;
    let data: Vec<bytes::Bytes> = stream.try_collect().await?;
    let local = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
    std::fs::write(&local, data.concat()).map_err(|e| BucketsError::Io {
        what: "cannot write".into(),
        path: local.display().to_string(),
        source: e,
    })?;
    info!("Manifest read from {url}");
    let manifest = migrate_objects::Manifest::open(&local);
    manifest.map_err(Into::into)
}

/// Copies the manifest into the target bucket under `_migration_manifests/`; returns its URL.
async fn upload_manifest(target: &dyn ObjectBackend, path: &Path) -> Result<String> {
    let folder = target.sibling("_migration_manifests")?;
    let name =
        path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "manifest.jsonl".into());
    let data = std::fs::read(path).map_err(|e| BucketsError::Io {
        what: "cannot read".into(),
        path: path.display().to_string(),
        source: e,
    })?;
    let attrs = migrate_objects::ObjectAttrs {
        content_type: Some("application/x-ndjson".into()),
        ..Default::default()
    };
    let stream = futures::stream::iter([Ok::<_, ObjectsError>(bytes::Bytes::from(data))]);
    folder.put(&name, &attrs, Box::pin(stream), false).await?;
    Ok(format!("{}{name}", folder.url()))
}

/// Restores a manifest's objects (dry run unless `execute`).
pub async fn run_restore(
    locations: &Locations,
    manifest: &str,
    execute: bool,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<Outcome> {
    let manifest = match manifest.split_once("://") {
        Some(_) => fetch_manifest(locations, manifest).await?,
        None => migrate_objects::Manifest::open(Path::new(manifest))?,
    };
    let source = locations.open(&manifest.summary.source)?;
    let target = locations.open(&manifest.summary.target)?;
    info!(
        "Restore of {} objects ({}) from {} back into {}",
        count(manifest.summary.objects),
        bytes(manifest.summary.bytes),
        target.url(),
        source.url()
    );
    let report = restore(&manifest, source.as_ref(), target.as_ref(), execute, jobs, progress).await?;
    let text = render::restore_summary(&report, execute);
    info!("{text}");
    let code = if report.complete() {
        exit::OK
    } else if report.failed.is_empty() {
        exit::DIFFERENT
    } else {
        exit::FAILED
    };
    Ok(Outcome {
        exit: code,
        json: json!({ "manifest": manifest.summary, "execute": execute, "restore": report }),
        text,
    })
}
