//! The sync rules, one test per rule.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

use clerk_sync_domain::*;

fn user_id(n: i64) -> UserId {
    UserId(n)
}

fn clerk_user(id: &str) -> ClerkUserId {
    ClerkUserId::parse(id).expect("valid id")
}

fn snapshot(clerk_id: &str, email: Option<&str>, updated_at: i64) -> UserSnapshot {
    let addresses = match email {
        Some(email) => serde_json::json!([{"id": "idn_1", "email_address": email,
            "verification": {"status": "verified"}}]),
        None => serde_json::json!([]),
    };
    let json = serde_json::json!({
        "id": clerk_id, "first_name": "Ada", "updated_at": updated_at,
        "email_addresses": addresses, "primary_email_address_id": "idn_1",
    });
    parse_user(&json.to_string()).expect("a valid user")
}

fn stored(id: i64, clerk_id: Option<&str>, updated_at: Option<i64>) -> StoredUser {
    StoredUser {
        id: user_id(id),
        clerk_id: clerk_id.map(clerk_user),
        clerk_updated_at: updated_at.map(UnixMillis),
    }
}

fn write(target: UserTarget, email: Option<&str>, release: Option<i64>) -> UserDecision {
    UserDecision::Write(UserWrite {
        target,
        email: email.map(|e| EmailAddress::parse(e).expect("valid email")),
        release_email_from: release.map(user_id),
    })
}

#[test]
fn a_new_user_is_inserted() {
    let decision = decide_user_upsert(
        &snapshot("user_a", Some("a@x.io"), 10),
        &UserContext::default(),
    );
    assert_eq!(decision, write(UserTarget::Insert, Some("a@x.io"), None));
}

#[test]
fn a_newer_version_updates_the_row() {
    let context = UserContext {
        by_clerk_id: Some(stored(1, Some("user_a"), Some(10))),
        ..Default::default()
    };
    let decision = decide_user_upsert(&snapshot("user_a", Some("a@x.io"), 11), &context);
    assert_eq!(
        decision,
        write(UserTarget::Update(user_id(1)), Some("a@x.io"), None)
    );
}

#[test]
fn an_older_or_equal_version_is_stale() {
    let context = UserContext {
        by_clerk_id: Some(stored(1, Some("user_a"), Some(10))),
        ..Default::default()
    };
    assert_eq!(
        decide_user_upsert(&snapshot("user_a", None, 9), &context),
        UserDecision::Stale
    );
    assert_eq!(
        decide_user_upsert(&snapshot("user_a", None, 10), &context),
        UserDecision::Stale
    );
}

#[test]
fn a_row_created_from_a_membership_takes_any_version() {
    let context = UserContext {
        by_clerk_id: Some(stored(1, Some("user_a"), None)),
        ..Default::default()
    };
    let decision = decide_user_upsert(&snapshot("user_a", None, 1), &context);
    assert_eq!(decision, write(UserTarget::Update(user_id(1)), None, None));
}

#[test]
fn a_deleted_user_is_never_written_again() {
    let context = UserContext {
        tombstoned: true,
        ..Default::default()
    };
    assert_eq!(
        decide_user_upsert(&snapshot("user_a", None, 99), &context),
        UserDecision::Tombstoned
    );
    assert_eq!(
        decide_user_deletion(&context),
        UserDeletion::AlreadyTombstoned
    );
    assert_eq!(decide_member_user(&context), MemberUser::Tombstoned);
}

#[test]
fn deletion_removes_the_row_when_there_is_one() {
    let context = UserContext {
        by_clerk_id: Some(stored(4, Some("user_a"), Some(1))),
        ..Default::default()
    };
    assert_eq!(
        decide_user_deletion(&context),
        UserDeletion::Delete(Some(user_id(4)))
    );
    assert_eq!(
        decide_user_deletion(&UserContext::default()),
        UserDeletion::Delete(None)
    );
}

