//! Read-through for the caller: a verified user the mirror lacks is fetched from Clerk's
//! Backend API (the fake of the resync tests, a real server on port 0) and answered from the
//! mirror; one fetch for many requests, Clerk's 404 remembered, a hung API answered in time,
//! nothing fetched without the key or for a deleted user.

use std::time::{Duration, Instant};

use clerk_sync_persistence::testing::TestDatabase;
use futures_util::future::join_all;
use serde_json::Value;

use crate::common::*;
use crate::resync::deleted_event;
use crate::resync::fake_clerk::{
    FakeClerk, Fault, SECRET_KEY, membership, organization_json, user,
};

const NOT_SYNCED_YET: &str = "User not synced yet: it is not in this mirror and could not be fetched from Clerk just now; try again in a few seconds";

/// A server whose read-through asks `fake`, with `more` settings.
async fn server_asking(db: TestDatabase, fake: &FakeClerk, more: &[(&str, &str)]) -> TestServer {
    let mut overrides = vec![
        ("CLERK_SECRET_KEY", SECRET_KEY),
        ("CLERK_API_URL", fake.url()),
    ];
    overrides.extend_from_slice(more);
    TestServer::start(db, &overrides).await
}

/// A fake instance with `id`, a member of one organization as `org:admin`.
async fn clerk_with(id: &str) -> FakeClerk {
    let fake = FakeClerk::start().await;
    add_user(&fake, id);
    fake
}

fn add_user(fake: &FakeClerk, id: &str) {
    let org = organization_json("org_readthrough", "Read Through", 10);
    fake.with_store(|store| {
        store
            .users
            .push(user(id, Some(&format!("{id}@example.com")), "Fresh", 20));
        store.memberships.push(membership(
            &format!("orgmem_{id}"),
            id,
            &org,
            "org:admin",
            20,
        ));
    });
}

/// How many requests the fake answered for exactly `path`.
fn asked(fake: &FakeClerk, path: &str) -> usize {
    fake.requests().iter().filter(|r| r.path == path).count()
}

/// The value of `clerk_sync_read_through_total{result}` (0 when never counted).
async fn read_throughs(server: &TestServer, result: &str) -> u64 {
    counter(
        server,
        &format!("clerk_sync_read_through_total{{result=\"{result}\"}}"),
    )
    .await
}

database_tests!(
    concurrent_requests_for_an_unsynced_user_share_one_fetch,
    clerks_404_is_answered_404_and_remembered,
    a_hung_api_is_answered_not_synced_yet_in_time,
    a_slow_fetch_fills_the_mirror_for_the_next_request,
    without_the_secret_key_nothing_is_fetched,
    turned_off_nothing_is_fetched,
    a_deleted_user_is_not_fetched,
    forward_auth_and_organization_routes_read_through,
    the_rate_bound_refuses_fetches_beyond_it,
    a_refused_key_is_answered_not_synced_yet,
    read_through_latency,
);

async fn concurrent_requests_for_an_unsynced_user_share_one_fetch(db: TestDatabase) {
    let fake = clerk_with("user_fresh").await;
    // Slow enough that all requests arrive while the fetch is under way.
    fake.fail_next(
        "/users/user_fresh",
        Fault::Delay(Duration::from_millis(500)),
    );
    let server = server_asking(db, &fake, &[]).await;
    let token = token_for("user_fresh");
    let answers = join_all((0..20).map(|_| server.get_as("/api/v1/auth/me/", &token))).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["clerk_id"], "user_fresh");
        assert_eq!(body["first_name"], "Fresh");
        assert_eq!(body["email"], "user_fresh@example.com");
    }
    assert_eq!(
        asked(&fake, "/users/user_fresh"),
        1,
        "one fetch of the user"
    );
    assert_eq!(
        asked(&fake, "/users/user_fresh/organization_memberships"),
        1,
        "one fetch of the memberships"
    );
    let (status, organizations) = server
        .get_as("/api/v1/auth/me/organizations/", &token)
        .await;
    assert_eq!(status, 200, "{organizations}");
    assert_eq!(
        organizations.as_array().map(|orgs| orgs
            .iter()
            .map(|o| (o["clerk_id"].clone(), o["role"].clone()))
            .collect::<Vec<_>>()),
        Some(vec![(
            Value::from("org_readthrough"),
            Value::from("org:admin")
        )])
    );
    assert_eq!(server.count("users"), 1);
    assert_eq!(read_throughs(&server, "synced").await, 1);
    assert_eq!(fake.requests().len(), 2, "nothing asked once synced");
}

