//! The [`Session`] extractor: a handler that takes one runs only for verified callers.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};

use super::{SessionClaims, TokenError};
use crate::{ApiError, AppState};

/// The name of Clerk's same-site session cookie.
const SESSION_COOKIE: &str = "__session";

/// A verified Clerk session.
#[derive(Clone, Debug)]
pub struct Session(pub SessionClaims);

impl Session {
    /// The signed-in user's Clerk id.
    pub fn user_id(&self) -> &clerk_sync_domain::ClerkUserId {
        &self.0.user_id
    }
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(request))
    }
}

fn authenticate(request: &HttpRequest) -> Result<Session, ApiError> {
    let state = AppState::of(request)?;
    let verifier = state.tokens.as_ref().ok_or(ApiError::NotConfigured {
        what: "Session token verification",
        variable: "CLERK_JWT_PUBLIC_KEY",
    })?;
    let token = token_of(request).ok_or(TokenError::Missing)?;
    Ok(Session(verifier.verify(&token)?))
}

/// The bearer token, else the `__session` cookie.
fn token_of(request: &HttpRequest) -> Option<String> {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .filter(|token| !token.is_empty());
    bearer.or_else(|| {
        request
            .cookie(SESSION_COOKIE)
            .map(|cookie| cookie.value().to_owned())
            .filter(|t| !t.is_empty())
    })
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        Self::Unauthorized(err.to_string())
    }
}
