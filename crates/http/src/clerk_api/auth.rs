//! Who may call `/clerk/v1`: whoever presents the instance's secret key, as Clerk's Backend
//! API asks (`Authorization: Bearer sk_…`), compared in constant time. The key is never
//! logged: the request log holds the route pattern only, never headers.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};

use super::ClerkApiError;
use crate::AppState;

/// The middleware of the scope: 503 without a configured key, 401 without the right one.
///
/// # Errors
/// Passes on the inner service's errors.
pub(super) async fn require_secret_key(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let key = request
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.clerk_secret_key.clone());
    let refusal = match key {
        None => Some(ClerkApiError::NotConfigured),
        Some(key) => match bearer(request.headers()) {
            None => Some(ClerkApiError::Unauthenticated),
            Some(presented) if key.verifies(presented) => None,
            Some(_) => Some(ClerkApiError::InvalidKey),
        },
    };
    match refusal {
        Some(refusal) => Ok(request.into_response(refusal.error_response())),
        None => Ok(next.call(request).await?.map_into_boxed_body()),
    }
}

/// The credentials of `Authorization: Bearer …` (the scheme in any case), when present.
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let scheme = value.get(..7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| value.get(7..))
        .flatten()
        .map(<[u8]>::trim_ascii)
        .filter(|token| !token.is_empty())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("a header value"),
        );
        headers
    }

    #[test]
    fn the_bearer_credentials_are_read_whatever_the_scheme_case() {
        assert_eq!(
            bearer(&with_authorization("Bearer sk_test_abc")),
            Some(&b"sk_test_abc"[..])
        );
        assert_eq!(
            bearer(&with_authorization("bearer sk_test_abc")),
            Some(&b"sk_test_abc"[..])
        );
        for refused in ["Basic c2tfdGVzdA==", "Bearer ", "Bearer", "sk_test_abc"] {
            assert_eq!(bearer(&with_authorization(refused)), None, "{refused}");
        }
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
