//! Command lines of the six bucket binaries (they differ only by preset).

use crate::error::BucketsError;
use crate::locations::{Locations, Overlap};
use crate::preset::{Preset, log_stem};
use crate::progress::BarProgress;
use crate::run::{DeleteRun, MigrateRun, run_delete, run_migrate, run_restore};
use clap::{Args, Parser, Subcommand};
use migrate_cli::{Confirmation, OutputArgs, Tool};
use std::path::PathBuf;
use std::process::ExitCode;

const GCS_CREDENTIALS: &str =
    "GCS: STORAGE_EMULATOR_HOST (e.g. http://127.0.0.1:4443) points every call at an emulator without
credentials; otherwise application default credentials or GOOGLE_APPLICATION_CREDENTIALS.";

/// Flags every bucket tool shares.
#[derive(Debug, Args)]
pub struct Common {
    /// Environment: derives both locations for the named tools, and names the log file.
    #[arg(long, value_parser = parse_env)]
    pub env: Option<String>,
    /// Source location (gs://, file://, memory://, s3://); overrides the one --env derives.
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
    /// Target location; overrides the one --env derives.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Objects handled at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub jobs: u16,
    /// `--log-dir`, `--json`, `-q`, `-v`.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// An environment name: lowercase letters, digits and `-` (it becomes part of bucket and file
/// names).
fn parse_env(text: &str) -> Result<String, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        Ok(text.to_string())
    } else {
        Err("use lowercase letters, digits and '-' only (e.g. prod, dev, staging-2)".into())
    }
}

/// `migrate-*`: analyse, plan, copy, verify.
#[derive(Debug, Parser)]
pub struct MigrateCli {
    #[command(flatten)]
    common: Common,
    /// Only analyse and plan; write nothing (the default).
    #[arg(long, conflicts_with = "execute")]
    dry_run: bool,
    /// Copy, then verify every object by size and content checksum.
    #[arg(long)]
    execute: bool,
    /// Replace target objects whose content differs from the source (otherwise the run fails).
    #[arg(long)]
    overwrite_changed: bool,
    /// Scan this code tree for references to the old location and list every file:line.
    #[arg(long, value_name = "DIR")]
    check_references: Option<PathBuf>,
}

