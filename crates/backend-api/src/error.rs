//! What can go wrong talking to Clerk's Backend API, one variant per way a caller may react.
//!
//! No variant holds the secret key, a request's query or a response body: what they show is the
//! path asked for, the status, Clerk's error codes and messages (which name the problem, never a
//! person), and where a body stopped parsing.

use std::fmt;
use std::time::Duration;

use clerk_sync_domain::DomainError;
use reqwest::StatusCode;

/// An error of [`BackendApi`](crate::BackendApi).
#[derive(Debug, thiserror::Error)]
pub enum BackendApiError {
    /// `CLERK_API_URL` is not an http(s) URL.
    #[error("CLERK_API_URL: expected an http(s) URL such as https://api.clerk.com/v1")]
    InvalidBaseUrl,
    /// The secret key cannot be sent in an HTTP header.
    #[error("CLERK_SECRET_KEY: not usable in an HTTP header")]
    InvalidSecretKey,
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// Clerk still answered 429 Too Many Requests on the last attempt.
    #[error(
        "GET {path} failed {attempts} times, last with 429 Too Many Requests; is Clerk's Backend API (CLERK_API_URL) reachable?"
    )]
    RateLimited {
        /// The path asked for.
        path: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// The wait Clerk asked for on the last answer (`Retry-After`), when it said.
        retry_after: Option<Duration>,
    },
    /// 401: Clerk refuses the secret key. Never retried.
    #[error(
        "invalid secret key: Clerk's Backend API answered 401 Unauthorized to GET {path} ({clerk}); check CLERK_SECRET_KEY"
    )]
    Unauthorized {
        /// The path asked for.
        path: String,
        /// Clerk's error codes and messages.
        clerk: ClerkErrors,
    },
    /// 404: Clerk has no such object (or, for a listing, no such route: a wrong base URL).
    #[error(
        "GET {path} answered 404 Not Found; is CLERK_API_URL the Backend API's base URL (https://api.clerk.com/v1)?"
    )]
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// Any other 4xx: a request Clerk will never accept. Never retried.
    #[error("Clerk's Backend API refused GET {path}: {status} ({clerk})")]
    Rejected {
        /// The path asked for.
        path: String,
        /// Clerk's status.
        status: StatusCode,
        /// Clerk's error codes and messages.
        clerk: ClerkErrors,
    },
    /// A 5xx on the last attempt.
    #[error(
        "GET {path} failed {attempts} times, last with {status}; is Clerk's Backend API (CLERK_API_URL) reachable?"
    )]
    ServerError {
        /// The path asked for.
        path: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// The last status.
        status: StatusCode,
    },
    /// No answer on the last attempt: connection refused or reset, a timeout, a body cut off.
    #[error(
        "GET {path} failed {attempts} times, last with {}; is Clerk's Backend API (CLERK_API_URL) reachable?",
        describe(.cause)
    )]
    Transport {
        /// The path asked for.
        path: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// What the HTTP client said (without the URL, which holds the query). Not a
        /// `#[source]`: the message already ends with it, and a printed chain would repeat it.
        cause: reqwest::Error,
    },
    /// A 200 whose body is not what the path answers.
    #[error("GET {path} answered with a body that is not {expected}")]
    MalformedBody {
        /// The path asked for.
        path: String,
        /// What the body should have been (`a listing`, `a user`, …).
        expected: &'static str,
        /// Where and how it failed, without quoting it.
        #[source]
        fault: BodyFault,
    },
    /// A full page of users brought none after the cursor: the listing would loop.
    #[error(
        "GET {path} answered a full page of users already listed after `starting_after`; the listing cannot go on (run resync again)"
    )]
    CursorStuck {
        /// The path asked for.
        path: String,
    },
}

impl BackendApiError {
    /// Whether Clerk answered 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

/// Why a body did not parse. Its text never quotes the body: JSON errors keep only their
/// category and position, since serde's messages can quote values (emails, names).
#[derive(Debug, thiserror::Error)]
pub enum BodyFault {
    /// Not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// Not JSON, or JSON of another shape.
    #[error("{category} error at line {line} column {column}")]
    Json {
        /// `syntax`, `data` (another shape), `eof`.
        category: &'static str,
        /// Where, 1-based.
        line: usize,
        /// Where, 1-based.
        column: usize,
    },
    /// JSON of the right shape that is not a valid Clerk object.
    #[error(transparent)]
    Object(#[from] DomainError),
}

impl From<serde_json::Error> for BodyFault {
    fn from(err: serde_json::Error) -> Self {
        let category = match err.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        };
        Self::Json {
            category,
            line: err.line(),
            column: err.column(),
        }
    }
}

/// Clerk's error codes and messages (`{"errors": [{"code", "message"}]}`), which name the
/// problem without personal data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClerkErrors(pub Vec<(String, String)>);

impl fmt::Display for ClerkErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no error details");
        }
        for (i, (code, message)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{code}: {message}")?;
        }
        Ok(())
    }
}

/// The HTTP client's error and its causes on one line, "a timeout" for a timeout.
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "a timeout".to_owned();
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}
