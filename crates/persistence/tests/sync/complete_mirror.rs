//! Every field applications query, on both backends: kept on create, replaced by a newer
//! version, left alone by a stale one, removed with the object, and filled by a resync.

use crate::common::*;
use clerk_sync_domain::{Outcome, parse_membership, parse_organization, parse_user};
use clerk_sync_persistence::schema::{
    organization_memberships, organizations, user_email_addresses, user_phone_numbers, users,
};
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{
    DbConnection, JsonText, WriteMode, backend_tests, migrate, resync, revert_after,
};
use diesel::prelude::*;
use serde_json::{Value, json};

backend_tests!(
    every_user_field_is_kept,
    a_newer_user_version_replaces_every_field_and_a_stale_one_none,
    a_deleted_user_takes_its_addresses_and_numbers_along,
    organization_and_membership_fields_are_kept,
    the_members_count_stays_right,
    a_resync_fills_every_field,
    organization_and_membership_versions_are_ordered,
    the_migration_counts_the_members_already_there,
);

/// A user with everything applications query: two addresses (the primary verified), two
/// numbers, a username and metadata of each kind.
fn rich_user_data(id: &str, updated_at: i64, plan: &str) -> Value {
    json!({
        "id": id, "object": "user", "username": format!("{id}_name"),
        "first_name": "Ada", "last_name": "Lovelace", "image_url": "https://img.clerk.com/a",
        "external_id": "crm-77",
        "email_addresses": [
            {"id": format!("idn_{id}_e1"), "email_address": format!("{id}@Example.com"),
             "verification": {"status": "verified"}},
            {"id": format!("idn_{id}_e2"), "email_address": format!("{id}.old@example.com"),
             "verification": {"status": "unverified"}},
        ],
        "primary_email_address_id": format!("idn_{id}_e1"),
        "phone_numbers": [
            {"id": format!("idn_{id}_p1"), "phone_number": "+15555550100",
             "verification": {"status": "verified"}},
            {"id": format!("idn_{id}_p2"), "phone_number": "+15555550199", "verification": null},
        ],
        "primary_phone_number_id": format!("idn_{id}_p1"),
        "public_metadata": {"plan": plan, "seats": 5},
        "private_metadata": {"stripe_customer": "cus_1"},
        "unsafe_metadata": {"theme": "dark"},
        "banned": false, "locked": true, "two_factor_enabled": true,
        "last_sign_in_at": 1_736_942_400_000_i64, "last_active_at": 1_736_942_401_000_i64,
        "created_at": 1_736_000_000_000_i64, "updated_at": updated_at,
        "passkeys": [], "web3_wallets": [{"id": "idw_1", "web3_wallet": "0xabc"}],
    })
}

fn event(event_type: &str, data: Value, updated_at: i64) -> Value {
    json!({"type": event_type, "object": "event", "timestamp": updated_at + 5, "data": data})
}

fn parsed(json: &JsonText) -> Value {
    serde_json::from_str(&json.0).expect("stored JSON parses")
}

type UserFields = (
    Option<String>,
    Option<String>,
    Option<String>,
    JsonText,
    JsonText,
    JsonText,
    bool,
    bool,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<JsonText>,
);

fn user_fields(conn: &mut DbConnection, clerk_id: &str) -> UserFields {
    users::table
        .filter(users::clerk_id.eq(clerk_id))
        .select((
            users::email,
            users::username,
            users::phone_number,
            users::public_metadata,
            users::private_metadata,
            users::unsafe_metadata,
            users::locked,
            users::two_factor_enabled,
            users::last_sign_in_at,
            users::last_active_at,
            users::clerk_created_at,
            users::clerk_object,
        ))
        .first(conn)
        .expect("the user row")
}

/// (address, verified, primary), by address.
fn email_addresses(conn: &mut DbConnection, clerk_id: &str) -> Vec<(String, bool, bool)> {
    user_email_addresses::table
        .inner_join(users::table)
        .filter(users::clerk_id.eq(clerk_id))
        .select((
            user_email_addresses::email_address,
            user_email_addresses::verified,
            user_email_addresses::is_primary,
        ))
        .order(user_email_addresses::email_address)
        .load(conn)
        .expect("addresses")
}

