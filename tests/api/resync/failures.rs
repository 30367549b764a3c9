//! What Clerk's Backend API does wrong: rate limits, server errors, timeouts, and a refused key.

use std::time::Duration;

use clerk_sync_backend_api::{BackendApiError, ObjectKind};
use clerk_sync_resync::{Progress, ResyncError, resync};
use reqwest::StatusCode;

use super::fake_clerk::{FakeClerk, Fault, organization, user};
use super::*;
use crate::common::*;

fn seed(fake: &FakeClerk) {
    fake.with_store(|store| {
        for i in 0..6 {
            store.users.push(user(&format!("user_{i}"), None, "U", 10));
        }
        store.organizations.push(organization("org_1", "One", 10));
    });
}

server_tests!(
    a_rate_limit_is_waited_out_as_retry_after_says,
    server_errors_and_timeouts_are_retried,
    a_server_error_that_persists_fails_the_resync_after_the_last_attempt,
    an_invalid_secret_key_fails_clearly_and_writes_nothing,
    a_body_that_is_not_a_listing_fails_the_resync_without_quoting_it,
);

async fn a_rate_limit_is_waited_out_as_retry_after_says(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake);
    fake.fail_next("/organizations", Fault::Status(429, Some(1)));
    let summary = run(&server, &fake, &options(&ObjectKind::ALL)).await;
    assert_eq!(
        counts(&summary, ObjectKind::Organizations),
        [1, 0, 0, 0, 0, 0]
    );
    let requests: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/organizations")
        .collect();
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}, not the second Retry-After asked for"
    );
}

async fn server_errors_and_timeouts_are_retried(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake);
    fake.fail_next("/users", Fault::Status(500, None));
    fake.fail_next("/users", Fault::Status(503, None));
    fake.fail_next(
        "/organization_memberships",
        Fault::Delay(Duration::from_secs(3)),
    );
    let summary = run(&server, &fake, &options(&ObjectKind::ALL)).await;
    assert_eq!(counts(&summary, ObjectKind::Users), [6, 0, 0, 0, 0, 0]);
    assert_eq!(counts(&summary, ObjectKind::Memberships), [0; 6]);
    let statuses: Vec<u16> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/users"))
        .map(|r| r.status)
        .collect();
    assert_eq!(&statuses[..3], &[500, 503, 200], "{statuses:?}");
}

async fn a_server_error_that_persists_fails_the_resync_after_the_last_attempt(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake);
    for _ in 0..4 {
        fake.fail_next("/organizations", Fault::Status(502, None));
    }
    let err = try_run(&server, &fake, &options(&[ObjectKind::Organizations]))
        .await
        .err();
    assert!(
        matches!(
            err.as_ref().and_then(ResyncError::api),
            Some(BackendApiError::ServerError { path, attempts: 4, status: StatusCode::BAD_GATEWAY }) if path == "/organizations"
        ),
        "{err:?}"
    );
    let message = err.map(message).unwrap_or_default();
    assert!(
        message.contains("GET /organizations failed 4 times, last with 502 Bad Gateway"),
        "{message}"
    );
    assert_eq!(server.count("organizations"), 0);
}

async fn an_invalid_secret_key_fails_clearly_and_writes_nothing(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake);
    let api = api_with_key(&fake, "sk_test_revokedkeyrevokedkey");
    let err = resync(
        &server.database,
        &api,
        &options(&ObjectKind::ALL),
        &Progress::hidden(),
    )
    .await
    .err();
    assert!(
        matches!(err.as_ref().and_then(ResyncError::api), Some(BackendApiError::Unauthorized { path, .. }) if path == "/users/count"),
        "{err:?}"
    );
    let message = err.map(message).unwrap_or_default();
    assert!(
        message.starts_with("invalid secret key: Clerk's Backend API answered 401 Unauthorized"),
        "{message}"
    );
    assert!(
        message.contains("check CLERK_SECRET_KEY") && !message.contains("revokedkey"),
        "{message}"
    );
    for table in [
        "users",
        "organizations",
        "organization_memberships",
        "tombstones",
    ] {
        assert_eq!(server.count(table), 0, "{table}");
    }
    assert_eq!(fake.requests().len(), 1, "no retry of a refused key");
}

async fn a_body_that_is_not_a_listing_fails_the_resync_without_quoting_it(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake);
    fake.fail_next(
        "/organizations",
        Fault::Body(r#"{"data": "someone@example.com"}"#),
    );
    let err = try_run(&server, &fake, &options(&[ObjectKind::Organizations]))
        .await
        .err();
    assert!(
        matches!(
            err.as_ref().and_then(ResyncError::api),
            Some(BackendApiError::MalformedBody {
                expected: "a listing",
                ..
            })
        ),
        "{err:?}"
    );
    let message = err.map(message).unwrap_or_default();
    assert!(
        message.starts_with(
            "GET /organizations answered with a body that is not a listing: data error at line 1"
        ),
        "{message}"
    );
    assert!(!message.contains("someone"), "{message}");
    assert_eq!(server.count("organizations"), 0);
}
