//! The directory: table sink, table source and manifest checks.

use crate::error::{ParquetError, Result};
use crate::manifest::{Manifest, ManifestEntry, SchemaField};
use crate::writer::{FileWriter, hash_file};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use migrate_core::{BatchStream, CoreError, IfExists, TableLoad, TableSink, TableSource, blocking_batches};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How files are written.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Column compression (default ZSTD level 1: fast, and far smaller than uncompressed).
    pub compression: Compression,
    /// Rows per row group (default 1,048,576).
    pub max_row_group_size: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            compression: Compression::ZSTD(ZstdLevel::try_new(1).expect("level 1 is valid")),
            max_row_group_size: 1 << 20,
        }
    }
}

/// A directory holding `<table>.parquet` files and `manifest.json`.
#[derive(Debug, Clone)]
pub struct ParquetDir {
    dir: PathBuf,
    options: WriteOptions,
    manifest_lock: Arc<Mutex<()>>,
}

impl ParquetDir {
    /// The directory at `dir` (not created until something is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), options: WriteOptions::default(), manifest_lock: Arc::new(Mutex::new(())) }
    }

    /// Replaces the write options.
    pub fn with_options(mut self, options: WriteOptions) -> Self {
        self.options = options;
        self
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where `table`'s file is.
    pub fn file_for(&self, table: &str) -> PathBuf {
        self.dir.join(format!("{table}.parquet"))
    }

    /// The manifest as it is on disk.
    pub fn manifest(&self) -> Result<Manifest> {
        Manifest::load(&self.dir)
    }

    fn entry(&self, table: &str) -> Result<ManifestEntry> {
        let manifest = self.manifest()?;
        manifest.entry(table).cloned().ok_or_else(|| ParquetError::NotFound {
            table: table.to_string(),
            dir: self.dir.clone(),
            known: manifest.tables.iter().map(|e| e.table.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// Proves that each table's file is exactly what the manifest recorded: present, same size,
    /// same SHA-256, a readable footer with the recorded row count and schema. Run it before
    /// touching a target, so a missing, truncated or altered file stops the import first.
    pub fn check(&self, tables: &[String]) -> Result<Vec<ManifestEntry>> {
        let mut checked = Vec::with_capacity(tables.len());
        for table in tables {
            let entry = self.entry(table)?;
            let path = self.dir.join(&entry.file);
            let mismatch = |detail: String| ParquetError::Mismatch { path: path.clone(), detail };
            let size =
                std::fs::metadata(&path).map_err(|e| mismatch(format!("cannot read the file ({e})")))?.len();
            if size != entry.bytes {
                return Err(mismatch(format!("size is {size} bytes, the manifest says {}", entry.bytes)));
            }
            let (_, sha256) = hash_file(&path)?;
            if sha256 != entry.sha256 {
                return Err(mismatch(format!("SHA-256 is {sha256}, the manifest says {}", entry.sha256)));
            }
            let (schema, rows) = read_footer(&path)?;
            if rows != entry.rows {
                return Err(mismatch(format!("holds {rows} rows, the manifest says {}", entry.rows)));
            }
            if SchemaField::of(&schema) != entry.schema {
                return Err(mismatch("its schema differs from the manifest's".into()));
            }
            checked.push(entry);
        }
        Ok(checked)
    }
}

/// The Arrow schema and row count from a Parquet file's footer.
pub(crate) fn read_footer(path: &Path) -> Result<(SchemaRef, u64)> {
    let file =
        std::fs::File::open(path).map_err(|source| ParquetError::Io { path: path.to_path_buf(), source })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| ParquetError::Corrupt { path: path.to_path_buf(), detail: e.to_string() })?;
    let rows = builder.metadata().file_metadata().num_rows();
    Ok((builder.schema().clone(), u64::try_from(rows).unwrap_or(0)))
}

fn check_table_name(table: &str) -> Result<(), CoreError> {
    if table.is_empty() || table.contains(['/', '\\']) || table.starts_with('.') {
        return Err(CoreError::Store {
            store: "parquet".into(),
            source: format!("{table:?} cannot be used as a file name").into(),
        });
    }
    Ok(())
}

#[async_trait]
impl TableSink for ParquetDir {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    async fn begin(
        &self,
        table: &str,
        schema: SchemaRef,
        if_exists: IfExists,
    ) -> migrate_core::Result<Box<dyn TableLoad>> {
        check_table_name(table)?;
        let path = self.file_for(table);
        match if_exists {
            IfExists::Fail if path.exists() => {
                return Err(CoreError::TableExists { table: table.into(), store: TableSink::describe(self) });
            }
            IfExists::Append => {
                return Err(CoreError::Store {
                    store: TableSink::describe(self),
                    source: "a Parquet export replaces its files; appending is not supported".into(),
                });
            }
            _ => {}
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|source| ParquetError::Io { path: self.dir.clone(), source })?;
        let partial = self.dir.join(format!(".{table}.parquet.partial"));
        let props = WriterProperties::builder()
            .set_compression(self.options.compression)
            .set_max_row_group_row_count(Some(self.options.max_row_group_size))
            .build();
        let writer = FileWriter::start(&partial, schema.clone(), props)?;
        Ok(Box::new(ParquetLoad {
            dir: self.clone(),
            table: table.to_string(),
            schema,
            partial,
            path,
            writer,
        }))
    }
}

/// One file being written under a temporary name.
struct ParquetLoad {
    dir: ParquetDir,
    table: String,
    schema: SchemaRef,
    partial: PathBuf,
    path: PathBuf,
    writer: FileWriter,
}

#[async_trait]
impl TableLoad for ParquetLoad {
    async fn write(&mut self, batch: RecordBatch) -> migrate_core::Result<()> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(CoreError::SchemaMismatch {
                table: self.table.clone(),
                detail: "batch schema differs".into(),
            });
        }
        Ok(self.writer.write(batch)?)
    }

    async fn commit(mut self: Box<Self>) -> migrate_core::Result<u64> {
        let written = self.writer.finish()?;
        let io = |source| ParquetError::Io { path: self.path.clone(), source };
        std::fs::rename(&self.partial, &self.path).map_err(io)?;
        let entry = ManifestEntry {
            table: self.table.clone(),
            file: format!("{}.parquet", self.table),
            rows: written.rows,
            bytes: written.bytes,
            sha256: written.sha256,
            schema: SchemaField::of(&self.schema),
            written_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let _guard = self.dir.manifest_lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut manifest = Manifest::load_or_default(&self.dir.dir)?;
        manifest.upsert(entry);
        manifest.save(&self.dir.dir)?;
        Ok(written.rows)
    }

    async fn abort(mut self: Box<Self>) -> migrate_core::Result<()> {
        let _ = self.writer.finish();
        match std::fs::remove_file(&self.partial) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ParquetError::Io { path: self.partial.clone(), source }.into()),
        }
    }
}

