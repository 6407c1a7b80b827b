//! Log lines as operators know them (`INFO | message`) on the terminal, and the same lines with
//! timestamps in a log file per run.

use std::fmt;
use std::path::{Path, PathBuf};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// `LEVEL | message`, optionally preceded by a UTC timestamp.
struct Plain {
    timestamps: bool,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        if self.timestamps {
            write!(w, "{} ", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"))?;
        }
        write!(w, "{} | ", event.metadata().level())?;
        let mut message = String::new();
        ctx.field_format().format_fields(Writer::new(&mut message), event)?;
        writeln!(w, "{}", crate::secrets::redact(&message))
    }
}

/// What is logged unless `MIGRATE_LOG` says otherwise: the tools' own lines from `info` up; from
/// sqlx only errors (its server NOTICEs such as "table … does not exist, skipping" and its
/// slow-statement warnings are not the operator's business), from object_store no retry chatter.
pub const DEFAULT_FILTER: &str = "info,sqlx=error,object_store=warn";

/// How much the terminal shows (`-q`, the default, `-v`). The log file always keeps at least
/// the default level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// `-q`: warnings, errors and the summary only.
    Quiet,
    /// What an operator follows a run by.
    #[default]
    Normal,
    /// `-v`: the tools' debug lines too (libraries stay at info).
    Verbose,
}

impl Verbosity {
    /// From `-q` and `-v` flags (`-q` wins when both are given; clap keeps them apart).
    pub fn from_flags(quiet: bool, verbose: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        }
    }

    fn filter(self) -> String {
        match self {
            Verbosity::Quiet | Verbosity::Normal => DEFAULT_FILTER.into(),
            Verbosity::Verbose => {
                "debug,sqlx=warn,object_store=info,hyper=info,hyper_util=info,reqwest=info,h2=info,rustls=info,tower=info".into()
            }
        }
    }
}

/// The tracing target of per-object records (each copy, each deletion): written to the log
/// file only, so the terminal keeps to summaries.
pub const FILE_ONLY: &str = "migrate::record";

/// Logs to stderr (at `verbosity`, or as `MIGRATE_LOG` says) and to
/// `<dir>/<prefix>_<timestamp>.log`; returns the file's path. Events with target [`FILE_ONLY`]
/// go to the file alone.
pub fn init(dir: &Path, prefix: &str, verbosity: Verbosity) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{prefix}_{}.log", chrono::Utc::now().format("%Y%m%d_%H%M%S_%3f")));
    let file = std::fs::File::create(&path)?;
    // What is recorded at all: the log file's level (never below the default); the terminal
    // then shows all of it but the per-object records or, quiet, only warnings and errors.
    // (One filter for both: per-layer EnvFilters lost events after sqlx had run.)
    let kept = verbosity.max(Verbosity::Normal).filter();
    let filter = tracing_subscriber::EnvFilter::try_from_env("MIGRATE_LOG").unwrap_or_else(|_| kept.into());
    let quiet = verbosity == Verbosity::Quiet;
    let on_terminal = tracing_subscriber::filter::filter_fn(move |m| {
        m.target() != FILE_ONLY && (!quiet || *m.level() <= tracing::Level::WARN)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(Plain { timestamps: false })
                .with_writer(std::io::stderr)
                .with_filter(on_terminal),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(Plain { timestamps: true })
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file)),
        )
        .try_init()
        .map_err(std::io::Error::other)?;
    Ok(path)
}
