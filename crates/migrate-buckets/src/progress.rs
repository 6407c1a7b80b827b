//! The engine's progress callbacks drawn as a progress bar (on a terminal only).

use migrate_cli::format;
use migrate_cli::progress::Bar as ProgressBar;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Draws each engine step as a bar of objects with the bytes done in its message.
#[derive(Debug, Default)]
pub struct BarProgress {
    bar: Mutex<Option<ProgressBar>>,
    bytes: AtomicU64,
}

impl migrate_objects::Progress for BarProgress {
    fn begin(&self, step: &str, objects: Option<u64>, _bytes: Option<u64>) {
        self.bytes.store(0, Ordering::Relaxed);
        let bar = migrate_cli::progress::bar(step, objects);
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    fn advance(&self, objects: u64, bytes: u64) {
        let total = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            bar.inc(objects);
            bar.set_message(format!("objects, {}", format::bytes(total)));
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }
}
