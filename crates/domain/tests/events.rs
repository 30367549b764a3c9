//! Every Clerk event fixture parses into the event it describes.

use clerk_sync_domain::{ClerkEvent, DomainError, EventEnvelope, UnixMillis};

fn fixture(event_type: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/events/{event_type}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"))
}

fn parse(event_type: &str) -> EventEnvelope {
    EventEnvelope::parse(&fixture(event_type)).unwrap_or_else(|err| panic!("{event_type}: {err}"))
}

#[test]
fn user_created_resolves_the_primary_email() {
    let envelope = parse("user.created");
    assert_eq!(envelope.event_type, "user.created");
    assert_eq!(envelope.timestamp, Some(UnixMillis(1_736_942_401_268)));
    let ClerkEvent::UserUpserted(user) = envelope.event else {
        panic!("not a user upsert")
    };
    assert_eq!(user.clerk_id.as_str(), "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE");
    assert_eq!(
        user.email.as_ref().map(|e| e.as_str()),
        Some("ada.lovelace@example.com")
    );
    assert_eq!(user.first_name.as_deref(), Some("Ada"));
    assert_eq!(user.last_name.as_deref(), Some("Lovelace"));
    assert_eq!(user.updated_at, UnixMillis(1_736_942_401_251));
}

#[test]
fn user_updated_takes_the_primary_not_the_first_address() {
    let ClerkEvent::UserUpserted(user) = parse("user.updated").event else {
        panic!("not a user upsert")
    };
    assert_eq!(
        user.email.as_ref().map(|e| e.as_str()),
        Some("ada@analytical-engines.example")
    );
    assert!(
        user.image_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://img.clerk.com/"))
    );
    assert_eq!(user.updated_at, UnixMillis(1_737_028_800_412));
}

#[test]
fn deletions_carry_the_id() {
    let ClerkEvent::UserDeleted(id) = parse("user.deleted").event else {
        panic!("not a user deletion")
    };
    assert_eq!(id.as_str(), "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE");
    let ClerkEvent::OrganizationDeleted(id) = parse("organization.deleted").event else {
        panic!("not an organization deletion")
    };
    assert_eq!(id.as_str(), "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB");
}

#[test]
fn organizations_parse() {
    for event_type in ["organization.created", "organization.updated"] {
        let ClerkEvent::OrganizationUpserted(org) = parse(event_type).event else {
            panic!("{event_type}: not an organization upsert")
        };
        assert_eq!(org.clerk_id.as_str(), "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB");
        assert_eq!(org.slug.as_deref(), Some("analytical-engines"));
    }
    let ClerkEvent::OrganizationUpserted(org) = parse("organization.updated").event else {
        panic!()
    };
    assert_eq!(org.name, "Analytical Engines Ltd");
    assert_eq!(org.updated_at, UnixMillis(1_737_201_612_530));
}

#[test]
fn memberships_carry_their_user_and_organization() {
    let ClerkEvent::MembershipUpserted(m) = parse("organizationMembership.created").event else {
        panic!("not a membership upsert")
    };
    assert_eq!(m.clerk_id.as_str(), "orgmem_203FEu7bS7SwJzTrjVAiZRblaxS");
    assert_eq!(m.role.as_str(), "org:member");
    assert_eq!(m.user.clerk_id.as_str(), "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE");
    assert_eq!(m.user.first_name.as_deref(), Some("Ada"));
    assert_eq!(m.organization.name, "Analytical Engines");
    let ClerkEvent::MembershipUpserted(m) = parse("organizationMembership.updated").event else {
        panic!()
    };
    assert!(m.role.is_admin());
    let ClerkEvent::MembershipDeleted(m) = parse("organizationMembership.deleted").event else {
        panic!("not a membership deletion")
    };
    assert_eq!(m.updated_at, UnixMillis(1_737_288_004_716));
}

#[test]
fn compact_and_pretty_bodies_parse_alike() {
    for event_type in [
        "user.created",
        "organizationMembership.updated",
        "organization.deleted",
    ] {
        let pretty = fixture(event_type);
        let value: serde_json::Value = serde_json::from_slice(&pretty).expect("fixture is JSON");
        let compact = serde_json::to_vec(&value).expect("serialises");
        assert_eq!(
            EventEnvelope::parse(&compact),
            EventEnvelope::parse(&pretty)
        );
    }
}

#[test]
fn unknown_types_are_unhandled_whatever_their_data() {
    for body in [
        r#"{"type":"session.created","data":{"id":"sess_1","status":"active"},"timestamp":1}"#,
        r#"{"type":"email.created","data":[1,2,3]}"#,
        r#"{"type":"subscriptionItem.freeTrialEnding","data":null,"object":"event"}"#,
    ] {
        let envelope = EventEnvelope::parse(body.as_bytes()).expect("parses");
        assert_eq!(envelope.event, ClerkEvent::Unhandled, "{body}");
        assert_eq!(envelope.event.object_id(), None);
    }
}

