#![doc = include_str!("../README.md")]

pub mod admin;
pub mod auth;
mod db;
mod error;
pub mod handlers;
pub mod metrics;
pub mod request_log;
mod state;

use actix_web::{HttpResponse, web};

pub use db::run_db;
pub use error::ApiError;
pub use state::{AppState, DEFAULT_MAX_BODY_BYTES};

/// Mounts every route. The server wraps the app in `NormalizePath::trim()`, so each route
/// answers with and without a trailing slash.
pub fn routes(config: &mut web::ServiceConfig) {
    use handlers::{health, me, organizations, webhooks};
    config
        .service(
            web::scope("/api/v1")
                .service(resource("/health").route(web::get().to(health::get_health)))
                .service(resource("/ready").route(web::get().to(health::get_ready)))
                .service(
                    resource("/auth/clerk_webhook")
                        .route(web::post().to(webhooks::receive_clerk_webhook)),
                )
                .service(resource("/auth/me").route(web::get().to(me::get_me)))
                .service(
                    resource("/auth/me/organizations")
                        .route(web::get().to(me::list_my_organizations)),
                )
                .service(
                    resource("/organizations/{org_id}/members")
                        .route(web::get().to(organizations::list_organization_members)),
                ),
        )
        .service(resource("/metrics").route(web::get().to(metrics::get_metrics)))
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
