//! `POST /api/v1/auth/clerk_webhook/`: Clerk's events, delivered and signed by Svix.

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use clerk_sync_domain::{DomainError, EventEnvelope, Outcome};
use clerk_sync_persistence::{Delivery, process_delivery, record_rejection};
use futures_util::StreamExt;
use serde_json::json;

use crate::db::run_db_write;
use crate::{ApiError, AppState};

/// Verifies the signature, then applies the event exactly once.
///
/// Answers 200 with the outcome (`applied`, `stale`, `tombstoned`, `ignored`, `duplicate`)
/// only after the change is committed.
///
/// # Errors
/// 400 for a bad signature or a stale timestamp (nothing written), 400 with the reason for a
/// signed body that cannot be applied (logged as rejected, with its payload, for replay), 413
/// for an oversized body, 503 when the secret is not configured or the database is down.
pub async fn receive_clerk_webhook(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let verifier = state.webhooks.as_ref().ok_or(ApiError::NotConfigured {
        what: "Webhook verification",
        variable: "CLERK_WEBHOOK_SIGNING_SECRET",
    })?;
    let body = read_body(&request, payload, state.max_body_bytes).await?;
    let message = verifier
        .verify(&body, &SvixHeaders(request.headers()))
        .map_err(|err| {
            tracing::info!(reason = %err, "webhook refused: signature did not verify");
            ApiError::InvalidSignature
        })?;
    let received_at = chrono::Utc::now().naive_utc();
    let svix_id = message.id;
    match EventEnvelope::parse(&body) {
        Ok(envelope) => {
            let event_type = envelope.event_type.clone();
            let outcome = run_db_write(&state.database, move |conn| {
                let payload = String::from_utf8_lossy(&body);
                let delivery = Delivery {
                    svix_id: &svix_id,
                    event_type: &envelope.event_type,
                    clerk_object_id: envelope.event.object_id(),
                    payload: &payload,
                    received_at,
                };
                process_delivery(conn, &delivery, &envelope)
            })
            .await?;
            tracing::info!(%event_type, %outcome, "webhook processed");
            state
                .metrics
                .observe_delivery(&event_type, outcome.as_str());
            Ok(HttpResponse::Ok().json(json!({"status": "ok", "outcome": outcome.as_str()})))
        }
        Err(err) => {
            let event_type = match &err {
                DomainError::MalformedEvent {
                    event_type: Some(event_type),
                    ..
                } => event_type.clone(),
                _ => "unknown".to_owned(),
            };
            let reason = err.to_string();
            let recorded_reason = reason.clone();
            let logged_type = event_type.clone();
            let outcome = run_db_write(&state.database, move |conn| {
                let payload = String::from_utf8_lossy(&body);
                let delivery = Delivery {
                    svix_id: &svix_id,
                    event_type: &event_type,
                    clerk_object_id: None,
                    payload: &payload,
                    received_at,
                };
                record_rejection(conn, &delivery, &recorded_reason)
            })
            .await?;
            tracing::warn!(event_type = %logged_type, %outcome, "webhook rejected: verified body could not be applied");
            state
                .metrics
                .observe_delivery(&logged_type, outcome.as_str());
            match outcome {
                Outcome::Duplicate => {
                    Ok(HttpResponse::Ok()
                        .json(json!({"status": "ok", "outcome": outcome.as_str()})))
                }
                _ => Err(ApiError::BadRequest(reason)),
            }
        }
    }
}

/// Reads the body, refusing it as soon as it exceeds `limit` (also when `Content-Length`
/// announces more).
async fn read_body(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::with_capacity(announced.unwrap_or(8 * 1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::BadRequest(format!("could not read the request body: {err}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// actix's header map, as the Svix verifier reads headers (case-insensitively).
struct SvixHeaders<'a>(&'a HeaderMap);

impl clerk_sync_svix::Headers for SvixHeaders<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|value| value.to_str().ok())
    }
}
