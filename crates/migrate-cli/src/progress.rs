//! Progress bars on a terminal; nothing when output goes to a file or pipe (the log lines and
//! the final summary say what happened there).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Whether progress bars should be drawn (stderr is a terminal).
pub fn enabled() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar counting items and bytes with a rate, hidden unless [`enabled`].
pub fn bar(label: &str, total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    if !enabled() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    let template = match total {
        Some(_) => "{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({per_sec}, {elapsed})",
        None => "{prefix:>10} {spinner} {pos} {msg} ({per_sec}, {elapsed})",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

pub use indicatif::ProgressBar as Bar;
