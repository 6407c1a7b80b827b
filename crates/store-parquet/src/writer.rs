//! Writing one Parquet file on a thread of its own, hashing the bytes as they are written.

use crate::error::{ParquetError, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// A `Write` that counts and SHA-256-hashes what passes through.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What a finished file holds.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// A Parquet file being written by a background thread. Batches queue at most two deep, so
/// the producer (a database read) and the compression run in parallel with bounded memory.
pub(crate) struct FileWriter {
    sender: Option<SyncSender<RecordBatch>>,
    thread: Option<JoinHandle<Result<Written>>>,
    path: PathBuf,
}

impl FileWriter {
    /// Starts writing `path` (created or truncated).
    pub fn start(path: &Path, schema: SchemaRef, props: WriterProperties) -> Result<FileWriter> {
        let file = std::fs::File::create(path)
            .map_err(|source| ParquetError::Io { path: path.to_path_buf(), source })?;
        let (sender, receiver) = sync_channel::<RecordBatch>(2);
        let thread_path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("parquet-writer".into())
            .spawn(move || write_all(file, &thread_path, schema, props, receiver))
            .map_err(|source| ParquetError::Io { path: path.to_path_buf(), source })?;
        Ok(FileWriter { sender: Some(sender), thread: Some(thread), path: path.to_path_buf() })
    }

    /// Queues one batch. Fails when the writer thread stopped (its error comes from `finish`).
    pub fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let sent = self.sender.as_ref().map(|s| s.send(batch).is_ok()).unwrap_or(false);
        if sent {
            return Ok(());
        }
        // The thread ended early: collect its error.
        match self.finish() {
            Err(e) => Err(e),
            Ok(_) => Err(ParquetError::Write { path: self.path.clone(), detail: "writer stopped".into() }),
        }
    }

    /// Closes the file (footer written, data synced to disk) and reports what it holds.
    pub fn finish(&mut self) -> Result<Written> {
        self.sender.take();
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| {
                Err(ParquetError::Write {
                    path: self.path.clone(),
                    detail: "the writer thread panicked".into(),
                })
            }),
            None => Err(ParquetError::Write { path: self.path.clone(), detail: "already finished".into() }),
        }
    }
}

fn write_all(
    file: std::fs::File,
    path: &Path,
    schema: SchemaRef,
    props: WriterProperties,
    batches: Receiver<RecordBatch>,
) -> Result<Written> {
    let write_err = |e: parquet::errors::ParquetError| ParquetError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
    };
    let sink = HashingWriter {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        hasher: Sha256::new(),
        bytes: 0,
    };
    let mut writer = ArrowWriter::try_new(sink, schema, Some(props)).map_err(write_err)?;
    let mut rows = 0u64;
    for batch in batches {
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(write_err)?;
    }
    let sink = writer.into_inner().map_err(write_err)?;
    let HashingWriter { inner, hasher, bytes } = sink;
    let io = |source| ParquetError::Io { path: path.to_path_buf(), source };
    let file = inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(Written { rows, bytes, sha256: hex::encode(hasher.finalize()) })
}

/// SHA-256 and size of a file, read in 1 MiB pieces.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, String)> {
    use std::io::Read;
    let io = |source| ParquetError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}
