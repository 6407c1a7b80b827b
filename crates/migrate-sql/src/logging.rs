//! Log lines as operators know them (`INFO | message`) on the terminal, and the same lines with
//! timestamps in a log file per run.

use std::fmt;
use std::path::{Path, PathBuf};
use tracing::{Event, Subscriber};
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
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Logs to stderr and to `<dir>/<prefix>_<timestamp>.log`; returns the file's path.
pub fn init(dir: &Path, prefix: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{prefix}_{}.log", chrono::Utc::now().format("%Y%m%d_%H%M%S_%3f")));
    let file = std::fs::File::create(&path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("MIGRATE_LOG").unwrap_or_else(|_| "info".into());
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(Plain { timestamps: false })
                .with_writer(std::io::stderr),
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
