#![doc = include_str!("../README.md")]

pub mod admin;
pub mod auth;
pub mod body_budget;
mod db;
pub mod docs;
mod error;
pub mod handlers;
mod html;
pub mod metrics;
pub mod openapi;
pub mod request_body;
pub mod request_log;
pub mod routing;
pub mod security_headers;
mod state;

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
        let resource = routing::ROUTES
            .iter()
            .filter(|route| route.mounted_path() == path)
            .fold(resource(path), |mounted, route| {
                mounted.route(route.to_actix())
            });
        config.service(resource);
    }
    config
        .service(admin::scope())
        .default_service(web::to(not_found));
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"detail": "Not Found"}))
}

async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed().json(serde_json::json!({"detail": "Method Not Allowed"}))
}
