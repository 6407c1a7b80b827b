//! `init`, `create` and `resolve`: the project's files.

use super::{CliError, connect, files, history_of};
use crate::config::Resolved;
use crate::project::{Loaded, load_dir, next_version, renumber};
use crate::templates::{Kind, Values, render, table_name};
use migrate_cli::exit;
use migrate_cli::startup::Outcome;
use std::path::Path;

const CONFIG_TEMPLATE: &str = "# ch-migrate configuration (the seed's format; unknown keys are errors)
database:
  host: localhost
  http_port: 8123
  database: default
  user: default
  password: \"\"
  # password_env: CLICKHOUSE_PASSWORD   # read the password from this variable instead
  secure: false

migration:
  table_name: schema_migrations
  version_format: \"V{version}__{description}\"
  rollback_enabled: true
  parallel_execution: false
  dry_run: false

environments:
  production:
    rollback_enabled: false

validation:
  check_syntax: true
  check_dependencies: true
  check_rollback: true
  max_migration_size: 1048576

logging:
  level: INFO
  file: migration.log
";

pub(super) fn init(dir: &Path) -> Result<Outcome, CliError> {
    let config = dir.join("configs/migration-config.yml");
    if config.exists() {
        return Err(CliError::Config(format!("{} already exists; nothing changed", config.display())));
    }
    let io = |e: std::io::Error| CliError::Config(format!("cannot create the project files: {e}"));
    std::fs::create_dir_all(dir.join("configs/environments")).map_err(io)?;
    std::fs::create_dir_all(dir.join("migrations")).map_err(io)?;
    std::fs::create_dir_all(dir.join("templates")).map_err(io)?;
    for kind in Kind::ALL {
        let path = dir.join("templates").join(kind.file_name());
        if !path.exists() {
            std::fs::write(&path, kind.builtin()).map_err(io)?;
        }
    }
    std::fs::write(&config, CONFIG_TEMPLATE).map_err(io)?;
    Ok(Outcome::new(exit::OK, format!("Created {}, migrations/ and templates/", config.display())))
}

pub(super) fn create(
    config: &Resolved,
    name: &str,
    template: &str,
    table: Option<&str>,
) -> Result<Outcome, CliError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(CliError::Config(format!("--name {name:?}: use letters, digits and underscores")));
    }
    let kind = Kind::parse(template).ok_or_else(|| {
        CliError::Config(format!("--template {template:?}: use table, alter, index or data"))
    })?;
    let own = config.project.join("templates").join(kind.file_name());
    let text = match std::fs::read_to_string(&own) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => kind.builtin().to_string(),
        Err(e) => return Err(CliError::Config(format!("{}: {e}", own.display()))),
    };
    let dir = config.migrations_dir();
    std::fs::create_dir_all(&dir).map_err(|e| CliError::Config(format!("{}: {e}", dir.display())))?;
    let (loaded, _) = load_dir(&dir).map_err(|e| CliError::Config(format!("{}: {e}", dir.display())))?;
    let version = next_version(&loaded);
    let path = dir.join(format!("V{version}__{name}.sql"));
    let values = Values {
        version,
        name: name.to_string(),
        table_name: table.map_or_else(|| table_name(name), str::to_string),
        created: chrono::Utc::now().format("%Y-%m-%d").to_string(),
    };
    std::fs::write(&path, render(&text, &values))
        .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
    Ok(Outcome::new(exit::OK, format!("Created {} from the {} template", path.display(), kind.name()))
        .with_json(serde_json::json!({ "file": path, "version": version, "template": kind.name() })))
}

/// `resolve`: gives a pending file that conflicts (a version another file has, or one below
/// the highest applied) the next free version, renaming it and its `Version:` header.
pub(super) async fn resolve(config: &Resolved, migration: &str) -> Result<Outcome, CliError> {
    let (loaded, _) = files(config)?;
    let wanted = Path::new(migration).file_name().and_then(|n| n.to_str()).unwrap_or(migration);
    let matches: Vec<&Loaded> =
        loaded.iter().filter(|l| l.path.file_name().and_then(|n| n.to_str()) == Some(wanted)).collect();
    let [target] = matches.as_slice() else {
        return Err(CliError::Config(format!(
            "--migration {migration:?}: name one file of {} (as `validate --check-conflicts` lists them)",
            config.migrations_dir().display()
        )));
    };
    let server = connect(config).await?;
    let history = history_of(config, server);
    let applied = if history.exists().await? { history.applied().await? } else { Vec::new() };
    let version = target.migration.version;
    if applied.iter().any(|a| a.version == version && a.checksum == target.migration.checksum.hex) {
        return Err(CliError::Refused(format!(
            "{} is the applied V{version}: renumbering it would make it run again; resolve the other file",
            target.path.display()
        )));
    }
    let duplicate = loaded.iter().filter(|l| l.migration.version == version).count() > 1;
    let below = applied.iter().any(|a| a.version > version);
    if !duplicate && !below && !applied.iter().any(|a| a.version == version) {
        return Ok(Outcome::new(
            exit::OK,
            format!("{}: no conflict, nothing renamed", target.path.display()),
        ));
    }
    let highest_applied = applied.iter().map(|a| a.version).max().unwrap_or(0);
    let new = next_version(&loaded).max(highest_applied + 1);
    let renamed =
        renumber(target, new).map_err(|e| CliError::Config(format!("{}: {e}", target.path.display())))?;
    let dependants: Vec<String> = loaded
        .iter()
        .filter(|l| l.migration.header.dependencies.contains(&version))
        .map(|l| l.path.display().to_string())
        .collect();
    let mut text = format!(
        "V{version} -> V{new}: {}",
        renamed
            .iter()
            .map(|(from, to)| format!("{} -> {}", from.display(), to.display()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !dependants.is_empty() {
        text.push_str(&format!(
            "\n  these files depend on {version}; check which of the two they mean: {}",
            dependants.join(", ")
        ));
    }
    Ok(Outcome::new(exit::OK, text).with_json(serde_json::json!({ "from": version, "to": new })))
}
