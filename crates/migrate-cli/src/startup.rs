//! The one start-up path every binary takes: arguments (parsed by the binary) → log file →
//! async runtime → the run → its outcome printed → exit code. Only this path prints a run's
//! result; libraries return an [`Outcome`] or an error that implements [`Failure`].

use crate::exit;
use crate::logging::Verbosity;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{Signal, SignalKind};
use tokio::sync::Notify;
use tracing::{error, info, warn};

/// What a finished run reports: its exit code and the summary printed on stdout.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Process exit code (see [`exit`]).
    pub exit: u8,
    /// The summary for a person; nothing is printed when empty.
    pub text: String,
    /// The summary for `--json`; `Null` when the tool has none.
    pub json: serde_json::Value,
}

impl Outcome {
    /// An outcome with a summary for a person only.
    pub fn new(exit: u8, text: impl Into<String>) -> Self {
        Self { exit, text: text.into(), json: serde_json::Value::Null }
    }

    /// The same outcome with a machine-readable summary for `--json`.
    pub fn with_json(self, json: serde_json::Value) -> Self {
        Self { json, ..self }
    }
}

/// An error a run can end with: it says what happened (its `Display`), which exit code that is,
/// and, where the tool knows one, what to do about it.
pub trait Failure: std::fmt::Display {
    /// The exit code (see [`exit`]).
    fn exit_code(&self) -> u8;

    /// One plain sentence on how to fix it, added by the tool (libraries state facts only).
    fn advice(&self) -> Option<String> {
        None
    }
}

/// What a run knows about how it was started.
#[derive(Debug, Clone)]
pub struct Started {
    /// This run's log file.
    pub log_file: PathBuf,
}

impl Started {
    /// The log file's name without `.log` (`delete_old_qpi_exports_prod_20261121_101500_123`):
    /// the stem of files that belong to this run, such as a manifest.
    pub fn run_stem(&self) -> String {
        self.log_file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// A binary about to run: its name, where its log file goes, how its outcome is printed.
#[derive(Debug, Clone)]
pub struct Tool {
    log_dir: PathBuf,
    log_stem: String,
    json: bool,
    verbosity: Verbosity,
}

impl Tool {
    /// The binary `name` (`migrate-sql`), logging into `log_dir`; the log file is named
    /// `<name with _>_<UTC time>.log` unless [`Tool::log_stem`] says otherwise.
    pub fn new(name: &str, log_dir: impl Into<PathBuf>) -> Self {
        Self {
            log_dir: log_dir.into(),
            log_stem: name.replace('-', "_"),
            json: false,
            verbosity: Verbosity::Normal,
        }
    }

    /// Names the log file `<stem>_<UTC time>.log` (`migrate_qpi_exports_prod`).
    pub fn log_stem(self, stem: impl Into<String>) -> Self {
        Self { log_stem: stem.into(), ..self }
    }

    /// Prints the outcome as JSON instead of its text (log lines stay on stderr): the tool's
    /// summary fields plus `status`, `exit_code`, `log_file` and `duration_seconds`, or an
    /// `error` object when the run failed.
    pub fn json(self, json: bool) -> Self {
        Self { json, ..self }
    }

    /// How much the terminal shows (`-q`/`-v`).
    pub fn verbosity(self, verbosity: Verbosity) -> Self {
        Self { verbosity, ..self }
    }

    /// Opens the log file, starts the runtime, runs `work` until it ends or Ctrl-C stops it,
    /// prints the outcome or the error, and returns the exit code.
    ///
    /// - An unwritable log directory is a configuration error ([`exit::USAGE`]): a run that
    ///   changes data always leaves its record.
    /// - A runtime that cannot start is [`exit::FAILED`], said on stderr.
    /// - The first Ctrl-C stops the run at its next await point and exits with
    ///   [`exit::INTERRUPTED`]; a second one, or a run that has not stopped 10 s later, ends
    ///   the process at once. Ctrl-C at a confirmation prompt refuses ([`exit::REFUSED`]).
    /// - With `--json`, one JSON document on stdout (see [`Tool::json`]); the last log line
    ///   says how long the run took and how it ended.
    pub fn run<F, Fut, E>(self, work: F) -> ExitCode
    where
        F: FnOnce(Started) -> Fut,
        Fut: Future<Output = Result<Outcome, E>>,
        E: Failure,
    {
        let started_at = std::time::Instant::now();
        let log_file = match crate::logging::init(&self.log_dir, &self.log_stem, self.verbosity) {
            Ok(path) => path,
            Err(e) => {
                eprintln!(
                    "ERROR | cannot create the log file in {}: {e}. Pass --log-dir with a writable directory.",
                    self.log_dir.display()
                );
                return ExitCode::from(exit::USAGE);
            }
        };
        info!("Log file: {}", log_file.display());
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                error!("cannot start the async runtime: {e}");
                return ExitCode::from(exit::FAILED);
            }
        };
        let stop = Arc::new(Notify::new());
        // Registered before the run starts, so a Ctrl-C at any point after this is seen.
        match runtime.block_on(async { tokio::signal::unix::signal(SignalKind::interrupt()) }) {
            Ok(interrupts) => drop(runtime.spawn(watch_ctrl_c(interrupts, stop.clone()))),
            Err(e) => warn!("Ctrl-C will end the run at once (no signal handler: {e})"),
        }
        let started = Started { log_file: log_file.clone() };
        let ended = runtime.block_on(async {
            tokio::select! {
                result = work(started) => Some(result),
                () = stop.notified() => None,
            }
        });
        let report = Report { log_file: &log_file, started_at };
        let Some(result) = ended else {
            warn!("Interrupted (Ctrl-C): stopped before the end; {} says how far it got", log_file.display());
            if self.json {
                report.print_json(serde_json::json!({}), exit::INTERRUPTED);
            }
            exit_at_once(exit::INTERRUPTED);
        };
        runtime.shutdown_background();
        let code = match result {
            Ok(outcome) => {
                if self.json {
                    report.print_json(outcome.json, outcome.exit);
                } else if !outcome.text.is_empty() {
                    println!("{}", outcome.text);
                }
                outcome.exit
            }
            Err(e) => {
                error!("{e}");
                let advice: Vec<String> =
                    e.advice().iter().flat_map(|a| a.lines()).map(str::to_string).collect();
                for sentence in &advice {
                    error!("{sentence}");
                }
                if self.json {
                    let error = serde_json::json!({ "message": e.to_string(), "advice": advice });
                    report.print_json(serde_json::json!({ "error": error }), e.exit_code());
                }
                e.exit_code()
            }
        };
        info!("Finished in {} ({})", crate::format::duration(started_at.elapsed()), status(code));
        ExitCode::from(code)
    }
}

