//! Where the server is and who we are: a URL, environment variables or a builder.

use crate::error::{ChError, Result};

/// Connection settings. Build one from a URL ([`ClickHouseConfig::parse`]), the environment
/// ([`ClickHouseConfig::from_env`]) or piece by piece; [`std::fmt::Display`] masks the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// `http://host:port` or `https://host:port`, without credentials or path.
    pub endpoint: String,
    /// The user (`default` unless given).
    pub user: String,
    /// The password, if any.
    pub password: Option<String>,
    /// The database tables are read from and written to (`default` unless given).
    pub database: String,
    /// Settings sent with every statement.
    pub settings: Vec<(String, String)>,
    /// Compress inserted data with LZ4 (the default; `?compression=none` turns it off, which
    /// saves CPU on both ends when client and server share a machine or a fast link).
    pub lz4: bool,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:8123".into(),
            user: "default".into(),
            password: None,
            database: "default".into(),
            settings: Vec::new(),
            lz4: true,
        }
    }
}

/// The environment variables [`ClickHouseConfig::from_env`] reads.
pub const ENV_VARS: [&str; 4] =
    ["CLICKHOUSE_URL", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_DATABASE"];

impl ClickHouseConfig {
    /// Parses `clickhouse://user:pass@host:port/db` (HTTP, port 8123 by default;
    /// `?secure=true` or `clickhouses://` for HTTPS on 8443) or `http(s)://user:pass@host:port/`
    /// with the database as the path or a `database=` parameter. Other parameters become
    /// settings sent with every statement.
    pub fn parse(text: &str) -> Result<Self> {
        let url = url::Url::parse(text).map_err(|e| {
            ChError::Config(format!(
                "{}: {e}; expected clickhouse://user:password@host:8123/database",
                mask(text)
            ))
        })?;
        let mut secure = match url.scheme() {
            "clickhouse" | "http" => false,
            "clickhouses" | "https" => true,
            other => {
                return Err(ChError::Config(format!(
                    "{}: unknown scheme {other}:// (use clickhouse://, http:// or https://)",
                    mask(text)
                )));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ChError::Config(format!("{}: no host", mask(text))))?;
        let mut config = ClickHouseConfig::default();
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
        };
        if !url.username().is_empty() {
            config.user = decode(url.username()).unwrap_or_default();
        }
        config.password = url.password().and_then(decode);
        let path = url.path().trim_matches('/');
        if !path.is_empty() {
            config.database = decode(path).unwrap_or_default();
        }
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "secure" => secure = matches!(value.as_ref(), "true" | "1" | "yes"),
                "database" => config.database = value.into_owned(),
                "user" => config.user = value.into_owned(),
                "password" => config.password = Some(value.into_owned()),
                "compression" => {
                    config.lz4 = match value.as_ref() {
                        "lz4" => true,
                        "none" => false,
                        other => {
                            return Err(ChError::Config(format!(
                                "{}: compression={other}: use lz4 or none",
                                mask(text)
                            )));
                        }
                    }
                }
                _ => config.settings.push((key.into_owned(), value.into_owned())),
            }
        }
        let port = url.port().unwrap_or(if secure { 8443 } else { 8123 });
        let host =
            if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
        config.endpoint = format!("{}://{host}:{port}", if secure { "https" } else { "http" });
        Ok(config)
    }

    /// `CLICKHOUSE_URL` (required), with `CLICKHOUSE_USER`, `CLICKHOUSE_PASSWORD` and
    /// `CLICKHOUSE_DATABASE` overriding what the URL says.
    pub fn from_env() -> Result<Self> {
        let url = std::env::var("CLICKHOUSE_URL").map_err(|_| {
            ChError::Config(
                "CLICKHOUSE_URL is not set (e.g. clickhouse://default@127.0.0.1:8123/default)".into(),
            )
        })?;
        let mut config = Self::parse(&url)?;
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(user) = var("CLICKHOUSE_USER") {
            config.user = user;
        }
        if let Some(password) = var("CLICKHOUSE_PASSWORD") {
            config.password = Some(password);
        }
        if let Some(database) = var("CLICKHOUSE_DATABASE") {
            config.database = database;
        }
        Ok(config)
    }

    /// The same settings for another user.
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// The same settings with a password.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The same settings for another database.
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = database.into();
        self
    }

    /// Adds a setting sent with every statement.
    pub fn with_setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }
}

impl std::fmt::Display for ClickHouseConfig {
    /// `http://user:****@host:port/database`: never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (scheme, rest) = self.endpoint.split_once("://").unwrap_or(("http", &self.endpoint));
        let password = if self.password.as_deref().is_some_and(|p| !p.is_empty()) { ":****" } else { "" };
        write!(f, "{scheme}://{}{password}@{rest}/{}", self.user, self.database)
    }
}

impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClickHouseConfig({self})")
    }
}

/// `text` with a URL password replaced by `****`, for messages about a URL that did not parse.
fn mask(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = &text[start + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:****{}", &text[..start + 3], &text[at..]),
                None => text.to_string(),
            }
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clickhouse_urls() {
        let c = ClickHouseConfig::parse("clickhouse://etl:s3cr%40t@ch.internal/archive").unwrap();
        assert_eq!(c.endpoint, "http://ch.internal:8123");
        assert_eq!(
            (c.user.as_str(), c.password.as_deref(), c.database.as_str()),
            ("etl", Some("s3cr@t"), "archive")
        );
        assert_eq!(c.to_string(), "http://etl:****@ch.internal:8123/archive");
        let tls =
            ClickHouseConfig::parse("clickhouse://ch:9440/x?secure=true&max_execution_time=60").unwrap();
        assert_eq!(tls.endpoint, "https://ch:9440");
        assert_eq!(tls.settings, vec![("max_execution_time".to_string(), "60".to_string())]);
        assert_eq!(ClickHouseConfig::parse("clickhouses://ch/x").unwrap().endpoint, "https://ch:8443");
    }

    #[test]
    fn http_urls() {
        let c = ClickHouseConfig::parse("http://127.0.0.1:18123/?database=t1").unwrap();
        assert_eq!(
            (c.endpoint.as_str(), c.database.as_str(), c.user.as_str()),
            ("http://127.0.0.1:18123", "t1", "default")
        );
        assert_eq!(c.to_string(), "http://default@127.0.0.1:18123/t1");
    }

    #[test]
    fn bad_urls_name_the_fix_and_hide_the_password() {
        let e = ClickHouseConfig::parse("postgres://u:hunter2@h/db").unwrap_err().to_string();
        assert!(e.contains("unknown scheme postgres://") && !e.contains("hunter2"), "{e}");
        let e = ClickHouseConfig::parse("not a url :pw@").unwrap_err().to_string();
        assert!(e.contains("expected clickhouse://"), "{e}");
    }

    #[test]
    fn builder() {
        let c = ClickHouseConfig::default()
            .with_user("u")
            .with_password("p")
            .with_database("d")
            .with_setting("a", "1");
        assert_eq!(c.to_string(), "http://u:****@127.0.0.1:8123/d");
        assert!(!format!("{c:?}").contains('p') || !format!("{c:?}").contains(":p@"));
    }
}
