//! Clerk objects as the Backend API lists them parse exactly like the `data` of the events
//! that carry them.

use clerk_sync_domain::{
    ClerkEvent, DomainError, EventEnvelope, parse_membership, parse_organization, parse_user,
};
use serde_json::Value;

fn fixture(event_type: &str) -> (EventEnvelope, String) {
    let path = format!(
        "{}/tests/fixtures/events/{event_type}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    let envelope = EventEnvelope::parse(text.as_bytes()).unwrap_or_else(|err| panic!("{err}"));
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}"));
    (envelope, body["data"].to_string())
}

#[test]
fn a_listed_user_is_the_snapshot_its_event_carries() {
    let (envelope, data) = fixture("user.updated");
    let ClerkEvent::UserUpserted(expected) = envelope.event else {
        panic!("not a user upsert")
    };
    assert_eq!(parse_user(&data), Ok(expected));
}

#[test]
fn a_listed_organization_is_the_snapshot_its_event_carries() {
    let (envelope, data) = fixture("organization.updated");
    let ClerkEvent::OrganizationUpserted(expected) = envelope.event else {
        panic!("not an organization upsert")
    };
    assert_eq!(parse_organization(&data), Ok(expected));
}

#[test]
fn a_listed_membership_is_the_snapshot_its_event_carries() {
    let (envelope, data) = fixture("organizationMembership.updated");
    let ClerkEvent::MembershipUpserted(expected) = envelope.event else {
        panic!("not a membership upsert")
    };
    assert_eq!(parse_membership(&data), Ok(expected));
}

#[test]
fn errors_name_the_kind_and_field_without_quoting_values() {
    let err = parse_user(r#"{"id":"user_1","updated_at":"ada@example.com"}"#);
    let Err(DomainError::MalformedObject { kind, reason }) = err else {
        panic!("expected a malformed object, got {err:?}")
    };
    assert_eq!(kind, "user");
    assert!(reason.starts_with("`updated_at`: invalid type"), "{reason}");
    assert!(!reason.contains("ada@"), "{reason}");

    let err = parse_organization(r#"{"id":"user_1","name":"N","updated_at":1}"#)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "malformed organization object: `id`: invalid organization id: expected `org_` followed by letters, digits or `_`"
        )
    );
    let err = parse_membership("42").err().map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(
            |e| e.starts_with("malformed organization membership object: invalid type")
        ),
        "{err:?}"
    );
}
