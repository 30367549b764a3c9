//! Per-request context: an id (returned as `x-request-id`), a tracing span that every log
//! line of the request carries, one log line when the request ends, and request metrics.
//!
//! The span and log line hold the method, the route pattern (`/admin/users/{id}`, never the
//! raw path or query string, which may hold emails typed into a search box), the status and the
//! duration: nothing a client sent in its body or headers.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use crate::AppState;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of a request, in its extensions, for handlers that want it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The middleware (mount it with `actix_web::middleware::from_fn`).
///
/// # Errors
/// Passes on the inner service's errors.
pub async fn request_context(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = incoming_id(&request).unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().to_string();
    let metrics = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let span =
        tracing::info_span!("request", request_id = %id, %method, route = tracing::field::Empty);
    let mut response = next.call(request).instrument(span.clone()).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    span.record("route", route.as_str());
    span.in_scope(|| {
        tracing::info!(
            status,
            duration_ms = (seconds * 100_000.0).round() / 100.0,
            "request finished"
        );
    });
    if let Some(metrics) = metrics {
        metrics.observe_request(&route, &method, status, seconds);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    Ok(response)
}

/// A request id a proxy in front set, when it is short and made of safe characters; anything
/// else is ignored so that a client cannot write arbitrary text into the logs.
fn incoming_id(request: &ServiceRequest) -> Option<String> {
    let value = request.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let safe = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    safe.then(|| value.to_owned())
}