/// (number, verified, primary), by number.
fn phone_numbers(conn: &mut DbConnection, clerk_id: &str) -> Vec<(String, bool, bool)> {
    user_phone_numbers::table
        .inner_join(users::table)
        .filter(users::clerk_id.eq(clerk_id))
        .select((
            user_phone_numbers::phone_number,
            user_phone_numbers::verified,
            user_phone_numbers::is_primary,
        ))
        .order(user_phone_numbers::phone_number)
        .load(conn)
        .expect("numbers")
}

fn assert_rich_user(conn: &mut DbConnection, id: &str, plan: &str) {
    let (
        email,
        username,
        phone,
        public,
        private,
        unsafe_,
        locked,
        two_factor,
        signed_in,
        active,
        created,
        object,
    ) = user_fields(conn, id);
    assert_eq!(
        email,
        Some(format!("{id}@example.com")),
        "the verified primary address"
    );
    assert_eq!(username, Some(format!("{id}_name")));
    assert_eq!(phone.as_deref(), Some("+15555550100"), "the primary number");
    assert_eq!(parsed(&public), json!({"plan": plan, "seats": 5}));
    assert_eq!(parsed(&private), json!({"stripe_customer": "cus_1"}));
    assert_eq!(parsed(&unsafe_), json!({"theme": "dark"}));
    assert!(locked && two_factor);
    assert_eq!(signed_in, Some(1_736_942_400_000));
    assert_eq!(active, Some(1_736_942_401_000));
    assert_eq!(created, Some(1_736_000_000_000));
    let object = parsed(&object.expect("the Clerk object is kept"));
    assert_eq!(
        object["web3_wallets"][0]["web3_wallet"], "0xabc",
        "fields nobody extracted"
    );
    assert_eq!(object["public_metadata"]["plan"], plan);
    assert_eq!(
        email_addresses(conn, id),
        vec![
            (format!("{id}.old@example.com"), false, false),
            (format!("{id}@example.com"), true, true),
        ]
    );
    assert_eq!(
        phone_numbers(conn, id),
        vec![
            ("+15555550100".to_owned(), true, true),
            ("+15555550199".to_owned(), false, false),
        ]
    );
}

fn every_user_field_is_kept(db: TestDatabase) {
    let mut conn = db.connect().expect("connect").get().expect("a connection");
    let body = event("user.created", rich_user_data("user_a", 10, "pro"), 10);
    assert_eq!(deliver(&mut conn, "msg_1", &body), Outcome::Applied);
    assert_rich_user(&mut conn, "user_a", "pro");
}

fn a_newer_user_version_replaces_every_field_and_a_stale_one_none(db: TestDatabase) {
    let mut conn = db.connect().expect("connect").get().expect("a connection");
    let first = event("user.created", rich_user_data("user_a", 10, "pro"), 10);
    deliver(&mut conn, "msg_1", &first);

    let mut newer = rich_user_data("user_a", 20, "team");
    newer["username"] = Value::Null;
    newer["phone_numbers"] = json!([]);
    newer["primary_phone_number_id"] = Value::Null;
    newer["email_addresses"][1]["verification"]["status"] = json!("verified");
    newer["unsafe_metadata"] = Value::Null;
    newer["locked"] = json!(false);
    let updated = event("user.updated", newer, 20);
    assert_eq!(deliver(&mut conn, "msg_2", &updated), Outcome::Applied);
    let check = |conn: &mut DbConnection| {
        let fields = user_fields(conn, "user_a");
        assert_eq!(
            (fields.1, fields.2),
            (None, None),
            "username and number removed"
        );
        assert_eq!(parsed(&fields.3)["plan"], "team");
        assert_eq!(parsed(&fields.5), json!({}), "null metadata reads as {{}}");
        assert!(!fields.6, "unlocked");
        assert_eq!(phone_numbers(conn, "user_a"), vec![]);
        assert_eq!(
            email_addresses(conn, "user_a"),
            vec![
                ("user_a.old@example.com".to_owned(), true, false),
                ("user_a@example.com".to_owned(), true, true),
            ]
        );
    };
    check(&mut conn);

    let stale = event("user.updated", rich_user_data("user_a", 15, "stale"), 15);
    assert_eq!(deliver(&mut conn, "msg_3", &stale), Outcome::Stale);
    check(&mut conn);
}

