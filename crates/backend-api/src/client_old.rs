//! Clerk's Backend API: authenticated GETs that wait out rate limits (429, honouring
//! `Retry-After`) and retry server errors and timeouts with capped exponential backoff.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use serde::Deserialize;

/// The longest `Retry-After` honoured; a longer one is waited for this long, then asked again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// A Clerk secret key (`sk_live_…`, `sk_test_…`). `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    /// Checks the shape of a key.
    ///
    /// # Errors
    /// A message (without the value) when the text is not a Clerk secret key.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let valid =
            text.starts_with("sk_") && text.len() > 3 && text.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err("expected a Clerk secret key, sk_live_… or sk_test_… (Clerk's dashboard, API keys)")
        }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// How often and how patiently a request is tried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles with each further attempt…
    pub base_delay: Duration,
    /// …up to this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2_u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// A client of one Clerk instance's Backend API.
#[derive(Clone)]
pub struct BackendApi {
    http: reqwest::Client,
    base: String,
    authorization: HeaderValue,
    retry: RetryPolicy,
}

impl fmt::Debug for BackendApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendApi")
            .field("base", &self.base)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A GET's answer: the body, or Clerk's word that the object does not exist.
#[derive(Debug)]
pub(crate) enum Fetched {
    Found(Vec<u8>),
    NotFound,
}

#[derive(Deserialize)]
struct ClerkErrors {
    #[serde(default)]
    errors: Vec<ClerkErrorEntry>,
}

#[derive(Deserialize)]
struct ClerkErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl BackendApi {
    /// A client for the API at `base_url` (`https://api.clerk.com/v1`; paths are appended).
    ///
    /// # Errors
    /// When the URL is not http(s) or the HTTP client cannot be built.
    pub fn new(
        base_url: &str,
        key: &SecretKey,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> anyhow::Result<Self> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            bail!("CLERK_API_URL: expected an http(s) URL such as https://api.clerk.com/v1");
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", key.0))
            .map_err(|_| anyhow!("CLERK_SECRET_KEY: not usable in an HTTP header"))?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("clerk-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base,
            authorization,
            retry,
        })
    }

    /// GETs `path` (appended to the base URL) with `query`, retrying what may pass.
    ///
    /// A 401 is an invalid secret key and any other 4xx but 404 and 429 a request Clerk will
    /// never accept: both fail at once, with Clerk's error code and message.
    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<Fetched> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 1;
        loop {
            let sent = self
                .http
                .get(&url)
                .header(AUTHORIZATION, self.authorization.clone())
                .query(query)
                .send()
                .await;
            let wait = match sent {
                Ok(response) => match response.status() {
                    StatusCode::OK => {
                        let body = response.bytes().await;
                        match body {
                            Ok(body) => return Ok(Fetched::Found(body.to_vec())),
                            Err(err) => Retry::after(self.retry.backoff(attempt), err.to_string()),
                        }
                    }
                    StatusCode::NOT_FOUND => return Ok(Fetched::NotFound),
                    StatusCode::UNAUTHORIZED => bail!(
                        "invalid secret key: Clerk's Backend API answered 401 Unauthorized to GET {path} ({}); check CLERK_SECRET_KEY",
                        clerk_error(response).await
                    ),
                    StatusCode::TOO_MANY_REQUESTS => {
                        let delay =
                            retry_after(&response).unwrap_or_else(|| self.retry.backoff(attempt));
                        Retry::after(delay, "429 Too Many Requests".to_owned())
                    }
                    status if status.is_server_error() => {
                        Retry::after(self.retry.backoff(attempt), status.to_string())
                    }
                    status => bail!(
                        "Clerk's Backend API refused GET {path}: {status} ({})",
                        clerk_error(response).await
                    ),
                },
                Err(err) => Retry::after(self.retry.backoff(attempt), describe(err)),
            };
            if attempt >= self.retry.max_attempts {
                bail!(
                    "GET {path} failed {attempt} times, last with {}; is Clerk's Backend API (CLERK_API_URL) reachable?",
                    wait.reason
                );
            }
            tracing::warn!(
                path,
                attempt,
                reason = %wait.reason,
                retry_in_ms = u64::try_from(wait.delay.as_millis()).unwrap_or(u64::MAX),
                "Clerk's Backend API request failed; retrying"
            );
            tokio::time::sleep(wait.delay).await;
            attempt += 1;
        }
    }
}

struct Retry {
    delay: Duration,
    reason: String,
}

impl Retry {
    fn after(delay: Duration, reason: String) -> Self {
        Self { delay, reason }
    }
}

/// `Retry-After` in seconds (the form Clerk sends), capped.
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Clerk's error code and message, which name the problem without personal data.
async fn clerk_error(response: Response) -> String {
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<ClerkErrors>(&body) {
        Ok(ClerkErrors { errors }) if !errors.is_empty() => errors
            .iter()
            .map(|e| format!("{}: {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        _ => "no error details".to_owned(),
    }
}

fn describe(err: reqwest::Error) -> String {
    if err.is_timeout() {
        return "a timeout".to_owned();
    }
    // Without the URL: the path is logged beside it.
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
        };
        let delays: Vec<u128> = (1..=5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 700, 700]);
    }

    #[test]
    fn secret_keys_are_checked_and_never_shown() {
        assert!(SecretKey::parse("sk_test_abc").is_ok());
        for bad in ["", "pk_test_abc", "sk_", "sk_te st"] {
            assert!(SecretKey::parse(bad).is_err(), "{bad:?}");
        }
        let key = SecretKey::parse("sk_test_hunter2").map(|k| format!("{k:?}"));
        assert_eq!(key.as_deref(), Ok("SecretKey(<redacted>)"));
    }
}
