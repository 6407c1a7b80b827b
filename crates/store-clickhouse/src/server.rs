//! A connection to one ClickHouse server: statements one per request, each with its own query
//! id and settings, retried with backoff when the server says a retry can help.

use crate::capabilities::Capabilities;
use crate::config::ClickHouseConfig;
use crate::error::{ChError, Result, ServerError};
use crate::sql::parse_tsv;
use std::sync::Arc;
use std::time::Duration;

/// How often and how patiently a retryable failure is tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled after each.
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 4, first_backoff: Duration::from_millis(200) }
    }
}

/// One statement with its settings and query id.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    /// The SQL (one statement).
    pub sql: String,
    /// Settings for this statement only.
    pub settings: Vec<(String, String)>,
    /// The query id the server logs it under (a fresh one when `None`).
    pub query_id: Option<String>,
}

impl Statement {
    /// A statement with no settings.
    pub fn new(sql: impl Into<String>) -> Self {
        Self { sql: sql.into(), ..Self::default() }
    }

    /// Adds a setting.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// Sets the query id.
    pub fn query_id(mut self, id: impl Into<String>) -> Self {
        self.query_id = Some(id.into());
        self
    }
}

/// A ClickHouse server, its configuration and its probed [`Capabilities`]. Cheap to clone.
#[derive(Clone)]
pub struct ClickHouse {
    client: clickhouse::Client,
    config: Arc<ClickHouseConfig>,
    caps: Arc<Capabilities>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ClickHouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClickHouse({}, {})", self.config, self.caps.version_text)
    }
}

impl ClickHouse {
    /// Connects and probes the server's version and capabilities (one round of small queries).
    pub async fn connect(config: ClickHouseConfig) -> Result<Self> {
        Self::connect_with(config, RetryPolicy::default()).await
    }

    /// [`Self::connect`] with a retry policy of its own.
    pub async fn connect_with(config: ClickHouseConfig, retry: RetryPolicy) -> Result<Self> {
        let mut client = clickhouse::Client::default()
            .with_url(&config.endpoint)
            .with_user(&config.user)
            // Typed rows are not used; 18.16 lacks the format validation asks for.
            .with_validation(false)
            .with_compression(if config.lz4 {
                clickhouse::Compression::Lz4
            } else {
                clickhouse::Compression::None
            });
        if let Some(password) = &config.password {
            client = client.with_password(password);
        }
        for (name, value) in &config.settings {
            client = client.with_setting(name, value);
        }
        let target = config.to_string();
        let mut rows = Vec::new();
        for sql in Capabilities::probe_queries(&config.database) {
            let text = fetch_text(&client, &Statement::new(sql)).await.map_err(|e| classify(&target, e))?;
            rows.extend(parse_tsv(&text));
        }
        let caps = Capabilities::from_rows(&rows).ok_or_else(|| ChError::Connect {
            target: target.clone(),
            detail: "the server did not say its version".into(),
        })?;
        if caps.database_engine.is_empty() {
            return Err(ChError::Server {
                target,
                error: ServerError {
                    code: 81,
                    name: "UNKNOWN_DATABASE".into(),
                    message: format!("Database {} doesn't exist", config.database),
                },
            });
        }
        let client = client.with_database(&config.database);
        tracing::debug!(server = %target, version = %caps.version_text, "connected to ClickHouse");
        Ok(Self { client, config: Arc::new(config), caps: Arc::new(caps), retry })
    }

    /// What was probed when connecting.
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// The configured database.
    pub fn database(&self) -> &str {
        &self.config.database
    }

    /// The server as messages name it, password masked.
    pub fn target(&self) -> String {
        self.config.to_string()
    }

    /// The official client underneath, for what this crate does not wrap.
    pub fn client(&self) -> &clickhouse::Client {
        &self.client
    }

    /// Runs one statement that returns nothing, retrying while the server says a retry can help.
    pub async fn execute(&self, statement: impl Into<Statement>) -> Result<()> {
        self.fetch_text(statement).await.map(drop)
    }

    /// Runs one statement and returns its TabSeparated rows (for small results only).
    pub async fn fetch_rows(&self, statement: impl Into<Statement>) -> Result<Vec<Vec<String>>> {
        Ok(parse_tsv(&self.fetch_text(statement).await?))
    }

    /// Runs one statement and returns its TabSeparated text, retrying retryable failures.
    pub async fn fetch_text(&self, statement: impl Into<Statement>) -> Result<String> {
        let statement = statement.into();
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 1;
        loop {
            match fetch_text(&self.client, &statement).await.map_err(|e| classify(&self.target(), e)) {
                Err(e) if e.is_retryable() && attempt < self.retry.attempts => {
                    tracing::warn!(
                        "{e}; retrying in {backoff:?} (attempt {attempt} of {})",
                        self.retry.attempts
                    );
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Streams the result of `statement` in `format` (no retry: the caller is consuming it).
    pub fn stream(&self, statement: &Statement, format: &str) -> Result<clickhouse::query::BytesCursor> {
        with_settings(self.client.query_raw(&statement.sql), statement)
            .fetch_bytes(format)
            .map_err(|e| classify(&self.target(), e))
    }

    /// Starts `INSERT … FORMAT …` whose data is sent in pieces (compressed with LZ4).
    pub fn insert(&self, sql: &str) -> clickhouse::insert_formatted::InsertFormatted {
        self.client.insert_formatted_with(sql.to_string())
    }

    /// Maps the client's error for this server.
    pub(crate) fn error(&self, e: clickhouse::error::Error) -> ChError {
        classify(&self.target(), e)
    }
}

impl From<&str> for Statement {
    fn from(sql: &str) -> Self {
        Statement::new(sql)
    }
}

impl From<String> for Statement {
    fn from(sql: String) -> Self {
        Statement::new(sql)
    }
}

fn with_settings(mut query: clickhouse::query::Query, statement: &Statement) -> clickhouse::query::Query {
    for (name, value) in &statement.settings {
        query = query.with_setting(name, value);
    }
    let id = statement.query_id.clone().unwrap_or_else(|| format!("migrate-{}", uuid::Uuid::new_v4()));
    query.with_setting("query_id", id)
}

async fn fetch_text(client: &clickhouse::Client, statement: &Statement) -> clickhouse::error::Result<String> {
    let bytes = with_settings(client.query_raw(&statement.sql), statement)
        .fetch_bytes("TabSeparated")?
        .collect()
        .await?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The server's refusal with its code, or a failure to reach it.
pub(crate) fn classify(target: &str, e: clickhouse::error::Error) -> ChError {
    use clickhouse::error::Error;
    match e {
        Error::BadResponse(text) => match ServerError::parse(&text) {
            Some(error) => ChError::Server { target: target.to_string(), error },
            None => ChError::Connect { target: target.to_string(), detail: text },
        },
        Error::Network(inner) => {
            ChError::Connect { target: target.to_string(), detail: source_chain(&*inner) }
        }
        other => ChError::Connect { target: target.to_string(), detail: source_chain(&other) },
    }
}

fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        next = cause.source();
    }
    text
}