fn a_deleted_user_takes_its_addresses_and_numbers_along(db: TestDatabase) {
    let mut conn = db.connect().expect("connect").get().expect("a connection");
    deliver(
        &mut conn,
        "msg_1",
        &event("user.created", rich_user_data("user_a", 10, "pro"), 10),
    );
    deliver(
        &mut conn,
        "msg_2",
        &event("user.created", rich_user_data("user_b", 10, "pro"), 10),
    );
    assert_eq!(
        deliver(&mut conn, "msg_3", &deleted("user.deleted", "user_a", 30)),
        Outcome::Applied
    );
    let addresses: i64 = user_email_addresses::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    let numbers: i64 = user_phone_numbers::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!((addresses, numbers), (2, 2), "only user_b's are left");
    assert_rich_user(&mut conn, "user_b", "pro");
}

fn rich_organization_data(id: &str, updated_at: i64) -> Value {
    json!({
        "id": id, "object": "organization", "name": "Analytical Engines", "slug": "ae",
        "image_url": null, "max_allowed_memberships": 5, "created_by": "user_creator",
        "public_metadata": {"tier": "gold"}, "private_metadata": {"billing": "annual"},
        "members_count": 99, "pending_invitations_count": 3,
        "created_at": 1_737_115_203_977_i64, "updated_at": updated_at,
    })
}

fn rich_membership_data(id: &str, user: &str, org: Value, updated_at: i64) -> Value {
    json!({
        "id": id, "object": "organization_membership", "role": "org:member",
        "role_name": "Member", "permissions": ["org:sys_memberships:read", "org:invoices:read"],
        "public_metadata": {"team": "north"}, "private_metadata": {"cost_center": 12},
        "organization": org,
        "public_user_data": {"user_id": user, "first_name": "Ada", "username": format!("{user}_name"),
                             "identifier": "ada@example.com"},
        "created_at": 1_737_115_522_081_i64, "updated_at": updated_at,
    })
}

type OrganizationFields = (
    JsonText,
    JsonText,
    Option<i64>,
    Option<String>,
    Option<i64>,
    i64,
    Option<JsonText>,
);

fn organization_fields(conn: &mut DbConnection, clerk_id: &str) -> OrganizationFields {
    organizations::table
        .filter(organizations::clerk_id.eq(clerk_id))
        .select((
            organizations::public_metadata,
            organizations::private_metadata,
            organizations::max_allowed_memberships,
            organizations::created_by,
            organizations::clerk_created_at,
            organizations::members_count,
            organizations::clerk_object,
        ))
        .first(conn)
        .expect("the organization row")
}

fn members_count(conn: &mut DbConnection, clerk_id: &str) -> i64 {
    organization_fields(conn, clerk_id).5
}

fn organization_and_membership_fields_are_kept(db: TestDatabase) {
    let mut conn = db.connect().expect("connect").get().expect("a connection");
    let org = rich_organization_data("org_a", 10);
    deliver(
        &mut conn,
        "msg_1",
        &event("organization.created", org.clone(), 10),
    );
    let (public, private, max, created_by, created_at, count, object) =
        organization_fields(&mut conn, "org_a");
    assert_eq!(parsed(&public), json!({"tier": "gold"}));
    assert_eq!(parsed(&private), json!({"billing": "annual"}));
    assert_eq!(
        (max, created_by.as_deref(), created_at),
        (Some(5), Some("user_creator"), Some(1_737_115_203_977))
    );
    assert_eq!(count, 0, "the mirror's own count, not Clerk's");
    assert_eq!(
        parsed(&object.expect("kept"))["pending_invitations_count"],
        3
    );

    let membership = rich_membership_data("orgmem_1", "user_a", org, 20);
    let body = event("organizationMembership.created", membership, 20);
    assert_eq!(deliver(&mut conn, "msg_2", &body), Outcome::Applied);
    let (permissions, public, private, created_at, object): (
        JsonText,
        JsonText,
        JsonText,
        Option<i64>,
        Option<JsonText>,
    ) = organization_memberships::table
        .filter(organization_memberships::clerk_id.eq("orgmem_1"))
        .select((
            organization_memberships::permissions,
            organization_memberships::public_metadata,
            organization_memberships::private_metadata,
            organization_memberships::clerk_created_at,
            organization_memberships::clerk_object,
        ))
        .first(&mut conn)
        .expect("the membership row");
    assert_eq!(
        parsed(&permissions),
        json!(["org:sys_memberships:read", "org:invoices:read"])
    );
    assert_eq!(parsed(&public), json!({"team": "north"}));
    assert_eq!(parsed(&private), json!({"cost_center": 12}));
    assert_eq!(created_at, Some(1_737_115_522_081));
    assert_eq!(parsed(&object.expect("kept"))["role_name"], "Member");
    let username: Option<String> = users::table
        .filter(users::clerk_id.eq("user_a"))
        .select(users::username)
        .first(&mut conn)
        .expect("the member, from the public data");
    assert_eq!(username.as_deref(), Some("user_a_name"));
    assert_eq!(members_count(&mut conn, "org_a"), 1);
}

