//! The headers every HTML page of clerk-sync carries (admin pages, /docs).

use actix_web::HttpResponseBuilder;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};

/// A response builder for an HTML page under `content_security_policy`, never framed, never
/// sniffed, sending `referrer_policy`.
pub(crate) fn html_page(
    status: StatusCode,
    content_security_policy: &'static str,
    referrer_policy: &'static str,
) -> HttpResponseBuilder {
    let mut response = HttpResponseBuilder::new(status);
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(content_security_policy),
        ))
        .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static(referrer_policy),
        ));
    response
}
