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

/// How sure the scan is that a line refers to the old location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceKind {
    /// The location, literally or with placeholders, joined or concatenated from its bucket and
    /// prefix: it must be updated before the old location goes.
    Reference,
    /// Only the prefix (`"QPI_exports"`) or only the bucket (`data-bucket-prod`) appears: the
    /// other half may come from elsewhere. For a person to review.
    Possible,
}

/// One line that mentions the old location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// File, relative to the scanned folder.
    pub file: PathBuf,
    /// Line number, from 1.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
    /// How sure the match is.
    pub kind: ReferenceKind,
}

/// What cannot be found by reading code, said wherever a scan's result is reported.
pub const SCAN_LIMITS: &str = "The scan reads code as text: it cannot see a location assembled at run time from \
configuration it does not hold, environment variables, a database or another service, nor code outside the \
folder it was given. Review those by hand.";

/// What to look for: the location's bucket and prefix, and, where an environment name is part
/// of the bucket, the text before it (the bucket stem, matched with any placeholder or a
/// closing quote after it).
#[derive(Debug, Clone)]
pub struct ReferencePattern {
    /// `data-bucket-prod/QPI_exports`: the location without scheme and trailing slash.
    literal: String,
    /// `data-bucket-prod`.
    bucket: String,
    /// `QPI_exports` (may hold `/`); empty for a whole bucket.
    prefix: String,
    /// `data-bucket-` when the environment name ends or sits in the bucket name.
    stem: Option<String>,
    /// What follows the environment name in the bucket (usually nothing).
    stem_rest: String,
}

/// Characters that continue a bucket name or an identifier: a match must not be followed by one
/// (`QPI_exports_old`, `data-bucket-prod2`) nor preceded by one (`new-data-bucket-prod`).
fn continues(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

/// Byte offsets of `needle` in `line` where it stands alone: no name character right before
/// (nor a `.`, which joins bucket names) and none right after.
fn standalone<'a>(line: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    line.match_indices(needle).filter_map(move |(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + needle.len()..].chars().next();
        let ok = !before.is_some_and(|c| continues(c) || c == '.') && !after.is_some_and(continues);
        ok.then_some(i)
    })
}

impl ReferencePattern {
    /// A pattern for `url` (`gs://data-bucket-prod/QPI_exports/`); with `env` (`prod`), templated
    /// and concatenated forms of the bucket are matched too.
    pub fn new(url: &str, env: Option<&str>) -> Self {
        let body = url.split_once("://").map_or(url, |(_, rest)| rest).trim_matches('/').to_string();
        let (bucket, prefix) = match body.split_once('/') {
            Some((b, p)) => (b.to_string(), p.to_string()),
            None => (body.clone(), String::new()),
        };
        let (stem, stem_rest) =
            match env.filter(|e| !e.is_empty()).and_then(|e| bucket.find(e).map(|i| (i, e))) {
                Some((i, e)) if i > 0 => (Some(bucket[..i].to_string()), bucket[i + e.len()..].to_string()),
                _ => (None, String::new()),
            };
        Self { literal: body, bucket, prefix, stem, stem_rest }
    }

    /// Whether and how surely `line` refers to the location.
    pub fn classify(&self, line: &str) -> Option<ReferenceKind> {
        if standalone(line, &self.literal).next().is_some() || self.templated_path(line) {
            return Some(ReferenceKind::Reference);
        }
        let bucket = self.mentions_bucket(line);
        let prefix = !self.prefix.is_empty() && standalone(line, &self.prefix).next().is_some();
        match (bucket, prefix) {
            (true, true) => Some(ReferenceKind::Reference), // joined or concatenated
            (false, true) if self.variable_bucket(line) => Some(ReferenceKind::Reference),
            (true, false) | (false, true) => Some(ReferenceKind::Possible),
            (false, false) => None,
        }
    }

    /// `data-bucket-{env}/QPI_exports`: the whole path with a placeholder for the environment.
    fn templated_path(&self, line: &str) -> bool {
        let Some(stem) = &self.stem else { return false };
        let after =
            format!("{}{}{}", self.stem_rest, if self.prefix.is_empty() { "" } else { "/" }, self.prefix);
        standalone_start(line, stem).any(|i| {
            let rest = &line[i + stem.len()..];
            placeholder_len(rest).is_some_and(|n| {
                rest[n..].starts_with(&after)
                    && !rest[n + after.len()..].chars().next().is_some_and(continues)
            })
        })
    }

    /// The bucket, literally, with a placeholder for the environment, or as a stem closed by a
    /// quote (`"gs://data-bucket-" + env`).
    fn mentions_bucket(&self, line: &str) -> bool {
        if standalone(line, &self.bucket).next().is_some() {
            return true;
        }
        let Some(stem) = &self.stem else { return false };
        standalone_start(line, stem).any(|i| {
            let rest = &line[i + stem.len()..];
            rest.starts_with(['"', '\''])
                || placeholder_len(rest).is_some_and(|n| rest[n..].starts_with(&self.stem_rest))
        })
    }

