//! Progress bars on a terminal; nothing when output goes to a file or pipe (the log lines and
//! the final summary say what happened there).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Whether progress bars should be drawn (stderr is a terminal).
pub fn enabled() -> bool {
    std::io::stderr().is_terminal()
}

const ITEMS: &str = "{prefix:>10} [{bar:30}] {percent:>3}% {pos}/{len} {msg} ({rate}/s, ETA {eta})";
const ITEMS_UNKNOWN: &str = "{prefix:>10} {spinner} {pos} {msg} ({rate}/s, {elapsed})";
const BYTES: &str = "{prefix:>10} [{bar:30}] {percent:>3}% {binary_bytes}/{binary_total_bytes} \
                     ({binary_bytes_per_sec}, ETA {eta}) {msg}";

/// A bar counting items (`total` when known: percentage and ETA), hidden unless [`enabled`].
pub fn bar(label: &str, total: Option<u64>) -> ProgressBar {
    let template = if total.is_some() { ITEMS } else { ITEMS_UNKNOWN };
    styled(total.map_or_else(ProgressBar::no_length, ProgressBar::new), template, label)
}

/// A bar counting bytes up to `total` (percentage, bytes/s, ETA), hidden unless [`enabled`];
/// its message can carry the object count.
pub fn bytes_bar(label: &str, total: u64) -> ProgressBar {
    styled(ProgressBar::new(total), BYTES, label)
}

fn styled(bar: ProgressBar, template: &str, label: &str) -> ProgressBar {
    if !enabled() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    if let Ok(style) = style(template) {
        bar.set_style(style);
    }
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The style of `template`, with `{rate}`: items per second, rounded for reading.
fn style(template: &str) -> Result<ProgressStyle, indicatif::style::TemplateError> {
    let rate = |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = w.write_str(&crate::format::per_second(state.pos(), state.elapsed()));
    };
    Ok(ProgressStyle::with_template(template)?.with_key("rate", rate).progress_chars("=> "))
}

pub use indicatif::ProgressBar as Bar;

#[cfg(test)]
mod tests {
    #[test]
    fn every_bar_template_parses() {
        for template in [super::ITEMS, super::ITEMS_UNKNOWN, super::BYTES] {
            assert!(super::style(template).is_ok(), "{template}");
        }
    }
}
