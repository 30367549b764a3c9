//! Authenticated GETs that wait out rate limits (429, honouring `Retry-After`) and retry server
//! errors and timeouts with capped exponential backoff.

use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use serde::Deserialize;

use crate::{BackendApiError, ClerkErrors, SecretKey};

/// The longest `Retry-After` honoured; a longer one is waited for this long, then asked again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

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

/// A client of one Clerk instance's Backend API. Cheap to clone.
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

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A failed attempt that may pass when tried again.
enum Retryable {
    RateLimited(Option<Duration>),
    ServerError(StatusCode),
    Transport(reqwest::Error),
}

impl Retryable {
    fn reason(&self) -> String {
        match self {
            Self::RateLimited(_) => "429 Too Many Requests".to_owned(),
            Self::ServerError(status) => status.to_string(),
            Self::Transport(err) if err.is_timeout() => "a timeout".to_owned(),
            Self::Transport(err) => err.to_string(),
        }
    }

    fn into_error(self, path: &str, attempts: u32) -> BackendApiError {
        let path = path.to_owned();
        match self {
            Self::RateLimited(retry_after) => BackendApiError::RateLimited {
                path,
                attempts,
                retry_after,
            },
            Self::ServerError(status) => BackendApiError::ServerError {
                path,
                attempts,
                status,
            },
            Self::Transport(cause) => BackendApiError::Transport {
                path,
                attempts,
                cause,
            },
        }
    }
}

impl BackendApi {
    /// A client for the API at `base_url` (`https://api.clerk.com/v1`; paths are appended).
    ///
    /// # Errors
    /// [`BackendApiError::InvalidBaseUrl`], [`BackendApiError::InvalidSecretKey`], or
    /// [`BackendApiError::Client`] when the HTTP client cannot be built.
    pub fn new(
        base_url: &str,
        key: &SecretKey,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, BackendApiError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(BackendApiError::InvalidBaseUrl);
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
            .map_err(|_| BackendApiError::InvalidSecretKey)?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("clerk-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(BackendApiError::Client)?;
        Ok(Self {
            http,
            base,
            authorization,
            retry,
        })
    }

    /// GETs `path` (appended to the base URL) with `query`, retrying what may pass, and returns
    /// the body of Clerk's 200.
    ///
    /// # Errors
    /// [`BackendApiError::NotFound`] for a 404; [`BackendApiError::Unauthorized`] (an invalid
    /// secret key) and [`BackendApiError::Rejected`] (any other 4xx but 429) at once; a rate
    /// limit, server error or transport failure once the last attempt has failed too.
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<u8>, BackendApiError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 1;
        loop {
            let failure = match self.attempt(&url, query).await {
                Ok(response) => match response.status() {
                    StatusCode::OK => match response.bytes().await {
                        Ok(body) => return Ok(body.to_vec()),
                        Err(err) => Retryable::Transport(err.without_url()),
                    },
                    status => refusal(path, status, response).await?,
                },
                // Without the URL: it holds the query; the path is logged beside it.
                Err(err) => Retryable::Transport(err.without_url()),
            };
            if attempt >= self.retry.max_attempts {
                return Err(failure.into_error(path, attempt));
            }
            let delay = match failure {
                Retryable::RateLimited(Some(asked)) => asked,
                _ => self.retry.backoff(attempt),
            };
            tracing::warn!(
                path,
                attempt,
                reason = %failure.reason(),
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "Clerk's Backend API request failed; retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Response, reqwest::Error> {
        self.http
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .query(query)
            .send()
            .await
    }
}

/// A status other than 200: what may pass when tried again, or the error that ends the request.
async fn refusal(
    path: &str,
    status: StatusCode,
    response: Response,
) -> Result<Retryable, BackendApiError> {
    let path = path.to_owned();
    match status {
        StatusCode::NOT_FOUND => Err(BackendApiError::NotFound { path }),
        StatusCode::UNAUTHORIZED => Err(BackendApiError::Unauthorized {
            path,
            clerk: clerk_errors(response).await,
        }),
        StatusCode::TOO_MANY_REQUESTS => Ok(Retryable::RateLimited(retry_after(&response))),
        status if status.is_server_error() => Ok(Retryable::ServerError(status)),
        status => Err(BackendApiError::Rejected {
            path,
            status,
            clerk: clerk_errors(response).await,
        }),
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

/// Clerk's error codes and messages; none when the body has none.
async fn clerk_errors(response: Response) -> ClerkErrors {
    // A body cut off or not Clerk's error shape only loses the details: the status says enough.
    let body = response.bytes().await.unwrap_or_default();
    let errors = serde_json::from_slice::<ErrorBody>(&body)
        .map(|body| body.errors)
        .unwrap_or_default();
    ClerkErrors(errors.into_iter().map(|e| (e.code, e.message)).collect())
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
}