/// The word for an exit code in JSON and the last log line.
pub fn status(code: u8) -> &'static str {
    match code {
        exit::OK => "ok",
        exit::FAILED => "failed",
        exit::USAGE => "usage error",
        exit::DIFFERENT => "different",
        exit::REFUSED => "refused",
        exit::INTERRUPTED => "interrupted",
        _ => "failed",
    }
}

/// What every JSON summary carries besides the tool's own fields.
struct Report<'a> {
    log_file: &'a std::path::Path,
    started_at: std::time::Instant,
}

impl Report<'_> {
    fn print_json(&self, summary: serde_json::Value, code: u8) {
        let mut doc = match summary {
            serde_json::Value::Object(fields) => fields,
            serde_json::Value::Null => serde_json::Map::new(),
            other => [("summary".to_string(), other)].into_iter().collect(),
        };
        doc.insert("status".into(), status(code).into());
        doc.insert("exit_code".into(), code.into());
        doc.insert("log_file".into(), self.log_file.display().to_string().into());
        let seconds = (self.started_at.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        doc.insert("duration_seconds".into(), seconds.into());
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
}

/// How long a run may take to stop after Ctrl-C (a step that blocks, such as one long query,
/// cannot stop earlier) before the process exits anyway.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The first Ctrl-C asks the run to stop; a second one, one while a confirmation prompt blocks
/// the run (nothing has been changed yet), or a run that has not stopped within [`STOP_GRACE`]
/// ends the process at once.
async fn watch_ctrl_c(mut interrupts: Signal, stop: Arc<Notify>) {
    if interrupts.recv().await.is_none() {
        return;
    }
    if crate::confirm::prompting() {
        // Refused like any other unconfirmed step (the prompt may also see the key itself).
        warn!("REFUSED: interrupted at the prompt (Ctrl-C); nothing was changed");
        exit_at_once(exit::REFUSED);
    }
    stop.notify_one();
    tokio::select! {
        _ = interrupts.recv() => exit_now("Second Ctrl-C: exiting now."),
        () = tokio::time::sleep(STOP_GRACE) => exit_now(&format!(
            "The run did not stop within {} s of Ctrl-C (a step that cannot be interrupted): exiting now.",
            STOP_GRACE.as_secs()
        )),
    }
}

fn exit_now(why: &str) -> ! {
    warn!("{why}");
    exit_at_once(exit::INTERRUPTED)
}

/// Ends the process with `code` without running exit handlers. Work abandoned on Ctrl-C may
/// still be running on other threads (a query inside an embedded database), and the exit
/// handlers of such a library (C++ static destructors) would pull its state from under it.
fn exit_at_once(code: u8) -> ! {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process at once; no code of ours runs after it.
    unsafe { libc::_exit(i32::from(code)) }
}

/// Says why the arguments do not make a run, on stderr in the log-line form, and returns the
/// usage exit code; for checks a binary makes before any log file exists.
pub fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("ERROR | {message}");
    ExitCode::from(exit::USAGE)
}
