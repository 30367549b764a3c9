//! The admin pages' one stylesheet, built into the binary (no CDN, nothing to deploy).

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};

const STYLESHEET: &str = include_str!("admin.css");

/// `GET /admin/static/admin.css`. Public (the sign-in page uses it too) and cacheable: its
/// address carries the version.
pub async fn get_stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(STYLESHEET)
}
