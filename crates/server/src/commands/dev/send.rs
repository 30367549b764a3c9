//! `clerk-sync dev send`: signs a realistic Clerk event and posts it to a running server, as
//! Svix would.

use std::fmt::Write;

use anyhow::{Context, bail};
use clerk_sync_domain::HANDLED_EVENT_TYPES;
use clerk_sync_svix::WebhookSecret;

use super::templates::{self, Subject};
use super::{now_millis, random_id};

/// The default organization name: membership events carry the organization too, so every
/// event of one organization must name it alike.
pub const DEFAULT_ORGANIZATION_NAME: &str = "Acme Development";

/// What to send, from the command line; ids left out are generated, names left out are sent
/// empty (`null`, as Clerk sends them).
#[derive(Debug, Default)]
pub struct SendRequest {
    /// The event type.
    pub event_type: String,
    /// `--raw-type`: send a type clerk-sync does not handle.
    pub raw_type: bool,
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

/// The help of the event type argument: the types clerk-sync handles.
pub fn event_type_help() -> String {
    format!(
        "The event type: {}; any other one (e.g. session.created) only with --raw-type",
        HANDLED_EVENT_TYPES.join(", ")
    )
}

/// Refuses a type clerk-sync does not handle, unless `raw` says it is meant.
///
/// # Errors
/// When `event_type` is not one of [`HANDLED_EVENT_TYPES`] and `raw` is false, or is empty.
pub fn check_event_type(event_type: &str, raw: bool) -> anyhow::Result<()> {
    if event_type.trim().is_empty() {
        bail!("the event type is empty: write e.g. user.created");
    }
    if !raw && !HANDLED_EVENT_TYPES.contains(&event_type) {
        bail!(
            "`{event_type}` is not one of the event types clerk-sync handles ({}); pass --raw-type to send it anyway (the server answers 200 and records it as ignored)",
            HANDLED_EVENT_TYPES.join(", ")
        );
    }
    Ok(())
}

/// What the server answered, and the ids used.
#[derive(Debug)]
pub struct Sent {
    /// The event type.
    pub event_type: String,
    /// The Svix message id.
    pub message_id: String,
    /// The ids and names the event was about.
    pub subject: Subject,
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: String,
}

impl Sent {
    /// Whether the server took the event (2xx).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The id of the event's object: the user, organization or membership; the message id
    /// for other types.
    pub fn object_id(&self) -> &str {
        let subject = &self.subject;
        match self.event_type.split_once('.').map(|(object, _)| object) {
            Some("user") => &subject.user,
            Some("organization") => &subject.organization,
            Some("organizationMembership") => &subject.membership,
            _ => &self.message_id,
        }
    }

    /// What was sent to `url` and what the server answered, for people.
    pub fn report(&self, url: &str) -> String {
        let subject = &self.subject;
        let mut out = format!("sent {} as {} to {url}\n", self.event_type, self.message_id);
        let _ = match self.event_type.split_once('.').map(|(object, _)| object) {
            Some("user") => writeln!(
                out,
                "  user {}  email {}",
                subject.user,
                subject.email.as_deref().unwrap_or("(none)")
            ),
            Some("organization") => writeln!(
                out,
                "  organization {}  name {}",
                subject.organization, subject.organization_name
            ),
            Some("organizationMembership") => writeln!(
                out,
                "  membership {}  user {}  organization {}  role {}",
                subject.membership, subject.user, subject.organization, subject.role
            ),
            _ => Ok(()),
        };
        let _ = writeln!(out, "answer: {} {}", self.status, self.body);
        out
    }
}

/// Builds, signs and posts the event to `url`.
///
/// # Errors
/// When the event type is refused (see [`check_event_type`]), or the server cannot be
/// reached.
pub async fn run(secret: &WebhookSecret, url: &str, request: SendRequest) -> anyhow::Result<Sent> {
    check_event_type(&request.event_type, request.raw_type)?;
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
        first_name: request.first_name,
        last_name: request.last_name,
        organization: request.organization.unwrap_or_else(|| random_id("org_")),
        organization_name: request
            .organization_name
            .unwrap_or_else(|| DEFAULT_ORGANIZATION_NAME.to_owned()),
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
        event_type: request.event_type,
        message_id,
        subject,
        status,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_handled_types_pass_unless_raw() {
        for event_type in HANDLED_EVENT_TYPES {
            assert!(check_event_type(event_type, false).is_ok(), "{event_type}");
        }
        let refused = check_event_type("foo.bar", false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            refused.contains("`foo.bar` is not one of") && refused.contains("--raw-type"),
            "{refused}"
        );
        assert!(
            check_event_type("user.create", false).is_err(),
            "a typo is refused"
        );
        assert!(check_event_type("session.created", true).is_ok());
        assert!(check_event_type(" ", true).is_err());
        for event_type in HANDLED_EVENT_TYPES {
            assert!(event_type_help().contains(event_type));
        }
    }
}
