//! A directory of migration files, read whole: the seed's `V{n}__name.sql` files,
//! golang-migrate's `.up.sql` / `.down.sql` pairs and the `{n}_name.sql` files of goose, dbmate
//! and clickhouse-migrations, every problem collected at once.

use crate::file::{
    FileName, Migration, Problem, parse_file_name, parse_sections, parse_up_down, parse_versioned,
};
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
    let mut sections = Vec::new();
    let mut problems = Vec::new();
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
            Some(FileName::Sections { version, name }) => sections.push(((version, name), path)),
            None if name.starts_with('V') && name.ends_with(".sql") && name.contains("__") => {
                problems.push(Problem {
                    file: path.display().to_string(),
                    line: None,
                    message: "not a migration file name: V{version}__{name}.sql needs a whole-number version"
                        .into(),
                })
            }
            None => {}
        }
    }
    let mut loaded = Vec::new();
    let display = |p: &Path| p.display().to_string();
    for path in versioned {
        let text = std::fs::read_to_string(&path)?;
        match parse_versioned(&display(&path), &text) {
            Ok(migration) => loaded.push(Loaded { size: text.len() as u64, path, migration }),
            Err(found) => problems.extend(found),
        }
    }
    for (key, path) in &sections {
        let text = std::fs::read_to_string(path)?;
        // clickhouse-migrations keeps a rollback beside it as NNN_name.down.sql.
        let down = downs.get(key).map(std::fs::read_to_string).transpose()?;
        let parsed = parse_sections(&display(path), &text).map(|mut m| {
            if let Some(down) = &down {
                m.rollback = crate::split::split(down);
                m.checksum = crate::checksum::checksum(&format!("{text}\n-- down\n{down}"));
            }
            m
        });
        match parsed {
            Ok(migration) => loaded.push(Loaded {
                size: (text.len() + down.as_ref().map_or(0, String::len)) as u64,
                path: path.clone(),
                migration,
            }),
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
        if !ups.contains_key(key) && !sections.iter().any(|(k, _)| k == key) {
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

/// Gives `migration` version `to`: renames its file(s) (the up and down files of
/// golang-migrate's layout keep their digit count, at least) and rewrites a `-- Version:` header
/// line. Returns each rename as (from, to).
pub fn renumber(migration: &Loaded, to: u64) -> Result<Vec<(PathBuf, PathBuf)>, std::io::Error> {
    let dir = migration.path.parent().unwrap_or(Path::new("."));
    let file_name = migration.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let mut renames = Vec::new();
    match parse_file_name(file_name) {
        Some(FileName::Versioned { name, .. }) => {
            let text = std::fs::read_to_string(&migration.path)?;
            let mut header_done = false;
            let rewritten: String = text
                .split_inclusive('\n')
                .map(|line| {
                    let is_version = line.trim_start().strip_prefix("--").is_some_and(|rest| {
                        rest.trim_start()
                            .strip_prefix("Version")
                            .is_some_and(|r| r.trim_start().starts_with(':'))
                    });
                    if is_version && !header_done {
                        header_done = true;
                        let ending = &line[line.trim_end_matches(['\r', '\n']).len()..];
                        format!("-- Version: {to}{ending}")
                    } else {
                        line.to_string()
                    }
                })
                .collect();
            let new = dir.join(format!("V{to}__{name}.sql"));
            refuse_existing(&new)?;
            std::fs::write(&new, rewritten)?;
            std::fs::remove_file(&migration.path)?;
            renames.push((migration.path.clone(), new));
        }
        Some(FileName::Up { name, .. }) => {
            let digits = file_name.split('_').next().map_or(0, str::len);
            let number = format!("{to:0digits$}");
            let down = dir.join(file_name.replace(".up.sql", ".down.sql"));
            let new_up = dir.join(format!("{number}_{name}.up.sql"));
            let new_down = dir.join(format!("{number}_{name}.down.sql"));
            refuse_existing(&new_up)?;
            std::fs::rename(&migration.path, &new_up)?;
            renames.push((migration.path.clone(), new_up));
            if down.exists() {
                refuse_existing(&new_down)?;
                std::fs::rename(&down, &new_down)?;
                renames.push((down, new_down));
            }
        }
        _ => {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a migration file name"));
        }
    }
    Ok(renames)
}

fn refuse_existing(path: &Path) -> Result<(), std::io::Error> {
    if path.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists already", path.display()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumbering_renames_files_and_the_version_header() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("V3__a.sql"),
            "-- Version: 3\r\nSELECT 1;\r\n-- Version: 3 in a comment\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("V3__b.sql"), "-- Version: 3\nSELECT 2;\n").unwrap();
        std::fs::write(dir.path().join("007_c.up.sql"), "SELECT 3").unwrap();
        std::fs::write(dir.path().join("007_c.down.sql"), "SELECT 4").unwrap();
        std::fs::write(dir.path().join("009_d.sql"), "SELECT 5").unwrap();
        std::fs::write(dir.path().join("009_d.down.sql"), "SELECT 6").unwrap();
        let (loaded, problems) = load_dir(dir.path()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let b = loaded.iter().find(|l| l.migration.name == "b").unwrap();
        let renames = renumber(b, 8).unwrap();
        assert_eq!(renames[0].1, dir.path().join("V8__b.sql"));
        let c = loaded.iter().find(|l| l.migration.name == "c").unwrap();
        assert_eq!(renumber(c, 12).unwrap().len(), 2);
        let a = loaded.iter().find(|l| l.migration.name == "a").unwrap();
        assert!(renumber(a, 3).is_err(), "an existing file is never overwritten");
        let (after, problems) = load_dir(dir.path()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let versions: Vec<(u64, &str)> =
            after.iter().map(|l| (l.migration.version, l.migration.name.as_str())).collect();
        assert_eq!(versions, [(3, "a"), (8, "b"), (9, "d"), (12, "c")]);
        let d = after.iter().find(|l| l.migration.name == "d").unwrap();
        assert_eq!(d.migration.rollback, ["SELECT 6"], "clickhouse-migrations' .down.sql is its rollback");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("V8__b.sql")).unwrap(),
            "-- Version: 8\nSELECT 2;\n"
        );
        assert!(dir.path().join("012_c.down.sql").exists());
    }
}