#[test]
fn a_pre_existing_account_with_the_email_is_linked() {
    let context = UserContext {
        email_holder: Some(stored(7, None, None)),
        ..Default::default()
    };
    let decision = decide_user_upsert(&snapshot("user_a", Some("a@x.io"), 10), &context);
    assert_eq!(
        decision,
        write(UserTarget::Link(user_id(7)), Some("a@x.io"), None)
    );
}

#[test]
fn a_row_that_came_first_is_merged_into_the_pre_existing_account() {
    let context = UserContext {
        by_clerk_id: Some(stored(9, Some("user_a"), None)),
        email_holder: Some(stored(7, None, None)),
        ..Default::default()
    };
    let decision = decide_user_upsert(&snapshot("user_a", Some("a@x.io"), 10), &context);
    assert_eq!(
        decision,
        write(
            UserTarget::Merge {
                from: user_id(9),
                into: user_id(7)
            },
            Some("a@x.io"),
            None
        )
    );
}

#[test]
fn a_user_with_another_clerk_id_is_never_relinked_but_releases_an_older_claim() {
    let context = UserContext {
        email_holder: Some(stored(7, Some("user_b"), Some(5))),
        ..Default::default()
    };
    let decision = decide_user_upsert(&snapshot("user_a", Some("a@x.io"), 10), &context);
    assert_eq!(decision, write(UserTarget::Insert, Some("a@x.io"), Some(7)));
}

#[test]
fn an_older_claim_on_a_held_email_is_left_without_email() {
    let context = UserContext {
        by_clerk_id: Some(stored(3, Some("user_a"), Some(1))),
        email_holder: Some(stored(7, Some("user_b"), Some(20))),
        ..Default::default()
    };
    let decision = decide_user_upsert(&snapshot("user_a", Some("a@x.io"), 10), &context);
    assert_eq!(decision, write(UserTarget::Update(user_id(3)), None, None));
}

#[test]
fn equal_claims_are_broken_by_clerk_id_whichever_arrives_first() {
    let a_claims = UserContext {
        email_holder: Some(stored(7, Some("user_b"), Some(10))),
        ..Default::default()
    };
    let b_claims = UserContext {
        email_holder: Some(stored(6, Some("user_a"), Some(10))),
        ..Default::default()
    };
    let a = decide_user_upsert(&snapshot("user_a", Some("e@x.io"), 10), &a_claims);
    let b = decide_user_upsert(&snapshot("user_b", Some("e@x.io"), 10), &b_claims);
    assert_eq!(
        a,
        write(UserTarget::Insert, None, None),
        "user_a < user_b: a loses against b"
    );
    assert_eq!(
        b,
        write(UserTarget::Insert, Some("e@x.io"), Some(6)),
        "b wins against a"
    );
}

#[test]
fn the_own_row_is_not_its_own_email_holder() {
    let own = stored(3, Some("user_a"), Some(1));
    let context = UserContext {
        by_clerk_id: Some(own.clone()),
        email_holder: Some(own),
        ..Default::default()
    };
    let decision = decide_user_upsert(&snapshot("user_a", Some("a@x.io"), 2), &context);
    assert_eq!(
        decision,
        write(UserTarget::Update(user_id(3)), Some("a@x.io"), None)
    );
}

#[test]
fn the_account_external_id_names_is_linked_ahead_of_the_email_holder() {
    let mut user = snapshot("user_a", Some("a@x.io"), 10);
    user.external_id = Some("42".into());
    let context = UserContext {
        external_account: Some(stored(42, None, None)),
        email_holder: Some(stored(7, None, None)),
        ..Default::default()
    };
    // The other unlinked account keeps its address; the user is stored without it.
    assert_eq!(
        decide_user_upsert(&user, &context),
        write(UserTarget::Link(user_id(42)), None, None)
    );
    let alone = UserContext {
        external_account: Some(stored(42, None, None)),
        ..Default::default()
    };
    assert_eq!(
        decide_user_upsert(&user, &alone),
        write(UserTarget::Link(user_id(42)), Some("a@x.io"), None)
    );
}

