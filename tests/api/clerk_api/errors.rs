//! The answers of `/clerk/v1` that are not reads: Clerk's 401 for callers without the
//! instance's key, 503 without a configured key, 404, and 422 for what the mirror does not
//! answer while no upstream is configured, each in Clerk's error shape.

use serde_json::Value;

use super::*;

server_tests!(
    overrides = WITH_KEY;
    callers_without_the_secret_key_get_clerks_401,
    unknown_objects_get_clerks_404,
    unanswerable_parameters_are_handed_over_and_named,
    other_paths_and_methods_are_handed_over,
);

server_tests!(without_a_configured_key_the_prefix_answers_503);

fn error_code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or_default()
}

async fn callers_without_the_secret_key_get_clerks_401(server: TestServer) {
    story(&server).await;
    for path in [
        "/users",
        &format!("/users/{ADA}"),
        "/organizations",
        "/invitations",
    ] {
        let (status, body) = clerk_get_with(&server, path, None).await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "authentication_invalid"),
            "{path}"
        );
        assert_valid("ClerkErrors", &body);
        let (status, body) = clerk_get_with(&server, path, Some("sk_test_wrong")).await;
        assert_eq!(
            (status, error_code(&body)),
            (401, "clerk_key_invalid"),
            "{path}"
        );
        assert_valid("ClerkErrors", &body);
        let longer = format!("{SECRET_KEY}0");
        let (status, _) = clerk_get_with(&server, path, Some(&longer)).await;
        assert_eq!(status, 401, "{path}");
    }
    let response = server
        .client
        .get(server.url("/clerk/v1/users"))
        .header("Authorization", format!("Basic {SECRET_KEY}"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 401);
}

async fn unknown_objects_get_clerks_404(server: TestServer) {
    story(&server).await;
    for path in [
        "/users/user_unknown",
        "/organizations/org_unknown",
        "/organizations/no-such-slug",
    ] {
        let (status, body) = clerk_get(&server, path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(error_code(&body), "resource_not_found", "{path}");
        assert_valid("ClerkErrors", &body);
    }
}

async fn unanswerable_parameters_are_handed_over_and_named(server: TestServer) {
    story(&server).await;
    let cases = [
        ("/users?query=ada", "query"),
        ("/users?banned=true", "banned"),
        ("/users?email_address_query=ada", "email_address_query"),
        ("/users?order_by=-phone_number", "order_by"),
        ("/users?limit=501", "limit"),
        ("/users?limit=0", "limit"),
        ("/users?offset=-1", "offset"),
        (
            &format!("/users?order_by=username&starting_after={ADA}"),
            "starting_after",
        ),
        (
            &format!("/users?offset=1&starting_after={ADA}"),
            "starting_after",
        ),
        ("/users?starting_after=user_unknown", "starting_after"),
        ("/users/count?limit=1", "limit"),
        ("/organizations?query=engines", "query"),
        (
            "/organizations?include_missing_member_with_elevated_permissions=true",
            "include_missing_member_with_elevated_permissions",
        ),
        (
            &format!("/organizations/{ENGINES}/memberships?user_id={ADA}"),
            "user_id",
        ),
        (
            &format!("/organizations/{ENGINES}/memberships?order_by=phone_number"),
            "order_by",
        ),
        (
            &format!("/users/{ADA}/organization_memberships?order_by=created_at"),
            "order_by",
        ),
        (&format!("/users/{ADA}?include_x=1"), "include_x"),
        // Clerk accepts up to 100 values of an array parameter.
        (
            &format!("/users?{}", vec!["user_id=user_x"; 101].join("&")),
            "user_id",
        ),
    ];
    for (path, parameter) in cases {
        let (status, body) = clerk_get(&server, path).await;
        assert_eq!(status, 422, "{path}");
        assert_valid("ClerkErrors", &body);
        assert_eq!(body["errors"][0]["meta"]["param_name"], parameter, "{path}");
        let long_message = body["errors"][0]["long_message"]
            .as_str()
            .unwrap_or_default();
        assert!(long_message.contains(parameter), "{path}: {long_message}");
    }
}

async fn other_paths_and_methods_are_handed_over(server: TestServer) {
    let (status, body) = clerk_get(&server, "/invitations").await;
    assert_eq!(status, 422);
    assert_valid("ClerkErrors", &body);
    assert!(
        body["errors"][0]["long_message"]
            .as_str()
            .is_some_and(|message| message.contains("GET /clerk/v1/invitations")),
        "{body}"
    );
    for (method, path) in [
        (reqwest::Method::POST, "/clerk/v1/users"),
        (reqwest::Method::PATCH, &format!("/clerk/v1/users/{ADA}")),
        (
            reqwest::Method::DELETE,
            &format!("/clerk/v1/organizations/{ENGINES}"),
        ),
    ] {
        let response = server
            .client
            .request(method.clone(), server.url(path))
            .bearer_auth(SECRET_KEY)
            .json(&serde_json::json!({"first_name": "Ada"}))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 422, "{method} {path}");
        let body: Value = response.json().await.expect("JSON");
        assert_valid("ClerkErrors", &body);
        assert_eq!(error_code(&body), "not_answered_by_mirror");
    }
}

async fn without_a_configured_key_the_prefix_answers_503(server: TestServer) {
    for path in ["/users", "/invitations"] {
        let (status, body) = clerk_get(&server, path).await;
        assert_eq!(status, 503, "{path}");
        assert_valid("ClerkErrors", &body);
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("CLERK_SECRET_KEY"), "{message}");
    }
}

/// The real binary's logs, at the most detailed level, hold the route of each `/clerk/v1`
/// request but never a key a caller presented, right or wrong.
#[test]
fn keys_never_reach_the_logs() {
    use crate::binary::{Binary, http_get, stop, wait_until_ready};

    let bin = Binary::new("clerk-api-logs");
    let port = free_port();
    let server = bin.spawn_server(
        port,
        &[("CLERK_SECRET_KEY", SECRET_KEY), ("RUST_LOG", "trace")],
    );
    wait_until_ready(port);
    let wrong = "sk_test_presentedbutwrong42";
    let answered = http_get(
        port,
        "/clerk/v1/users?email_address=ada%40example.com",
        Some(SECRET_KEY),
    );
    let refused = http_get(port, "/clerk/v1/users", Some(wrong));
    let logs = stop(server);
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    assert!(
        logs.contains("/clerk/v1/users"),
        "the requests are logged: {logs}"
    );
    for secret in [SECRET_KEY, wrong, "ada@example.com"] {
        assert!(!logs.contains(secret), "{secret} is in the logs: {logs}");
    }
}
