//! `POST /api/v1/auth/clerk_webhook/`: signatures, every event type, duplicates, ordering,
//! bad input.

use clerk_sync_persistence::webhook_events;
use serde_json::{Value, json};

use crate::common::*;

const ADA: &str = "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE";
const STORY: [&str; 9] = [
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

fn compact(event_type: &str) -> String {
    event_fixture(event_type).to_string()
}

fn user(id: &str, email: Option<&str>, first_name: &str, updated_at: i64) -> Value {
    let emails: Vec<Value> = email
        .iter()
        .map(|e| json!({"id": "idn_1", "email_address": e, "verification": {"status": "verified"}}))
        .collect();
    json!({"type": "user.updated", "timestamp": updated_at + 1, "data": {
        "id": id, "email_addresses": emails, "primary_email_address_id": email.map(|_| "idn_1"),
        "first_name": first_name, "last_name": null, "image_url": null, "updated_at": updated_at}})
}

server_tests!(
    every_event_type_of_the_story_applies,
    a_duplicate_delivery_is_acknowledged_and_applied_once,
    concurrent_duplicates_apply_once,
    an_update_older_than_the_stored_version_is_stale,
    an_update_after_a_delete_does_not_resurrect,
    a_membership_before_its_user_and_organization_creates_both,
    phone_only_users_are_synced_without_email,
    unknown_event_types_are_acknowledged_and_recorded,
    a_bad_signature_is_refused_and_writes_nothing,
    a_stale_timestamp_is_refused,
    a_verified_but_malformed_body_is_rejected_with_the_reason_and_kept,
    an_oversized_body_is_refused,
    an_email_moving_between_users_follows_the_later_claim,
);

async fn every_event_type_of_the_story_applies(server: TestServer) {
    let token = token_for(ADA);
    for (i, event_type) in STORY.iter().enumerate() {
        let response = server
            .deliver(&format!("msg_story_{i}"), &compact(event_type))
            .await;
        assert_eq!(response.status().as_u16(), 200, "{event_type}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body,
            json!({"status": "ok", "outcome": "applied"}),
            "{event_type}"
        );
        match *event_type {
            "user.updated" => {
                let (status, me) = server.get_as("/api/v1/auth/me/", &token).await;
                assert_eq!(status, 200);
                assert_eq!(me["email"], "ada@analytical-engines.example");
                assert_eq!(me["clerk_id"], ADA);
                assert_eq!(me["is_staff"], false);
            }
            "organizationMembership.updated" => {
                let (status, orgs) = server
                    .get_as("/api/v1/auth/me/organizations/", &token)
                    .await;
                assert_eq!(status, 200);
                assert_eq!(orgs[0]["name"], "Analytical Engines Ltd");
                assert_eq!(orgs[0]["slug"], "analytical-engines");
                assert_eq!(orgs[0]["role"], "org:admin");
                assert_eq!(orgs[0]["clerk_id"], "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB");
            }
            "organizationMembership.deleted" => {
                let (_, orgs) = server
                    .get_as("/api/v1/auth/me/organizations/", &token)
                    .await;
                assert_eq!(orgs, json!([]));
            }
            _ => {}
        }
    }
    let (status, body) = server.get_as("/api/v1/auth/me/", &token).await;
    assert_eq!((status, body), (404, json!({"detail": "User not found"})));
    assert_eq!(server.count("tombstones"), 3);
    assert_eq!(server.count("webhook_events"), 9);
}

async fn a_duplicate_delivery_is_acknowledged_and_applied_once(server: TestServer) {
    let body = compact("user.created");
    assert_eq!(
        server
            .deliver_json("msg_dup", &event_fixture("user.created"))
            .await,
        (200, "applied".into())
    );
    for _ in 0..3 {
        let response = server.deliver("msg_dup", &body).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.json::<Value>().await.expect("JSON")["outcome"],
            "duplicate"
        );
    }
    assert_eq!(server.count("users"), 1);
    let row = webhook_events::find(&mut server.conn(), "msg_dup")
        .expect("query")
        .expect("logged");
    assert_eq!(row.attempts, 4);
}

