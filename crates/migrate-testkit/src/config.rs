//! Where the test services are: environment variables, else `.services/env`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// What to tell a developer whose services are not up.
pub(crate) const START_HINT: &str = "start the test services with `scripts/services up` (or `just services`)";

/// Addresses of the test services.
#[derive(Debug, Clone)]
pub struct Services {
    /// Admin URL of PostgreSQL (a database per test is created through it).
    pub pg_url: String,
    /// HTTP URL of ClickHouse 18.16 (Debian's server).
    pub clickhouse_url: String,
    /// HTTP URL of the modern engine (ClickHouse 26.x from chdb, behind the project's HTTP front).
    pub clickhouse_modern_url: String,
    /// HTTP URLs of the two nodes of the ClickHouse test cluster (clusters `replicated` and
    /// `sharded`).
    pub clickhouse_cluster_urls: Vec<String>,
    /// Base URL of the GCS emulator (what `STORAGE_EMULATOR_HOST` points at).
    pub gcs_url: String,
    /// Service-account JSON with `gcs_base_url` and `disable_oauth`, for object_store's GCS client.
    pub gcs_service_account: PathBuf,
    /// A headless browser (Debian's chromium), for tests of HTML pages.
    pub browser: PathBuf,
}

/// The services' addresses, read once. Panics, saying to run `scripts/services up`, when they
/// are not configured.
pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Result<Services, String>> = OnceLock::new();
    match SERVICES.get_or_init(load) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// `.services/env` of the checkout the tests run in, found at run time by walking up from the
/// working directory (cargo and nextest run tests from the package's folder). A path baked in at
/// compile time would point at another checkout when clones share one target directory.
fn env_file() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .map(|dir| dir.join(".services/env"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| cwd.join(".services/env"))
}

fn load() -> Result<Services, String> {
    let path = env_file();
    let file: HashMap<String, String> =
        std::fs::read_to_string(&path).map(|text| parse_env(&text)).unwrap_or_default();
    let get = |key: &str| -> Result<String, String> {
        std::env::var(key).ok().filter(|v| !v.is_empty()).or_else(|| file.get(key).cloned()).ok_or_else(
            || {
                format!(
                    "test services are not configured: {key} is neither set nor in {}; {START_HINT}",
                    path.display()
                )
            },
        )
    };
    Ok(Services {
        pg_url: get("MIGRATE_TEST_PG_URL")?,
        clickhouse_url: get("MIGRATE_TEST_CLICKHOUSE_URL")?,
        clickhouse_modern_url: get("MIGRATE_TEST_CLICKHOUSE_MODERN_URL")?,
        clickhouse_cluster_urls: get("MIGRATE_TEST_CLICKHOUSE_CLUSTER_URLS")?
            .split(',')
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect(),
        gcs_url: get("MIGRATE_TEST_GCS_URL")?,
        gcs_service_account: PathBuf::from(get("MIGRATE_TEST_GCS_SERVICE_ACCOUNT")?),
        browser: PathBuf::from(get("MIGRATE_TEST_BROWSER")?),
    })
}

/// `KEY=value` lines; `#` comments and blank lines ignored.
fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Replaces the password in a URL with `****`, for messages.
pub(crate) fn mask(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_lines() {
        let env = parse_env("# c\nA=1\n\nB = http://x:1/ \n");
        assert_eq!(env.get("A").map(String::as_str), Some("1"));
        assert_eq!(env.get("B").map(String::as_str), Some("http://x:1/"));
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(mask("postgres://u:secret@h:5432/d"), "postgres://u:****@h:5432/d");
        assert_eq!(mask("postgres://u@h/d"), "postgres://u@h/d");
    }
}
