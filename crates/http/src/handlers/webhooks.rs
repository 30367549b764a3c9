//! `POST /api/v1/auth/clerk_webhook/`: Clerk's events, delivered and signed by Svix.

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use clerk_sync_domain::{DomainError, EventEnvelope, Outcome};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::body_budget::{BodyBudget, Reservation};
use crate::error::ErrorDetail;
use crate::group_commit::{QueuedDelivery, QueuedWork};
use crate::{ApiError, AppState};

/// The answer to a delivery that was taken care of; the sender will not retry it.
// Fields in the order the answer always had (alphabetical), so its bytes do not change.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAccepted {
    /// What the delivery did: `applied`, `stale` (older than what the mirror holds),
    /// `tombstoned` (about a deleted object), `ignored` (an event type the mirror does not
    /// keep) or `duplicate` (already processed).
    #[schema(example = "applied")]
    pub outcome: &'static str,
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

impl WebhookAccepted {
    fn answer(outcome: Outcome) -> HttpResponse {
        HttpResponse::Ok().json(Self {
            status: "ok",
            outcome: outcome.as_str(),
        })
    }
}

/// A Clerk webhook event, as Svix delivers it (the request body of the webhook endpoint).
///
/// Only `type` and `data` are read from the envelope; the fields of `data` that the mirror
/// needs depend on the type (see Clerk's webhook reference). The domain crate parses the body;
/// this type describes it for the OpenAPI document.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClerkWebhookEvent {
    /// The event type: `user.created`, `organizationMembership.deleted`, … Types the mirror
    /// does not keep are acknowledged and recorded as `ignored`.
    #[serde(rename = "type")]
    #[schema(example = "user.created", min_length = 1, max_length = 128)]
    pub event_type: String,
    /// The Clerk object the event is about (a user, an organization or a membership).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// Always `event`.
    #[schema(example = "event")]
    pub object: Option<String>,
    /// When the event occurred, in Unix milliseconds.
    #[schema(example = 1_654_012_591_835_i64)]
    pub timestamp: Option<i64>,
    /// The Clerk instance that sent it.
    pub instance_id: Option<String>,
}

/// The longest `svix-id` accepted. Svix's message ids are about 30 characters; the id is the
/// webhook log's unique key, and PostgreSQL refuses index entries over about 2.7 kB.
pub const MAX_SVIX_ID_LEN: usize = 256;

