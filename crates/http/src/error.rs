//! The one error type of the HTTP edge and its mapping to responses.
//!
//! Every error answers `{"detail": "…"}` (FastAPI's shape, so clients of the Python recipe keep
//! working). 4xx details say what was wrong and what to do; 5xx details are fixed text, and
//! the cause is logged once, here, where the response is made.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use clerk_sync_persistence::StoreError;
use serde::Serialize;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the text says how.
    #[error("{0}")]
    BadRequest(String),
    /// The webhook signature (or its timestamp) did not verify.
    #[error("Invalid webhook signature")]
    InvalidSignature,
    /// No valid session token; the text says why.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this; the text says what is missing.
    #[error("{0}")]
    Forbidden(String),
    /// The caller's account is disabled: made inactive by staff, or banned by Clerk.
    #[error("This account is disabled")]
    AccountDisabled,
    /// Signed in, but not an active staff user (the admin pages).
    #[error("You are signed in, but your user is not an active staff user of this mirror.")]
    NotStaff,
    /// Signed in with a Clerk user that is not in the mirror (yet) (the admin pages).
    #[error(
        "You are signed in, but your Clerk user has not been synced to this mirror yet (its user.created webhook has not arrived)."
    )]
    NotSynced,
    /// An admin form did not carry this session's CSRF token, or came from another origin.
    #[error(
        "The form was not sent from this admin page, or it has expired. Reload the page and submit it again."
    )]
    CsrfRefused,
    /// The caller's user is not in the mirror, and Clerk's Backend API could not be asked for
    /// it just now (slow, down, or the read-through's rate bound spent).
    #[error(
        "User not synced yet: it is not in this mirror and could not be fetched from Clerk just now; try again in a few seconds"
    )]
    UserNotSyncedYet,
    /// The thing asked for does not exist; the text names it.
    #[error("{0}")]
    NotFound(&'static str),
    /// The body is larger than the endpoint accepts.
    #[error("Request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request's body did not arrive within the deadline.
    #[error("The request body did not arrive within {seconds} seconds")]
    BodyTimeout {
        /// The deadline, in seconds.
        seconds: u64,
    },
    /// Webhook bodies being received already hold the bytes set aside for them; the sender
    /// should retry shortly.
    #[error("Too many webhook bodies are being received at once; retry shortly")]
    BodyBudgetExhausted,
    /// Verified webhook deliveries already fill the queue of those waiting to be written (the
    /// database is slower than they arrive); the sender should retry shortly.
    #[error("Too many webhook deliveries are waiting to be written; retry shortly")]
    DeliveryQueueFull,
    /// The endpoint needs a setting the server was started without.
    #[error(
        "{what} is not configured: set {variable} in the environment or .env, then restart the server (settings are read at start)"
    )]
    NotConfigured {
        /// What is missing, in words.
        what: &'static str,
        /// The environment variable that provides it.
        variable: &'static str,
    },
    /// The database is unreachable or overloaded; the client should retry.
    #[error("The database is unavailable; try again shortly")]
    Unavailable(#[source] StoreError),
    /// Anything else.
    #[error("Internal server error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// Logs the cause of a 5xx answer, once, where the answer is made: the JSON answers and
    /// the admin pages both call this. A 4xx answer's detail says all there is to say.
    pub(crate) fn log_cause(&self) {
        match self {
            Self::Unavailable(cause) => {
                tracing::warn!(error = %Chain(cause), "answering 503: database unavailable");
            }
            Self::Internal(cause) => {
                tracing::error!(error = %Chain(cause.as_ref()), "answering 500");
            }
            _ => {}
        }
    }
}

/// An error and its causes, outermost first, joined by `: `.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut causes = std::iter::successors(Some(self.0), |&err| err.source());
        if let Some(outermost) = causes.next() {
            write!(f, "{outermost}")?;
        }
        causes.try_for_each(|cause| write!(f, ": {cause}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => Self::Unavailable(err),
            other if other.is_conflict() => Self::Unavailable(other),
            other => Self::Internal(Box::new(other)),
        }
    }
}

