//! Realistic Clerk events, built from the example deliveries in the domain crate's fixtures
//! with the ids, names and times of this run.

use serde_json::{Value, json};

use crate::{DevError, random_id};

const USER_CREATED: &str = include_str!("../../domain/tests/fixtures/events/user.created.json");
const ORGANIZATION_CREATED: &str =
    include_str!("../../domain/tests/fixtures/events/organization.created.json");
const MEMBERSHIP_CREATED: &str =
    include_str!("../../domain/tests/fixtures/events/organizationMembership.created.json");

/// The ids and names an event is about.
#[derive(Clone, Debug)]
pub struct Subject {
    /// `user_…`.
    pub user: String,
    /// The user's primary email, if any.
    pub email: Option<String>,
    /// First name, if any.
    pub first_name: Option<String>,
    /// Last name, if any.
    pub last_name: Option<String>,
    /// `org_…`.
    pub organization: String,
    /// Organization name.
    pub organization_name: String,
    /// `orgmem_…`.
    pub membership: String,
    /// Role key.
    pub role: String,
}

/// The delivery body of `event_type` about `subject`, stamped `now` (Unix ms).
///
/// A type without a template of its own (one clerk-sync does not handle) gets a bare object.
///
/// # Errors
/// [`DevError::Template`], only if a built-in template is broken.
pub fn event(event_type: &str, subject: &Subject, now: i64) -> Result<Value, DevError> {
    let data = match event_type {
        "user.created" | "user.updated" => user(subject, now)?,
        "organization.created" | "organization.updated" => organization(subject, now)?,
        "organizationMembership.created"
        | "organizationMembership.updated"
        | "organizationMembership.deleted" => membership(subject, now)?,
        "user.deleted" => json!({"deleted": true, "id": subject.user, "object": "user"}),
        "organization.deleted" => {
            json!({"deleted": true, "id": subject.organization, "object": "organization"})
        }
        other => {
            json!({"id": random_id("evt_"), "object": other.split('.').next().unwrap_or("object")})
        }
    };
    Ok(json!({
        "data": data,
        "event_attributes": {"http_request": {"client_ip": "127.0.0.1", "user_agent": "clerk-sync dev send"}},
        "instance_id": "ins_clerksyncdevelopment000000",
        "object": "event",
        "timestamp": now,
        "type": event_type,
    }))
}

fn template(text: &str) -> Result<Value, DevError> {
    let event: Value = serde_json::from_str(text).map_err(DevError::Template)?;
    Ok(event["data"].clone())
}

fn user(subject: &Subject, now: i64) -> Result<Value, DevError> {
    let mut data = template(USER_CREATED)?;
    let email_id = random_id("idn_");
    let mut address = data["email_addresses"][0].clone();
    address["id"] = json!(email_id);
    address["email_address"] = json!(subject.email);
    data["email_addresses"] = match subject.email {
        Some(_) => json!([address]),
        None => json!([]),
    };
    data["primary_email_address_id"] = if subject.email.is_some() {
        json!(email_id)
    } else {
        Value::Null
    };
    data["id"] = json!(subject.user);
    data["first_name"] = json!(subject.first_name);
    data["last_name"] = json!(subject.last_name);
    data["created_at"] = json!(now);
    data["updated_at"] = json!(now);
    data["last_active_at"] = json!(now);
    Ok(data)
}

fn organization(subject: &Subject, now: i64) -> Result<Value, DevError> {
    let mut data = template(ORGANIZATION_CREATED)?;
    data["id"] = json!(subject.organization);
    data["name"] = json!(subject.organization_name);
    data["slug"] = json!(slug(&subject.organization_name));
    data["created_by"] = json!(subject.user);
    data["created_at"] = json!(now);
    data["updated_at"] = json!(now);
    Ok(data)
}

fn membership(subject: &Subject, now: i64) -> Result<Value, DevError> {
    let mut data = template(MEMBERSHIP_CREATED)?;
    data["id"] = json!(subject.membership);
    data["role"] = json!(subject.role);
    data["role_name"] = json!(subject.role.trim_start_matches("org:"));
    data["organization"] = organization(subject, now)?;
    let public = &mut data["public_user_data"];
    public["user_id"] = json!(subject.user);
    public["identifier"] = json!(
        subject
            .email
            .clone()
            .unwrap_or_else(|| subject.user.clone())
    );
    public["first_name"] = json!(subject.first_name);
    public["last_name"] = json!(subject.last_name);
    data["created_at"] = json!(now);
    data["updated_at"] = json!(now);
    Ok(data)
}

fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use clerk_sync_domain::{ClerkEvent, EventEnvelope};

    use super::*;

    fn subject() -> Subject {
        Subject {
            user: "user_devA".into(),
            email: Some("dev@example.com".into()),
            first_name: Some("Dev".into()),
            last_name: None,
            organization: "org_devB".into(),
            organization_name: "Dev Team & Co".into(),
            membership: "orgmem_devC".into(),
            role: "org:admin".into(),
        }
    }

    #[test]
    fn every_handled_type_parses_as_the_event_it_names() {
        for event_type in clerk_sync_domain::HANDLED_EVENT_TYPES {
            let body = event(event_type, &subject(), 1_700_000_000_000)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let parsed = EventEnvelope::parse(body.as_bytes());
            let event = parsed.map(|e| e.event).unwrap_or(ClerkEvent::Unhandled);
            assert_ne!(event, ClerkEvent::Unhandled, "{event_type}");
            assert!(event.object_id().is_some_and(|id| id.ends_with("devA")
                || id.ends_with("devB")
                || id.ends_with("devC")));
        }
    }

    #[test]
    fn users_carry_the_email_as_primary_or_none() {
        let body = event("user.created", &subject(), 1)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let Ok(EventEnvelope {
            event: ClerkEvent::UserUpserted(user),
            ..
        }) = EventEnvelope::parse(body.as_bytes())
        else {
            panic!("not a user event: {body}");
        };
        assert_eq!(
            user.email.map(|e| e.to_string()).as_deref(),
            Some("dev@example.com")
        );
        let phone_only = Subject {
            email: None,
            ..subject()
        };
        let body = event("user.created", &phone_only, 1)
            .map(|v| v.to_string())
            .unwrap_or_default();
        assert!(
            matches!(EventEnvelope::parse(body.as_bytes()), Ok(EventEnvelope { event: ClerkEvent::UserUpserted(u), .. }) if u.email.is_none())
        );
    }

    #[test]
    fn names_left_out_are_sent_empty() {
        let body = event("user.created", &subject(), 1).unwrap_or_default();
        assert_eq!(
            (&body["data"]["first_name"], &body["data"]["last_name"]),
            (&json!("Dev"), &Value::Null)
        );
        let body = event("organizationMembership.created", &subject(), 1).unwrap_or_default();
        assert_eq!(body["data"]["public_user_data"]["last_name"], Value::Null);
    }

    #[test]
    fn other_types_are_sent_as_is() {
        let body = event("session.created", &subject(), 1)
            .map(|v| v.to_string())
            .unwrap_or_default();
        assert_eq!(
            EventEnvelope::parse(body.as_bytes()).map(|e| e.event),
            Ok(ClerkEvent::Unhandled)
        );
        assert_eq!(
            event("hello", &subject(), 1).unwrap_or_default()["data"]["object"],
            "hello"
        );
        assert_eq!(slug("Dev Team & Co"), "dev-team-co");
    }
}
