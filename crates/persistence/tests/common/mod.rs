//! Helpers shared by the persistence tests: Clerk event bodies and a dump of the mirror.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use chrono::NaiveDateTime;
use clerk_sync_domain::{EventEnvelope, Outcome};
use clerk_sync_persistence::schema::{organization_memberships, organizations, tombstones, users};
use clerk_sync_persistence::{
    BatchedDelivery, DbConnection, Delivery, DeliveryWork, process_deliveries, process_delivery,
};
use diesel::prelude::*;
use serde_json::{Value, json};

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

pub fn user(
    event_type: &str,
    id: &str,
    email: Option<&str>,
    first_name: &str,
    updated_at: i64,
) -> Value {
    let emails: Vec<Value> = email
        .iter()
        .map(|e| {
            json!({"id": format!("idn_{id}"), "email_address": e, "object": "email_address",
                     "verification": {"status": "verified", "strategy": "email_code"}})
        })
        .collect();
    json!({
        "type": event_type, "object": "event", "timestamp": updated_at + 5,
        "data": {
            "id": id, "object": "user", "email_addresses": emails,
            "primary_email_address_id": email.map(|_| format!("idn_{id}")),
            "first_name": first_name, "last_name": "Test", "image_url": "https://img.clerk.com/x",
            "created_at": 1, "updated_at": updated_at,
        }
    })
}

pub fn organization_data(id: &str, name: &str, updated_at: i64) -> Value {
    json!({"id": id, "object": "organization", "name": name, "slug": name.to_lowercase(),
           "image_url": null, "created_at": 1, "updated_at": updated_at})
}

pub fn organization(event_type: &str, id: &str, name: &str, updated_at: i64) -> Value {
    json!({"type": event_type, "object": "event", "timestamp": updated_at + 5,
           "data": organization_data(id, name, updated_at)})
}

pub fn membership(
    event_type: &str,
    id: &str,
    user_id: &str,
    org: Value,
    role: &str,
    updated_at: i64,
    timestamp: i64,
) -> Value {
    json!({
        "type": event_type, "object": "event", "timestamp": timestamp,
        "data": {
            "id": id, "object": "organization_membership", "role": role, "organization": org,
            "public_user_data": {"user_id": user_id, "first_name": "From", "last_name": "Membership",
                                 "identifier": "someone@example.com", "image_url": "https://img.clerk.com/m"},
            "created_at": 1, "updated_at": updated_at,
        }
    })
}

pub fn deleted(event_type: &str, id: &str, timestamp: i64) -> Value {
    json!({"type": event_type, "object": "event", "timestamp": timestamp,
           "data": {"id": id, "deleted": true}})
}

/// Delivers an event body under a message id, as the webhook handler would.
pub fn deliver(conn: &mut DbConnection, svix_id: &str, body: &Value) -> Outcome {
    let payload = body.to_string();
    let envelope = EventEnvelope::parse(payload.as_bytes()).expect("a valid event");
    let delivery = Delivery {
        svix_id,
        event_type: &envelope.event_type,
        clerk_object_id: envelope.event.object_id(),
        payload: &payload,
        received_at: now(),
    };
    process_delivery(conn, &delivery, &envelope).expect("the delivery is processed")
}

/// Delivers event bodies under their message ids in one transaction, as the webhook's writers
/// do with deliveries that arrive together; every one must be processed.
pub fn deliver_batch(
    conn: &mut DbConnection,
    svix_ids: &[String],
    bodies: &[Value],
) -> Vec<Outcome> {
    let payloads: Vec<String> = bodies.iter().map(Value::to_string).collect();
    let envelopes: Vec<EventEnvelope> = payloads
        .iter()
        .map(|payload| EventEnvelope::parse(payload.as_bytes()).expect("a valid event"))
        .collect();
    let batch: Vec<BatchedDelivery<'_>> = svix_ids
        .iter()
        .zip(&payloads)
        .zip(&envelopes)
        .map(|((svix_id, payload), envelope)| BatchedDelivery {
            delivery: Delivery {
                svix_id,
                event_type: &envelope.event_type,
                clerk_object_id: envelope.event.object_id(),
                payload,
                received_at: now(),
            },
            work: DeliveryWork::Apply(envelope),
        })
        .collect();
    process_deliveries(conn, &batch)
        .expect("the batch commits")
        .into_iter()
        .map(|outcome| outcome.expect("every delivery of the batch is processed"))
        .collect()
}

/// A user's Clerk id, email, first and last name, and Clerk version.
pub type UserState = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// Everything Clerk owns in the mirror, keyed by Clerk ids (local ids depend on arrival order).
#[derive(Debug, PartialEq, Eq)]
pub struct MirrorState {
    pub users: Vec<UserState>,
    pub organizations: Vec<(String, String, Option<String>, i64)>,
    pub memberships: Vec<(String, Option<String>, String, String, i64)>,
    pub tombstones: Vec<String>,
}

pub fn mirror_state(conn: &mut DbConnection) -> MirrorState {
    let users = users::table
        .select((
            users::clerk_id,
            users::email,
            users::first_name,
            users::last_name,
            users::clerk_updated_at,
        ))
        .order((users::clerk_id, users::email))
        .load(conn)
        .expect("users");
    let organizations = organizations::table
        .select((
            organizations::clerk_id,
            organizations::name,
            organizations::slug,
            organizations::clerk_updated_at,
        ))
        .order(organizations::clerk_id)
        .load(conn)
        .expect("organizations");
    let memberships = organization_memberships::table
        .inner_join(users::table)
        .inner_join(organizations::table)
        .select((
            organization_memberships::clerk_id,
            users::clerk_id,
            organizations::clerk_id,
            organization_memberships::role,
            organization_memberships::clerk_updated_at,
        ))
        .order(organization_memberships::clerk_id)
        .load(conn)
        .expect("memberships");
    let tombstones = tombstones::table
        .select(tombstones::clerk_id)
        .order(tombstones::clerk_id)
        .load(conn)
        .expect("tombstones");
    MirrorState {
        users,
        organizations,
        memberships,
        tombstones,
    }
}

/// The nine fixture events of `crates/domain/tests/fixtures/events`, in the order they tell
/// their story.
pub fn fixture_story() -> Vec<(String, Value)> {
    let order = [
        "user.created",
        "user.updated",
        "organization.created",
        "organizationMembership.created",
        "organization.updated",
        "organizationMembership.updated",
        "organizationMembership.deleted",
        "organization.deleted",
        "user.deleted",
    ];
    order
        .iter()
        .enumerate()
        .map(|(i, event_type)| {
            let path = format!(
                "{}/../domain/tests/fixtures/events/{event_type}.json",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).expect("fixture");
            (
                format!("msg_story_{i}"),
                serde_json::from_str(&text).expect("fixture JSON"),
            )
        })
        .collect()
}

/// The email of the user with a Clerk id.
pub fn user_email(conn: &mut DbConnection, clerk_id: &str) -> Option<String> {
    users::table
        .filter(users::clerk_id.eq(clerk_id))
        .select(users::email)
        .first::<Option<String>>(conn)
        .expect("the user exists")
}