async fn clerks_404_is_answered_404_and_remembered(db: TestDatabase) {
    let fake = FakeClerk::start().await;
    let server = server_asking(db, &fake, &[]).await;
    let token = token_for("user_unknown_to_clerk");
    for _ in 0..2 {
        let (status, body) = server.get_as("/api/v1/auth/me/", &token).await;
        assert_eq!(
            (status, body["detail"].as_str()),
            (404, Some("User not found"))
        );
    }
    assert_eq!(
        asked(&fake, "/users/user_unknown_to_clerk"),
        1,
        "the second request is answered from the negative cache"
    );
    assert_eq!(read_throughs(&server, "not_found").await, 1);
    assert_eq!(read_throughs(&server, "cached_not_found").await, 1);
    assert_eq!(server.count("users"), 0);
}

async fn a_hung_api_is_answered_not_synced_yet_in_time(db: TestDatabase) {
    let fake = clerk_with("user_waiting").await;
    fake.hang();
    let server = server_asking(db, &fake, &[]).await;
    let token = token_for("user_waiting");
    let started = Instant::now();
    let (status, body) = server.get_as("/api/v1/auth/me/", &token).await;
    let took = started.elapsed();
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some(NOT_SYNCED_YET))
    );
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    assert!(
        took >= Duration::from_millis(1900),
        "waited for Clerk: {took:?}"
    );
    // A second request joins the fetch still under way, and waits no longer.
    let started = Instant::now();
    let response = server
        .client
        .get(server.url("/api/v1/auth/verify?synced=1"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the server answers");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not synced yet")),
        "{body}"
    );
}

async fn a_slow_fetch_fills_the_mirror_for_the_next_request(db: TestDatabase) {
    let fake = clerk_with("user_slow").await;
    fake.fail_next(
        "/users/user_slow",
        Fault::Delay(Duration::from_millis(2600)),
    );
    let server = server_asking(db, &fake, &[]).await;
    let token = token_for("user_slow");
    let (status, body) = server.get_as("/api/v1/auth/me/", &token).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some(NOT_SYNCED_YET))
    );
    // The fetch outlives the request's wait and writes the user.
    let deadline = Instant::now() + Duration::from_secs(5);
    while asked(&fake, "/users/user_slow") == 0 && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = server.get_as("/api/v1/auth/me/", &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(asked(&fake, "/users/user_slow"), 1, "no second fetch");
    assert_eq!(read_throughs(&server, "synced").await, 1);
}

async fn turned_off_nothing_is_fetched(db: TestDatabase) {
    let fake = clerk_with("user_off").await;
    let server = server_asking(db, &fake, &[("CLERK_READ_THROUGH", "false")]).await;
    let (status, body) = server
        .get_as("/api/v1/auth/me/", &token_for("user_off"))
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("User not found"))
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

async fn without_the_secret_key_nothing_is_fetched(db: TestDatabase) {
    let fake = clerk_with("user_keyless").await;
    let server = TestServer::start(db, &[("CLERK_API_URL", fake.url())]).await;
    let (status, body) = server
        .get_as("/api/v1/auth/me/", &token_for("user_keyless"))
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("User not found"))
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    let metrics = metrics_text(&server).await;
    assert!(
        !metrics.contains("clerk_sync_read_through_total{"),
        "{metrics}"
    );
}

async fn a_deleted_user_is_not_fetched(db: TestDatabase) {
    let fake = clerk_with("user_deleted").await;
    let server = server_asking(db, &fake, &[]).await;
    let (status, _) = server
        .deliver_json("msg_delete", &deleted_event("user.deleted", "user_deleted"))
        .await;
    assert_eq!(status, 200);
    let (status, body) = server
        .get_as("/api/v1/auth/me/", &token_for("user_deleted"))
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("User not found"))
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert_eq!(read_throughs(&server, "tombstoned").await, 1);
}