#[test]
fn phone_only_users_have_no_email() {
    let body = br#"{"type":"user.created","data":{"id":"user_phone1","email_addresses":[],
        "primary_email_address_id":null,"phone_numbers":[{"id":"idn_p","phone_number":"+15550100"}],
        "first_name":null,"last_name":null,"image_url":"https://img.clerk.com/x","updated_at":5}}"#;
    let ClerkEvent::UserUpserted(user) = EventEnvelope::parse(body).expect("parses").event else {
        panic!()
    };
    assert_eq!(user.email, None);
    assert_eq!(user.first_name, None);
}

#[test]
fn a_primary_id_missing_from_the_list_means_no_email() {
    let body = br#"{"type":"user.updated","data":{"id":"user_1","updated_at":5,
        "primary_email_address_id":"idn_gone","email_addresses":[{"id":"idn_other","email_address":"x@example.com"}]}}"#;
    let ClerkEvent::UserUpserted(user) = EventEnvelope::parse(body).expect("parses").event else {
        panic!()
    };
    assert_eq!(user.email, None);
}

fn reason(body: &str) -> String {
    match EventEnvelope::parse(body.as_bytes()) {
        Err(DomainError::MalformedEvent { reason, .. }) => reason,
        other => panic!("expected a malformed event, got {other:?}"),
    }
}