/// Verifies the signature, then applies the event exactly once.
///
/// Answers 200 with the outcome (`applied`, `stale`, `tombstoned`, `ignored`, `duplicate`)
/// only after the change is committed.
///
/// # Errors
/// 400 for a bad signature or a stale timestamp (nothing written), 400 for a signed delivery
/// whose `svix-id` is empty or longer than [`MAX_SVIX_ID_LEN`] (nothing written: it cannot be
/// keyed), 400 with the reason for a signed body that cannot be applied (logged as rejected,
/// with its payload, for replay), 408 for a body that does not arrive within the deadline, 413
/// for an oversized body, 503 when the secret is not configured, the database is down,
/// unverified bodies already hold the whole budget, or the queue of deliveries waiting to be
/// written is full.
#[utoipa::path(
    post,
    path = "/api/v1/auth/clerk_webhook/",
    tag = "webhooks",
    summary = "Receive a Clerk event",
    description = "Clerk's webhook endpoint (Svix-signed). Verifies the signature (the `svix-*` headers, or the same three as `webhook-*`), then applies the event exactly once: a repeated delivery is answered 200 `duplicate`, and 200 comes only after the change is committed. Any status but 2xx makes the sender retry.",
    params(
        ("svix-id" = String, Header, description = "The message id, the same on every retry. Required; the Standard Webhooks name `webhook-id` is accepted instead", example = "msg_2Lp4UvnxHoB6sVbgNAzBnLAbjfa"),
        ("svix-timestamp" = String, Header, description = "Unix seconds when it was signed; refused more than 5 minutes off. Required; `webhook-timestamp` is accepted instead", example = "1654012591"),
        ("svix-signature" = String, Header, description = "Space-separated `v1,<base64 HMAC-SHA256>` signatures of `{id}.{timestamp}.{body}` with the endpoint's secret. Required; `webhook-signature` is accepted instead"),
    ),
    request_body(content = ClerkWebhookEvent, content_type = "application/json", description = "The event, exactly as Svix sent it (the signature covers the raw bytes)"),
    responses(
        (status = 200, description = "Processed (or already processed); the outcome says what it did", body = WebhookAccepted),
        (status = 400, description = "`Invalid webhook signature` (bad or missing signature, or a stale timestamp: nothing written), `The svix-id header must hold 1 to 256 characters` (nothing written), or the reason a signed body cannot be applied (recorded as `rejected`, payload included, for replay)", body = ErrorDetail),
        (status = 408, description = "The whole body did not arrive within the deadline (5 s unless configured); the connection is closed", body = ErrorDetail),
        (status = 413, description = "The body is larger than the limit (1 MiB unless configured); the connection is closed, the rest of the body is not read", body = ErrorDetail),
        (status = 503, description = "CLERK_WEBHOOK_SIGNING_SECRET is not set, the database is unavailable, or the bodies being received before verification already hold the budget set aside for them (`Too many webhook bodies are being received at once; retry shortly`, connection closed), or verified deliveries already fill the queue of those waiting to be written (`Too many webhook deliveries are waiting to be written; retry shortly`): the sender retries", body = ErrorDetail,
            headers(("Retry-After" = u32, description = "Seconds to wait, when the database is unavailable or the budget is exhausted"))),
    ),
)]
pub async fn receive_clerk_webhook(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let verifier = state.webhooks.as_ref().ok_or(ApiError::NotConfigured {
        what: "Webhook verification",
        variable: "CLERK_WEBHOOK_SIGNING_SECRET",
    })?;
    // From here until it is queued, a writer gathering a batch may wait for this delivery.
    let receiving = state.deliveries.receiving();
    let budget = &state.body_limits.webhook_budget;
    let (body, reservation) = read_body(&request, payload, state.max_body_bytes, budget).await?;
    let message = verifier
        .verify(&body, &SvixHeaders(request.headers()))
        .map_err(|err| {
            tracing::info!(reason = %err, "webhook refused: signature did not verify");
            ApiError::InvalidSignature
        })?;
    // Verified: the body is Svix's, no longer a stranger's bytes held before authentication.
    drop(reservation);
    let svix_id = usable_svix_id(message.id)?;
    let received_at = chrono::Utc::now().naive_utc();
    let (event_type, work) = match EventEnvelope::parse(&body) {
        Ok(envelope) => (
            envelope.event_type.clone(),
            QueuedWork::Apply(Box::new(envelope)),
        ),
        Err(err) => (rejected_type(&err), QueuedWork::Reject(err.to_string())),
    };
    let rejected = match &work {
        QueuedWork::Reject(reason) => Some(reason.clone()),
        QueuedWork::Apply(_) => None,
    };
    let delivery = QueuedDelivery {
        svix_id,
        event_type: event_type.clone(),
        body,
        received_at,
        work,
    };
    let outcome = state.deliveries.submit(receiving, delivery).await?;
    state
        .metrics
        .observe_delivery(&event_type, outcome.as_str());
    match (rejected, outcome) {
        (None, _) | (Some(_), Outcome::Duplicate) => {
            tracing::info!(%event_type, %outcome, "webhook processed");
            Ok(WebhookAccepted::answer(outcome))
        }
        (Some(reason), _) => {
            tracing::warn!(%event_type, %outcome, "webhook rejected: verified body could not be applied");
            Err(ApiError::BadRequest(reason))
        }
    }
}

/// The `svix-id` of a verified delivery, if it can key the webhook log.
///
/// # Errors
/// [`ApiError::BadRequest`] for an `svix-id` that is empty or longer than
/// [`MAX_SVIX_ID_LEN`]: nothing is recorded.
fn usable_svix_id(svix_id: String) -> Result<String, ApiError> {
    if svix_id.is_empty() || svix_id.len() > MAX_SVIX_ID_LEN {
        tracing::info!(
            length = svix_id.len(),
            "webhook refused: signed, but its svix-id cannot key the log"
        );
        return Err(ApiError::BadRequest(format!(
            "The svix-id header must hold 1 to {MAX_SVIX_ID_LEN} characters (Svix's message \
             ids are about 30); nothing was recorded"
        )));
    }
    Ok(svix_id)
}

/// The event type a signed body that cannot be applied is logged under: the type it names,
/// when it names one.
fn rejected_type(err: &DomainError) -> String {
    match err {
        DomainError::MalformedEvent {
            event_type: Some(event_type),
            ..
        } => event_type.clone(),
        _ => "unknown".to_owned(),
    }
}

/// Reads the body, refusing it as soon as it exceeds `limit` (also when `Content-Length`
/// announces more), and buffering only bytes reserved from `budget`: the announced length up
/// front, or, without one, each chunk as it comes. The reservation is the caller's until the
/// body is verified.
async fn read_body<'a>(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    budget: &'a BodyBudget,
) -> Result<(web::Bytes, Reservation<'a>), ApiError> {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let over_budget = || {
        tracing::warn!(
            budget_bytes = budget.capacity(),
            "webhook refused: unverified bodies already hold the whole budget"
        );
        ApiError::BodyBudgetExhausted
    };
    let mut reservation = budget
        .reserve(announced.unwrap_or(0))
        .ok_or_else(over_budget)?;
    let mut body = web::BytesMut::with_capacity(announced.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::BadRequest(format!("could not read the request body: {err}"))
        })?;
        let length = body.len() + chunk.len();
        if length > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        if !reservation.grow_to(length) {
            return Err(over_budget());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), reservation))
}

/// actix's header map, as the Svix verifier reads headers (case-insensitively).
struct SvixHeaders<'a>(&'a HeaderMap);

impl clerk_sync_svix::Headers for SvixHeaders<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|value| value.to_str().ok())
    }
}
