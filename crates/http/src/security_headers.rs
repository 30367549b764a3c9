//! Headers every answer carries: `X-Content-Type-Options: nosniff` (no browser reads a JSON
//! answer or an error as HTML or script), and `Cache-Control: no-store` on the answers to
//! requests that carry credentials (a session token, as a bearer or the `__session` cookie),
//! so that no shared cache or browser history keeps a user's data. A handler that sets its own
//! header keeps it.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

/// Clerk's same-site session cookie (the session extractor reads the same one).
const SESSION_COOKIE: &str = "__session";

/// The middleware (mount it with `actix_web::middleware::from_fn`).
///
/// # Errors
/// Passes on the inner service's errors.
pub async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let credentials = request.headers().contains_key(header::AUTHORIZATION)
        || request.cookie(SESSION_COOKIE).is_some();
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    if !headers.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    if credentials && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}
