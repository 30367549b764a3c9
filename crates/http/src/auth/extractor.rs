//! The [`Session`] extractor: a handler that takes one runs only for verified callers.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use clerk_sync_domain::{ActiveOrganization, AuthContext, ClerkUserId};
use futures_util::future::LocalBoxFuture;

use super::TokenError;
use crate::{ApiError, AppState};

/// The name of Clerk's same-site session cookie.
const SESSION_COOKIE: &str = "__session";

/// A verified Clerk session: who the token speaks for.
#[derive(Clone, Debug)]
pub struct Session(AuthContext);

impl Session {
    /// A session for an already verified context (for tests and other extractors).
    pub fn new(context: AuthContext) -> Self {
        Self(context)
    }

    /// The signed-in user's Clerk id.
    pub fn user_id(&self) -> &ClerkUserId {
        &self.0.user_id
    }

    /// The session's id (`sid`), when the token names it.
    pub fn session_id(&self) -> Option<&str> {
        self.0.session_id.as_deref()
    }

    /// The organization the session has active, with the caller's role and permissions, as
    /// the token states them.
    pub fn active_organization(&self) -> Option<&ActiveOrganization> {
        self.0.active_organization.as_ref()
    }

    /// Everything the token says.
    pub fn context(&self) -> &AuthContext {
        &self.0
    }
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Read what is needed now; verification may wait for a key fetch, never blocking the
        // worker.
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let token = token_of(request);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ApiError::Internal("AppState is not registered with the app".into())
            })?;
            let verifier = state.tokens.as_ref().ok_or(ApiError::NotConfigured {
                what: "Session token verification",
                variable: "CLERK_JWT_PUBLIC_KEY or CLERK_JWKS_URL",
            })?;
            let verified = match token {
                Some(token) => verifier.verify(&token).await,
                None => Err(TokenError::Missing),
            };
            verified.map(Session).map_err(|err| {
                state.metrics.observe_token_rejection(err.reason());
                ApiError::from(err)
            })
        })
    }
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
