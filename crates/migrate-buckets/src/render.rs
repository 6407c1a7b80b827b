//! Human-readable reports: log lines for every finding, and summary tables.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use migrate_cli::format::{bytes, count};
use migrate_objects::{
    CopyReport, DeletionCheck, DeletionReport, LayoutReport, PlanSummary, RestoreReport, Tally, VerifyReport,
};
use tracing::{info, warn};

/// `3,021 objects, 12.30 MiB`.
pub fn tally(t: &Tally) -> String {
    format!("{}, {}", migrate_cli::format::counted(t.objects, "object", "objects"), bytes(t.bytes))
}

/// Logs what a location holds.
pub fn log_layout(side: &str, url: &str, r: &LayoutReport, critical_label: &str, critical_checked: bool) {
    info!("{side} {url}: {} objects, {}", count(r.objects), bytes(r.bytes));
    if r.objects == 0 {
        return;
    }
    let kinds: Vec<String> =
        r.kinds.iter().map(|(k, c)| format!("{k} {} ({})", count(c.objects), bytes(c.bytes))).collect();
    info!("{side} file kinds: {}", kinds.join(", "));
    if r.series.is_empty() {
        info!("{side} date partitions: none found in the folder names");
    }
    for s in &r.series {
        info!("{side} date partitions {}: {} from {} to {}", s.series, s.partitions, s.first, s.last);
        if !s.missing_dates.is_empty() {
            let shown: Vec<String> = s.missing_dates.iter().take(10).map(|d| d.to_string()).collect();
            let more = if s.missing_dates.len() > 10 {
                format!(" and {} more", s.missing_dates.len() - 10)
            } else {
                String::new()
            };
            warn!("{side} {}: {} dates missing: {}{more}", s.series, s.missing_dates.len(), shown.join(", "));
        }
    }
    if r.unpartitioned_objects > 0 && !r.series.is_empty() {
        info!("{side} objects outside date partitions: {}", count(r.unpartitioned_objects));
    }
    if !r.empty_partitions.is_empty() {
        warn!("{side} empty partitions ({}): {}", r.empty_partitions.len(), first_few(&r.empty_partitions));
    }
    if critical_checked {
        info!("{side} {critical_label}: {}", count(r.critical_objects));
        if !r.partitions_lacking_critical.is_empty() {
            warn!(
                "{side} CRITICAL: {} partitions without {critical_label}: {}",
                r.partitions_lacking_critical.len(),
                first_few(&r.partitions_lacking_critical)
            );
        }
    }
    let largest: Vec<String> =
        r.largest.iter().take(3).map(|(k, s)| format!("{k} ({})", bytes(*s))).collect();
    info!("{side} largest objects: {}", largest.join(", "));
}

fn first_few(items: &[String]) -> String {
    let shown = items.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 5 { format!("{shown}, … ({} more)", items.len() - 5) } else { shown }
}

/// Logs the plan.
pub fn log_plan(p: &PlanSummary) {
    info!(
        "Plan: copy {} new ({}), skip {} identical, overwrite {}, {} conflicts, {} only in target (kept)",
        count(p.to_copy.objects),
        bytes(p.to_copy.bytes),
        count(p.identical.objects),
        count(p.to_overwrite.objects),
        count(p.conflicts.total),
        count(p.extra_in_target.total),
    );
    for c in &p.conflicts.items {
        warn!(
            "Conflict: {} differs in the target ({}); not overwritten without --overwrite-changed",
            c.key, c.reason
        );
    }
}

/// Logs what a copy did.
pub fn log_copy(c: &CopyReport) {
    info!(
        "Copied {} ({} server-side, {} streamed); overwrote {}; skipped {} identical",
        tally(&c.copied),
        count(c.server_side),
        count(c.streamed),
        count(c.overwritten.objects),
        count(c.skipped_identical.objects)
    );
    for f in &c.failed.items {
        warn!("Not copied: {} ({})", f.key, f.reason);
    }
}

