//! The welcome mail: what a new Clerk user with a verified address is sent.

use clerk_sync_domain::UserSnapshot;
use serde::{Deserialize, Serialize};

/// One welcome mail, as the outbox stores it (one JSON line each).
///
/// It carries the Svix message id that caused it, so the outbox line is at once the mail and
/// the record that the message was handled: the two can never disagree. It holds no secret and
/// nothing of the webhook but the user's id, address and first name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeMail {
    /// The `svix-id` of the `user.created` delivery, the same on every retry.
    pub message_id: String,
    /// Clerk's id of the new user.
    pub user_id: String,
    /// The user's verified primary address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
}

impl WelcomeMail {
    /// The welcome mail for a new user, or `None` when the user has no address to send it to.
    ///
    /// `UserSnapshot::email` is the primary address only when Clerk has verified it (the domain
    /// crate's rule), so an unverified or missing address sends nothing.
    pub fn for_user(message_id: &str, user: &UserSnapshot) -> Option<Self> {
        let to = user.email.as_ref()?;
        let greeting = match user.first_name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => format!("Hi {name},"),
            _ => "Hi,".to_owned(),
        };
        Some(Self {
            message_id: message_id.to_owned(),
            user_id: user.clerk_id.as_str().to_owned(),
            to: to.as_str().to_owned(),
            subject: "Welcome aboard".to_owned(),
            text: format!(
                "{greeting}\n\nyour account is ready. Sign in any time with this address.\n\n\
                 If you did not sign up, you can ignore this mail.\n"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user as Clerk's Backend API lists one; parsed, not built field by field, so the test
    /// keeps compiling when the domain crate's snapshot gains fields.
    fn user(first_name: &str, email: Option<&str>) -> Option<UserSnapshot> {
        let addresses = email.map_or_else(Vec::new, |email| {
            vec![serde_json::json!({"id": "idn_1", "email_address": email,
                "verification": {"status": "verified"}})]
        });
        let json = serde_json::json!({
            "id": "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE", "updated_at": 1,
            "first_name": first_name, "primary_email_address_id": "idn_1",
            "email_addresses": addresses,
        });
        clerk_sync_domain::parse_user(&json.to_string()).ok()
    }

    #[test]
    fn greets_by_first_name_and_addresses_the_primary_email() {
        let mail = user("Ada", Some("Ada@Example.com"))
            .and_then(|user| WelcomeMail::for_user("msg_1", &user));
        let mail = mail.as_ref();
        assert_eq!(mail.map(|m| m.to.as_str()), Some("ada@example.com"));
        assert_eq!(mail.map(|m| m.message_id.as_str()), Some("msg_1"));
        assert!(mail.is_some_and(|m| m.text.starts_with("Hi Ada,\n")));
    }

    #[test]
    fn a_blank_first_name_is_not_used_in_the_greeting() {
        let mail = user("  ", Some("ada@example.com"))
            .and_then(|user| WelcomeMail::for_user("msg_1", &user));
        assert!(mail.is_some_and(|m| m.text.starts_with("Hi,\n")));
    }

    #[test]
    fn no_address_means_no_mail() {
        let user = user("Ada", None);
        assert!(user.is_some());
        assert_eq!(
            user.and_then(|user| WelcomeMail::for_user("msg_1", &user)),
            None
        );
    }
}
