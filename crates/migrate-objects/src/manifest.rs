//! Backup manifests: JSONL, one line per object (key, URL, size, checksums, version, update
//! time) and a closing summary line. Written before any deletion; read by delete and restore.

use crate::entry::ObjectEntry;
use crate::error::{ObjectsError, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The closing line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSummary {
    /// Location the objects are in (and are deleted from).
    pub source: String,
    /// Location holding their verified copies (and restored from).
    pub target: String,
    /// Objects listed.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// When the manifest was written.
    pub created_at: DateTime<Utc>,
    /// The tool that wrote it.
    pub tool: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Object {
        url: String,
        #[serde(flatten)]
        entry: ObjectEntry,
    },
    Summary(ManifestSummary),
}

/// Writes a manifest to `<path>.partial`, renamed to `path` by [`ManifestWriter::finish`], so
/// a half-written manifest never looks complete.
#[derive(Debug)]
pub struct ManifestWriter {
    path: PathBuf,
    partial: PathBuf,
    out: BufWriter<File>,
    source: String,
    objects: u64,
    bytes: u64,
}

impl ManifestWriter {
    /// Starts a manifest of objects of `source` (URL ending in `/`).
    pub fn create(path: &Path, source: &str) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ObjectsError::io("cannot create directory", dir, e))?;
        }
        let partial = path.with_extension("jsonl.partial");
        let file =
            File::create(&partial).map_err(|e| ObjectsError::io("cannot create manifest", &partial, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            partial,
            out: BufWriter::new(file),
            source: source.into(),
            objects: 0,
            bytes: 0,
        })
    }

    /// Adds one object.
    pub fn add(&mut self, entry: &ObjectEntry) -> Result<()> {
        let line = Line::Object { url: format!("{}{}", self.source, entry.key), entry: entry.clone() };
        self.write_line(&line)?;
        self.objects += 1;
        self.bytes += entry.size;
        Ok(())
    }

    fn write_line(&mut self, line: &Line) -> Result<()> {
        let text = serde_json::to_string(line).map_err(|e| ObjectsError::Manifest {
            path: self.partial.display().to_string(),
            line: self.objects as usize + 1,
            detail: e.to_string(),
        })?;
        writeln!(self.out, "{text}").map_err(|e| ObjectsError::io("cannot write manifest", &self.partial, e))
    }

    /// Writes the summary line, syncs and renames the file into place.
    pub fn finish(mut self, target: &str, tool: &str) -> Result<(PathBuf, ManifestSummary)> {
        let summary = ManifestSummary {
            source: self.source.clone(),
            target: target.to_string(),
            objects: self.objects,
            bytes: self.bytes,
            created_at: Utc::now(),
            tool: tool.to_string(),
        };
        self.write_line(&Line::Summary(summary.clone()))?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| ObjectsError::io("cannot write manifest", &self.partial, e.into_error()))?;
        file.sync_all().map_err(|e| ObjectsError::io("cannot sync manifest", &self.partial, e))?;
        std::fs::rename(&self.partial, &self.path)
            .map_err(|e| ObjectsError::io("cannot rename manifest", &self.path, e))?;
        Ok((self.path, summary))
    }

    /// Drops the partial file (the run was refused).
    pub fn discard(self) {
        drop(self.out);
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// A checked manifest: complete (summary line last, counts agree), readable object by object.
#[derive(Debug, Clone)]
pub struct Manifest {
    path: PathBuf,
    /// Its summary line.
    pub summary: ManifestSummary,
}

impl Manifest {
    /// Reads the whole file once to check it; objects are read again by [`Manifest::objects`].
    pub fn open(path: &Path) -> Result<Self> {
        let mut summary = None;
        let mut objects = 0u64;
        let mut bytes = 0u64;
        for item in Self::lines(path)? {
            let (n, line) = item?;
            if summary.is_some() {
                return Err(bad(path, n, "lines after the summary line"));
            }
            match line {
                Line::Object { entry, .. } => {
                    objects += 1;
                    bytes += entry.size;
                }
                Line::Summary(s) => summary = Some(s),
            }
        }
        let summary = summary
            .ok_or_else(|| bad(path, objects as usize + 1, "no summary line: the manifest is incomplete"))?;
        if (summary.objects, summary.bytes) != (objects, bytes) {
            return Err(bad(
                path,
                objects as usize + 1,
                &format!(
                    "summary says {} objects / {} bytes, the file lists {objects} / {bytes}",
                    summary.objects, summary.bytes
                ),
            ));
        }
        Ok(Self { path: path.to_path_buf(), summary })
    }

    /// The manifest's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The object entries, read from the file one at a time.
    pub fn objects(&self) -> Result<impl Iterator<Item = Result<ObjectEntry>> + use<>> {
        Ok(Self::lines(&self.path)?.filter_map(|item| match item {
            Ok((_, Line::Object { entry, .. })) => Some(Ok(entry)),
            Ok((_, Line::Summary(_))) => None,
            Err(e) => Some(Err(e)),
        }))
    }

    fn lines(path: &Path) -> Result<impl Iterator<Item = Result<(usize, Line)>> + use<>> {
        let file = File::open(path).map_err(|e| ObjectsError::io("cannot open manifest", path, e))?;
        let owned = path.to_path_buf();
        Ok(BufReader::new(file).lines().enumerate().filter_map(move |(i, line)| {
            let n = i + 1;
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(ObjectsError::io("cannot read manifest", &owned, e))),
            };
            if line.trim().is_empty() {
                return None;
            }
            Some(
                serde_json::from_str::<Line>(&line)
                    .map(|l| (n, l))
                    .map_err(|e| bad(&owned, n, &e.to_string())),
            )
        }))
    }
}

fn bad(path: &Path, line: usize, detail: &str) -> ObjectsError {
    ObjectsError::Manifest { path: path.display().to_string(), line, detail: detail.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut w = ManifestWriter::create(&path, "gs://old/QPI_exports/").unwrap();
        let mut e = ObjectEntry::new("qpi_answers_20240101/a.jsonl", 10);
        e.crc32c = Some(5);
        e.version = Some("123".into());
        w.add(&e).unwrap();
        w.add(&ObjectEntry::new("b", 3)).unwrap();
        assert!(!path.exists(), "not in place before finish");
        let (written, summary) = w.finish("gs://new/qpi_exports/", "test").unwrap();
        assert_eq!(written, path);
        assert_eq!((summary.objects, summary.bytes), (2, 13));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""url":"gs://old/QPI_exports/qpi_answers_20240101/a.jsonl""#), "{text}");
        let m = Manifest::open(&path).unwrap();
        assert_eq!(m.summary, summary);
        let back: Vec<ObjectEntry> = m.objects().unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(back[0], e);
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn truncated_or_edited_manifests_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut w = ManifestWriter::create(&path, "memory://x/").unwrap();
        w.add(&ObjectEntry::new("a", 1)).unwrap();
        w.add(&ObjectEntry::new("b", 1)).unwrap();
        w.finish("memory://y/", "test").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        std::fs::write(&path, lines[..2].join("\n")).unwrap();
        assert!(Manifest::open(&path).unwrap_err().to_string().contains("incomplete"));
        std::fs::write(&path, [lines[0], lines[2]].join("\n")).unwrap();
        assert!(Manifest::open(&path).unwrap_err().to_string().contains("summary says 2"));
        std::fs::write(&path, "{not json\n").unwrap();
        assert!(Manifest::open(&path).unwrap_err().to_string().contains("line 1"));
    }
}
