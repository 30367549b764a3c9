//! The pass-through of `/clerk/v1`: what the mirror does not answer itself goes on to Clerk's
//! Backend API unchanged (method, path, query, body, the caller's `Authorization` and
//! `Clerk-API-Version`), and Clerk's answer comes back unchanged.
//!
//! Read-your-writes: when a write that Clerk answers 2xx returns a user, an organization or a
//! membership (or says one was deleted), that object is applied to the mirror before the answer
//! is sent, through the same ordering rules as a webhook, so the caller's next read sees it
//! before the webhook arrives; the webhook then answers `stale` (the same version) or
//! `applied` (a newer one), never a regression. A deletion tombstones.

use std::time::Duration;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use clerk_sync_domain::{
    ClerkEvent, ClerkOrgId, ClerkUserId, EventEnvelope, parse_membership, parse_organization,
    parse_user,
};
use clerk_sync_persistence::apply_event;
use futures_util::StreamExt;
use serde::Deserialize;

use crate::AppState;
use crate::clerk_api::errors::clerk_errors;
use crate::db::run_db_write;

/// How long Clerk may take to answer a passed-through request.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer to a write that is read to apply it: Clerk's objects are a few kilobytes.
/// A larger one is passed back as it is, not applied (the webhook brings it).
const MAX_APPLIED_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The caller's headers that go on to Clerk; others (cookies, proxies' headers) stay here.
const FORWARDED_REQUEST_HEADERS: [header::HeaderName; 5] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::USER_AGENT,
    header::HeaderName::from_static("clerk-api-version"),
];

/// Clerk's headers that do not come back: they describe the connection to Clerk, not the
/// answer (the body is re-framed here).
const DROPPED_RESPONSE_HEADERS: [header::HeaderName; 6] = [
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::TRAILER,
    header::HeaderName::from_static("keep-alive"),
];

/// Where passed-through requests go: Clerk's Backend API (`CLERK_API_URL`).
#[derive(Clone, Debug)]
pub struct PassThrough {
    client: reqwest::Client,
    /// The API's base URL without a trailing slash (`https://api.clerk.com/v1`).
    base_url: String,
}

impl PassThrough {
    /// A pass-through to the Backend API at `base_url`.
    ///
    /// # Errors
    /// The reason, when the HTTP client cannot be built.
    pub fn new(base_url: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(UPSTREAM_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| format!("the Backend API client cannot be built: {err}"))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Sends the request on to Clerk and answers what Clerk answers; `path` is the part after
    /// `/clerk/v1` (`/users/user_1/metadata`).
    pub async fn forward(
        &self,
        state: &AppState,
        request: &HttpRequest,
        path: &str,
        body: web::Bytes,
    ) -> HttpResponse {
        let method = request.method().clone();
        let mut url = format!("{}{path}", self.base_url);
        if !request.query_string().is_empty() {
            url.push('?');
            url.push_str(request.query_string());
        }
        let Ok(upstream_method) = reqwest::Method::from_bytes(method.as_str().as_bytes()) else {
            return clerk_errors(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "The method is not supported",
                "The method is not supported",
                None,
            );
        };
        let mut upstream = self.client.request(upstream_method, url).body(body);
        for name in &FORWARDED_REQUEST_HEADERS {
            for value in request.headers().get_all(name) {
                upstream = upstream.header(name.as_str(), value.as_bytes());
            }
        }
        let answer = match upstream.send().await {
            Ok(answer) => answer,
            Err(err) => {
                state.metrics.observe_pass_through("unreachable");
                // reqwest's message names the URL, which holds no secret; the path may hold a
                // Clerk id, which is no personal data.
                tracing::warn!(error = %err.without_url(), "Clerk's Backend API did not answer a passed-through request");
                return clerk_errors(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    "Clerk's Backend API could not be reached; try again later",
                    "Clerk's Backend API could not be reached; try again later",
                    None,
                );
            }
        };
        let status =
            StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut response = HttpResponse::build(status);
        for (name, value) in answer.headers() {
            if DROPPED_RESPONSE_HEADERS
                .iter()
                .any(|dropped| dropped.as_str() == name.as_str())
            {
                continue;
            }
            response.append_header((name.as_str(), value.as_bytes()));
        }
        let writes = method != Method::GET && method != Method::HEAD;
        if !(writes && status.is_success()) {
            state.metrics.observe_pass_through("forwarded");
            return response.streaming(body_stream(answer));
        }
        // A write's answer is read whole to apply it, up to a bound; past it, what was read
        // and the rest are passed back unread.
        let mut answer = answer;
        let mut bytes = web::BytesMut::new();
        loop {
            match answer.chunk().await {
                Ok(Some(chunk)) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_APPLIED_BODY_BYTES {
                        state.metrics.observe_pass_through("forwarded");
                        let read = futures_util::stream::once(async move { Ok(bytes.freeze()) });
                        return response.streaming(read.chain(body_stream(answer)));
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    state.metrics.observe_pass_through("unreachable");
                    tracing::warn!(error = %err.without_url(), "Clerk's answer to a passed-through write broke off");
                    return clerk_errors(
                        StatusCode::BAD_GATEWAY,
                        "upstream_unavailable",
                        "Clerk's Backend API answer broke off; the write may have happened: read the object again",
                        "Clerk's Backend API answer broke off; the write may have happened: read the object again",
                        None,
                    );
                }
            }
        }
        let bytes = bytes.freeze();
        let result = match written(&method, path, &bytes) {
            Some(event) => apply(state, event).await,
            None => "forwarded",
        };
        state.metrics.observe_pass_through(result);
        response.body(bytes)
    }
}

/// Clerk's answer body, chunk by chunk as it arrives.
fn body_stream(
    answer: reqwest::Response,
) -> impl futures_util::Stream<Item = Result<web::Bytes, std::io::Error>> {
    futures_util::stream::try_unfold(answer, |mut answer| async move {
        let chunk = answer.chunk().await.map_err(std::io::Error::other)?;
        Ok(chunk.map(|chunk| (chunk, answer)))
    })
}

/// Applies what a write returned; the metric's result.
async fn apply(state: &AppState, event: ClerkEvent) -> &'static str {
    let envelope = EventEnvelope {
        event_type: "pass-through".to_owned(),
        timestamp: None,
        event,
    };
    let now = chrono::Utc::now().naive_utc();
    match run_db_write(&state.database, move |conn| {
        apply_event(conn, &envelope, now)
    })
    .await
    {
        Ok(_) => "applied",
        Err(err) => {
            // Clerk made the change: the caller is told so; the webhook brings it here later.
            tracing::warn!(error = %err, "a write passed through to Clerk could not be applied to the mirror; its webhook will bring it");
            "not_applied"
        }
    }
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    object: Option<&'a str>,
    #[serde(borrow, default)]
    id: Option<&'a str>,
    #[serde(default)]
    deleted: bool,
}

