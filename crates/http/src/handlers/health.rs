//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::db::run_db;
use crate::{ApiError, AppState};

/// `GET /api/v1/health`: the process is up.
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /api/v1/ready`: the database answers; 503 otherwise, so a load balancer stops routing
/// here until it does.
///
/// # Errors
/// [`ApiError::Unavailable`] when the database does not answer.
pub async fn get_ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    run_db(&state.database, clerk_sync_persistence::ping).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ok"})))
}
