//! The verdict (the core's row counts and content fingerprints per table) as operators read
//! it: the summary table in the rehearsal guide's layout, log lines and `--json`.

use migrate_cli::format::count as thousands;
pub use migrate_core::verdict::{Side, Status, TableCheck, VerifyReport};

/// The word `--json` uses for a status: `match`, `row_count_mismatch`, `content_mismatch`,
/// `missing`.
pub fn word(status: Status) -> &'static str {
    match status {
        Status::Match => "match",
        Status::CountMismatch => "row_count_mismatch",
        Status::ContentMismatch => "content_mismatch",
        Status::MissingInTarget => "missing",
    }
}

/// How a verification report is shown.
pub trait Presented {
    /// The report for `--json`: per table the row counts, fingerprints and verdict.
    fn to_json(&self) -> serde_json::Value;
    /// The per-table log lines (`✓ bars_1s: 1,234,567 rows (match)`).
    fn log_lines(&self) -> Vec<String>;
    /// The summary table in the guide's layout.
    fn render(&self) -> String;
}

impl Presented for VerifyReport {
    fn to_json(&self) -> serde_json::Value {
        let tables: Vec<serde_json::Value> = self
            .tables
            .iter()
            .map(|t| {
                serde_json::json!({
                    "table": t.table,
                    "status": word(t.status()),
                    "source_rows": t.source.rows,
                    "target_rows": t.target.map(|s| s.rows),
                    "source_fingerprint": t.source.fingerprint.to_string(),
                    "target_fingerprint": t.target.map(|s| s.fingerprint.to_string()),
                })
            })
            .collect();
        serde_json::json!({ "verification": { "passed": self.passed(), "tables": tables } })
    }

    fn log_lines(&self) -> Vec<String> {
        self.tables
            .iter()
            .map(|t| match (t.status(), &t.target) {
                (Status::Match, _) => format!("  ✓ {}: {} rows (match)", t.table, thousands(t.source.rows)),
                (Status::CountMismatch, Some(target)) => format!(
                    "  ✗ {}: source {} rows, target {} rows (count mismatch)",
                    t.table,
                    thousands(t.source.rows),
                    thousands(target.rows)
                ),
                (Status::ContentMismatch, Some(target)) => format!(
                    "  ✗ {}: {} rows on both sides but the content differs (fingerprint {} vs {})",
                    t.table,
                    thousands(t.source.rows),
                    t.source.fingerprint,
                    target.fingerprint
                ),
                _ => format!("  ✗ {}: missing in the target", t.table),
            })
            .collect()
    }

    fn render(&self) -> String {
        let rule_heavy = "=".repeat(60);
        let rule_light = "-".repeat(60);
        let mut out = String::new();
        out.push_str(&format!("\n{rule_heavy}\nMIGRATION VERIFICATION SUMMARY\n{rule_heavy}\n"));
        out.push_str(&format!("{:<30} {:<15} {:<15} {}\n", "Table", "Source", "Target", "Status"));
        out.push_str(&format!("{rule_light}\n"));
        for t in &self.tables {
            let target = t.target.map(|s| thousands(s.rows)).unwrap_or_else(|| "-".into());
            let status = match t.status() {
                Status::Match => "✓ MATCH",
                Status::CountMismatch => "✗ MISMATCH (rows)",
                Status::ContentMismatch => "✗ MISMATCH (content)",
                Status::MissingInTarget => "✗ MISSING",
            };
            out.push_str(&format!(
                "{:<30} {:<15} {:<15} {}\n",
                t.table,
                thousands(t.source.rows),
                target,
                status
            ));
        }
        out.push_str(&format!(
            "{rule_heavy}\nOverall: {}\n{rule_heavy}\n",
            if self.passed() { "PASSED" } else { "FAILED" }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_core::Fingerprint;

    fn side(rows: u64, sum: u128) -> Side {
        Side { rows, fingerprint: Fingerprint { rows, sum } }
    }

    #[test]
    fn statuses() {
        let check = |target| TableCheck { table: "t".into(), source: side(3, 7), target };
        assert_eq!(check(Some(side(3, 7))).status(), Status::Match);
        assert_eq!(check(Some(side(2, 7))).status(), Status::CountMismatch);
        assert_eq!(check(Some(side(3, 8))).status(), Status::ContentMismatch);
        assert_eq!(check(None).status(), Status::MissingInTarget);
        assert!(!VerifyReport::default().passed(), "nothing verified is not a pass");
    }

    #[test]
    fn summary_table_layout() {
        let report = VerifyReport {
            tables: vec![
                TableCheck {
                    table: "bars_1s".into(),
                    source: side(1_234_567, 1),
                    target: Some(side(1_234_567, 1)),
                },
                TableCheck {
                    table: "funding_oi_hourly".into(),
                    source: side(720, 5),
                    target: Some(side(720, 6)),
                },
            ],
        };
        let text = report.render();
        assert!(
            text.contains("bars_1s                        1,234,567       1,234,567       ✓ MATCH\n"),
            "{text}"
        );
        assert!(text.contains("✗ MISMATCH (content)"), "{text}");
        assert!(text.contains("Overall: FAILED"), "{text}");
    }
}
