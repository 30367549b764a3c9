//! `clerk-sync dev send`: signs a realistic Clerk event and posts it to a running server, as
//! Svix would.

use anyhow::Context;
use clerk_sync_svix::WebhookSecret;

use super::templates::{self, Subject};
use super::{now_millis, random_id};

/// What to send, from the command line; ids left out are generated.
#[derive(Debug, Default)]
pub struct SendRequest {
    /// The event type.
    pub event_type: String,
    /// `--user`.
    pub user: Option<String>,
    /// `--email`.
    pub email: Option<String>,
    /// `--first-name`.
    pub first_name: Option<String>,
    /// `--last-name`.
    pub last_name: Option<String>,
    /// `--org`.
    pub organization: Option<String>,
    /// `--org-name`.
    pub organization_name: Option<String>,
    /// `--membership`.
    pub membership: Option<String>,
    /// `--role`.
    pub role: Option<String>,
}

/// What the server answered, and the ids used.
#[derive(Debug)]
pub struct Sent {
    /// The Svix message id.
    pub message_id: String,
    /// The ids and names the event was about.
    pub subject: Subject,
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
}

/// Builds, signs and posts the event to `url`.
///
/// # Errors
/// When the event type is not one, or the server cannot be reached.
pub async fn run(secret: &WebhookSecret, url: &str, request: SendRequest) -> anyhow::Result<Sent> {
    let user = request.user.unwrap_or_else(|| random_id("user_"));
    let email = match (request.email, request.event_type.starts_with("user.")) {
        (Some(email), _) => Some(email),
        (None, true) => Some(format!(
            "{}@example.com",
            user.to_lowercase().replace('_', ".")
        )),
        (None, false) => None,
    };
    let subject = Subject {
        email,
        first_name: request.first_name.unwrap_or_else(|| "Ada".to_owned()),
        last_name: request.last_name.unwrap_or_else(|| "Developer".to_owned()),
        organization: request.organization.unwrap_or_else(|| random_id("org_")),
        organization_name: request
            .organization_name
            .unwrap_or_else(|| "Acme Development".to_owned()),
        membership: request.membership.unwrap_or_else(|| random_id("orgmem_")),
        role: request.role.unwrap_or_else(|| "org:member".to_owned()),
        user,
    };
    let now = now_millis();
    let body = templates::event(&request.event_type, &subject, now)?.to_string();
    let message_id = random_id("msg_");
    let timestamp = u64::try_from(now / 1000).context("the clock is before 1970")?;
    let mut post = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone());
    for (name, value) in secret.signed_headers(&message_id, timestamp, body.as_bytes()) {
        post = post.header(name, value);
    }
    let response = post
        .send()
        .await
        .with_context(|| format!("cannot reach {url}; is `clerk-sync serve` running?"))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Ok(Sent {
        message_id,
        subject,
        status,
        body,
    })
}
