//! Deletions that did not complete. Each confirmed deletion leaves, beside its manifest, a
//! record (`<manifest stem>.deletion.json`) that says `started` when the first object is about
//! to go and `completed` with the full report at the end. A manifest of this source whose record
//! is missing or still says `started` belongs to a deletion that was cut off (Ctrl-C, a lost
//! machine): its manifest is the complete list of what existed then, while a later run's
//! manifest lists only what that run still found.

use crate::error::{BucketsError, Result};
use migrate_objects::Manifest;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The record of the deletion that follows `manifest`.
pub fn record_path(manifest: &Path) -> PathBuf {
    manifest.with_extension("deletion.json")
}

/// Marks the deletion of `manifest` as started; `continues` are the cut-off deletions it finishes.
pub fn mark_started(manifest: &Path, continues: &[PathBuf]) -> Result<()> {
    write(
        &record_path(manifest),
        &json!({ "status": "started", "manifest": manifest, "continues": continues }),
    )
}

/// Writes the completed deletion's record: `report` with `status: completed`.
pub fn mark_completed(manifest: &Path, continues: &[PathBuf], mut report: Value) -> Result<PathBuf> {
    report["status"] = json!("completed");
    report["continues"] = json!(continues);
    let path = record_path(manifest);
    write(&path, &report)?;
    Ok(path)
}

fn write(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).unwrap_or_default();
    std::fs::write(path, text).map_err(|e| BucketsError::Io {
        what: "cannot write".into(),
        path: path.display().to_string(),
        source: e,
    })
}

fn read(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// The manifests in `dir` of deletions of `source` that did not complete, oldest first (the
/// first lists every object the source held when deletion began). Manifests that a later,
/// completed deletion finished are not listed; unreadable files are passed over.
pub fn find(dir: &Path, source: &str) -> Vec<(PathBuf, Manifest)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut manifests: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("_manifest.jsonl"))
        .collect();
    manifests.sort();
    let records: Vec<(PathBuf, Option<Value>)> =
        manifests.iter().map(|m| (m.clone(), read(&record_path(m)))).collect();
    let finished_later: Vec<PathBuf> = records
        .iter()
        .filter_map(|(_, r)| r.as_ref())
        .filter(|r| r["status"] == "completed")
        .flat_map(|r| r["continues"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(PathBuf::from))
        .collect();
    records
        .into_iter()
        .filter(|(m, r)| r.as_ref().is_none_or(|r| r["status"] != "completed") && !finished_later.contains(m))
        .filter_map(|(m, _)| Manifest::open(&m).ok().map(|manifest| (m, manifest)))
        .filter(|(_, manifest)| manifest.summary.source == source)
        .collect()
}