#[async_trait]
impl TableSource for ParquetDir {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    async fn schema(&self, table: &str) -> migrate_core::Result<SchemaRef> {
        let entry = self.entry(table)?;
        Ok(read_footer(&self.dir.join(&entry.file))?.0)
    }

    async fn row_count(&self, table: &str) -> migrate_core::Result<u64> {
        let entry = self.entry(table)?;
        Ok(read_footer(&self.dir.join(&entry.file))?.1)
    }

    async fn scan(&self, table: &str, batch_size: usize) -> migrate_core::Result<BatchStream> {
        let entry = self.entry(table)?;
        let path = self.dir.join(&entry.file);
        Ok(blocking_batches(move |out| {
            let corrupt = |e: &dyn std::fmt::Display| -> CoreError {
                ParquetError::Corrupt { path: path.clone(), detail: e.to_string() }.into()
            };
            let file = std::fs::File::open(&path)
                .map_err(|source| ParquetError::Io { path: path.clone(), source })?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.with_batch_size(batch_size.max(1)).build())
                .map_err(|e| corrupt(&e))?;
            for batch in reader {
                if !out.send(batch.map_err(|e| corrupt(&e))?) {
                    break;
                }
            }
            Ok(())
        }))
    }
}

#[async_trait]
impl migrate_core::TableReadBack for ParquetDir {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    async fn exists(&self, table: &str) -> migrate_core::Result<bool> {
        Ok(self.entry(table).is_ok() && self.file_for(table).exists())
    }

    async fn count_rows(&self, table: &str) -> migrate_core::Result<u64> {
        self.row_count(table).await
    }

    async fn scan_as(
        &self,
        table: &str,
        schema: SchemaRef,
        batch_size: usize,
    ) -> migrate_core::Result<BatchStream> {
        Ok(migrate_core::verdict::cast_to(self.scan(table, batch_size).await?, schema))
    }
}