/// What a 2xx answer to a write says about the mirror's objects: a version to apply, or a
/// deletion; `None` for anything else (sessions, invitations…, or a body that is not one).
fn written(method: &Method, path: &str, body: &[u8]) -> Option<ClerkEvent> {
    let text = std::str::from_utf8(body).ok()?;
    let peek: Peek<'_> = serde_json::from_str(text).ok()?;
    match peek.object? {
        "user" => parse_user(text).ok().map(ClerkEvent::UserUpserted),
        "organization" => parse_organization(text)
            .ok()
            .map(ClerkEvent::OrganizationUpserted),
        // `DELETE /organizations/{id}/memberships/{user_id}` answers the membership it removed.
        "organization_membership" => {
            let membership = parse_membership(text).ok()?;
            Some(
                if method == Method::DELETE && path.contains("/memberships/") {
                    ClerkEvent::MembershipDeleted(membership)
                } else {
                    ClerkEvent::MembershipUpserted(membership)
                },
            )
        }
        "deleted_object" if peek.deleted => {
            let id = peek.id?;
            if let Ok(user) = ClerkUserId::parse(id) {
                Some(ClerkEvent::UserDeleted(user))
            } else {
                ClerkOrgId::parse(id)
                    .ok()
                    .map(ClerkEvent::OrganizationDeleted)
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_answer_names_what_to_apply() {
        let user = br#"{"object":"user","id":"user_1","updated_at":5}"#;
        assert!(matches!(
            written(&Method::PATCH, "/users/user_1/metadata", user),
            Some(ClerkEvent::UserUpserted(_))
        ));
        let deleted = br#"{"object":"deleted_object","id":"user_1","deleted":true}"#;
        assert!(matches!(
            written(&Method::DELETE, "/users/user_1", deleted),
            Some(ClerkEvent::UserDeleted(_))
        ));
        let org = br#"{"object":"deleted_object","id":"org_1","deleted":true}"#;
        assert!(matches!(
            written(&Method::DELETE, "/organizations/org_1", org),
            Some(ClerkEvent::OrganizationDeleted(_))
        ));
        let membership =
            br#"{"object":"organization_membership","id":"orgmem_1","role":"org:member",
            "updated_at":5,"organization":{"id":"org_1","name":"Acme","updated_at":1},
            "public_user_data":{"user_id":"user_1"}}"#;
        assert!(matches!(
            written(
                &Method::DELETE,
                "/organizations/org_1/memberships/user_1",
                membership
            ),
            Some(ClerkEvent::MembershipDeleted(_))
        ));
        assert!(matches!(
            written(
                &Method::PATCH,
                "/organizations/org_1/memberships/user_1",
                membership
            ),
            Some(ClerkEvent::MembershipUpserted(_))
        ));
    }

    #[test]
    fn other_answers_apply_nothing() {
        for body in [
            &br#"{"object":"invitation","id":"inv_1"}"#[..],
            br#"{"object":"deleted_object","id":"sess_1","deleted":true}"#,
            br#"{"object":"user","id":"not a user id","updated_at":5}"#,
            br#"[1,2]"#,
            b"not json",
        ] {
            assert!(written(&Method::POST, "/x", body).is_none());
        }
    }
}
