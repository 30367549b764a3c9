//! Who owns an account, and whether it may be used: only an address Clerk verified (or the
//! `external_id` the application set) links a pre-existing account, and a disabled account
//! (made inactive by staff, or banned by Clerk) is refused on every authenticated route.

use clerk_sync_domain::{EmailAddress, UserId};
use clerk_sync_persistence::admin::users::{LocalFlags, set_flags};
use clerk_sync_persistence::users::insert_local;
use serde_json::{Value, json};

use crate::common::*;

const STAFF_EMAIL: &str = "admin@corp.example";
const ATTACKER: &str = "user_2AttackerTypedTheAddress";

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// A local account that existed before Clerk: staff, with `email`.
fn staff_account(server: &TestServer, email: &str) -> i64 {
    let mut conn = server.conn();
    let email = EmailAddress::parse(email).expect("an email");
    insert_local(&mut conn, &email, true, now())
        .expect("a local account")
        .0
}

/// A `user.created`/`user.updated` event whose primary address has `verification`.
fn user_event(
    event_type: &str,
    id: &str,
    email: &str,
    verification: Value,
    updated_at: i64,
) -> Value {
    let mut event = event_fixture("user.created");
    event["type"] = json!(event_type);
    let data = &mut event["data"];
    data["id"] = json!(id);
    data["email_addresses"] = json!([{"id": format!("idn_{id}"), "object": "email_address",
        "email_address": email, "verification": verification, "linked_to": []}]);
    data["primary_email_address_id"] = json!(format!("idn_{id}"));
    data["updated_at"] = json!(updated_at);
    event
}

fn verified() -> Value {
    json!({"status": "verified", "strategy": "email_code"})
}

/// The local row that still has no Clerk id, by its id.
fn clerk_id_of(server: &TestServer, id: i64) -> Option<String> {
    let mut conn = server.conn();
    clerk_sync_persistence::admin::users::find(&mut conn, UserId(id))
        .expect("a query")
        .expect("the row")
        .clerk_id
}

