//! CSRF protection for the admin forms: a token bound to the signed-in session, and the
//! request's origin.
//!
//! Every form carries a token that is an HMAC-SHA256, under the server's [`CsrfKey`], of the
//! Clerk session id (`sid`) of the session that rendered it; a POST is accepted only with the
//! token of its own session (compared in constant time), so a token cannot be chosen (the key
//! is needed) nor carried over from another session. A POST must also say that it comes from
//! this server's own origin: its `Origin` header (or, without one, its `Referer`) must name the
//! scheme and host the request was made to (the `Host` header, or what a proxy in front says in
//! `Forwarded` / `X-Forwarded-*`), and `Sec-Fetch-Site`, which current browsers send, must say
//! `same-origin`. A POST with neither `Origin` nor `Referer` is refused: every browser sends one
//! of them with a form, and the pages ask for `Referrer-Policy: same-origin`.

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use subtle::ConstantTimeEq;

use crate::ApiError;

/// What the HMAC covers besides the session id, so that the key signs nothing else alike.
const CONTEXT: &[u8] = b"clerk-sync admin form\0";

/// The key form tokens are made with: `ADMIN_CSRF_SECRET` when configured (replicas must
/// share it), else a random key of this process.
#[derive(Clone)]
pub struct CsrfKey(hmac::Key);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(<redacted>)")
    }
}

impl CsrfKey {
    /// A key from a configured secret.
    pub fn from_secret(secret: &str) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()))
    }

    /// A random key, for this process only.
    ///
    /// # Errors
    /// When the system's random number generator fails.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; 32];
        getrandom::getrandom(&mut bytes)?;
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// The form token of the session `session_id`.
    pub fn token(&self, session_id: &str) -> String {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(CONTEXT);
        context.update(session_id.as_bytes());
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }
}

/// The token the forms of a page carry: that of the request's session (`sid`). A session
/// token that names no session gets an empty one, and its forms are refused by [`verify`].
pub fn form_token(key: &CsrfKey, session_id: Option<&str>) -> String {
    session_id.map(|sid| key.token(sid)).unwrap_or_default()
}

/// Accepts a POST only with the token of `session_id` in `submitted`, from this server's own
/// origin.
///
/// # Errors
/// [`ApiError::CsrfRefused`] otherwise, also when the session token names no session (`sid`).
pub fn verify(
    request: &HttpRequest,
    key: &CsrfKey,
    session_id: Option<&str>,
    submitted: Option<&str>,
) -> Result<(), ApiError> {
    let fetch_site = request
        .headers()
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok());
    if fetch_site.is_some_and(|site| !matches!(site, "same-origin" | "none")) {
        return Err(ApiError::CsrfRefused);
    }
    if !from_own_origin(request) {
        tracing::info!("admin form refused: not sent from this server's origin");
        return Err(ApiError::CsrfRefused);
    }
    match (session_id, submitted) {
        (Some(session_id), Some(submitted))
            if bool::from(key.token(session_id).as_bytes().ct_eq(submitted.as_bytes())) =>
        {
            Ok(())
        }
        _ => Err(ApiError::CsrfRefused),
    }
}

/// Whether `Origin`, else `Referer`, names the origin the request was made to.
fn from_own_origin(request: &HttpRequest) -> bool {
    let text = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let claimed = match (text(header::ORIGIN), text(header::REFERER)) {
        (Some(origin), _) => Some(origin),
        (None, Some(referer)) => origin_of(referer),
        (None, None) => None,
    };
    let info = request.connection_info();
    let own = format!("{}://{}", info.scheme(), info.host());
    claimed.is_some_and(|claimed| claimed.eq_ignore_ascii_case(&own))
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!scheme.is_empty() && !authority.is_empty())
        .then(|| &url[..scheme.len() + 3 + authority.len()])
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn key() -> CsrfKey {
        CsrfKey::from_secret("a test key of thirty-two characters")
    }

    fn post(headers: &[(&str, &str)]) -> HttpRequest {
        headers
            .iter()
            .fold(
                TestRequest::post().insert_header(("host", "admin.example")),
                |request, header| request.insert_header(*header),
            )
            .to_http_request()
    }

    const OWN: (&str, &str) = ("origin", "http://admin.example");

    #[test]
    fn only_the_sessions_own_token_is_accepted() {
        let token = key().token("sess_1");
        assert!(verify(&post(&[OWN]), &key(), Some("sess_1"), Some(&token)).is_ok());
        assert!(verify(&post(&[OWN]), &key(), Some("sess_2"), Some(&token)).is_err());
        assert!(verify(&post(&[OWN]), &key(), None, Some(&token)).is_err());
        assert!(verify(&post(&[OWN]), &key(), Some("sess_1"), None).is_err());
        assert!(verify(&post(&[OWN]), &key(), Some("sess_1"), Some("a")).is_err());
        let other_key = CsrfKey::from_secret("another key");
        assert!(verify(&post(&[OWN]), &other_key, Some("sess_1"), Some(&token)).is_err());
    }

    #[test]
    fn posts_must_come_from_the_servers_own_origin() {
        let token = key().token("sess_1");
        let accepts = |headers: &[(&str, &str)]| {
            verify(&post(headers), &key(), Some("sess_1"), Some(&token)).is_ok()
        };
        assert!(accepts(&[(
            "referer",
            "http://admin.example/admin/users/1?x=1"
        )]));
        assert!(accepts(&[("origin", "HTTP://Admin.Example")]));
        assert!(!accepts(&[]), "neither Origin nor Referer");
        assert!(!accepts(&[("origin", "null")]));
        assert!(
            !accepts(&[("origin", "https://admin.example")]),
            "another scheme"
        );
        assert!(!accepts(&[("origin", "http://admin.example.evil")]));
        assert!(!accepts(&[("origin", "http://evil.example")]));
        assert!(!accepts(&[(
            "referer",
            "http://evil.example/http://admin.example"
        )]));
        assert!(!accepts(&[OWN, ("sec-fetch-site", "same-site")]));
        assert!(!accepts(&[OWN, ("sec-fetch-site", "cross-site")]));
        assert!(accepts(&[OWN, ("sec-fetch-site", "same-origin")]));
    }

    #[test]
    fn a_token_is_stable_per_session_and_key() {
        assert_eq!(key().token("sess_1"), key().token("sess_1"));
        assert_ne!(key().token("sess_1"), key().token("sess_2"));
        let random = CsrfKey::random().expect("random bytes");
        assert_ne!(random.token("sess_1"), key().token("sess_1"));
        assert_eq!(format!("{random:?}"), "CsrfKey(<redacted>)");
    }
}
