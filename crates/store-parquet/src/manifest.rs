//! `manifest.json`: what the export wrote, so an import can prove it reads exactly that.

use crate::error::{ParquetError, Result};
use arrow::datatypes::Schema;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest's file name inside the directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// All files of one export.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version of this file.
    pub version: u32,
    /// One entry per table, in export order.
    pub tables: Vec<ManifestEntry>,
}

/// One exported table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Table name.
    pub table: String,
    /// File name relative to the directory.
    pub file: String,
    /// Rows written.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// The Arrow schema of the rows.
    pub schema: Vec<SchemaField>,
    /// When the file was written (RFC 3339, UTC).
    pub written_at: String,
}

/// One Arrow field, as text (`Int64`, `Timestamp(µs, "UTC")`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaField {
    /// Field name.
    pub name: String,
    /// Arrow data type as Arrow displays it.
    pub data_type: String,
    /// Whether NULLs are allowed.
    pub nullable: bool,
}

impl SchemaField {
    /// The fields of `schema`.
    pub fn of(schema: &Schema) -> Vec<SchemaField> {
        schema
            .fields()
            .iter()
            .map(|f| SchemaField {
                name: f.name().clone(),
                data_type: f.data_type().to_string(),
                nullable: f.is_nullable(),
            })
            .collect()
    }
}

impl Manifest {
    /// The current format version.
    pub const VERSION: u32 = 1;

    /// Reads the manifest of `dir`.
    pub fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ParquetError::NoManifest { path: path.clone() },
            _ => ParquetError::Manifest { path: path.clone(), detail: e.to_string() },
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| ParquetError::Manifest { path: path.clone(), detail: e.to_string() })?;
        if manifest.version != Self::VERSION {
            return Err(ParquetError::Manifest {
                path,
                detail: format!("version {} is not supported (expected {})", manifest.version, Self::VERSION),
            });
        }
        Ok(manifest)
    }

    /// Reads the manifest of `dir`, or an empty one when there is none yet.
    pub fn load_or_default(dir: &Path) -> Result<Manifest> {
        if dir.join(MANIFEST_FILE).exists() {
            Self::load(dir)
        } else {
            Ok(Manifest { version: Self::VERSION, tables: Vec::new() })
        }
    }

    /// Writes the manifest atomically (temporary file, then rename).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!(".{MANIFEST_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self).expect("a manifest always serialises");
        let io = |source| ParquetError::Io { path: path.clone(), source };
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    /// Adds or replaces the entry for `entry.table`, keeping the order of first export.
    pub fn upsert(&mut self, entry: ManifestEntry) {
        match self.tables.iter_mut().find(|e| e.table == entry.table) {
            Some(existing) => *existing = entry,
            None => self.tables.push(entry),
        }
    }

    /// The entry for `table`.
    pub fn entry(&self, table: &str) -> Option<&ManifestEntry> {
        self.tables.iter().find(|e| e.table == table)
    }
}