#[test]
fn an_external_id_naming_an_account_of_another_clerk_user_links_nothing() {
    let mut user = snapshot("user_a", None, 10);
    user.external_id = Some("42".into());
    let context = UserContext {
        external_account: Some(stored(42, Some("user_b"), Some(3))),
        ..Default::default()
    };
    assert_eq!(
        decide_user_upsert(&user, &context),
        write(UserTarget::Insert, None, None)
    );
    let existing = UserContext {
        by_clerk_id: Some(stored(9, Some("user_a"), None)),
        external_account: Some(stored(42, None, None)),
        ..Default::default()
    };
    assert_eq!(
        decide_user_upsert(&user, &existing),
        write(
            UserTarget::Merge {
                from: user_id(9),
                into: user_id(42)
            },
            None,
            None
        ),
        "an existing row is merged into the account external_id names"
    );
}

#[test]
fn external_ids_that_are_not_local_ids_name_no_account() {
    let mut user = snapshot("user_a", None, 10);
    for (text, expected) in [
        ("42", Some(42)),
        ("0042", Some(42)),
        ("0", None),
        ("-4", None),
        ("+4", None),
        ("4a", None),
        ("", None),
        ("99999999999999999999", None),
        ("crm-7", None),
    ] {
        user.external_id = Some(text.into());
        assert_eq!(user.external_account(), expected.map(user_id), "{text:?}");
    }
    user.external_id = None;
    assert_eq!(user.external_account(), None);
}