async fn admin_status(server: &TestServer, token: &str) -> u16 {
    server
        .client
        .get(server.url("/admin/users"))
        .bearer_auth(token)
        .send()
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

server_tests!(
    an_unverified_address_never_takes_over_a_pre_existing_account,
    switching_to_an_unverified_primary_merges_nothing,
    a_verified_address_links_the_pre_existing_account,
    external_id_links_the_account_it_names,
    a_disabled_account_is_refused_on_every_authenticated_route,
    a_user_clerk_banned_is_refused_until_unbanned,
);

async fn an_unverified_address_never_takes_over_a_pre_existing_account(server: TestServer) {
    let staff = staff_account(&server, STAFF_EMAIL);
    for (i, verification) in [
        json!({"status": "unverified", "strategy": "email_code"}),
        json!({"status": "expired", "strategy": "email_link"}),
        Value::Null,
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("{ATTACKER}{i}");
        let event = user_event(
            "user.created",
            &id,
            STAFF_EMAIL,
            verification,
            1_000 + i as i64,
        );
        assert_eq!(
            server.deliver_json(&format!("msg_u{i}"), &event).await,
            (200, "applied".into())
        );
        let token = token_for(&id);
        let (status, me) = server.get_as("/api/v1/auth/me/", &token).await;
        assert_eq!(status, 200, "{me}");
        assert_ne!(
            me["id"],
            json!(staff),
            "the attacker must not own the staff account"
        );
        assert_eq!(me["is_staff"], json!(false));
        assert_eq!(
            me["email"],
            Value::Null,
            "an unverified address is not the user's email"
        );
        assert_eq!(admin_status(&server, &token).await, 403);
    }
    assert_eq!(
        clerk_id_of(&server, staff),
        None,
        "the staff account stays unlinked"
    );
}

async fn switching_to_an_unverified_primary_merges_nothing(server: TestServer) {
    let staff = staff_account(&server, STAFF_EMAIL);
    let created = user_event(
        "user.created",
        ATTACKER,
        "mallory@example.com",
        verified(),
        1_000,
    );
    assert_eq!(
        server.deliver_json("msg_1", &created).await,
        (200, "applied".into())
    );
    let switched = user_event(
        "user.updated",
        ATTACKER,
        STAFF_EMAIL,
        json!({"status": "unverified"}),
        2_000,
    );
    assert_eq!(
        server.deliver_json("msg_2", &switched).await,
        (200, "applied".into())
    );
    let (status, me) = server
        .get_as("/api/v1/auth/me/", &token_for(ATTACKER))
        .await;
    assert_eq!(status, 200);
    assert_ne!(me["id"], json!(staff));
    assert_eq!(me["is_staff"], json!(false));
    assert_eq!(
        me["email"],
        Value::Null,
        "the unverified primary replaces the old address"
    );
    assert_eq!(clerk_id_of(&server, staff), None);
    assert_eq!(server.count("users"), 2, "nothing was merged");
}

async fn a_verified_address_links_the_pre_existing_account(server: TestServer) {
    let staff = staff_account(&server, STAFF_EMAIL);
    let owner = "user_2OwnerVerifiedTheAddress";
    let event = user_event("user.created", owner, STAFF_EMAIL, verified(), 1_000);
    assert_eq!(
        server.deliver_json("msg_1", &event).await,
        (200, "applied".into())
    );
    let (status, me) = server.get_as("/api/v1/auth/me/", &token_for(owner)).await;
    assert_eq!(
        (status, &me["id"], &me["is_staff"]),
        (200, &json!(staff), &json!(true))
    );
    assert_eq!(me["email"], json!(STAFF_EMAIL));
}

async fn external_id_links_the_account_it_names(server: TestServer) {
    let legacy = staff_account(&server, "legacy@corp.example");
    let migrated = "user_2MigratedWithExternalId";
    let mut event = user_event(
        "user.created",
        migrated,
        "new.address@example.com",
        verified(),
        1_000,
    );
    event["data"]["external_id"] = json!(legacy.to_string());
    assert_eq!(
        server.deliver_json("msg_1", &event).await,
        (200, "applied".into())
    );
    let (status, me) = server
        .get_as("/api/v1/auth/me/", &token_for(migrated))
        .await;
    assert_eq!(
        (status, &me["id"], &me["is_staff"]),
        (200, &json!(legacy), &json!(true))
    );
    assert_eq!(me["email"], json!("new.address@example.com"));
    // Another Clerk user naming the same, now linked, account links nothing.
    let other = "user_2OtherNamesTheSameAccount";
    let mut event = user_event(
        "user.created",
        other,
        "other@example.com",
        verified(),
        1_001,
    );
    event["data"]["external_id"] = json!(legacy.to_string());
    assert_eq!(
        server.deliver_json("msg_2", &event).await,
        (200, "applied".into())
    );
    let (status, me) = server.get_as("/api/v1/auth/me/", &token_for(other)).await;
    assert_eq!(status, 200);
    assert_ne!(me["id"], json!(legacy));
    assert_eq!(me["is_staff"], json!(false));
    assert_eq!(clerk_id_of(&server, legacy).as_deref(), Some(migrated));
}

async fn a_disabled_account_is_refused_on_every_authenticated_route(server: TestServer) {
    let user = "user_2SoonToBeDisabled";
    let event = user_event(
        "user.created",
        user,
        "member@example.com",
        verified(),
        1_000,
    );
    assert_eq!(
        server.deliver_json("msg_u", &event).await,
        (200, "applied".into())
    );
    let org = "org_2SharedWorkspace";
    let mut joined = event_fixture("organizationMembership.created");
    joined["data"]["public_user_data"]["user_id"] = json!(user);
    joined["data"]["organization"]["id"] = json!(org);
    assert_eq!(
        server.deliver_json("msg_m", &joined).await,
        (200, "applied".into())
    );
    let token = token_for(user);
    let routes = [
        "/api/v1/auth/me/".to_owned(),
        "/api/v1/auth/me/organizations/".to_owned(),
        format!("/api/v1/organizations/{org}/members/"),
    ];
    for route in &routes {
        assert_eq!(server.get_as(route, &token).await.0, 200, "{route} before");
    }
    let (_, me) = server.get_as("/api/v1/auth/me/", &token).await;
    assert_eq!(me["is_active"], json!(true));
    {
        let mut conn = server.conn();
        let id = UserId(me["id"].as_i64().expect("an id"));
        let flags = LocalFlags {
            is_staff: false,
            is_active: false,
        };
        set_flags(&mut conn, id, flags, now()).expect("flags are written");
    }
    for route in &routes {
        let answer = server.get_as(route, &token).await;
        assert_eq!(
            answer,
            (403, json!({"detail": "This account is disabled"})),
            "{route} inactive"
        );
    }
}

async fn a_user_clerk_banned_is_refused_until_unbanned(server: TestServer) {
    let user = "user_2BannedByClerk";
    let event = user_event(
        "user.created",
        user,
        "banned@example.com",
        verified(),
        1_000,
    );
    assert_eq!(
        server.deliver_json("msg_1", &event).await,
        (200, "applied".into())
    );
    let token = token_for(user);
    let (status, me) = server.get_as("/api/v1/auth/me/", &token).await;
    assert_eq!(status, 200);
    {
        let mut conn = server.conn();
        let id = UserId(me["id"].as_i64().expect("an id"));
        let flags = LocalFlags {
            is_staff: true,
            is_active: true,
        };
        set_flags(&mut conn, id, flags, now()).expect("flags are written");
    }
    assert_eq!(
        admin_status(&server, &token).await,
        200,
        "staff may use the admin pages"
    );
    let mut banned = user_event(
        "user.updated",
        user,
        "banned@example.com",
        verified(),
        2_000,
    );
    banned["data"]["banned"] = json!(true);
    assert_eq!(
        server.deliver_json("msg_2", &banned).await,
        (200, "applied".into())
    );
    for route in ["/api/v1/auth/me/", "/api/v1/auth/me/organizations/"] {
        let answer = server.get_as(route, &token).await;
        assert_eq!(
            answer,
            (403, json!({"detail": "This account is disabled"})),
            "{route}"
        );
    }
    assert_eq!(
        admin_status(&server, &token).await,
        403,
        "a banned staff user is refused"
    );
    let mut unbanned = banned.clone();
    unbanned["data"]["banned"] = json!(false);
    unbanned["data"]["updated_at"] = json!(3_000);
    assert_eq!(
        server.deliver_json("msg_3", &unbanned).await,
        (200, "applied".into())
    );
    assert_eq!(server.get_as("/api/v1/auth/me/", &token).await.0, 200);
}
