//! The JSON API client: endpoint, credentials, retries.

use crate::error::{GcsError, Result};
use object_store::gcp::{GcpCredentialProvider, GoogleCloudStorageBuilder};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::time::Duration;

/// Production endpoint of the JSON API.
pub const GOOGLE_ENDPOINT: &str = "https://storage.googleapis.com";

/// Characters escaped in a path segment (object and bucket names).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one path segment (an object name's `/` is escaped too).
pub(crate) fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// How requests are authorised.
#[derive(Clone)]
enum Auth {
    /// No `Authorization` header (emulators, public buckets).
    Anonymous,
    /// OAuth bearer tokens from object_store's Google credential chain.
    Google(GcpCredentialProvider),
}

/// Retry policy for transient failures (429, 5xx, broken connections).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled each time.
    pub initial_backoff: Duration,
    /// Upper bound of one delay.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// A Google Cloud Storage client over the JSON API.
///
/// Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct GcsClient {
    pub(crate) http: reqwest::Client,
    endpoint: String,
    auth: Auth,
    pub(crate) retry: RetryPolicy,
}

impl std::fmt::Debug for GcsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match self.auth {
            Auth::Anonymous => "anonymous",
            Auth::Google(_) => "google credentials",
        };
        f.debug_struct("GcsClient").field("endpoint", &self.endpoint).field("auth", &auth).finish()
    }
}

impl GcsClient {
    /// A client for `endpoint` (e.g. `http://127.0.0.1:4443`) without credentials.
    pub fn anonymous(endpoint: &str) -> Result<Self> {
        Self::build(endpoint, Auth::Anonymous)
    }

    /// Configures the client the way Google's client libraries do:
    /// `STORAGE_EMULATOR_HOST` (e.g. `http://127.0.0.1:4443` or `127.0.0.1:4443`) selects an
    /// emulator with no credentials; otherwise the production endpoint with application default
    /// credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC file, or the metadata server).
    pub fn from_env() -> Result<Self> {
        match std::env::var("STORAGE_EMULATOR_HOST") {
            Ok(host) if !host.trim().is_empty() => Self::anonymous(&emulator_endpoint(&host)),
            _ => Self::with_google_credentials(GOOGLE_ENDPOINT),
        }
    }

    /// A client for `endpoint` authorised by object_store's Google credential chain.
    pub fn with_google_credentials(endpoint: &str) -> Result<Self> {
        // The bucket name is only needed to build the store; the credential provider is global.
        let store = GoogleCloudStorageBuilder::from_env()
            .with_bucket_name("credential-probe")
            .build()
            .map_err(GcsError::Credentials)?;
        Self::build(endpoint, Auth::Google(store.credentials().clone()))
    }

