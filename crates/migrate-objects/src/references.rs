//! Finds code that still points at the old location: the literal URL, and templated forms such
//! as `f"gs://data-bucket-{env}/QPI_exports/"` or `"gs://data-bucket-${ENV}/QPI_exports"`.

use crate::error::{ObjectsError, Result};
use serde::Serialize;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Folders never scanned.
const SKIPPED_DIRS: &[&str] =
    &[".git", "target", "node_modules", ".venv", "venv", "__pycache__", ".services", ".tox"];
/// Files larger than this are not scanned (data, not code).
const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// One line that mentions the old location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// File, relative to the scanned folder.
    pub file: PathBuf,
    /// Line number, from 1.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
}

/// What to look for: the location without scheme and trailing slash, and, where an environment
/// name is part of it, the text around that name (matched with any placeholder in its place).
#[derive(Debug, Clone)]
pub struct ReferencePattern {
    literal: String,
    templated: Option<(String, String)>,
}

impl ReferencePattern {
    /// A pattern for `url` (`gs://data-bucket-prod/QPI_exports/`); with `env` (`prod`), templated
    /// forms of the environment are matched too.
    pub fn new(url: &str, env: Option<&str>) -> Self {
        let body = url.split_once("://").map_or(url, |(_, rest)| rest).trim_end_matches('/').to_string();
        let templated = env
            .filter(|e| !e.is_empty())
            .and_then(|e| body.find(e).map(|i| (body[..i].to_string(), body[i + e.len()..].to_string())));
        Self { literal: body, templated }
    }

    /// Whether `line` refers to the location.
    pub fn matches(&self, line: &str) -> bool {
        if line.contains(&self.literal) {
            return true;
        }
        let Some((before, after)) = &self.templated else { return false };
        line.match_indices(before.as_str()).any(|(i, _)| {
            let rest = &line[i + before.len()..];
            placeholder_len(rest).is_some_and(|n| rest[n..].starts_with(after.as_str()))
        })
    }
}

/// Length of a placeholder at the start of `s`: `{env}`, `${ENV}`, `{{ env }}`, `%s`, `%(env)s`.
fn placeholder_len(s: &str) -> Option<usize> {
    let close = |open: &str, close: &str| -> Option<usize> {
        let inner = s.strip_prefix(open)?;
        let end = inner.find(close)?;
        (end <= 40 && !inner[..end].contains(['/', '"', '\''])).then_some(open.len() + end + close.len())
    };
    close("{{", "}}")
        .or_else(|| close("${", "}"))
        .or_else(|| close("{", "}"))
        .or_else(|| close("%(", ")s"))
        .or_else(|| s.starts_with("%s").then_some(2))
}

/// Scans every text file under `dir` for lines matching any pattern.
pub fn scan(dir: &Path, patterns: &[ReferencePattern]) -> Result<Vec<Reference>> {
    if !dir.is_dir() {
        return Err(ObjectsError::io(
            "cannot scan code folder",
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let mut found = Vec::new();
    let walker = walkdir::WalkDir::new(dir).sort_by_file_name().into_iter().filter_entry(|e| {
        !(e.file_type().is_dir()
            && e.depth() > 0
            && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
    });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| dir.to_path_buf());
            ObjectsError::io("cannot scan", &path, e.into())
        })?;
        if !entry.file_type().is_file() || entry.metadata().map(|m| m.len()).unwrap_or(0) > MAX_FILE_BYTES {
            continue;
        }
        scan_file(entry.path(), dir, patterns, &mut found)?;
    }
    Ok(found)
}

fn scan_file(
    path: &Path,
    root: &Path,
    patterns: &[ReferencePattern],
    found: &mut Vec<Reference>,
) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| ObjectsError::io("cannot read", path, e))?;
    let mut reader = BufReader::new(file);
    let mut head = Vec::new();
    (&mut reader).take(8192).read_to_end(&mut head).map_err(|e| ObjectsError::io("cannot read", path, e))?;
    if head.contains(&0) {
        return Ok(()); // binary
    }
    let rest = std::io::Cursor::new(head).chain(reader);
    for (i, line) in rest.split(b'\n').enumerate() {
        let line = line.map_err(|e| ObjectsError::io("cannot read", path, e))?;
        let text = String::from_utf8_lossy(&line);
        if patterns.iter().any(|p| p.matches(&text)) {
            found.push(Reference {
                file: path.strip_prefix(root).unwrap_or(path).to_path_buf(),
                line: i + 1,
                text: text.trim().chars().take(200).collect(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_templated_forms_match() {
        let p = ReferencePattern::new("gs://data-bucket-prod/QPI_exports/", Some("prod"));
        for line in [
            r#"qpi_exports_path = f"gs://data-bucket-{env}/QPI_exports/""#,
            r#"path = "gs://data-bucket-prod/QPI_exports/qpi_answers_x/""#,
            r#"BUCKET="gs://data-bucket-${ENV}/QPI_exports""#,
            r#"x = "data-bucket-%s/QPI_exports" % env"#,
            r#"uri: gs://data-bucket-{{ env }}/QPI_exports/"#,
        ] {
            assert!(p.matches(line), "{line}");
        }
        for line in [
            r#"f"gs://de-bigquery-data-export-{env}/qpi_exports/""#,
            r#"f"gs://data-bucket-{env}/clickhouse_export/""#,
            r#"f"gs://data-bucket-{env}/{folder}/""#,
        ] {
            assert!(!p.matches(line), "{line}");
        }
    }

    #[test]
    fn scans_a_tree_and_skips_binaries_and_vcs() {
        let dir = tempfile::tempdir().unwrap();
        let dags = dir.path().join("orchestration/dags/jobs/import");
        std::fs::create_dir_all(&dags).unwrap();
        std::fs::write(
            dags.join("import_qpi.py"),
            "import os\n\nqpi_exports_path = f\"gs://data-bucket-{env}/QPI_exports/\"\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/config"), "gs://data-bucket-prod/QPI_exports").unwrap();
        std::fs::write(dir.path().join("blob.bin"), b"\0gs://data-bucket-prod/QPI_exports").unwrap();
        let p = ReferencePattern::new("gs://data-bucket-prod/QPI_exports/", Some("prod"));
        let found = scan(dir.path(), &[p]).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, Path::new("orchestration/dags/jobs/import/import_qpi.py"));
        assert_eq!(found[0].line, 3);
    }
}