/// The body of every error answer (FastAPI's shape).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"detail": "User not found"}))]
pub(crate) struct ErrorDetail<'a> {
    /// What went wrong and, for a 4xx, what to do about it.
    detail: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidSignature => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_)
            | Self::AccountDisabled
            | Self::NotStaff
            | Self::NotSynced
            | Self::CsrfRefused => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::UserNotSyncedYet => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::NotConfigured { .. }
            | Self::Unavailable(_)
            | Self::BodyBudgetExhausted
            | Self::DeliveryQueueFull => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_cause();
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if matches!(
            self,
            Self::Unavailable(_) | Self::BodyBudgetExhausted | Self::DeliveryQueueFull
        ) {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        // The rest of the request's body is not read: the connection cannot carry another
        // request, and keeping it open would let the client go on sending.
        if matches!(
            self,
            Self::BodyTimeout { .. } | Self::BodyBudgetExhausted | Self::PayloadTooLarge { .. }
        ) {
            response.force_close();
        }
        response.json(ErrorDetail {
            detail: &self.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;
    use clerk_sync_persistence::UnavailableCause;

    use super::*;

    fn render(err: &ApiError) -> (u16, String, Option<String>) {
        let response = err.error_response();
        let auth = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .try_into_bytes()
            .ok()
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&body).into_owned(), auth)
    }

    #[test]
    fn each_error_has_its_status_and_a_detail_body() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                ApiError::BadRequest("bad `x`".into()),
                400,
                r#"{"detail":"bad `x`"}"#,
            ),
            (
                ApiError::InvalidSignature,
                400,
                r#"{"detail":"Invalid webhook signature"}"#,
            ),
            (
                ApiError::Unauthorized("Token has expired".into()),
                401,
                r#"{"detail":"Token has expired"}"#,
            ),
            (
                ApiError::Forbidden("You are not a member of this organization".into()),
                403,
                r#"{"detail":"You are not a member of this organization"}"#,
            ),
            (
                ApiError::AccountDisabled,
                403,
                r#"{"detail":"This account is disabled"}"#,
            ),
            (
                ApiError::NotFound("User not found"),
                404,
                r#"{"detail":"User not found"}"#,
            ),
            (
                ApiError::UserNotSyncedYet,
                404,
                r#"{"detail":"User not synced yet: it is not in this mirror and could not be fetched from Clerk just now; try again in a few seconds"}"#,
            ),
            (
                ApiError::PayloadTooLarge { limit: 10 },
                413,
                r#"{"detail":"Request body is larger than the limit of 10 bytes"}"#,
            ),
            (
                ApiError::BodyTimeout { seconds: 5 },
                408,
                r#"{"detail":"The request body did not arrive within 5 seconds"}"#,
            ),
            (
                ApiError::BodyBudgetExhausted,
                503,
                r#"{"detail":"Too many webhook bodies are being received at once; retry shortly"}"#,
            ),
            (
                ApiError::DeliveryQueueFull,
                503,
                r#"{"detail":"Too many webhook deliveries are waiting to be written; retry shortly"}"#,
            ),
            (
                ApiError::NotConfigured {
                    what: "Webhook verification",
                    variable: "CLERK_WEBHOOK_SIGNING_SECRET",
                },
                503,
                r#"{"detail":"Webhook verification is not configured: set CLERK_WEBHOOK_SIGNING_SECRET in the environment or .env, then restart the server (settings are read at start)"}"#,
            ),
            (
                ApiError::Unavailable(StoreError::Unavailable(UnavailableCause::Deadline(
                    std::time::Duration::from_secs(5),
                ))),
                503,
                r#"{"detail":"The database is unavailable; try again shortly"}"#,
            ),
            (
                ApiError::Internal("secret detail".into()),
                500,
                r#"{"detail":"Internal server error"}"#,
            ),
            (
                ApiError::NotStaff,
                403,
                r#"{"detail":"You are signed in, but your user is not an active staff user of this mirror."}"#,
            ),
            (
                ApiError::NotSynced,
                403,
                r#"{"detail":"You are signed in, but your Clerk user has not been synced to this mirror yet (its user.created webhook has not arrived)."}"#,
            ),
            (
                ApiError::CsrfRefused,
                403,
                r#"{"detail":"The form was not sent from this admin page, or it has expired. Reload the page and submit it again."}"#,
            ),
        ];
        for (err, status, body) in cases {
            let (got_status, got_body, _) = render(&err);
            assert_eq!((got_status, got_body.as_str()), (status, body), "{err:?}");
        }
    }

    #[test]
    fn only_401_asks_for_a_bearer_token() {
        assert_eq!(
            render(&ApiError::Unauthorized("x".into())).2.as_deref(),
            Some("Bearer")
        );
        assert_eq!(render(&ApiError::NotFound("x")).2, None);
        assert_eq!(render(&ApiError::Forbidden("x".into())).2, None);
    }

    #[test]
    fn database_conflicts_are_retryable() {
        let unavailable = ApiError::from(StoreError::Unavailable(UnavailableCause::Deadline(
            std::time::Duration::from_secs(5),
        )));
        assert_eq!(unavailable.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let corrupt = ApiError::from(StoreError::from(clerk_sync_domain::UnknownOutcome));
        assert_eq!(corrupt.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn logged_causes_name_every_link_of_the_chain() {
        let err = StoreError::Unavailable(UnavailableCause::Deadline(
            std::time::Duration::from_secs(5),
        ));
        assert_eq!(
            Chain(&err).to_string(),
            "the database is unavailable: the database did not answer within 5 s"
        );
    }
}
