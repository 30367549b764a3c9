//! `POST /webhooks/clerk`: verify with clerk-sync-svix, parse with clerk-sync-domain, queue the
//! welcome mail at most once.

use std::sync::{Mutex, PoisonError};

use clerk_sync_domain::{ClerkEvent, EventEnvelope, Outcome, event_type};
use clerk_sync_svix::{Headers, MAX_MESSAGE_ID_LEN, Verifier};
use serde_json::json;

use crate::outbox::Outbox;
use crate::welcome::WelcomeMail;

/// What the webhook endpoint needs: the verifier and the outbox (one writer at a time).
#[derive(Debug)]
pub struct WebhookState {
    /// Checks Svix signatures.
    pub verifier: Verifier,
    /// Where mails go.
    pub outbox: Mutex<Outbox>,
}

/// An HTTP answer: status and JSON body.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
}

impl Reply {
    /// A 2xx with `{"status": "ok", "outcome": …}`, as clerk-sync answers.
    fn accepted(outcome: Outcome) -> Self {
        Self {
            status: 200,
            body: json!({"status": "ok", "outcome": outcome.as_str()}),
        }
    }

    /// An error with `{"detail": …}`.
    pub fn detail(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({"detail": detail.into()}),
        }
    }
}

/// Handles one delivery. Only a `user.created` whose user has a verified primary address queues
/// a mail; every other verified delivery is acknowledged as `ignored` so Svix stops retrying it.
///
/// Answers 400 `Invalid webhook signature` (nothing written) for a bad or missing signature or
/// a stale timestamp, 400 with the reason for a signed body that is not a Clerk event, and 503
/// when the outbox cannot be written (Svix retries).
pub fn receive_clerk_webhook<H: Headers + ?Sized>(
    state: &WebhookState,
    headers: &H,
    body: &[u8],
) -> Reply {
    let message = match state.verifier.verify(body, headers) {
        Ok(message) => message,
        Err(err) => {
            eprintln!("welcome-mailer: webhook refused: {err}");
            return Reply::detail(400, "Invalid webhook signature");
        }
    };
    if message.id.is_empty() || message.id.len() > MAX_MESSAGE_ID_LEN {
        eprintln!("welcome-mailer: webhook refused: signed, but its svix-id cannot key the outbox");
        return Reply::detail(
            400,
            format!("The svix-id header must hold 1 to {MAX_MESSAGE_ID_LEN} characters"),
        );
    }
    let envelope = match EventEnvelope::parse(body) {
        Ok(envelope) => envelope,
        Err(err) => {
            let event_type = err.event_type().unwrap_or("unknown");
            // The reason names the field, never its value, so it may be logged and answered.
            eprintln!(
                "welcome-mailer: {} {event_type} rejected: {err}",
                message.id
            );
            return Reply::detail(400, err.to_string());
        }
    };
    let outcome = match &envelope.event {
        ClerkEvent::UserUpserted(user) if envelope.event_type == event_type::USER_CREATED => {
            match WelcomeMail::for_user(&message.id, user) {
                Some(mail) => match queue(state, &mail) {
                    Ok(outcome) => outcome,
                    Err(reply) => return reply,
                },
                None => Outcome::Ignored,
            }
        }
        _ => Outcome::Ignored,
    };
    eprintln!(
        "welcome-mailer: {} {} {outcome}",
        message.id, envelope.event_type
    );
    Reply::accepted(outcome)
}

/// Appends the mail unless its message or its user was already mailed; the check and the append
/// happen under one lock, so concurrent retries cannot both append.
fn queue(state: &WebhookState, mail: &WelcomeMail) -> Result<Outcome, Reply> {
    let mut outbox = state.outbox.lock().unwrap_or_else(PoisonError::into_inner);
    if outbox.already_mailed(&mail.message_id, &mail.user_id) {
        return Ok(Outcome::Duplicate);
    }
    outbox.append(mail).map_err(|err| {
        eprintln!("welcome-mailer: {} not queued: {err}", mail.message_id);
        Reply::detail(
            503,
            "The welcome mail could not be written to the outbox; nothing was recorded and the \
             sender will retry",
        )
    })?;
    Ok(Outcome::Applied)
}
