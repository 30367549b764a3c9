//! Why an admin page cannot be shown, answered as an HTML page (never JSON: a person reads it).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::page::{Layout, html};
use crate::ApiError;

/// An admin request that failed, with the page that says why and what to do.
#[derive(Debug)]
pub enum AdminError {
    /// No valid session token (401); the text says what was wrong with it.
    SignIn(String),
    /// Signed in, but not an active staff user (403).
    NotStaff,
    /// Signed in with a Clerk user that is not in the mirror (yet) (403).
    NotSynced,
    /// The form did not carry this session's CSRF token, or came from another origin (403).
    Csrf,
    /// No such page or record (404); the text names it.
    NotFound(&'static str),
    /// Anything the rest of the HTTP edge can fail with (database down, misconfiguration).
    Api(ApiError),
}

impl From<ApiError> for AdminError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Unauthorized(reason) => Self::SignIn(reason),
            ApiError::NotFound(what) => Self::NotFound(what),
            other => Self::Api(other),
        }
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title())
    }
}

impl std::error::Error for AdminError {}

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
    fn title(&self) -> &'static str {
        match self {
            Self::SignIn(_) => "Sign in to continue",
            Self::NotStaff | Self::NotSynced => "Staff only",
            Self::Csrf => "The form could not be accepted",
            Self::NotFound(_) => "Not found",
            Self::Api(err) if err.status_code().is_server_error() => "Service unavailable",
            Self::Api(_) => "Request refused",
        }
    }

    fn message(&self) -> String {
        match self {
            Self::SignIn(reason) => {
                format!("These pages need a Clerk session. {}.", reason.replace('`', ""))
            }
            Self::NotStaff => "You are signed in, but your user is not an active staff user of this mirror.".to_owned(),
            Self::NotSynced => "You are signed in, but your Clerk user has not been synced to this mirror yet (its user.created webhook has not arrived).".to_owned(),
            Self::Csrf => "The form was not sent from this admin page, or it has expired. Reload the page and submit it again.".to_owned(),
            Self::NotFound(what) => format!("{what}."),
            Self::Api(err) if err.status_code() == StatusCode::INTERNAL_SERVER_ERROR => "Something went wrong on the server; the error has been logged.".to_owned(),
            Self::Api(err) => err.to_string(),
        }
    }

    fn steps(&self) -> Vec<&'static str> {
        match self {
            Self::SignIn(_) => SIGN_IN_STEPS.to_vec(),
            Self::NotStaff | Self::NotSynced => vec![
                "Ask an operator to run clerk-sync promote-staff YOUR-EMAIL, or another staff user to tick \"Staff\" on your user's page.",
            ],
            _ => Vec::new(),
        }
    }
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn(_) => StatusCode::UNAUTHORIZED,
            Self::NotStaff | Self::NotSynced | Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Api(err) => err.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Api(err) = self {
            // The JSON edge logs 5xx causes once; the same response, discarded, does it here.
            drop(err.error_response());
        }
        let message = self.message();
        let page = ErrorPage {
            layout: Layout::bare(self.title()),
            status: self.status_code().as_u16(),
            message: &message,
            steps: self.steps(),
        };
        let mut response = html(self.status_code(), &page);
        if matches!(self, Self::SignIn(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Unknown paths under `/admin`.
pub async fn not_found() -> HttpResponse {
    AdminError::NotFound("There is no admin page at this address").error_response()
}
