//! A page as a real browser makes it: Debian's chromium, headless, loads the file, runs its
//! scripts and prints the resulting document.

use std::path::Path;
use std::process::Command;

/// The document chromium builds from the HTML file at `page` after its scripts ran. Panics,
/// saying how to get the browser, when it is missing or fails.
pub fn rendered_dom(page: &Path) -> String {
    let browser = &crate::services().browser;
    let page = page.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    let profile = crate::temp_dir();
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run the browser {}: {e}; {}", browser.display(), crate::config::START_HINT)
        });
    assert!(
        out.status.success(),
        "{} exited with {}: {}",
        browser.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