    /// `gs://{BUCKET}/QPI_exports`: a placeholder where the bucket goes, then the prefix.
    fn variable_bucket(&self, line: &str) -> bool {
        line.match_indices("gs://").chain(line.match_indices("s3://")).any(|(i, scheme)| {
            let rest = &line[i + scheme.len()..];
            placeholder_len(rest).is_some_and(|n| {
                rest[n..].strip_prefix('/').is_some_and(|p| {
                    p.starts_with(&self.prefix)
                        && !p[self.prefix.len()..].chars().next().is_some_and(continues)
                })
            })
        })
    }
}

/// Offsets of `needle` in `line` with no name character (nor `.`) right before it.
fn standalone_start<'a>(line: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    line.match_indices(needle)
        .filter(move |(i, _)| !line[..*i].chars().next_back().is_some_and(|c| continues(c) || c == '.'))
        .map(|(i, _)| i)
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

/// Scans every text file under `dir` for lines matching any pattern, except under `skip`
/// (the tool's own log and manifest folders, which name the location by design).
pub fn scan(dir: &Path, patterns: &[ReferencePattern], skip: &[PathBuf]) -> Result<Vec<Reference>> {
    if !dir.is_dir() {
        return Err(ObjectsError::io(
            "cannot scan code folder",
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let mut found = Vec::new();
    let skip: Vec<PathBuf> = skip.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let walker = walkdir::WalkDir::new(dir).sort_by_file_name().into_iter().filter_entry(|e| {
        let dir_skipped = e.file_type().is_dir()
            && e.depth() > 0
            && (SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref())
                || e.path().canonicalize().is_ok_and(|p| skip.contains(&p)));
        !dir_skipped
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
        // The surest kind any pattern gives.
        let kind =
            patterns.iter().filter_map(|p| p.classify(&text)).min_by_key(|k| *k != ReferenceKind::Reference);
        if let Some(kind) = kind {
            found.push(Reference {
                file: path.strip_prefix(root).unwrap_or(path).to_path_buf(),
                line: i + 1,
                text: text.trim().chars().take(200).collect(),
                kind,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_pipeline_code_builds_the_path_is_a_reference() {
        let p = ReferencePattern::new("gs://data-bucket-prod/QPI_exports/", Some("prod"));
        for line in [
            r#"qpi_exports_path = f"gs://data-bucket-{env}/QPI_exports/""#,
            r#"path = "gs://data-bucket-prod/QPI_exports/qpi_answers_x/""#,
            r#"BUCKET="gs://data-bucket-${ENV}/QPI_exports""#,
            r#"x = "data-bucket-%s/QPI_exports" % env"#,
            r#"uri: gs://data-bucket-{{ env }}/QPI_exports/"#,
            r#"path = f"gs://{DATA_GCS_BUCKET_NAME}/QPI_exports/""#,
            r#"path = os.path.join(f"gs://data-bucket-{env}", "QPI_exports", day)"#,
            r#"path = "gs://data-bucket-" + env + "/QPI_exports/""#,
            r#"path = "gs://data-bucket-prod" + "/QPI_exports""#,
        ] {
            assert_eq!(p.classify(line), Some(ReferenceKind::Reference), "{line}");
        }
    }

    #[test]
    fn half_a_location_is_a_possible_reference() {
        let p = ReferencePattern::new("gs://data-bucket-prod/QPI_exports/", Some("prod"));
        for line in [
            r#"QPI_FOLDER = "QPI_exports""#,
            r#"BUCKET = f"data-bucket-{env}""#,
            r#"bucket = "data-bucket-" + env"#,
            r#"client.bucket("data-bucket-prod")"#,
        ] {
            assert_eq!(p.classify(line), Some(ReferenceKind::Possible), "{line}");
        }
    }

    #[test]
    fn siblings_other_buckets_and_the_new_location_are_not_references() {
        let p = ReferencePattern::new("gs://data-bucket-prod/QPI_exports/", Some("prod"));
        for line in [
            r#"f"gs://de-bigquery-data-export-{env}/qpi_exports/""#,
            r#"f"gs://data-bucket-{env}/clickhouse_export/""#,
            r#"f"gs://data-bucket-{env}/{folder}/""#,
            r#"old = "gs://data-bucket-prod/QPI_exports_old/""#,
            r#"other = "gs://new-data-bucket-prod/QPI_exports/""#,
            r#"other = f"gs://new-data-bucket-{env}/QPI_exports_old/""#,
            r#"x = 1"#,
        ] {
            assert_ne!(p.classify(line), Some(ReferenceKind::Reference), "{line}");
        }
        assert_eq!(
            p.classify(r#"old = "gs://data-bucket-prod/QPI_exports_old/""#),
            Some(ReferenceKind::Possible)
        );
        assert_eq!(p.classify(r#"f"gs://de-bigquery-data-export-{env}/qpi_exports/""#), None);
        assert_eq!(p.classify(r#"other = f"gs://new-data-bucket-{env}/QPI_exports_old/""#), None);
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
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join("delete_old_qpi_exports_prod.log"), "gs://data-bucket-prod/QPI_exports/")
            .unwrap();
        let p = ReferencePattern::new("gs://data-bucket-prod/QPI_exports/", Some("prod"));
        let found = scan(dir.path(), &[p], &[logs]).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].file, Path::new("orchestration/dags/jobs/import/import_qpi.py"));
        assert_eq!(found[0].line, 3);
        assert_eq!(found[0].kind, ReferenceKind::Reference);
    }
}