async fn concurrent_duplicates_apply_once(server: TestServer) {
    let body = compact("organizationMembership.created");
    let responses =
        futures_util::future::join_all((0..16).map(|_| server.deliver("msg_concurrent", &body)))
            .await;
    let mut outcomes = Vec::new();
    for response in responses {
        assert_eq!(response.status().as_u16(), 200);
        outcomes.push(
            response.json::<Value>().await.expect("JSON")["outcome"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(
        outcomes.iter().filter(|o| *o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "duplicate").count(),
        15,
        "{outcomes:?}"
    );
    assert_eq!(
        (
            server.count("users"),
            server.count("organizations"),
            server.count("organization_memberships")
        ),
        (1, 1, 1)
    );
}

async fn an_update_older_than_the_stored_version_is_stale(server: TestServer) {
    assert_eq!(
        server
            .deliver_json("m1", &event_fixture("user.updated"))
            .await,
        (200, "applied".into())
    );
    assert_eq!(
        server
            .deliver_json("m2", &event_fixture("user.created"))
            .await,
        (200, "stale".into())
    );
    let (_, me) = server.get_as("/api/v1/auth/me/", &token_for(ADA)).await;
    assert_eq!(
        me["email"], "ada@analytical-engines.example",
        "the newer version stays"
    );
}

async fn an_update_after_a_delete_does_not_resurrect(server: TestServer) {
    assert_eq!(
        server
            .deliver_json("m1", &event_fixture("user.deleted"))
            .await,
        (200, "applied".into())
    );
    assert_eq!(
        server
            .deliver_json("m2", &event_fixture("user.updated"))
            .await,
        (200, "tombstoned".into())
    );
    assert_eq!(
        server
            .deliver_json("m3", &event_fixture("organizationMembership.created"))
            .await,
        (200, "tombstoned".into())
    );
    assert_eq!(server.count("users"), 0);
    let (status, _) = server.get_as("/api/v1/auth/me/", &token_for(ADA)).await;
    assert_eq!(status, 404);
}

async fn a_membership_before_its_user_and_organization_creates_both(server: TestServer) {
    assert_eq!(
        server
            .deliver_json("m1", &event_fixture("organizationMembership.created"))
            .await,
        (200, "applied".into())
    );
    let token = token_for(ADA);
    let (status, me) = server.get_as("/api/v1/auth/me/", &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        (me["first_name"].clone(), me["email"].clone()),
        (json!("Ada"), Value::Null)
    );
    let (_, orgs) = server
        .get_as("/api/v1/auth/me/organizations/", &token)
        .await;
    assert_eq!(orgs[0]["role"], "org:member");
    // The user's own event completes the row; the older organization.created is stale.
    assert_eq!(
        server
            .deliver_json("m2", &event_fixture("user.created"))
            .await,
        (200, "applied".into())
    );
    assert_eq!(
        server
            .deliver_json("m3", &event_fixture("organization.created"))
            .await,
        (200, "stale".into())
    );
    let (_, me) = server.get_as("/api/v1/auth/me/", &token).await;
    assert_eq!(me["email"], "ada.lovelace@example.com");
}

async fn phone_only_users_are_synced_without_email(server: TestServer) {
    assert_eq!(
        server
            .deliver_json("m1", &user("user_phone", None, "Pat", 10))
            .await,
        (200, "applied".into())
    );
    let (status, me) = server
        .get_as("/api/v1/auth/me", &token_for("user_phone"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (me["email"].clone(), me["first_name"].clone()),
        (Value::Null, json!("Pat"))
    );
}

async fn unknown_event_types_are_acknowledged_and_recorded(server: TestServer) {
    for (i, event_type) in [
        "session.created",
        "email.created",
        "subscription.pastDue",
        "someday.new",
    ]
    .iter()
    .enumerate()
    {
        let body =
            json!({"type": event_type, "object": "event", "data": {"id": "x_1"}, "timestamp": 1});
        assert_eq!(
            server.deliver_json(&format!("msg_u{i}"), &body).await,
            (200, "ignored".into()),
            "{event_type}"
        );
    }
    let row = webhook_events::find(&mut server.conn(), "msg_u0")
        .expect("query")
        .expect("logged");
    assert_eq!(
        (row.event_type.as_str(), row.outcome.as_str()),
        ("session.created", "ignored")
    );
    assert_eq!(server.count("users"), 0);
}

async fn a_bad_signature_is_refused_and_writes_nothing(server: TestServer) {
    let body = compact("user.created");
    let now = unix_now().to_string();
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![
            ("svix-id", "msg_x".into()),
            ("svix-timestamp", now.clone()),
            ("svix-signature", "v1,bm90IGEgc2lnbmF0dXJl".into()),
        ],
        vec![("svix-id", "msg_x".into()), ("svix-timestamp", now.clone())],
        vec![
            ("svix-timestamp", now.clone()),
            ("svix-signature", "v1,x".into()),
        ],
        vec![],
    ];
    for headers in cases {
        let mut request = server
            .client
            .post(server.url("/api/v1/auth/clerk_webhook"))
            .body(body.clone());
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 400, "{headers:?}");
        assert_eq!(
            response.json::<Value>().await.expect("JSON"),
            json!({"detail": "Invalid webhook signature"})
        );
    }
    // Signed for another body: the body was tampered with.
    let secret = clerk_sync_svix::WebhookSecret::parse(SIGNING_SECRET).expect("secret");
    let signature = secret.sign("msg_t", unix_now().try_into().expect("positive"), b"{}");
    let response = server
        .client
        .post(server.url("/api/v1/auth/clerk_webhook/"))
        .body(body.clone())
        .header("svix-id", "msg_t")
        .header("svix-timestamp", now)
        .header("svix-signature", signature)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        (server.count("users"), server.count("webhook_events")),
        (0, 0)
    );
}

async fn a_stale_timestamp_is_refused(server: TestServer) {
    let body = compact("user.created");
    for skew in [-301, 301, -3600] {
        let response = server.deliver_at("msg_old", &body, unix_now() + skew).await;
        assert_eq!(response.status().as_u16(), 400, "skew {skew}");
    }
    assert_eq!(
        server
            .deliver_at("msg_ok", &body, unix_now() - 250)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(server.count("webhook_events"), 1);
}

async fn a_verified_but_malformed_body_is_rejected_with_the_reason_and_kept(server: TestServer) {
    let response = server
        .deliver(
            "msg_bad",
            "{\"type\": \"user.created\", \"data\": {\"id\": \"user_1\"}",
        )
        .await;
    assert_eq!(response.status().as_u16(), 400);
    let detail = response.json::<Value>().await.expect("JSON")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.starts_with("malformed webhook event: EOF while parsing"),
        "{detail}"
    );
    let wrong_type =
        json!({"type": "user.updated", "data": {"id": "user_1", "updated_at": "yesterday"}})
            .to_string();
    let response = server.deliver("msg_type", &wrong_type).await;
    assert_eq!(response.status().as_u16(), 400);
    let detail = response.json::<Value>().await.expect("JSON")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("`data.updated_at`: invalid type"),
        "{detail}"
    );
    let row = webhook_events::find(&mut server.conn(), "msg_type")
        .expect("query")
        .expect("kept");
    assert_eq!(
        (row.outcome.as_str(), row.event_type.as_str()),
        ("rejected", "user.updated")
    );
    assert_eq!(row.payload.as_deref(), Some(wrong_type.as_str()));
    assert_eq!(server.count("users"), 0);
    // Once the sender's retry carries a body that applies, the same message id is applied.
    assert_eq!(
        server
            .deliver_json("msg_type", &user("user_1", None, "Fixed", 3))
            .await,
        (200, "applied".into())
    );
}

async fn an_oversized_body_is_refused(server: TestServer) {
    let body = format!(
        "{{\"type\":\"user.created\",\"data\":{{\"pad\":\"{}\"}}}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let response = server.deliver("msg_big", &body).await;
    assert_eq!(response.status().as_u16(), 413);
    let detail = response.json::<Value>().await.expect("JSON");
    assert_eq!(
        detail,
        json!({"detail": "Request body is larger than the limit of 1048576 bytes"})
    );
    assert_eq!(server.count("webhook_events"), 0);
}

async fn an_email_moving_between_users_follows_the_later_claim(server: TestServer) {
    assert_eq!(
        server
            .deliver_json("m1", &user("user_b", Some("shared@example.com"), "B", 30))
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .deliver_json("m2", &user("user_a", Some("shared@example.com"), "A", 10))
            .await
            .0,
        200
    );
    let (_, a) = server
        .get_as("/api/v1/auth/me/", &token_for("user_a"))
        .await;
    let (_, b) = server
        .get_as("/api/v1/auth/me/", &token_for("user_b"))
        .await;
    assert_eq!(
        (a["email"].clone(), b["email"].clone()),
        (Value::Null, json!("shared@example.com"))
    );
}
