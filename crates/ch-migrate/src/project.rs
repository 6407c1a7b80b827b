//! A directory of migration files, read whole: the seed's `V{n}__name.sql` files and
//! golang-migrate's `.up.sql` / `.down.sql` pairs, every problem collected at once.

use crate::file::{FileName, Migration, Problem, parse_file_name, parse_up_down, parse_versioned};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One migration read from a file (or an up/down pair).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The (up) file.
    pub path: PathBuf,
    /// Its size in bytes (up and down together).
    pub size: u64,
    /// What it holds.
    pub migration: Migration,
}

/// Reads every migration in `dir`, in version order; files that are no migration are ignored.
pub fn load_dir(dir: &Path) -> Result<(Vec<Loaded>, Vec<Problem>), std::io::Error> {
    let mut versioned = Vec::new();
    let mut ups: BTreeMap<(u64, String), PathBuf> = BTreeMap::new();
    let mut downs: BTreeMap<(u64, String), PathBuf> = BTreeMap::new();
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        match parse_file_name(name) {
            Some(FileName::Versioned { .. }) => versioned.push(path),
            Some(FileName::Up { version, name }) => drop(ups.insert((version, name), path)),
            Some(FileName::Down { version, name }) => drop(downs.insert((version, name), path)),
            None => {}
        }
    }
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    let display = |p: &Path| p.display().to_string();
    for path in versioned {
        let text = std::fs::read_to_string(&path)?;
        match parse_versioned(&display(&path), &text) {
            Ok(migration) => loaded.push(Loaded { size: text.len() as u64, path, migration }),
            Err(found) => problems.extend(found),
        }
    }
    for (key, up_path) in &ups {
        let up = std::fs::read_to_string(up_path)?;
        let down = downs.get(key).map(std::fs::read_to_string).transpose()?;
        let size = (up.len() + down.as_ref().map_or(0, String::len)) as u64;
        match parse_up_down(&display(up_path), &up, down.as_deref()) {
            Ok(migration) => loaded.push(Loaded { path: up_path.clone(), size, migration }),
            Err(found) => problems.extend(found),
        }
    }
    for (key, down_path) in &downs {
        if !ups.contains_key(key) {
            problems.push(Problem {
                file: display(down_path),
                line: None,
                message: "a .down.sql file without its .up.sql".into(),
            });
        }
    }
    loaded.sort_by_key(|l| l.migration.version);
    Ok((loaded, problems))
}

/// The next free version for a new file.
pub fn next_version(loaded: &[Loaded]) -> u64 {
    loaded.iter().map(|l| l.migration.version).max().unwrap_or(0) + 1
}
