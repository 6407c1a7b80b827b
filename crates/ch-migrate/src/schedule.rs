//! The order `parallel_execution` runs pending migrations in: a migration is ready once every
//! pending migration its `Dependencies:` names has finished, and at most a bounded number run at
//! once. Dependencies that are not pending (applied, or not for this run) do not hold it back.

use crate::file::Migration;
use std::collections::BTreeSet;

/// The pending migrations that may start now, lowest version first: not finished, not running,
/// every pending dependency finished; no more than `limit - running.len()` of them.
pub fn ready<'a>(
    pending: &[&'a Migration],
    finished: &BTreeSet<u64>,
    running: &BTreeSet<u64>,
    limit: usize,
) -> Vec<&'a Migration> {
    let is_pending = |v: u64| pending.iter().any(|m| m.version == v);
    let room = limit.max(1).saturating_sub(running.len());
    let mut ready: Vec<&Migration> = pending
        .iter()
        .copied()
        .filter(|m| !finished.contains(&m.version) && !running.contains(&m.version))
        .filter(|m| m.header.dependencies.iter().all(|d| !is_pending(*d) || finished.contains(d)))
        .collect();
    ready.sort_by_key(|m| m.version);
    ready.truncate(room);
    ready
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::parse_versioned;

    fn m(version: u64, deps: &str) -> Migration {
        parse_versioned(&format!("V{version}__m.sql"), &format!("-- Dependencies: {deps}\nSELECT {version};"))
            .unwrap()
    }

    fn versions(ms: Vec<&Migration>) -> Vec<u64> {
        ms.iter().map(|m| m.version).collect()
    }

    #[test]
    fn independent_migrations_start_together_within_the_limit() {
        let all = [m(1, ""), m(2, "1"), m(3, ""), m(4, "2, 3"), m(5, ""), m(6, "9")];
        let pending: Vec<&Migration> = all.iter().collect();
        let set = |v: &[u64]| v.iter().copied().collect::<BTreeSet<u64>>();
        assert_eq!(versions(ready(&pending, &set(&[]), &set(&[]), 4)), [1, 3, 5, 6], "9 is not pending");
        assert_eq!(versions(ready(&pending, &set(&[]), &set(&[]), 2)), [1, 3]);
        assert_eq!(versions(ready(&pending, &set(&[]), &set(&[1, 3]), 2)), Vec::<u64>::new());
        assert_eq!(versions(ready(&pending, &set(&[1]), &set(&[3]), 4)), [2, 5, 6]);
        assert_eq!(versions(ready(&pending, &set(&[1, 2]), &set(&[3]), 4)), [5, 6], "4 waits for 3");
        assert_eq!(versions(ready(&pending, &set(&[1, 2, 3, 5, 6]), &set(&[]), 4)), [4]);
        assert_eq!(versions(ready(&pending, &set(&[]), &set(&[]), 0)), [1], "a limit of 0 still runs one");
    }
}