    fn build(endpoint: &str, auth: Auth) -> Result<Self> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(GcsError::InvalidLocation {
                input: endpoint,
                reason: "the endpoint must start with http:// or https://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|source| GcsError::Transport {
                endpoint: endpoint.clone(),
                what: "building the HTTP client".into(),
                source,
            })?;
        Ok(Self { http, endpoint, auth, retry: RetryPolicy::default() })
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `{endpoint}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.endpoint, path)
    }

    /// `{endpoint}{path}?k=v&…`, with the parameters form-encoded.
    pub(crate) fn url_with(&self, path: &str, params: &[(&str, String)]) -> String {
        with_query(&self.url(path), params)
    }

    /// Sends the request built by `make` (called again for each attempt), retrying transient
    /// failures with exponential backoff. Returns the first non-retryable response, which may be
    /// an error status: callers map it with [`GcsClient::check`].
    pub(crate) async fn send(
        &self,
        what: &str,
        method: Method,
        url: &str,
        make: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response> {
        let mut delay = self.retry.initial_backoff;
        let mut attempt = 1;
        loop {
            let mut req = make(self.http.request(method.clone(), url));
            if let Auth::Google(provider) = &self.auth {
                let cred = provider.get_credential().await.map_err(GcsError::Credentials)?;
                if !cred.bearer.is_empty() {
                    req = req.bearer_auth(&cred.bearer);
                }
            }
            let outcome = req.send().await;
            let retryable = match &outcome {
                Ok(resp) => is_transient_status(resp.status()),
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request() || e.is_body(),
            };
            if !retryable || attempt >= self.retry.max_attempts {
                return outcome.map_err(|source| GcsError::Transport {
                    endpoint: self.endpoint.clone(),
                    what: what.to_string(),
                    source,
                });
            }
            tracing::debug!(what, attempt, ?delay, "transient GCS failure; retrying");
            tokio::time::sleep(jitter(delay)).await;
            delay = (delay * 2).min(self.retry.max_backoff);
            attempt += 1;
        }
    }

    /// Turns an error status into a [`GcsError`]; passes success through.
    pub(crate) async fn check(what: &str, bucket: &str, name: &str, resp: Response) -> Result<Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let message = resp.text().await.unwrap_or_default();
        Err(match status {
            StatusCode::NOT_FOUND => {
                GcsError::NotFound { bucket: bucket.to_string(), name: name.to_string() }
            }
            StatusCode::PRECONDITION_FAILED => {
                GcsError::PreconditionFailed { bucket: bucket.to_string(), name: name.to_string() }
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                GcsError::Unauthorized { what: what.to_string(), status: status.as_u16() }
            }
            _ => GcsError::Http {
                what: what.to_string(),
                status: status.as_u16(),
                message: summarize(&message),
            },
        })
    }
}

/// Appends form-encoded parameters to `url` (which has no query yet).
pub(crate) fn with_query(url: &str, params: &[(&str, String)]) -> String {
    if params.is_empty() {
        return url.to_string();
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        q.append_pair(k, v);
    }
    format!("{url}?{}", q.finish())
}

/// Normalises `STORAGE_EMULATOR_HOST` (which may lack a scheme) to an endpoint URL.
pub fn emulator_endpoint(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.starts_with("http://") || host.starts_with("https://") {
        host.to_string()
    } else {
        format!("http://{host}")
    }
}

fn is_transient_status(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || s == StatusCode::REQUEST_TIMEOUT || s.is_server_error()
}

fn jitter(d: Duration) -> Duration {
    // Up to +25%, derived from the clock: enough to spread concurrent retries apart.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d + d.mul_f64(f64::from(nanos % 250) / 1000.0)
}

/// The `message` of a JSON API error body, or the first line of a plain one.
fn summarize(body: &str) -> String {
    let parsed = serde_json::from_str::<serde_json::Value>(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/message"))
        .and_then(|m| m.as_str())
        .map(str::to_string);
    let text = message.unwrap_or_else(|| body.lines().next().unwrap_or("").to_string());
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_host_with_or_without_scheme() {
        assert_eq!(emulator_endpoint("127.0.0.1:4443"), "http://127.0.0.1:4443");
        assert_eq!(emulator_endpoint("http://127.0.0.1:4443/"), "http://127.0.0.1:4443");
    }

    #[test]
    fn object_names_are_one_path_segment() {
        assert_eq!(segment("a/b c+d.txt"), "a%2Fb%20c%2Bd.txt");
    }

    #[test]
    fn query_parameters_are_encoded() {
        let url = with_query("http://h/o", &[("prefix", "a b/&c".into()), ("maxResults", "1000".into())]);
        assert_eq!(url, "http://h/o?prefix=a+b%2F%26c&maxResults=1000");
        assert_eq!(with_query("http://h/o", &[]), "http://h/o");
    }

    #[test]
    fn error_bodies_are_summarised() {
        let body = r#"{"error":{"code":400,"message":"invalid uploadType","errors":[]}}"#;
        assert_eq!(summarize(body), "invalid uploadType");
        assert_eq!(summarize("Not Found\nmore"), "Not Found");
    }

    #[test]
    fn endpoint_must_be_http() {
        assert!(GcsClient::anonymous("127.0.0.1:1").is_err());
        assert!(GcsClient::anonymous("http://127.0.0.1:1").is_ok());
    }
}
