//! The client against a fake Clerk on port 0 (the one the resync tests use): each way a request
//! fails is its own variant, and the single-object calls parse what Clerk answers.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

#[expect(
    dead_code,
    reason = "the fake serves the resync tests too; these use part of it"
)]
#[path = "../../../tests/api/resync/fake_clerk.rs"]
mod fake_clerk;

use std::time::Duration;

use clerk_sync_backend_api::{
    BackendApi, BackendApiError, BodyFault, Listing, ObjectKind, RetryPolicy, SecretKey,
};
use clerk_sync_domain::ClerkUserId;
use fake_clerk::{FakeClerk, Fault, membership, organization_json, user};
use reqwest::StatusCode;

fn client(base_url: &str, key: &str) -> BackendApi {
    BackendApi::new(
        base_url,
        &SecretKey::parse(key).expect("a key"),
        Duration::from_secs(2),
        RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        },
    )
    .expect("a client")
}

fn api(fake: &FakeClerk) -> BackendApi {
    client(fake.url(), fake_clerk::SECRET_KEY)
}

fn user_id(id: &str) -> ClerkUserId {
    ClerkUserId::parse(id).expect("a user id")
}

#[actix_web::test]
async fn a_rate_limit_that_lasts_is_rate_limited_with_clerks_retry_after() {
    let fake = FakeClerk::start().await;
    fake.fail_next("/users", Fault::Status(429, Some(1)));
    fake.fail_next("/users", Fault::Status(429, Some(1)));
    let err = api(&fake).get("/users", &[]).await.err();
    assert!(
        matches!(&err, Some(BackendApiError::RateLimited { path, attempts: 2, retry_after: Some(wait) })
            if path == "/users" && *wait == Duration::from_secs(1)),
        "{err:?}"
    );
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429]);
}

#[actix_web::test]
async fn a_refused_key_is_unauthorized_at_once_and_never_shown() {
    let fake = FakeClerk::start().await;
    let err = client(fake.url(), "sk_test_revokedkeyrevokedkey")
        .get("/users", &[])
        .await
        .err();
    let Some(BackendApiError::Unauthorized { path, clerk }) = &err else {
        panic!("not unauthorized: {err:?}");
    };
    assert_eq!(path, "/users");
    assert_eq!(clerk.0[0].0, "authentication_invalid");
    let message = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(!message.contains("revokedkey"), "{message}");
    assert_eq!(fake.requests().len(), 1, "no retry of a refused key");
}

#[actix_web::test]
async fn a_404_is_not_found_and_a_user_clerk_lacks_is_none() {
    let fake = FakeClerk::start().await;
    let err = api(&fake).get("/no/such/route", &[]).await.err();
    assert!(
        matches!(&err, Some(e @ BackendApiError::NotFound { .. }) if e.is_not_found()),
        "{err:?}"
    );
    let found = api(&fake).get_user(&user_id("user_gone")).await;
    assert!(matches!(found, Ok(None)), "{found:?}");
}

#[actix_web::test]
async fn a_server_error_that_lasts_is_a_server_error_with_its_status() {
    let fake = FakeClerk::start().await;
    fake.fail_next("/organizations", Fault::Status(503, None));
    fake.fail_next("/organizations", Fault::Status(503, None));
    let err = api(&fake).get("/organizations", &[]).await.err();
    assert!(
        matches!(
            err,
            Some(BackendApiError::ServerError {
                attempts: 2,
                status: StatusCode::SERVICE_UNAVAILABLE,
                ..
            })
        ),
        "{err:?}"
    );
}

#[actix_web::test]
async fn no_server_is_a_transport_error_after_the_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let api = client(
        &format!("http://127.0.0.1:{port}/v1"),
        "sk_test_nobodylistens",
    );
    let err = api.get("/users", &[]).await.err();
    assert!(
        matches!(err, Some(BackendApiError::Transport { attempts: 2, .. })),
        "{err:?}"
    );
}

#[actix_web::test]
async fn another_4xx_is_rejected_at_once_with_clerks_errors() {
    let fake = FakeClerk::start().await;
    let api = api(&fake);
    let mut listing = Listing::new(&api, ObjectKind::Organizations, 501);
    let err = listing.next_page().await.err();
    let Some(BackendApiError::Rejected { status, clerk, .. }) = &err else {
        panic!("not rejected: {err:?}");
    };
    assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(clerk.0[0].0, "form_param_value_invalid");
    assert_eq!(fake.requests().len(), 1);
}

#[actix_web::test]
async fn a_malformed_body_is_located_but_never_quoted() {
    let fake = FakeClerk::start().await;
    fake.fail_next(
        "/organizations",
        Fault::Body(r#"{"data": "alice@example.com"}"#),
    );
    let api = api(&fake);
    let mut listing = Listing::new(&api, ObjectKind::Organizations, 10);
    let err = listing.next_page().await.err();
    assert!(
        matches!(
            &err,
            Some(BackendApiError::MalformedBody {
                expected: "a listing",
                fault: BodyFault::Json {
                    category: "data",
                    line: 1,
                    ..
                },
                ..
            })
        ),
        "{err:?}"
    );
    let message = err
        .map(|e| {
            format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    assert!(
        message.starts_with(
            "GET /organizations answered with a body that is not a listing: data error at line 1"
        ),
        "{message}"
    );
    assert!(!message.contains("alice"), "{message}");
}

#[actix_web::test]
async fn a_user_and_their_memberships_are_fetched_and_parsed() {
    let fake = FakeClerk::start().await;
    fake.with_store(|store| {
        store
            .users
            .push(user("user_1", Some("one@example.com"), "One", 10));
        for i in 0..3 {
            let org = organization_json(&format!("org_{i}"), &format!("Org {i}"), 10);
            let member = if i == 2 { "user_2" } else { "user_1" };
            store.memberships.push(membership(
                &format!("orgmem_{i}"),
                member,
                &org,
                "org:member",
                10,
            ));
        }
    });
    let api = api(&fake);
    let found = api.get_user(&user_id("user_1")).await.expect("a user");
    let found = found.expect("Clerk has user_1");
    assert_eq!(found.clerk_id.as_str(), "user_1");
    assert_eq!(
        found.email.map(|e| e.to_string()).as_deref(),
        Some("one@example.com")
    );
    let memberships = api
        .list_user_memberships(&user_id("user_1"))
        .await
        .expect("memberships");
    let ids: Vec<&str> = memberships.iter().map(|m| m.clerk_id.as_str()).collect();
    assert_eq!(ids, ["orgmem_0", "orgmem_1"]);
    assert_eq!(memberships[1].organization.clerk_id.as_str(), "org_1");
    fake.fail_next("/users/user_1", Fault::Body(r#"{"id": 5}"#));
    let err = api.get_user(&user_id("user_1")).await.err();
    assert!(
        matches!(
            err,
            Some(BackendApiError::MalformedBody {
                expected: "a user",
                fault: BodyFault::Object(_),
                ..
            })
        ),
        "{err:?}"
    );
}