/// Logs a verification and returns the summary table.
pub fn verify_table(v: &VerifyReport) -> String {
    info!(
        "Verified {} source objects: {} equal (crc32c {}, md5 {}, streamed hash {}), {} missing, {} different, {} only in target",
        count(v.source.objects),
        count(v.matched),
        count(v.by_crc32c),
        count(v.by_md5),
        count(v.by_streamed_hash),
        count(v.missing.total),
        count(v.different.total),
        count(v.extra_in_target),
    );
    for k in &v.missing.items {
        warn!("Missing in target: {k}");
    }
    for d in &v.different.items {
        warn!("Different in target: {} ({})", d.key, d.reason);
    }
    for k in &v.new_since_copy.items {
        warn!("New in the source since the copy began (re-run to copy): {k}");
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["Check", "Result"]);
    t.add_row(vec!["Source objects".to_string(), tally(&v.source)]);
    t.add_row(vec!["Equal in target".to_string(), count(v.matched)]);
    t.add_row(vec!["Missing in target".to_string(), count(v.missing.total)]);
    t.add_row(vec!["Different in target".to_string(), count(v.different.total)]);
    t.add_row(vec!["Only in target (kept)".to_string(), count(v.extra_in_target)]);
    let new = v.new_since_copy.total;
    if new > 0 {
        t.add_row(vec!["New in source since the copy".to_string(), count(new)]);
    }
    let verdict = match (v.passed(), new) {
        (true, 0) => "✓ PASSED".to_string(),
        (true, n) => format!(
            "✓ PASSED for what the copy saw; {} new since the plan: re-run to copy",
            migrate_cli::format::counted(n, "object is", "objects are")
        ),
        (false, _) => "✗ FAILED".to_string(),
    };
    format!("{t}\nVerification: {verdict}")
}

/// Logs the deletion checks.
pub fn log_deletion_check(c: &DeletionCheck) {
    for w in &c.warnings {
        warn!("{w}");
    }
    for r in &c.refusals {
        warn!("REFUSED: {r}");
    }
}

/// Logs a deletion's outcome and returns its summary table.
pub fn deletion_table(d: &DeletionReport) -> String {
    info!("Deleted {}", tally(&d.deleted));
    for k in &d.kept_changed.items {
        warn!("Kept (changed after the manifest): {k}");
    }
    for f in &d.failed.items {
        warn!("Delete failed: {} ({})", f.key, f.reason);
    }
    for k in d.remaining_in_source.items.iter().take(20) {
        warn!("Still in source (not in the manifest or kept): {k}");
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["Deletion", "Objects"]);
    t.add_row(vec!["Deleted".to_string(), tally(&d.deleted)]);
    t.add_row(vec!["Already gone".to_string(), count(d.already_gone)]);
    t.add_row(vec!["Kept (changed since manifest)".to_string(), count(d.kept_changed.total)]);
    t.add_row(vec!["Failed".to_string(), count(d.failed.total)]);
    t.add_row(vec!["Remaining in source".to_string(), count(d.remaining_in_source.total)]);
    t.to_string()
}

/// Logs a restore and returns its summary line.
pub fn restore_summary(r: &RestoreReport, execute: bool) -> String {
    for c in &r.conflicts.items {
        warn!("Not restored: {}: {}", c.key, c.reason);
    }
    for k in &r.missing_in_target.items {
        warn!("Not restored, gone from the target too: {k}");
    }
    for f in &r.failed.items {
        warn!("Restore failed: {} ({})", f.key, f.reason);
    }
    let verb = if execute { "Restored" } else { "[DRY-RUN] Would restore" };
    format!(
        "{verb} {}; already present {}; conflicts {}; missing in target {}; failed {}",
        tally(&r.restored),
        count(r.already_present.objects),
        count(r.conflicts.total),
        count(r.missing_in_target.total),
        count(r.failed.total)
    )
}