fn the_members_count_stays_right(db: TestDatabase) {
    let mut conn = db.connect().expect("connect").get().expect("a connection");
    let org = rich_organization_data("org_a", 10);
    let join = |conn: &mut DbConnection, msg: &str, id: &str, user: &str, at: i64| {
        let body = event(
            "organizationMembership.created",
            rich_membership_data(id, user, org.clone(), at),
            at,
        );
        deliver(conn, msg, &body)
    };
    join(&mut conn, "msg_1", "orgmem_1", "user_a", 20);
    join(&mut conn, "msg_2", "orgmem_2", "user_b", 20);
    join(&mut conn, "msg_3", "orgmem_3", "user_c", 20);
    assert_eq!(members_count(&mut conn, "org_a"), 3);

    // A rejoin: a new membership id for the same pair takes the row over.
    assert_eq!(
        join(&mut conn, "msg_4", "orgmem_4", "user_a", 30),
        Outcome::Applied
    );
    assert_eq!(members_count(&mut conn, "org_a"), 3);

    let left = event(
        "organizationMembership.deleted",
        rich_membership_data("orgmem_2", "user_b", org.clone(), 40),
        40,
    );
    assert_eq!(deliver(&mut conn, "msg_5", &left), Outcome::Applied);
    assert_eq!(members_count(&mut conn, "org_a"), 2);

    // Deleting a user removes its memberships through the foreign key's cascade.
    assert_eq!(
        deliver(&mut conn, "msg_6", &deleted("user.deleted", "user_c", 50)),
        Outcome::Applied
    );
    assert_eq!(members_count(&mut conn, "org_a"), 1);

    // A membership moved by hand to another organization is counted there.
    let org_b = event(
        "organization.created",
        rich_organization_data("org_b", 10),
        10,
    );
    deliver(&mut conn, "msg_7", &org_b);
    let org_b: i64 = organizations::table
        .filter(organizations::clerk_id.eq("org_b"))
        .select(organizations::id)
        .first(&mut conn)
        .expect("org_b");
    diesel::update(organization_memberships::table)
        .set(organization_memberships::organization_id.eq(org_b))
        .execute(&mut conn)
        .expect("moves");
    let counts = (
        members_count(&mut conn, "org_a"),
        members_count(&mut conn, "org_b"),
    );
    assert_eq!(counts, (0, 1));
}

fn a_resync_fills_every_field(db: TestDatabase) {
    let database = db.connect().expect("connect");
    let mut conn = database.get().expect("a connection");
    let users: Vec<_> = ["user_a", "user_b", "user_c"]
        .iter()
        .map(|id| parse_user(&rich_user_data(id, 10, "pro").to_string()).expect("a valid user"))
        .collect();
    let tally = resync::apply_users(&mut conn, &users, WriteMode::Commit, now()).expect("applied");
    assert_eq!(tally.created, 3);
    for id in ["user_a", "user_b", "user_c"] {
        assert_rich_user(&mut conn, id, "pro");
    }
    // A second pass with newer versions updates each row in place.
    let newer: Vec<_> = ["user_a", "user_b", "user_c"]
        .iter()
        .map(|id| parse_user(&rich_user_data(id, 20, "team").to_string()).expect("a valid user"))
        .collect();
    let tally = resync::apply_users(&mut conn, &newer, WriteMode::Commit, now()).expect("applied");
    assert_eq!(tally.updated, 3);
    for id in ["user_a", "user_b", "user_c"] {
        assert_rich_user(&mut conn, id, "team");
    }

    let org = parse_organization(&rich_organization_data("org_a", 10).to_string()).expect("valid");
    resync::apply_organizations(&mut conn, &[org], WriteMode::Commit, now()).expect("applied");
    let memberships: Vec<_> = ["user_a", "user_b"]
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let data = rich_membership_data(
                &format!("orgmem_{i}"),
                user,
                rich_organization_data("org_a", 10),
                20,
            );
            parse_membership(&data.to_string()).expect("a valid membership")
        })
        .collect();
    resync::apply_memberships(&mut conn, &memberships, WriteMode::Commit, now()).expect("applied");
    let (public, _, max, ..) = organization_fields(&mut conn, "org_a");
    assert_eq!((parsed(&public), max), (json!({"tier": "gold"}), Some(5)));
    assert_eq!(members_count(&mut conn, "org_a"), 2);
    let permissions: Vec<JsonText> = organization_memberships::table
        .select(organization_memberships::permissions)
        .load(&mut conn)
        .expect("permissions");
    assert!(
        permissions
            .iter()
            .all(|p| parsed(p)[1] == "org:invoices:read")
    );
}

