//! What `/clerk/v1` does not answer goes on to Clerk's Backend API (here the fake of the
//! resync tests) unchanged, and Clerk's answer comes back unchanged; an object Clerk answers a
//! write with is applied to the mirror at once, so the next read sees it before the webhook.

use serde_json::{Value, json};

use super::ADA;
use crate::common::*;
use crate::resync::fake_clerk::{FakeClerk, Listed, SECRET_KEY as FAKE_KEY};

database_tests!(
    a_write_passes_through_and_is_read_back_at_once,
    a_deletion_passed_through_tombstones_the_user,
    what_the_mirror_cannot_answer_is_answered_by_clerk_unchanged,
    clerk_unreachable_is_a_502_in_clerks_shape,
);

/// A fake instance holding Ada as the fixture has her, and a server passing through to it
/// whose mirror holds her too (from her webhook).
pub(super) async fn ada_everywhere(
    db: clerk_sync_persistence::testing::TestDatabase,
) -> (FakeClerk, TestServer) {
    let fake = FakeClerk::start().await;
    let ada = event_fixture("user.created")["data"].take();
    fake.with_store(|store| {
        store.users.push(Listed {
            id: ADA.to_owned(),
            json: ada.to_string(),
            user: None,
            organization: None,
        });
    });
    let server = TestServer::start(
        db,
        &[
            ("CLERK_SECRET_KEY", FAKE_KEY),
            ("CLERK_API_URL", fake.url()),
        ],
    )
    .await;
    let (status, outcome) = server
        .deliver_json("msg_ada", &event_fixture("user.created"))
        .await;
    assert_eq!((status, outcome.as_str()), (200, "applied"));
    (fake, server)
}

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server
        .client
        .request(method, server.url(&format!("/clerk/v1{path}")))
        .bearer_auth(FAKE_KEY)
        .header("Clerk-API-Version", "2026-05-12");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// How many requests the fake answered with `method` and `path`.
fn asked(fake: &FakeClerk, method: &str, path: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

/// The value of `clerk_sync_pass_through_total{result}` (0 when never counted).
async fn passed(server: &TestServer, result: &str) -> u64 {
    counter(
        server,
        &format!("clerk_sync_pass_through_total{{result=\"{result}\"}}"),
    )
    .await
}

async fn a_write_passes_through_and_is_read_back_at_once(
    db: clerk_sync_persistence::testing::TestDatabase,
) {
    let (fake, server) = ada_everywhere(db).await;
    let change = json!({"public_metadata": {"plan": "pro"}});
    let path = format!("/users/{ADA}/metadata");
    let (status, answered) = send(&server, reqwest::Method::PATCH, &path, Some(change)).await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(
        answered["public_metadata"]["plan"], "pro",
        "Clerk's answer, unchanged"
    );
    let sent = fake.requests();
    let write = sent
        .iter()
        .find(|r| r.method == "PATCH")
        .expect("Clerk got the write");
    assert_eq!(write.api_version.as_deref(), Some("2026-05-12"));

    // Read back at once, from the mirror: Clerk is not asked.
    let (status, read) = send(
        &server,
        reqwest::Method::GET,
        &format!("/users/{ADA}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, answered, "the mirror holds what Clerk answered");
    assert_eq!(asked(&fake, "GET", &format!("/users/{ADA}")), 0);
    let (_, me) = server.get_as("/api/v1/auth/me/", &token_for(ADA)).await;
    assert_eq!(me["public_metadata"], json!({"plan": "pro"}));
    assert_eq!(passed(&server, "applied").await, 1);

    // The webhook of that very version changes nothing; an older one is stale too.
    let mut webhook = event_fixture("user.updated");
    webhook["data"] = answered.clone();
    let (status, outcome) = server.deliver_json("msg_same", &webhook).await;
    assert_eq!((status, outcome.as_str()), (200, "stale"));
    let (status, outcome) = server
        .deliver_json("msg_old", &event_fixture("user.created"))
        .await;
    assert_eq!(
        (status, outcome.as_str()),
        (200, "stale"),
        "never a regression"
    );
    let (_, me) = server.get_as("/api/v1/auth/me/", &token_for(ADA)).await;
    assert_eq!(me["public_metadata"], json!({"plan": "pro"}));
}

async fn a_deletion_passed_through_tombstones_the_user(
    db: clerk_sync_persistence::testing::TestDatabase,
) {
    let (_fake, server) = ada_everywhere(db).await;
    let path = format!("/users/{ADA}");
    let (status, answered) = send(&server, reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(
        answered,
        json!({"object": "deleted_object", "id": ADA, "deleted": true})
    );
    let (status, read) = send(&server, reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 404, "{read}");
    let (status, outcome) = server
        .deliver_json("msg_late", &event_fixture("user.updated"))
        .await;
    assert_eq!((status, outcome.as_str()), (200, "tombstoned"));
}

async fn what_the_mirror_cannot_answer_is_answered_by_clerk_unchanged(
    db: clerk_sync_persistence::testing::TestDatabase,
) {
    let (fake, server) = ada_everywhere(db).await;
    // `query` is not answered from the mirror; the fake lists users only in creation order
    // and says so in a 422 of its own, which comes back as it was.
    let (status, answered) = send(&server, reqwest::Method::GET, "/users?query=ada", None).await;
    assert_eq!(status, 422, "{answered}");
    assert_eq!(answered["errors"][0]["code"], "test_expectation");
    let listed = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/users")
        .expect("Clerk was asked");
    assert_eq!(listed.query, "query=ada", "the query as sent");
    // A path the mirror has no handler for.
    let (status, answered) = send(&server, reqwest::Method::GET, "/invitations", None).await;
    assert_eq!(
        (status, &answered["errors"][0]["code"]),
        (404, &json!("resource_not_found"))
    );
    assert!(passed(&server, "forwarded").await >= 2);
    // And the caller's key is still required before anything goes on.
    let response = server
        .client
        .patch(server.url(&format!("/clerk/v1/users/{ADA}")))
        .bearer_auth("sk_test_someone_else")
        .json(&json!({"first_name": "Eve"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(asked(&fake, "PATCH", &format!("/users/{ADA}")), 0);
}

async fn clerk_unreachable_is_a_502_in_clerks_shape(
    db: clerk_sync_persistence::testing::TestDatabase,
) {
    let closed = format!("http://127.0.0.1:{}/v1", free_port());
    let server = TestServer::start(
        db,
        &[
            ("CLERK_SECRET_KEY", FAKE_KEY),
            ("CLERK_API_URL", closed.as_str()),
        ],
    )
    .await;
    let (status, answered) = send(&server, reqwest::Method::GET, "/invitations", None).await;
    assert_eq!(status, 502, "{answered}");
    assert_eq!(answered["errors"][0]["code"], "upstream_unavailable");
    assert_eq!(passed(&server, "unreachable").await, 1);
}