#[test]
fn unverified_primary_addresses_are_not_the_users_email() {
    let body = |status: &str| {
        format!(
            r#"{{"type":"user.created","data":{{"id":"user_a","updated_at":1,
            "primary_email_address_id":"idn_1","email_addresses":[{{"id":"idn_1",
            "email_address":"admin@corp.example","verification":{status}}}]}}}}"#
        )
    };
    let email_of = |status: &str| match EventEnvelope::parse(body(status).as_bytes())
        .expect("parses")
        .event
    {
        ClerkEvent::UserUpserted(user) => user.email.map(|e| e.to_string()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        email_of(r#"{"status":"verified","strategy":"email_code"}"#).as_deref(),
        Some("admin@corp.example")
    );
    for status in [
        r#"{"status":"unverified","strategy":"email_code"}"#,
        r#"{"status":"expired"}"#,
        r#"{"status":"failed"}"#,
        r#"{"status":null}"#,
        r#"{}"#,
        "null",
    ] {
        assert_eq!(email_of(status), None, "{status}");
    }
}

#[test]
fn placeholders_only_for_unknown_users() {
    assert_eq!(
        decide_member_user(&UserContext::default()),
        MemberUser::CreateFromPublicData
    );
    let known = UserContext {
        by_clerk_id: Some(stored(1, Some("user_a"), None)),
        ..Default::default()
    };
    assert_eq!(decide_member_user(&known), MemberUser::Known(user_id(1)));
}

fn org(updated_at: i64) -> OrganizationSnapshot {
    let json = serde_json::json!({"id": "org_a", "name": "Acme", "slug": "acme", "updated_at": updated_at});
    parse_organization(&json.to_string()).expect("a valid organization")
}

fn org_context(stored_at: Option<i64>, tombstoned: bool) -> OrganizationContext {
    OrganizationContext {
        tombstoned,
        existing: stored_at.map(|at| StoredOrganization {
            id: OrganizationId(5),
            clerk_updated_at: UnixMillis(at),
        }),
    }
}

#[test]
fn organization_versions_are_ordered_by_updated_at() {
    assert_eq!(
        decide_organization_upsert(&org(1), &org_context(None, false)),
        OrganizationDecision::Insert
    );
    assert_eq!(
        decide_organization_upsert(&org(11), &org_context(Some(10), false)),
        OrganizationDecision::Update(OrganizationId(5))
    );
    assert_eq!(
        decide_organization_upsert(&org(10), &org_context(Some(10), false)),
        OrganizationDecision::Stale(OrganizationId(5))
    );
    assert_eq!(
        decide_organization_upsert(&org(99), &org_context(None, true)),
        OrganizationDecision::Tombstoned
    );
}

#[test]
fn organization_deletion() {
    assert_eq!(
        decide_organization_deletion(&org_context(Some(1), false)),
        OrganizationDeletion::Delete(Some(OrganizationId(5)))
    );
    assert_eq!(
        decide_organization_deletion(&org_context(None, true)),
        OrganizationDeletion::AlreadyTombstoned
    );
}

const PARTIES: Option<(UserId, OrganizationId)> = Some((UserId(1), OrganizationId(2)));

fn membership(id: &str, updated_at: i64) -> MembershipSnapshot {
    let json = serde_json::json!({
        "id": id, "role": "org:member", "updated_at": updated_at,
        "organization": {"id": "org_a", "name": "Acme", "slug": "acme", "updated_at": 1},
        "public_user_data": {"user_id": "user_a"},
    });
    parse_membership(&json.to_string()).expect("a valid membership")
}

fn stored_membership(id: &str, updated_at: i64) -> StoredMembership {
    StoredMembership {
        id: MembershipId(8),
        clerk_id: ClerkMembershipId::parse(id).expect("valid id"),
        clerk_updated_at: UnixMillis(updated_at),
    }
}

#[test]
fn membership_versions_are_ordered_by_updated_at() {
    let empty = MembershipContext {
        parties: PARTIES,
        ..Default::default()
    };
    assert_eq!(
        decide_membership_upsert(&membership("orgmem_1", 5), &empty),
        MembershipDecision::Insert {
            user: UserId(1),
            organization: OrganizationId(2)
        }
    );
    let same = MembershipContext {
        by_clerk_id: Some(stored_membership("orgmem_1", 5)),
        for_pair: Some(stored_membership("orgmem_1", 5)),
        parties: PARTIES,
        ..Default::default()
    };
    assert_eq!(
        decide_membership_upsert(&membership("orgmem_1", 5), &same),
        MembershipDecision::Stale
    );
    assert_eq!(
        decide_membership_upsert(&membership("orgmem_1", 6), &same),
        MembershipDecision::Update(MembershipId(8))
    );
}

#[test]
fn a_rejoin_replaces_the_old_membership_of_the_pair_but_a_late_old_event_does_not() {
    let old_holds_pair = MembershipContext {
        for_pair: Some(stored_membership("orgmem_old", 5)),
        parties: PARTIES,
        ..Default::default()
    };
    assert_eq!(
        decide_membership_upsert(&membership("orgmem_new", 9), &old_holds_pair),
        MembershipDecision::Update(MembershipId(8))
    );
    let new_holds_pair = MembershipContext {
        for_pair: Some(stored_membership("orgmem_new", 9)),
        parties: PARTIES,
        ..Default::default()
    };
    assert_eq!(
        decide_membership_upsert(&membership("orgmem_old", 6), &new_holds_pair),
        MembershipDecision::Stale
    );
}

#[test]
fn memberships_of_deleted_parties_or_ids_are_not_written() {
    let party = MembershipContext {
        parties: None,
        ..Default::default()
    };
    assert_eq!(
        decide_membership_upsert(&membership("orgmem_1", 5), &party),
        MembershipDecision::Tombstoned
    );
    let own = MembershipContext {
        tombstoned: true,
        parties: PARTIES,
        ..Default::default()
    };
    assert_eq!(
        decide_membership_upsert(&membership("orgmem_1", 5), &own),
        MembershipDecision::Tombstoned
    );
    assert_eq!(
        decide_membership_deletion(&own),
        MembershipDeletion::AlreadyTombstoned
    );
}

#[test]
fn a_membership_deletion_removes_only_its_own_row() {
    let other_holds_pair = MembershipContext {
        for_pair: Some(stored_membership("orgmem_new", 9)),
        parties: PARTIES,
        ..Default::default()
    };
    assert_eq!(
        decide_membership_deletion(&other_holds_pair),
        MembershipDeletion::Delete(None)
    );
    let own = MembershipContext {
        by_clerk_id: Some(stored_membership("orgmem_1", 1)),
        parties: PARTIES,
        ..Default::default()
    };
    assert_eq!(
        decide_membership_deletion(&own),
        MembershipDeletion::Delete(Some(MembershipId(8)))
    );
}
