//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::run_db;
use crate::error::ErrorDetail;
use crate::{ApiError, AppState};

/// The answer of a health check that passed.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

const OK: HealthStatus = HealthStatus { status: "ok" };

/// `GET /api/v1/health`: the process is up.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "operations",
    summary = "Liveness",
    description = "Answers as long as the process serves requests; it does not touch the database.",
    responses((status = 200, description = "The process is up", body = HealthStatus)),
)]
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok().json(OK)
}

/// `GET /api/v1/ready`: the database answers; 503 otherwise, so a load balancer stops routing
/// here until it does.
///
/// # Errors
/// [`ApiError::Unavailable`] when the database does not answer.
#[utoipa::path(
    get,
    path = "/api/v1/ready",
    tag = "operations",
    summary = "Readiness",
    description = "Answers 200 when the database answers, else 503 so that a load balancer stops routing here until it does.",
    responses(
        (status = 200, description = "The database answers", body = HealthStatus),
        (status = 503, description = "The database is unavailable", body = ErrorDetail,
            headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))),
    ),
)]
pub async fn get_ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    run_db(&state.database, clerk_sync_persistence::ping).await?;
    Ok(HttpResponse::Ok().json(OK))
}