/// `delete-*`: guarded deletion of the old location, or `restore`.
#[derive(Debug, Parser)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeleteCli {
    #[command(subcommand)]
    command: Option<DeleteCommand>,
    #[command(flatten)]
    common: Common,
    /// Only check and report; delete nothing (the default).
    #[arg(long, conflicts_with = "confirm_delete")]
    dry_run: bool,
    /// Delete, after the checks pass and the deletion is confirmed.
    #[arg(long)]
    confirm_delete: bool,
    /// Confirm without a terminal: the exact source URL.
    #[arg(long, value_name = "URL", requires = "confirm_delete")]
    confirm_text: Option<String>,
    /// Refuse while this code tree still refers to the old location.
    #[arg(long, value_name = "DIR")]
    code_dir: Option<PathBuf>,
    /// Where the backup manifest is written locally (default: the log directory).
    #[arg(long, value_name = "DIR")]
    manifest_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum DeleteCommand {
    /// Copy a manifest's objects back from the target into the source.
    Restore {
        /// The manifest a deletion wrote: a local file, or its copy in the target bucket
        /// (gs://…/_migration_manifests/…_manifest.jsonl), which survives losing this machine.
        #[arg(long, value_name = "FILE|URL")]
        manifest: String,
        /// Copy (otherwise only report what would be restored).
        #[arg(long)]
        execute: bool,
        /// Objects handled at once.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=512))]
        jobs: u16,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn about_migrate(preset: Preset) -> String {
    match preset.urls("{env}") {
        Some((from, to)) => format!(
            "Copy {from} to {to}: analyse both sides, plan, copy (rsync semantics), verify every object by content. Dry run unless --execute."
        ),
        None => "Copy one prefix to another location: analyse, plan, copy (rsync semantics), verify every object by content. Dry run unless --execute.".into(),
    }
}

/// `  command options`, continued on a second line (`\`) when one would not fit a 100-column
/// `--help` unwrapped: an example must survive copy and paste.
fn example(command: &str, options: &str) -> String {
    let one_line = format!("  {command} {options}");
    if one_line.chars().count() <= 96 { one_line } else { format!("  {command} \\\n      {options}") }
}

fn migrate_examples(preset: Preset) -> String {
    let bin = preset.migrate_binary();
    let head = match preset {
        Preset::Generic => {
            let pair = "--from gs://old-bucket/exports/ --to gs://new-bucket/exports/";
            [
                "Examples:".to_string(),
                example(bin, pair),
                example(&format!("{bin} {pair}"), "--execute"),
                example(
                    &format!("{bin} --from file:///data/exports/"),
                    "--to gs://new-bucket/exports/ --execute --jobs 32",
                ),
            ]
            .join("\n")
                + "\n"
        }
        _ => format!(
            "Examples:\n  # 1. Analysis (dry run: nothing is written)\n  {bin} --env prod --dry-run\n  # 2. Copy, then verify every object\n  {bin} --env prod --execute\n  # Just before cutover: copy what is new since (only missing objects are copied)\n  {bin} --env prod --execute\n  # List the code that still points at the old location\n  {bin} --env prod --check-references ./orchestration\n"
        ),
    };
    format!(
        "{head}\nLog file: logs/{}_<env>_<timestamp>.log\n\n{}\n\n{GCS_CREDENTIALS}",
        log_stem(bin, None),
        migrate_cli::exit::HELP
    )
}

fn about_delete(preset: Preset) -> String {
    match preset.urls("{env}") {
        Some((from, _)) => format!(
            "Delete {from} after the migration: refuses unless a fresh verification passes, writes a backup manifest, then deletes exactly the manifest's objects. Dry run unless --confirm-delete."
        ),
        None => "Delete a migrated prefix: refuses unless a fresh verification passes, writes a backup manifest, then deletes exactly the manifest's objects. Dry run unless --confirm-delete.".into(),
    }
}

fn delete_examples(preset: Preset) -> String {
    let bin = preset.delete_binary();
    let args = match preset {
        Preset::Generic => "--from gs://old-bucket/exports/ --to gs://new-bucket/exports/",
        _ => "--env prod",
    };
    let src = preset.urls("prod").map(|u| u.0).unwrap_or_else(|| "gs://old-bucket/exports/".into());
    let command = format!("{bin} {args}");
    let lines = [
        "Examples:".to_string(),
        "  # Checks only (dry run)".into(),
        example(&command, "--dry-run --code-dir ./orchestration"),
        "  # Delete, confirming at the prompt (type the source URL, then confirm again)".into(),
        example(&command, "--confirm-delete --code-dir ./orchestration"),
        "  # Delete without a terminal".into(),
        example(&command, &format!("--confirm-delete --confirm-text '{src}'")),
        "  # Undo: copy the manifest's objects back".into(),
        example(&format!("{bin} restore"), "--manifest logs/<run>_manifest.jsonl --execute"),
    ];
    format!(
        "{}\n\nLog file: logs/{}_<env>_<timestamp>.log; manifest beside it and in the target bucket under _migration_manifests/.\n\n{}\n\n{GCS_CREDENTIALS}",
        lines.join("\n"),
        log_stem(bin, None),
        migrate_cli::exit::HELP
    )
}

fn parse<T: Parser>(name: &'static str, about: String, examples: String) -> T {
    let command = T::command()
        .name(name)
        .bin_name(name)
        .about(about)
        .after_long_help(examples)
        .version(env!("CARGO_PKG_VERSION"));
    let matches = command.get_matches();
    T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn locations(common: &Common, preset: Preset) -> Result<(String, String), BucketsError> {
    let derived = common.env.as_deref().and_then(|env| preset.urls(env));
    let from = common.from.clone().or_else(|| derived.as_ref().map(|d| d.0.clone()));
    let to = common.to.clone().or_else(|| derived.as_ref().map(|d| d.1.clone()));
    match (from, to) {
        (Some(f), Some(t)) => match Overlap::of(&f, &t) {
            Some(overlap) => Err(BucketsError::Usage(overlap.explain(&f, &t))),
            None => Ok((f, t)),
        },
        _ if preset == Preset::Generic => {
            Err(BucketsError::Usage("give both --from URL and --to URL".into()))
        }
        _ => Err(BucketsError::Usage("give --env ENV (or both --from URL and --to URL)".into())),
    }
}

/// The start-up path of a bucket binary: log file `<binary>_<env>_<time>.log`, `--json`.
fn tool(common: &Common, binary: &str) -> Tool {
    common.output.tool(binary, log_stem(binary, common.env.as_deref()))
}

/// `main` of a migrate binary.
pub fn migrate_main(preset: Preset) -> ExitCode {
    let cli: MigrateCli = parse(preset.migrate_binary(), about_migrate(preset), migrate_examples(preset));
    tool(&cli.common, preset.migrate_binary()).run(|_| async {
        let (source, target) = locations(&cli.common, preset)?;
        let run = MigrateRun {
            preset,
            env: cli.common.env.clone(),
            source,
            target,
            execute: cli.execute,
            overwrite_changed: cli.overwrite_changed,
            jobs: usize::from(cli.common.jobs),
            check_references: cli.check_references.clone(),
            own_dirs: vec![cli.common.output.log_dir.clone()],
        };
        run_migrate(&Locations::new(), &run, &BarProgress::default()).await
    })
}

/// `main` of a delete binary.
pub fn delete_main(preset: Preset) -> ExitCode {
    let cli: DeleteCli = parse(preset.delete_binary(), about_delete(preset), delete_examples(preset));
    if let Some(DeleteCommand::Restore { manifest, execute, jobs, output }) = cli.command {
        let stem = format!("{}_restore", log_stem(preset.delete_binary(), None));
        return output.tool(preset.delete_binary(), stem).run(|_| async move {
            run_restore(&Locations::new(), &manifest, execute, usize::from(jobs), &BarProgress::default())
                .await
        });
    }
    let cli = &cli;
    tool(&cli.common, preset.delete_binary()).run(|started| async move {
        let (source, target) = locations(&cli.common, preset)?;
        let run = DeleteRun {
            preset,
            env: cli.common.env.clone(),
            source,
            target,
            confirm_delete: cli.confirm_delete,
            confirmation: Confirmation::from_flag(cli.confirm_text.clone()),
            code_dir: cli.code_dir.clone(),
            jobs: usize::from(cli.common.jobs),
            manifest_dir: cli.manifest_dir.clone().unwrap_or_else(|| cli.common.output.log_dir.clone()),
            own_dirs: [Some(&cli.common.output.log_dir), cli.manifest_dir.as_ref()]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            run_stem: started.run_stem(),
        };
        run_delete(&Locations::new(), &run, &BarProgress::default()).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_line_fits_an_unwrapped_help() {
        for preset in [Preset::QpiExports, Preset::ClickhouseExport, Preset::Generic] {
            let text = migrate_examples(preset) + &delete_examples(preset);
            let commands = text.lines().take_while(|l| !l.starts_with("Log file"));
            for line in commands {
                assert!(line.chars().count() <= 96, "wraps in --help: {line}");
            }
        }
    }
}