#[test]
fn malformed_bodies_say_what_is_wrong_without_quoting_values() {
    assert!(
        reason("not json").starts_with("expected ident"),
        "{}",
        reason("not json")
    );
    assert!(reason(r#"{"data":{}}"#).starts_with("missing field `type`"));
    assert!(reason(r#"{"type":"user.created"}"#).starts_with("missing field `data`"));
    let wrong_type =
        reason(r#"{"type":"user.updated","data":{"id":"user_1","updated_at":"ada@example.com"}}"#);
    assert!(
        wrong_type.starts_with("`data.updated_at`: invalid type, expected i64"),
        "{wrong_type}"
    );
    assert!(
        !wrong_type.contains("ada@example.com"),
        "the value must not be quoted: {wrong_type}"
    );
    let missing = reason(r#"{"type":"organization.created","data":{"id":"org_1","updated_at":1}}"#);
    assert!(
        missing.starts_with("`data`: missing field `name`"),
        "{missing}"
    );
}

#[test]
fn invalid_ids_and_emails_are_rejected() {
    let wrong_prefix = reason(r#"{"type":"user.deleted","data":{"id":"org_1"}}"#);
    assert_eq!(
        wrong_prefix,
        "`data.id`: invalid user id: expected `user_` followed by letters, digits or `_`"
    );
    let bad_email = br#"{"type":"user.created","data":{"id":"user_1","updated_at":5,
        "primary_email_address_id":"idn_1","email_addresses":[{"id":"idn_1","email_address":"not an email"}]}}"#;
    let err = EventEnvelope::parse(bad_email).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "malformed user.created event: `data.email_addresses[0].email_address`: invalid email address: expected text of the form local@domain"
        )
    );
}

#[test]
fn event_type_must_be_a_reasonable_string() {
    assert!(reason(r#"{"type":"","data":{}}"#).contains("`type` must be"));
    assert!(
        reason(&format!(r#"{{"type":"{}","data":{{}}}}"#, "a".repeat(200)))
            .contains("`type` must be")
    );
    assert!(
        reason(r#"{"type":5,"data":{}}"#).starts_with("`type`: invalid type, expected a string")
    );
    assert!(reason("{\"type\":\"user.created\\u0000\",\"data\":{}}").contains("`type` must be"));
    assert!(reason(r#"{"type":"user created","data":{}}"#).contains("printable ASCII"));
}

/// Values that are JSON of the right type but that no column could hold or order: each is
/// refused with the field's path, without quoting it. (Found by the `event_parse` fuzz target
/// and the bad-input catalogue: PostgreSQL refuses NUL in text and index entries over ~2.7 kB.)
#[test]
fn stored_fields_out_of_range_are_refused_naming_the_field() {
    let long = "x".repeat(1025);
    let cases = [
        (
            r#"{"type":"user.updated","data":{"id":"user_1","updated_at":-1}}"#.to_owned(),
            "`data.updated_at`: invalid value, expected Unix milliseconds from 0 to 253402300799999 (years 1970 to 9999)",
        ),
        (
            r#"{"type":"user.updated","data":{"id":"user_1","updated_at":253402300800000}}"#.to_owned(),
            "`data.updated_at`: invalid value, expected Unix milliseconds",
        ),
        (
            r#"{"type":"user.deleted","data":{"id":"user_1"},"timestamp":-2}"#.to_owned(),
            "`timestamp`: invalid value, expected Unix milliseconds",
        ),
        (
            r#"{"type":"user.updated","data":{"id":"user_1","updated_at":1,"first_name":"A\u0000"}}"#
                .to_owned(),
            "`data.first_name`: invalid value, expected text without NUL characters",
        ),
        (
            format!(r#"{{"type":"organization.created","data":{{"id":"org_1","updated_at":1,"name":"{long}"}}}}"#),
            "`data.name`: invalid length, expected text of at most 1024 bytes",
        ),
        (
            format!(
                r#"{{"type":"organizationMembership.created","data":{{"id":"orgmem_1","role":"org:member","updated_at":1,
                "organization":{{"id":"org_1","name":"N","updated_at":1,"slug":"{long}"}},"public_user_data":{{"user_id":"user_1"}}}}}}"#
            ),
            "`data.organization.slug`: invalid length, expected text of at most 1024 bytes",
        ),
        (
            r#"{"type":"organizationMembership.created","data":{"id":"orgmem_1","role":"org:member","updated_at":1,
            "organization":{"id":"org_1","name":"N","updated_at":1},"public_user_data":{"user_id":"org_1"}}}"#
                .to_owned(),
            "`data.public_user_data.user_id`: invalid user id",
        ),
    ];
    for (body, expected) in cases {
        let reason = reason(&body);
        assert!(reason.starts_with(expected), "{reason}");
        assert!(!reason.contains("xxx"), "{reason}");
    }
    // Whatever follows the JSON value is an error, as it always was.
    assert!(reason(r#"{"type":"x","data":{}} }"#).starts_with("trailing characters"));
    // The limits themselves are accepted.
    let at_limits = format!(
        r#"{{"type":"organization.created","data":{{"id":"org_1","updated_at":253402300799999,"name":"{}"}},"timestamp":0}}"#,
        "x".repeat(1024)
    );
    assert!(EventEnvelope::parse(at_limits.as_bytes()).is_ok());
}

#[test]
fn every_field_applications_query_is_read_and_the_object_kept() {
    let ClerkEvent::UserUpserted(user) = parse("user.created").event else {
        panic!("not a user upsert")
    };
    assert_eq!(user.created_at, Some(UnixMillis(1_736_942_401_234)));
    assert_eq!(user.last_active_at, Some(UnixMillis(1_736_942_401_234)));
    assert_eq!(
        (user.last_sign_in_at, user.username.as_deref()),
        (None, None)
    );
    assert_eq!(user.email_addresses.len(), 1);
    assert!(user.email_addresses[0].verified && user.email_addresses[0].primary);
    assert_eq!(user.public_metadata.as_str(), "{}");
    let object: serde_json::Value = serde_json::from_str(user.raw.as_str()).expect("JSON");
    assert_eq!(
        object["profile_image_url"],
        "https://www.gravatar.com/avatar?d=mp"
    );

    let ClerkEvent::MembershipUpserted(membership) = parse("organizationMembership.created").event
    else {
        panic!("not a membership upsert")
    };
    assert_eq!(membership.permissions, ["org:sys_memberships:read"]);
    assert_eq!(membership.organization.max_allowed_memberships, Some(5));
    assert_eq!(
        membership.organization.created_by.as_deref(),
        Some("user_2TLPmqkYsWH1aWkO8UHLB45ONnq")
    );
    let organization: serde_json::Value =
        serde_json::from_str(membership.organization.raw.as_str()).expect("JSON");
    assert_eq!(
        organization["members_count"], 2,
        "the nested object, as sent"
    );
}

#[test]
fn an_address_or_number_listed_twice_is_kept_once() {
    let body = br#"{"type":"user.created","data":{"id":"user_1","updated_at":1,
        "email_addresses":[{"id":"idn_1","email_address":"a@x.io"},{"id":"idn_1","email_address":"b@x.io"}],
        "phone_numbers":[{"id":"idn_2","phone_number":"+1555"},{"id":"idn_2","phone_number":"+1666"}],
        "primary_phone_number_id":"idn_2"}}"#;
    let ClerkEvent::UserUpserted(user) = EventEnvelope::parse(body).expect("parses").event else {
        panic!("not a user upsert")
    };
    assert_eq!(user.email_addresses.len(), 1);
    assert_eq!(user.primary_phone_number(), Some("+1555"));
}
