//! Credentials never reach the terminal or a log file: URLs are shown with their password as
//! `****`, and every secret a tool learns is registered so any log line that would carry it is
//! masked, whatever code wrote it.

use std::sync::RwLock;

/// Secrets registered by [`add_secret`].
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret (a password from a URL or the environment) so no log line shows it;
/// it appears as `****`. Defence in depth: messages mask credentials themselves too.
pub fn add_secret(secret: &str) {
    if secret.len() < 3 {
        return; // too short to mask without mangling ordinary text; never printed in clear anyway
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_string());
    }
}

/// `text` with every registered secret replaced by `****`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), "****"))
}

/// `url` with the password of its user info and any `password=` query parameter as `****`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:****@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let mut out = format!("{scheme}://{authority}");
    if let Some(p) = path {
        out.push('/');
        out.push_str(p);
    }
    if let Some(q) = query {
        let masked: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=****"),
                _ => kv.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&masked.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_masked() {
        add_secret("s3cr3t-pass");
        assert_eq!(redact("postgresql://u:s3cr3t-pass@h/db failed"), "postgresql://u:****@h/db failed");
        assert_eq!(redact("nothing here"), "nothing here");
    }

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            mask_url("postgresql+pg8000://crypto_user:pw@/db?host=/cloudsql/x"),
            "postgresql+pg8000://crypto_user:****@/db?host=/cloudsql/x"
        );
        assert_eq!(mask_url("postgres://h/db?user=u&password=pw"), "postgres://h/db?user=u&password=****");
        assert_eq!(mask_url("http://default:p@127.0.0.1:8123"), "http://default:****@127.0.0.1:8123");
        assert_eq!(mask_url("sqlite:///./x.db"), "sqlite:///./x.db");
        assert_eq!(mask_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(mask_url("not a url"), "not a url");
    }
}
