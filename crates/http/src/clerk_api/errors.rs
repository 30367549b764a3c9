//! Clerk's error answers: `{"errors": [{"code", "message", "long_message", "meta"?}]}`, with
//! Clerk's codes where Clerk has one for the case, so that the SDKs raise their usual errors.
//! This prefix answers Clerk's shape, not clerk-sync's `{"detail"}`: its clients are Clerk's
//! SDKs.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::{Value, json};

use super::HandOver;
use crate::ApiError;

/// Why a `/clerk/v1` request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClerkApiError {
    /// `CLERK_SECRET_KEY` is not set, so no caller can be checked.
    #[error("CLERK_SECRET_KEY is not set")]
    NotConfigured,
    /// No `Authorization: Bearer …` header.
    #[error("Invalid authentication")]
    Unauthenticated,
    /// A bearer token that is not the instance's secret key.
    #[error("The provided Clerk Secret Key is invalid")]
    InvalidKey,
    /// The mirror holds no such object.
    #[error("not found")]
    NotFound,
    /// The mirror could not be read (database unavailable, or a fault); logged once here.
    #[error(transparent)]
    Mirror(#[from] ApiError),
}

impl ResponseError for ClerkApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthenticated | Self::InvalidKey => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Mirror(inner) => inner.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::NotConfigured => clerk_errors(
                status,
                "clerk_sync_not_configured",
                "CLERK_SECRET_KEY is not set",
                "clerk-sync answers Clerk's Backend API only to callers presenting the instance's secret key: set CLERK_SECRET_KEY in the environment or .env, then restart the server",
                None,
            ),
            Self::Unauthenticated => clerk_errors(
                status,
                "authentication_invalid",
                "Invalid authentication",
                "Unable to authenticate the request, you need to supply an active API key",
                None,
            ),
            Self::InvalidKey => {
                let text = "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.";
                clerk_errors(status, "clerk_key_invalid", text, text, None)
            }
            Self::NotFound => clerk_errors(
                status,
                "resource_not_found",
                "not found",
                "Resource not found",
                None,
            ),
            Self::Mirror(inner) => {
                inner.log_cause();
                let code = if status == StatusCode::SERVICE_UNAVAILABLE {
                    "mirror_unavailable"
                } else {
                    "internal_clerk_error"
                };
                let text = inner.to_string();
                clerk_errors(status, code, &text, &text, None)
            }
        }
    }
}

/// The 422 of a request the mirror does not answer and no upstream is configured for.
pub(super) fn not_answered(request: &HttpRequest, reason: &HandOver) -> HttpResponse {
    let upstream = "and no Clerk Backend API is configured to pass it on to";
    match reason {
        HandOver::Route => clerk_errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_answered_by_mirror",
            "not answered by the mirror",
            &format!(
                "{} {} is not answered from clerk-sync's mirror, {upstream}",
                request.method(),
                request.path()
            ),
            None,
        ),
        HandOver::Parameter(name) => clerk_errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_answered_by_mirror",
            "parameter not answered by the mirror",
            &format!("{name} is not answered from clerk-sync's mirror, {upstream}"),
            Some(json!({"param_name": name})),
        ),
        HandOver::ParameterValue(name) => clerk_errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_answered_by_mirror",
            "parameter value not answered by the mirror",
            &format!(
                "this value of {name} is not answered from clerk-sync's mirror (it is out of range, or names an order or object the mirror does not hold), {upstream}"
            ),
            Some(json!({"param_name": name})),
        ),
    }
}

/// An error in Clerk's shape; `meta` as Clerk adds it to some errors.
pub(crate) fn clerk_errors(
    status: StatusCode,
    code: &str,
    message: &str,
    long_message: &str,
    meta: Option<Value>,
) -> HttpResponse {
    let mut error = json!({"code": code, "message": message, "long_message": long_message});
    if let Some(meta) = meta {
        error["meta"] = meta;
    }
    HttpResponse::build(status).json(json!({ "errors": [error] }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clerk_sync_persistence::{StoreError, UnavailableCause};

    #[test]
    fn each_error_has_its_status() {
        let unavailable = ApiError::Unavailable(StoreError::Unavailable(
            UnavailableCause::Deadline(std::time::Duration::from_secs(1)),
        ));
        let cases = [
            (ClerkApiError::NotConfigured, 503),
            (ClerkApiError::Unauthenticated, 401),
            (ClerkApiError::InvalidKey, 401),
            (ClerkApiError::NotFound, 404),
            (ClerkApiError::Mirror(unavailable), 503),
            (ClerkApiError::Mirror(ApiError::Internal("x".into())), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.status_code().as_u16(), status, "{error:?}");
            assert_eq!(error.error_response().status().as_u16(), status);
        }
    }
}
