//! Clerk's Backend API under `/clerk/v1`, so that Clerk's own SDKs can use clerk-sync as
//! their API URL (`createClerkClient({ secretKey, apiUrl: "https://<host>/clerk" })`): the
//! reads of users, organizations and memberships are answered from the mirror, with Clerk's
//! paths, parameters, status codes, error bodies and shapes (`bapi/2026-05-12.yml` of
//! clerk/openapi-specs); everything else is handed over.
//!
//! # The seam: [`hand_over`]
//!
//! A request under the prefix that the mirror does not answer exactly goes to [`hand_over`],
//! and nowhere else: another method or path (every write), a query parameter the mirror does
//! not hold the data for (`query`, `banned`, `last_active_at_before`, …), a value it does not
//! answer (an order it does not keep, a `limit` out of range, a `starting_after` cursor it
//! does not hold). [`HandOver`] says which. `hand_over` passes it on to Clerk's Backend API
//! ([`PassThrough`](crate::pass_through::PassThrough)), or, with the pass-through turned off, answers 422 naming it in Clerk's
//! error shape.
//!
//! Every request under the prefix, handed over or not, must carry the instance's own secret
//! key (`auth`). The prefix is not in clerk-sync's OpenAPI document: it is Clerk's API,
//! documented by Clerk's specification.

mod auth;
pub(crate) mod errors;
mod memberships;
mod organizations;
mod params;
mod users;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::AppState;

pub use errors::ClerkApiError;

/// Where the API is mounted; an SDK's API URL is this without the trailing `/v1` (the SDKs
/// add their API version themselves).
pub const PREFIX: &str = "/clerk/v1";

/// Why a request is not answered from the mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandOver {
    /// No handler here serves this method and path.
    Route,
    /// A query parameter the mirror does not answer, named as sent (`query`, `banned`, …).
    Parameter(String),
    /// A known parameter with a value the mirror does not answer (an order it does not keep,
    /// a limit out of range, a cursor it does not hold).
    ParameterValue(String),
}

/// Answers a request the mirror does not answer itself: the one place where such requests
/// go (see the module documentation). With the pass-through ([`PassThrough`](crate::pass_through::PassThrough), on unless
/// `[clerk_api] pass_through = false`), Clerk's Backend API answers it; without one: 422,
/// naming the path or the parameter, in Clerk's error shape.
pub async fn hand_over(request: &HttpRequest, body: web::Bytes, reason: HandOver) -> HttpResponse {
    let Ok(state) = AppState::of(request) else {
        return errors::not_answered(request, &reason);
    };
    match &state.pass_through {
        Some(upstream) => {
            // As received, still percent-encoded: Clerk gets the path the caller sent.
            let path = request.uri().path();
            let path = path.strip_prefix(PREFIX).unwrap_or(path);
            upstream.forward(state, request, path, body).await
        }
        None => errors::not_answered(request, &reason),
    }
}

/// The largest request body passed on to Clerk (a profile image upload is the largest Clerk
/// takes).
const MAX_PASSED_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The `/clerk/v1` scope: the reads of [`users`], [`organizations`] and [`memberships`],
/// every other path and method handed over, all behind the secret key check.
pub fn scope() -> actix_web::Scope<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope(PREFIX)
        .app_data(web::PayloadConfig::new(MAX_PASSED_BODY_BYTES))
        .wrap(from_fn(auth::require_secret_key))
        .service(read("/users", users::list_users))
        .service(read("/users/count", users::count_users))
        .service(read("/users/{user_id}", users::get_user))
        .service(read(
            "/users/{user_id}/organization_memberships",
            memberships::list_user_memberships,
        ))
        .service(read("/organizations", organizations::list_organizations))
        .service(read(
            "/organizations/{organization_id}",
            organizations::get_organization,
        ))
        .service(read(
            "/organizations/{organization_id}/memberships",
            memberships::list_organization_memberships,
        ))
        .service(read(
            "/organization_memberships",
            memberships::list_instance_memberships,
        ))
        .default_service(web::to(hand_over_route))
}

/// A path whose `GET` is read from the mirror; its other methods are handed over.
fn read<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::get().to(handler))
        .default_service(web::to(hand_over_route))
}

async fn hand_over_route(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    hand_over(&request, body, HandOver::Route).await
}
