//! Organization-scoped routes: the members list, for members of the organization only.

use serde_json::{Value, json};

use crate::common::*;

const ADA: &str = "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE";
const ORG: &str = "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB";

fn members_path(org: &str) -> String {
    format!("/api/v1/organizations/{org}/members/")
}

/// Ada (a member, from the fixtures) and Grace (an admin, joined later) in Analytical
/// Engines, and a second organization neither belongs to.
async fn story(server: &TestServer) {
    let (status, _) = server
        .deliver_json("msg_user", &event_fixture("user.created"))
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .deliver_json("msg_ada", &event_fixture("organizationMembership.created"))
        .await;
    assert_eq!(status, 200);
    let mut grace = event_fixture("organizationMembership.created");
    grace["data"]["id"] = json!("orgmem_grace");
    grace["data"]["role"] = json!("org:admin");
    grace["data"]["updated_at"] = json!(1_737_115_600_000_i64);
    let user = &mut grace["data"]["public_user_data"];
    user["user_id"] = json!("user_grace");
    user["first_name"] = json!("Grace");
    user["last_name"] = json!("Hopper");
    let (status, _) = server.deliver_json("msg_grace", &grace).await;
    assert_eq!(status, 200);
    let mut other = event_fixture("organization.created");
    other["data"]["id"] = json!("org_other");
    other["data"]["name"] = json!("Difference Engines");
    other["data"]["slug"] = json!("difference-engines");
    let (status, _) = server.deliver_json("msg_other", &other).await;
    assert_eq!(status, 200);
}

fn keys(member: &Value) -> Vec<String> {
    let mut keys: Vec<String> = member
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

server_tests!(
    members_see_every_member_with_their_role,
    non_members_get_403,
    unknown_organizations_get_404,
    the_members_list_needs_a_session,
    a_member_who_leaves_loses_access,
    members_see_each_others_username_and_public_metadata_only,
);

async fn members_see_every_member_with_their_role(server: TestServer) {
    story(&server).await;
    for caller in [ADA, "user_grace"] {
        let (status, members) = server.get_as(&members_path(ORG), &token_for(caller)).await;
        assert_eq!(status, 200, "{caller}");
        let listed: Vec<(Value, Value, Value, Value)> = members
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|m| {
                        (
                            m["clerk_id"].clone(),
                            m["first_name"].clone(),
                            m["last_name"].clone(),
                            m["role"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            listed,
            vec![
                (
                    json!(ADA),
                    json!("Ada"),
                    json!("Lovelace"),
                    json!("org:member")
                ),
                (
                    json!("user_grace"),
                    json!("Grace"),
                    json!("Hopper"),
                    json!("org:admin")
                ),
            ],
            "{caller}"
        );
        assert_eq!(
            keys(&members[0]),
            [
                "clerk_id",
                "email",
                "first_name",
                "id",
                "image_url",
                "last_name",
                "public_metadata",
                "role",
                "username"
            ]
        );
        assert_eq!(members[0]["email"], "ada.lovelace@example.com");
        assert!(members[0]["id"].is_i64());
        assert_eq!(
            members[1]["email"],
            Value::Null,
            "Grace's user event has not come yet"
        );
    }
}

async fn non_members_get_403(server: TestServer) {
    story(&server).await;
    let forbidden = json!({"detail": "You are not a member of this organization"});
    let (status, body) = server
        .get_as(&members_path("org_other"), &token_for(ADA))
        .await;
    assert_eq!(
        (status, body),
        (403, forbidden.clone()),
        "a member of another organization"
    );
    let (status, body) = server
        .get_as(&members_path(ORG), &token_for("user_stranger"))
        .await;
    assert_eq!(
        (status, body),
        (403, forbidden),
        "a signed-in user the mirror does not know"
    );
}

async fn unknown_organizations_get_404(server: TestServer) {
    story(&server).await;
    let not_found = json!({"detail": "Organization not found"});
    for org in [
        "org_2UnknownUnknownUnknown00",
        "not-an-org-id",
        "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE",
    ] {
        let (status, body) = server.get_as(&members_path(org), &token_for(ADA)).await;
        assert_eq!((status, body), (404, not_found.clone()), "{org}");
    }
}

async fn the_members_list_needs_a_session(server: TestServer) {
    story(&server).await;
    let response = server
        .client
        .get(server.url(&members_path(ORG)))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 401);
    let (status, _) = server
        .get_as(
            &members_path(ORG),
            &sign_with(&claims(ADA), "tests/fixtures/keys/other_private.pem"),
        )
        .await;
    assert_eq!(status, 401);
}

async fn a_member_who_leaves_loses_access(server: TestServer) {
    story(&server).await;
    let (status, _) = server
        .deliver_json(
            "msg_ada_left",
            &event_fixture("organizationMembership.deleted"),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server.get_as(&members_path(ORG), &token_for(ADA)).await;
    assert_eq!(status, 403);
    let (status, members) = server
        .get_as(&members_path(ORG), &token_for("user_grace"))
        .await;
    assert_eq!((status, members.as_array().map(Vec::len)), (200, Some(1)));
}

async fn members_see_each_others_username_and_public_metadata_only(server: TestServer) {
    story(&server).await;
    let mut ada = event_fixture("user.updated");
    ada["data"]["username"] = json!("ada");
    ada["data"]["public_metadata"] = json!({"title": "Analyst"});
    ada["data"]["private_metadata"] = json!({"salary": "private-figure"});
    ada["data"]["unsafe_metadata"] = json!({"diary": "unsafe-figure"});
    let (status, outcome) = server.deliver_json("msg_ada_profile", &ada).await;
    assert_eq!((status, outcome.as_str()), (200, "applied"));

    let (status, members) = server
        .get_as(&members_path(ORG), &token_for("user_grace"))
        .await;
    assert_eq!(status, 200);
    let ada = members
        .as_array()
        .and_then(|all| all.iter().find(|m| m["clerk_id"] == ADA))
        .expect("Ada is listed");
    assert_eq!(ada["username"], "ada");
    assert_eq!(ada["public_metadata"], json!({"title": "Analyst"}));
    let text = members.to_string();
    assert!(
        !text.contains("private-figure") && !text.contains("unsafe-figure"),
        "{text}"
    );
}
