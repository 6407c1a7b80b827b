//! The target database: where its URL comes from, how SQLAlchemy-style URLs are read, and how
//! it is shown (passwords always as `****`).

use crate::error::{Result, SqlError};
use migrate_cli::secrets::mask_url;
use std::fmt;
use std::path::PathBuf;

/// Environment variables the target URL is read from, in order of precedence.
pub const URL_VAR: &str = "CRYPTO_DB_URL";
/// Parts of a URL, used when [`URL_VAR`] is not set.
pub const PART_VARS: [&str; 4] = ["CRYPTO_DB_USER", "CRYPTO_DB_PASS", "CRYPTO_DB_HOST", "CRYPTO_DB_NAME"];
/// The optional port that goes with [`PART_VARS`].
pub const PORT_VAR: &str = "CRYPTO_DB_PORT";

/// Where the target URL was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlSource {
    /// `CRYPTO_DB_URL`.
    EnvUrl,
    /// Built from `CRYPTO_DB_USER`/`PASS`/`HOST`/`NAME` (and `CRYPTO_DB_PORT`).
    EnvParts,
    /// `database.url` in the config file.
    Config,
}

impl UrlSource {
    /// The log line saying which source was used.
    pub fn log_line(self) -> &'static str {
        match self {
            UrlSource::EnvUrl => "Using database URL from CRYPTO_DB_URL environment variable",
            UrlSource::EnvParts => "Built database URL from CRYPTO_DB_* environment variables",
            UrlSource::Config => "Using database URL from database.url in the config file",
        }
    }
}

/// A parsed target.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite database file (`None`: in memory).
    Sqlite {
        /// The database file.
        path: Option<PathBuf>,
        /// The URL as given.
        original: String,
    },
    /// A PostgreSQL server over TCP or a Unix socket directory.
    Postgres(PgTarget),
}

/// Connection parts of a PostgreSQL target.
#[derive(Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// The scheme as written (`postgresql+pg8000`), for display.
    pub scheme: String,
    /// User name.
    pub user: Option<String>,
    /// Password (never displayed).
    pub password: Option<String>,
    /// Host name, or a socket directory when it starts with `/`.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Database name.
    pub database: Option<String>,
    /// `sslmode`, when given.
    pub sslmode: Option<String>,
    /// `application_name`, when given.
    pub application_name: Option<String>,
}

impl Target {
    /// The dialect's name as the guide's log lines print it (`SQLITE`, `POSTGRESQL`).
    pub fn dialect(&self) -> &'static str {
        match self {
            Target::Sqlite { .. } => "SQLITE",
            Target::Postgres(_) => "POSTGRESQL",
        }
    }

    /// Parses the URL forms users already have:
    /// `sqlite:///./x.db` (relative), `sqlite:////abs/x.db` (absolute), `sqlite://` (memory),
    /// `postgres://`, `postgresql://`, `postgresql+psycopg2://`, `postgresql+pg8000://`,
    /// with `?host=/cloudsql/project:region:instance` or `?unix_sock=…/.s.PGSQL.5432` for sockets.
    pub fn parse(url: &str) -> Result<Target> {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid(url, "expected scheme://…"))?;
        let driver_base = scheme.split('+').next().unwrap_or(scheme).to_ascii_lowercase();
        match driver_base.as_str() {
            "sqlite" => parse_sqlite(url, rest),
            "postgres" | "postgresql" => parse_postgres(url, scheme, rest).map(Target::Postgres),
            _ => Err(invalid(
                url,
                &format!(
                    "unsupported scheme {scheme:?}: use sqlite:///path.db or postgresql://user:pass@host/db"
                ),
            )),
        }
    }
}

fn invalid(url: &str, reason: &str) -> SqlError {
    SqlError::InvalidUrl { url: mask_url(url), reason: reason.to_string() }
}

fn parse_sqlite(url: &str, rest: &str) -> Result<Target> {
    // sqlite:///relative.db -> rest "/relative.db"; sqlite:////abs.db -> rest "//abs.db".
    let original = url.to_string();
    let (path_part, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !query.is_empty() && !query.split('&').all(|kv| kv.starts_with("mode=") || kv.starts_with("cache=")) {
        return Err(invalid(url, "SQLite URLs take no parameters other than mode= and cache="));
    }
    if path_part.is_empty() || path_part == "/" || path_part == "/:memory:" {
        return Ok(Target::Sqlite { path: None, original });
    }
    let Some(path) = path_part.strip_prefix('/') else {
        return Err(invalid(url, "a SQLite URL has three slashes before a relative path: sqlite:///./x.db"));
    };
    let path = percent_decode(path);
    Ok(Target::Sqlite { path: Some(PathBuf::from(path)), original })
}

fn parse_postgres(url: &str, scheme: &str, rest: &str) -> Result<PgTarget> {
    let (authority_and_path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = authority_and_path.split_once('/').unwrap_or((authority_and_path, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (Some(percent_decode(user)), Some(percent_decode(pass))),
            None => (Some(percent_decode(u)), None),
        },
        None => (None, None),
    };
    let (mut host, mut port) = (None, None);
    if !hostport.is_empty() {
        let (h, p) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (h, Some(p)),
            _ => (hostport, None),
        };
        host = Some(h.trim_matches(['[', ']']).to_string());
        if let Some(p) = p {
            port = Some(p.parse::<u16>().map_err(|_| invalid(url, &format!("port {p:?} is not a number")))?);
        }
    }
    let mut target = PgTarget {
        scheme: scheme.to_string(),
        user: user.filter(|u| !u.is_empty()),
        password,
        host,
        port,
        database: Some(percent_decode(path)).filter(|d| !d.is_empty()),
        sslmode: None,
        application_name: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "host" => target.host = Some(v),
            "port" => {
                target.port =
                    Some(v.parse().map_err(|_| invalid(url, &format!("port {v:?} is not a number")))?)
            }
            // pg8000 names the socket file itself; the server's socket lives in its directory.
            "unix_sock" => {
                let dir = match v.rsplit_once('/') {
                    Some((dir, file)) if file.starts_with(".s.PGSQL.") => {
                        if let Some(p) = file.strip_prefix(".s.PGSQL.").and_then(|p| p.parse().ok()) {
                            target.port = Some(p);
                        }
                        dir.to_string()
                    }
                    _ => v,
                };
                target.host = Some(dir);
            }
            "sslmode" => target.sslmode = Some(v),
            "application_name" => target.application_name = Some(v),
            "user" => target.user = Some(v),
            "password" => target.password = Some(v),
            "dbname" => target.database = Some(v),
            other => {
                return Err(invalid(
                    url,
                    &format!(
                        "unknown parameter {other:?} (known: host, port, unix_sock, sslmode, application_name, user, password, dbname)"
                    ),
                ));
            }
        }
    }
    if let Some(password) = &target.password {
        // Whatever prints it by mistake later, the log writer masks it.
        migrate_cli::secrets::add_secret(password);
        migrate_cli::secrets::add_secret(
            &percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC).to_string(),
        );
    }
    Ok(target)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Finds the target URL: `CRYPTO_DB_URL`, else the `CRYPTO_DB_*` parts, else `database.url`.
