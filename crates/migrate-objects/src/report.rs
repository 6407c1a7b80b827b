//! Small building blocks of reports: tallies, capped lists, progress callbacks.

use serde::Serialize;

/// How many items a report lists by name before it only counts.
pub const LIST_CAP: usize = 1000;

/// Objects and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Objects.
    pub objects: u64,
    /// Bytes.
    pub bytes: u64,
}

impl Tally {
    /// Counts one object of `size` bytes.
    pub fn add(&mut self, size: u64) {
        self.objects += 1;
        self.bytes += size;
    }
}

/// A list that keeps the first [`LIST_CAP`] items and counts the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capped<T> {
    /// Items seen in all.
    pub total: u64,
    /// The first items.
    pub items: Vec<T>,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Self { total: 0, items: Vec::new() }
    }
}

impl<T> Capped<T> {
    /// Records one item.
    pub fn push(&mut self, item: T) {
        self.total += 1;
        if self.items.len() < LIST_CAP {
            self.items.push(item);
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// An object and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Key relative to the location.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// Receives progress of long steps (a progress bar, log lines, or nothing).
pub trait Progress: Send + Sync {
    /// A step begins; totals when known.
    fn begin(&self, step: &str, objects: Option<u64>, bytes: Option<u64>);
    /// Objects and bytes done since the last call.
    fn advance(&self, objects: u64, bytes: u64);
    /// The step ended.
    fn end(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: Option<u64>, _: Option<u64>) {}
    fn advance(&self, _: u64, _: u64) {}
    fn end(&self) {}
}
