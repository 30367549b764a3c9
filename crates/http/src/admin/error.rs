//! Why an admin page cannot be shown: an [`ApiError`], answered as an HTML page (never JSON:
//! a person reads it).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use clerk_sync_persistence::StoreError;

use super::page::{Layout, html};
use crate::ApiError;

/// An admin request that failed: the edge's one error type, with the page that says why and
/// what to do. The status is the error's own; the cause of a 5xx is logged as for JSON
/// answers ([`ApiError::log_cause`]).
#[derive(Debug)]
pub struct AdminError(pub ApiError);

impl From<ApiError> for AdminError {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        Self(err.into())
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

impl std::error::Error for AdminError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    message: &'a str,
    steps: Vec<&'a str>,
}

const SIGN_IN_STEPS: [&str; 3] = [
    "Sign in to your application with Clerk in this browser: Clerk's __session cookie then identifies you here, when these pages are served on the same site as your application.",
    "Or send the session token yourself, as Authorization: Bearer <token> (from await getToken() in Clerk's SDKs).",
    "Your user must be staff in this mirror: an operator grants it with: clerk-sync promote-staff EMAIL",
];

impl AdminError {
    /// The page for "no such page or record"; `what` names it.
    pub const fn not_found(what: &'static str) -> Self {
        Self(ApiError::NotFound(what))
    }

    fn title(&self) -> &'static str {
        match &self.0 {
            ApiError::Unauthorized(_) => "Sign in to continue",
            ApiError::NotStaff | ApiError::NotSynced => "Staff only",
            ApiError::CsrfRefused => "The form could not be accepted",
            ApiError::NotFound(_) => "Not found",
            err if err.status_code().is_server_error() => "Service unavailable",
            _ => "Request refused",
        }
    }

    fn message(&self) -> String {
        match &self.0 {
            ApiError::Unauthorized(reason) => {
                format!(
                    "These pages need a Clerk session. {}.",
                    reason.replace('`', "")
                )
            }
            ApiError::NotFound(what) => format!("{what}."),
            err if err.status_code() == StatusCode::INTERNAL_SERVER_ERROR => {
                "Something went wrong on the server; the error has been logged.".to_owned()
            }
            err => err.to_string(),
        }
    }

    fn steps(&self) -> Vec<&'static str> {
        match &self.0 {
            ApiError::Unauthorized(_) => SIGN_IN_STEPS.to_vec(),
            ApiError::NotStaff | ApiError::NotSynced => vec![
                "Ask an operator to run clerk-sync promote-staff YOUR-EMAIL, or another staff user to tick \"Staff\" on your user's page.",
            ],
            _ => Vec::new(),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log_cause();
        let message = self.message();
        let page = ErrorPage {
            layout: Layout::bare(self.title()),
            status: self.status_code().as_u16(),
            message: &message,
            steps: self.steps(),
        };
        let mut response = html(self.status_code(), &page);
        if matches!(self.0, ApiError::Unauthorized(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Unknown paths under `/admin`.
pub async fn not_found() -> HttpResponse {
    AdminError::not_found("There is no admin page at this address").error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_keeps_its_status_and_page() {
        let cases = [
            (
                ApiError::Unauthorized("Token has expired".into()),
                401,
                "Sign in to continue",
            ),
            (ApiError::NotStaff, 403, "Staff only"),
            (ApiError::NotSynced, 403, "Staff only"),
            (ApiError::CsrfRefused, 403, "The form could not be accepted"),
            (ApiError::NotFound("No user has this id"), 404, "Not found"),
            (
                ApiError::Internal("boom".into()),
                500,
                "Service unavailable",
            ),
            (ApiError::BadRequest("bad".into()), 400, "Request refused"),
        ];
        for (err, status, title) in cases {
            let page = AdminError(err);
            assert_eq!((page.status_code().as_u16(), page.title()), (status, title));
        }
        let sign_in = AdminError(ApiError::Unauthorized("Token has `expired`".into()));
        assert_eq!(
            sign_in.message(),
            "These pages need a Clerk session. Token has expired."
        );
        assert_eq!(
            AdminError(ApiError::Internal("secret".into())).message(),
            "Something went wrong on the server; the error has been logged."
        );
    }
}
