//! `report`: the history, journal and files as a table, JSON, Markdown or one HTML page.

use super::{CliError, Format, connect, files, history_of};
use crate::config::Resolved;
use crate::report::{Inputs, Report};
use migrate_cli::exit;
use migrate_cli::startup::Outcome;
use std::path::Path;

pub(super) async fn report(
    config: &Resolved,
    format: Format,
    performance: bool,
    output: Option<&Path>,
) -> Result<Outcome, CliError> {
    let server = connect(config).await?;
    let history = history_of(config, server.clone());
    let (loaded, _) = files(config)?;
    let migrations: Vec<_> = loaded.into_iter().map(|l| l.migration).collect();
    let (applied, events, runs) = if history.exists().await? {
        (history.applied().await?, history.events().await?, history.statement_runs().await?)
    } else {
        Default::default()
    };
    let inputs = Inputs { files: &migrations, applied: &applied, events: &events, runs: &runs };
    let report = Report {
        database: config.database.clone(),
        server: server.capabilities().version_text.clone(),
        environment: config.environment.clone().unwrap_or_default(),
        generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ..Report::build(inputs, performance)
    };
    let write = |path: &Path, text: String| {
        std::fs::write(path, text)
            .map_err(|e| CliError::Config(format!("cannot write {}: {e}", path.display())))
    };
    let json = report.to_json();
    let outcome = match (format, output) {
        (Format::Html, path) => {
            let path = path.unwrap_or(Path::new("migration-report.html"));
            write(path, report.to_html())?;
            Outcome::new(exit::OK, format!("Wrote {}: {}", path.display(), report.summary()))
        }
        (Format::Markdown, Some(path)) => {
            write(path, report.to_markdown())?;
            Outcome::new(exit::OK, format!("Wrote {}: {}", path.display(), report.summary()))
        }
        (Format::Table | Format::Markdown, _) => Outcome::new(exit::OK, report.to_markdown()),
        (Format::Json, Some(path)) => {
            write(path, serde_json::to_string_pretty(&json).unwrap_or_default() + "\n")?;
            Outcome::new(exit::OK, format!("Wrote {}", path.display()))
        }
        (Format::Json, None) => Outcome::new(exit::OK, report.summary()),
    };
    Ok(outcome.with_json(json))
}
