//! CSRF protection for the admin forms: a double-submit token.
//!
//! Each browser gets a random token in a cookie that only `/admin` sees (`HttpOnly`,
//! `SameSite=Strict`, `Secure` over HTTPS); every form carries the same token in a hidden
//! field, and a POST is accepted only when both are present and equal (compared in constant
//! time). A page on another site can neither read the cookie nor, with `SameSite=Strict`,
//! have the browser send it, so it cannot forge a matching form. As a second line, a POST whose
//! `Sec-Fetch-Site` header (sent by current browsers) says it came from another site is refused
//! whatever it carries. No server-side key or state is needed, so any replica accepts a form
//! that another one rendered.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::AdminError;
use crate::ApiError;

/// The cookie holding the browser's token.
pub const COOKIE: &str = "clerk_sync_csrf";
/// The hidden form field holding the same token.
pub const FIELD: &str = "csrf_token";

/// The browser's token, and the cookie to set when it is new.
#[derive(Debug)]
pub struct CsrfToken {
    /// The token, for the form's hidden field.
    pub value: String,
    /// `Some` when the browser had no token yet: send it with the page.
    pub new_cookie: Option<Cookie<'static>>,
}

/// The token of this browser, or a new one.
///
/// # Errors
/// [`AdminError::Api`] when the system's random number generator fails.
pub fn token(request: &HttpRequest) -> Result<CsrfToken, AdminError> {
    if let Some(cookie) = request.cookie(COOKIE).filter(|c| c.value().len() >= 32) {
        return Ok(CsrfToken {
            value: cookie.value().to_owned(),
            new_cookie: None,
        });
    }
    let mut bytes = [0_u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|err| {
        ApiError::Internal(format!("no random bytes for a CSRF token: {err}").into())
    })?;
    let value = URL_SAFE_NO_PAD.encode(bytes);
    let secure = request.connection_info().scheme() == "https";
    let cookie = Cookie::build(COOKIE, value.clone())
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish();
    Ok(CsrfToken {
        value,
        new_cookie: Some(cookie),
    })
}

/// Accepts a POST only with the browser's token in `submitted` and not from another site.
///
/// # Errors
/// [`AdminError::Csrf`] otherwise.
pub fn verify(request: &HttpRequest, submitted: Option<&str>) -> Result<(), AdminError> {
    let fetch_site = request
        .headers()
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok());
    if fetch_site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return Err(AdminError::Csrf);
    }
    let cookie = request.cookie(COOKIE);
    match (cookie, submitted) {
        (Some(cookie), Some(submitted))
            if !submitted.is_empty()
                && bool::from(cookie.value().as_bytes().ct_eq(submitted.as_bytes())) =>
        {
            Ok(())
        }
        _ => Err(AdminError::Csrf),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789a";

    #[test]
    fn the_cookie_and_the_field_must_match() {
        let with_cookie = || TestRequest::default().cookie(Cookie::new(COOKIE, TOKEN));
        assert!(verify(&with_cookie().to_http_request(), Some(TOKEN)).is_ok());
        assert!(verify(&with_cookie().to_http_request(), Some("x")).is_err());
        assert!(verify(&with_cookie().to_http_request(), None).is_err());
        assert!(verify(&TestRequest::default().to_http_request(), Some(TOKEN)).is_err());
        assert!(verify(&TestRequest::default().to_http_request(), Some("")).is_err());
    }

    #[test]
    fn cross_site_posts_are_refused_even_with_the_token() {
        let request = |site: &str| {
            TestRequest::default()
                .cookie(Cookie::new(COOKIE, TOKEN))
                .insert_header(("sec-fetch-site", site))
                .to_http_request()
        };
        assert!(verify(&request("cross-site"), Some(TOKEN)).is_err());
        assert!(verify(&request("same-site"), Some(TOKEN)).is_err());
        assert!(verify(&request("same-origin"), Some(TOKEN)).is_ok());
    }

    #[test]
    fn a_browser_keeps_its_token_and_a_new_one_gets_a_strict_cookie() {
        let fresh = token(&TestRequest::default().to_http_request()).expect("a token");
        let cookie = fresh.new_cookie.expect("a new cookie");
        assert_eq!(cookie.value(), fresh.value);
        assert_eq!(
            (cookie.http_only(), cookie.same_site(), cookie.path()),
            (Some(true), Some(SameSite::Strict), Some("/admin"))
        );
        let again = TestRequest::default()
            .cookie(Cookie::new(COOKIE, TOKEN))
            .to_http_request();
        let kept = token(&again).expect("a token");
        assert_eq!(
            (kept.value.as_str(), kept.new_cookie.is_none()),
            (TOKEN, true)
        );
    }
}