async fn forward_auth_and_organization_routes_read_through(db: TestDatabase) {
    let fake = clerk_with("user_proxied").await;
    add_user(&fake, "user_member");
    let server = server_asking(db, &fake, &[]).await;
    let response = server
        .client
        .get(server.url("/api/v1/auth/verify?synced=1"))
        .bearer_auth(token_for("user_proxied"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("x-user-email")
            .and_then(|v| v.to_str().ok()),
        Some("user_proxied@example.com")
    );
    // The plain check needs no row: it never waits for Clerk.
    let response = server
        .client
        .get(server.url("/api/v1/auth/verify"))
        .bearer_auth(token_for("user_plain"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(asked(&fake, "/users/user_plain"), 0);
    // A member the mirror lacks is a member once read through.
    let (status, members) = server
        .get_as(
            "/api/v1/organizations/org_readthrough/members/",
            &token_for("user_member"),
        )
        .await;
    assert_eq!(status, 200, "{members}");
    assert_eq!(members.as_array().map(Vec::len), Some(2), "{members}");
    assert_eq!(read_throughs(&server, "synced").await, 2);
}

async fn the_rate_bound_refuses_fetches_beyond_it(db: TestDatabase) {
    let fake = clerk_with("user_first").await;
    add_user(&fake, "user_second");
    let server = server_asking(
        db,
        &fake,
        &[("CLERK_READ_THROUGH_FETCHES_PER_10_SECONDS", "1")],
    )
    .await;
    let (status, _) = server
        .get_as("/api/v1/auth/me/", &token_for("user_first"))
        .await;
    assert_eq!(status, 200);
    let started = Instant::now();
    let (status, body) = server
        .get_as("/api/v1/auth/me/", &token_for("user_second"))
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some(NOT_SYNCED_YET))
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once"
    );
    assert_eq!(asked(&fake, "/users/user_second"), 0);
    assert_eq!(read_throughs(&server, "rate_limited").await, 1);
}

async fn a_refused_key_is_answered_not_synced_yet(db: TestDatabase) {
    let fake = clerk_with("user_refused").await;
    let server = TestServer::start(
        db,
        &[
            ("CLERK_SECRET_KEY", "sk_test_notthekeyofthisinstance"),
            ("CLERK_API_URL", fake.url()),
        ],
    )
    .await;
    let (status, body) = server
        .get_as("/api/v1/auth/me/", &token_for("user_refused"))
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some(NOT_SYNCED_YET))
    );
    assert_eq!(read_throughs(&server, "error").await, 1);
}

/// The time of the first `/me` of a user the mirror lacks, against the local fake: the
/// read-through's own cost (two requests to Clerk in parallel, two transactions).
async fn read_through_latency(db: TestDatabase) {
    let fake = FakeClerk::start().await;
    let users: Vec<String> = (0..20).map(|i| format!("user_latency{i}")).collect();
    for id in &users {
        add_user(&fake, id);
    }
    let backend = db.url_string();
    let backend = backend.split(':').next().unwrap_or_default().to_owned();
    let server = server_asking(
        db,
        &fake,
        &[("CLERK_READ_THROUGH_FETCHES_PER_10_SECONDS", "1000")],
    )
    .await;
    let mut first = Vec::new();
    let mut again = Vec::new();
    for id in &users {
        let token = token_for(id);
        let started = Instant::now();
        let (status, body) = server.get_as("/api/v1/auth/me/", &token).await;
        first.push(started.elapsed());
        assert_eq!(status, 200, "{body}");
        let started = Instant::now();
        server.get_as("/api/v1/auth/me/", &token).await;
        again.push(started.elapsed());
    }
    first.sort();
    again.sort();
    eprintln!(
        "read-through latency on {backend} over {} users: first /me median {:?} (min {:?}, max {:?}); synced /me median {:?}",
        users.len(),
        first[first.len() / 2],
        first[0],
        first[first.len() - 1],
        again[again.len() / 2],
    );
    assert!(first[first.len() / 2] < Duration::from_secs(1));
}
