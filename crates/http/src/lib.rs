#![doc = include_str!("../README.md")]

pub mod admin;
pub mod auth;
pub mod body_budget;
pub mod clerk_api;
mod db;
pub mod docs;
mod error;
pub mod group_commit;
pub mod handlers;
mod html;
pub mod metrics;
pub mod openapi;
pub mod pass_through;
pub mod read_through;
pub mod request_body;
pub mod request_log;
pub mod routing;
pub mod security_headers;
mod state;
pub mod user_reads;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

pub use db::run_db;
pub use error::ApiError;
pub use state::{AppState, DEFAULT_MAX_BODY_BYTES};

/// Mounts every route of [`routing::ROUTES`] and the admin pages. The server wraps the app in
/// `NormalizePath::trim()`, so each route answers with and without a trailing slash.
pub fn routes(config: &mut web::ServiceConfig) {
    let mut paths: Vec<&str> = Vec::new();
    for route in routing::ROUTES {
        if !paths.contains(&route.mounted_path()) {
            paths.push(route.mounted_path());
        }
    }
    for path in paths {
        let routes = || {
            routing::ROUTES
                .iter()
                .filter(move |route| route.mounted_path() == path)
        };
        let allow: Vec<&str> = routes().map(|route| route.method.as_str()).collect();
        let resource = routes().fold(resource(path, allow.join(", ")), |mounted, route| {
            mounted.route(route.to_actix())
        });
        config.service(resource);
    }
    config
        .service(admin::scope())
        .service(clerk_api::scope())
        .default_service(web::to(not_found));
}

/// A path's resource: a method it does not serve answers 405 with the `Allow` header that
/// RFC 9110 §15.5.6 requires, listing the methods it does serve.
fn resource(path: &str, allow: String) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, allow))
                .json(serde_json::json!({"detail": "Method Not Allowed"}))
        }
    }))
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"detail": "Not Found"}))
}
