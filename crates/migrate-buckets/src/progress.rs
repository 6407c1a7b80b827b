//! The engine's progress callbacks drawn as a progress bar (on a terminal only): by bytes with
//! percentage, rate and ETA when the step knows its total, by objects otherwise.

use migrate_cli::format;
use migrate_cli::progress::Bar as ProgressBar;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The bar of the current step and what it counts.
#[derive(Debug)]
struct Step {
    bar: ProgressBar,
    /// Total objects, when known (the bar counts bytes then).
    objects: Option<u64>,
    by_bytes: bool,
}

/// Draws each engine step as a bar.
#[derive(Debug, Default)]
pub struct BarProgress {
    step: Mutex<Option<Step>>,
    objects: AtomicU64,
    bytes: AtomicU64,
}

impl migrate_objects::Progress for BarProgress {
    fn begin(&self, step: &str, objects: Option<u64>, bytes: Option<u64>) {
        self.objects.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        let (bar, by_bytes) = match bytes {
            Some(total) => (migrate_cli::progress::bytes_bar(step, total), true),
            None => (migrate_cli::progress::bar(step, objects), false),
        };
        *self.step.lock().unwrap_or_else(|e| e.into_inner()) = Some(Step { bar, objects, by_bytes });
    }

    fn advance(&self, objects: u64, bytes: u64) {
        let done_objects = self.objects.fetch_add(objects, Ordering::Relaxed) + objects;
        let done_bytes = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(step) = self.step.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if step.by_bytes {
                step.bar.inc(bytes);
                let of = step.objects.map(|n| format!("/{}", format::count(n))).unwrap_or_default();
                step.bar.set_message(format!("{}{of} objects", format::count(done_objects)));
            } else {
                step.bar.inc(objects);
                step.bar.set_message(format!("objects, {}", format::bytes(done_bytes)));
            }
        }
    }

    fn end(&self) {
        if let Some(step) = self.step.lock().unwrap_or_else(|e| e.into_inner()).take() {
            step.bar.finish_and_clear();
        }
    }
}