/// `env` looks a variable up (the process environment in production, a map in tests).
pub fn resolve_url(
    env: impl Fn(&str) -> Option<String>,
    config_url: Option<&str>,
) -> Result<(String, UrlSource)> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if let Some(url) = get(URL_VAR) {
        return Ok((url, UrlSource::EnvUrl));
    }
    // Any part set means the parts are meant: all must be there, or the run would silently go
    // to the config's database instead.
    let set: Vec<&'static str> =
        PART_VARS.iter().chain([&PORT_VAR]).copied().filter(|v| get(v).is_some()).collect();
    let missing: Vec<&'static str> = PART_VARS.iter().copied().filter(|v| get(v).is_none()).collect();
    if !set.is_empty() && !missing.is_empty() {
        return Err(SqlError::PartialTarget { set, missing });
    }
    if let (Some(user), Some(pass), Some(host), Some(name)) =
        (get("CRYPTO_DB_USER"), get("CRYPTO_DB_PASS"), get("CRYPTO_DB_HOST"), get("CRYPTO_DB_NAME"))
    {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let auth = format!("{}:{}", enc(&user), enc(&pass));
        let port = get(PORT_VAR);
        let url = if host.starts_with('/') {
            // A directory such as /cloudsql/project:region:instance: a Unix socket.
            let port = port.map(|p| format!("&port={p}")).unwrap_or_default();
            format!("postgresql://{auth}@/{}?host={}{port}", enc(&name), enc(&host))
        } else {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("postgresql://{auth}@{host}{port}/{}", enc(&name))
        };
        return Ok((url, UrlSource::EnvParts));
    }
    if let Some(url) = config_url.filter(|u| !u.trim().is_empty()) {
        return Ok((url.to_string(), UrlSource::Config));
    }
    Err(SqlError::NoTarget)
}

impl PgTarget {
    /// Connection options for sqlx. A host starting with `/` is a Unix socket directory
    /// (Cloud SQL's `/cloudsql/project:region:instance`).
    pub fn connect_options(&self) -> Result<sqlx::postgres::PgConnectOptions> {
        let mut o = sqlx::postgres::PgConnectOptions::new_without_pgpass();
        match self.host.as_deref() {
            Some(h) if h.starts_with('/') => o = o.socket(h),
            Some(h) => o = o.host(h),
            None => o = o.host("localhost"),
        }
        if let Some(p) = self.port {
            o = o.port(p);
        }
        if let Some(u) = &self.user {
            o = o.username(u);
        }
        if let Some(p) = &self.password {
            o = o.password(p);
        }
        if let Some(d) = &self.database {
            o = o.database(d);
        }
        if let Some(app) = &self.application_name {
            o = o.application_name(app);
        }
        if let Some(mode) = &self.sslmode {
            let parsed = mode.parse().map_err(|_| SqlError::InvalidUrl {
                url: Target::Postgres(self.clone()).to_string(),
                reason: format!(
                    "sslmode {mode:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ),
            })?;
            o = o.ssl_mode(parsed);
        }
        Ok(o)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Sqlite { original, .. } => write!(f, "{}", mask_url(original)),
            Target::Postgres(pg) => {
                write!(f, "{}://", pg.scheme)?;
                if let Some(u) = &pg.user {
                    write!(f, "{u}")?;
                    if pg.password.is_some() {
                        write!(f, ":****")?;
                    }
                    write!(f, "@")?;
                }
                match (&pg.host, pg.port) {
                    (Some(h), _) if h.starts_with('/') => {}
                    (Some(h), Some(p)) => write!(f, "{h}:{p}")?,
                    (Some(h), None) => write!(f, "{h}")?,
                    (None, _) => {}
                }
                write!(f, "/{}", pg.database.as_deref().unwrap_or(""))?;
                if let Some(h) = pg.host.as_ref().filter(|h| h.starts_with('/')) {
                    write!(f, "?host={h}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", Target::Postgres(self.clone()))
    }
}
