//! Where the next batch of a table starts and ends. Rows move in keyset order `(time, key)`
//! after the watermark, never past the horizon: `now - max_age`, or earlier while a
//! transaction that began before that is still open (its rows, stamped with its start time,
//! may commit later). A batch of a table with a unique key ends after `batch_size` rows; one of
//! a table without a key ends only between two distinct times, so equal times never straddle
//! a watermark.
//!
//! Times are microseconds since the Unix epoch, UTC (PostgreSQL's resolution).

use std::time::Duration;

/// A place in a table's keyset order: the time and, for a table with a key, the key's values
/// as text (compared by PostgreSQL in the key columns' own types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Microseconds since the epoch.
    pub time: i64,
    /// The key's values, in key order (empty for a table without a key).
    pub key: Vec<String>,
}

/// The time no batch may pass: `now - max_age`, or the start of the oldest transaction still
/// open when that is earlier.
pub fn horizon(now: i64, max_age: Duration, oldest_open_transaction: Option<i64>) -> i64 {
    let aged = now.saturating_sub(i64::try_from(max_age.as_micros()).unwrap_or(i64::MAX));
    match oldest_open_transaction {
        Some(start) if start < aged => start,
        _ => aged,
    }
}

/// How much of the rows read ahead a batch takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The first N rows.
    Rows(usize),
    /// Every row up to and including this time (more than a batch share it: a table without a
    /// key takes them all at once rather than split them).
    Through(i64),
}

/// Where a batch ends, given the times of the rows read in keyset order after the watermark:
/// up to `batch_size + 1` of them (one read ahead, to see whether the next row shares the last
/// one's time). `keyed`: the table has a unique key, so any row boundary will do.
pub fn cut(times: &[i64], batch_size: usize, keyed: bool) -> Cut {
    let batch_size = batch_size.max(1);
    if times.len() <= batch_size || keyed {
        return Cut::Rows(times.len().min(batch_size));
    }
    // Back off to the last boundary between two distinct times within the batch.
    match (1..=batch_size).rev().find(|&n| times[n - 1] != times[n]) {
        Some(n) => Cut::Rows(n),
        None => Cut::Through(times[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    #[test]
    fn the_horizon_is_the_age_cutoff_or_an_older_open_transaction() {
        let now = 1_000 * HOUR;
        let week = Duration::from_secs(168 * 3600);
        assert_eq!(horizon(now, week, None), now - 168 * HOUR);
        assert_eq!(
            horizon(now, week, Some(now - HOUR)),
            now - 168 * HOUR,
            "a young transaction changes nothing"
        );
        assert_eq!(horizon(now, week, Some(now - 200 * HOUR)), now - 200 * HOUR, "an old one holds it back");
        assert_eq!(horizon(0, Duration::MAX, None), -i64::MAX, "no overflow");
    }

    #[test]
    fn keyed_tables_cut_at_the_batch_size() {
        assert_eq!(cut(&[1, 1, 1, 1, 1], 4, true), Cut::Rows(4));
        assert_eq!(cut(&[1, 2, 3], 4, true), Cut::Rows(3));
        assert_eq!(cut(&[], 4, true), Cut::Rows(0));
    }

    #[test]
    fn tables_without_a_key_cut_only_between_distinct_times() {
        // Room for all that is left.
        assert_eq!(cut(&[1, 1, 2], 4, false), Cut::Rows(3));
        // The read-ahead row has a new time: a clean cut.
        assert_eq!(cut(&[1, 2, 3, 4, 5], 4, false), Cut::Rows(4));
        // The fourth and fifth share time 3: back off to before the 3s.
        assert_eq!(cut(&[1, 2, 3, 3, 3], 4, false), Cut::Rows(2));
        assert_eq!(cut(&[1, 3, 3, 3, 3], 4, false), Cut::Rows(1));
        // Every row read shares one time: take that whole time at once.
        assert_eq!(cut(&[7, 7, 7, 7, 7], 4, false), Cut::Through(7));
        // 35 rows at one time with batches of 10.
        assert_eq!(cut(&[9; 11], 10, false), Cut::Through(9));
        assert_eq!(cut(&[5, 5, 6], 0, false), Cut::Through(5), "a batch size of 0 counts as 1");
    }
}