fn organization_and_membership_versions_are_ordered(db: TestDatabase) {
    let mut conn = db.connect().expect("connect").get().expect("a connection");
    let org = rich_organization_data("org_a", 10);
    deliver(
        &mut conn,
        "msg_1",
        &event("organization.created", org.clone(), 10),
    );
    let mut newer = rich_organization_data("org_a", 20);
    newer["public_metadata"] = json!({"tier": "platinum"});
    newer["max_allowed_memberships"] = Value::Null;
    assert_eq!(
        deliver(
            &mut conn,
            "msg_2",
            &event("organization.updated", newer, 20)
        ),
        Outcome::Applied
    );
    let stale = event(
        "organization.updated",
        rich_organization_data("org_a", 15),
        15,
    );
    assert_eq!(deliver(&mut conn, "msg_3", &stale), Outcome::Stale);
    let (public, _, max, ..) = organization_fields(&mut conn, "org_a");
    assert_eq!((parsed(&public), max), (json!({"tier": "platinum"}), None));

    let membership = |at: i64, team: &str| {
        let mut data = rich_membership_data("orgmem_1", "user_a", org.clone(), at);
        data["public_metadata"] = json!({"team": team});
        event("organizationMembership.updated", data, at)
    };
    deliver(&mut conn, "msg_4", &membership(30, "south"));
    assert_eq!(
        deliver(&mut conn, "msg_5", &membership(25, "stale")),
        Outcome::Stale
    );
    let public: JsonText = organization_memberships::table
        .select(organization_memberships::public_metadata)
        .first(&mut conn)
        .expect("the membership");
    assert_eq!(parsed(&public), json!({"team": "south"}));
}

fn the_migration_counts_the_members_already_there(db: TestDatabase) {
    let mut conn = db.connect().expect("connect").get().expect("a connection");
    let org = rich_organization_data("org_a", 10);
    for (i, user) in ["user_a", "user_b"].into_iter().enumerate() {
        let data = rich_membership_data(&format!("orgmem_{i}"), user, org.clone(), 20);
        deliver(
            &mut conn,
            &format!("msg_{i}"),
            &event("organizationMembership.created", data, 20),
        );
    }
    // Back to the schema before the complete mirror, then forward again over the same rows.
    revert_after(&mut conn, "2026-12-01-000000").expect("the migrations revert");
    let gone = organizations::table
        .select(organizations::members_count)
        .load::<i64>(&mut conn);
    assert!(
        gone.is_err(),
        "the column is gone before the migration runs again"
    );
    migrate(&mut conn).expect("and applies again");
    assert_eq!(
        members_count(&mut conn, "org_a"),
        2,
        "counted by the migration"
    );
    let (public, ..) = organization_fields(&mut conn, "org_a");
    assert_eq!(
        parsed(&public),
        json!({}),
        "existing rows read as no metadata"
    );
    let data = rich_membership_data("orgmem_9", "user_c", org, 20);
    deliver(
        &mut conn,
        "msg_9",
        &event("organizationMembership.created", data, 20),
    );
    assert_eq!(
        members_count(&mut conn, "org_a"),
        3,
        "and kept by the triggers"
    );
}
