//! `/openapi.json` and `/docs`, black-box: the document lists only routes the server really
//! mounts, the statuses it documents are ones the handlers really answer, and the docs page
//! loads everything it needs from the server itself.

use std::collections::BTreeSet;

use clerk_sync_http::routing;
use clerk_sync_persistence::testing::TestDatabase;
use serde_json::Value;

use crate::common::*;

const USER: &str = "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE";
const ORGANIZATION: &str = "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB";

async fn openapi(server: &TestServer) -> Value {
    let response = server
        .client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = header(&response, "content-type");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    response.json().await.expect("the document is JSON")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A user, an organization and the user's membership in it, from Clerk's sample events.
async fn seed(server: &TestServer) {
    for (n, event_type) in [
        "user.created",
        "organization.created",
        "organizationMembership.created",
    ]
    .into_iter()
    .enumerate()
    {
        let (status, outcome) = server
            .deliver_json(&format!("msg_seed{n}"), &event_fixture(event_type))
            .await;
        assert_eq!((status, outcome.as_str()), (200, "applied"), "{event_type}");
    }
}

/// A path of the document with its parameters filled in with the seeded data.
fn concrete(path: &str) -> String {
    let filled = path
        .replace("{org_id}", ORGANIZATION)
        .replace("{original_path}", "/api/items?page=2");
    assert!(
        !filled.contains('{'),
        "{path}: the test has no value for this parameter yet"
    );
    filled
}

/// Sends a request that should succeed: the seeded user's token, a fresh signed event for
/// the webhook.
async fn request_as_user(
    server: &TestServer,
    method: &str,
    path: &str,
    n: usize,
) -> reqwest::Response {
    match method {
        "get" => server
            .client
            .get(server.url(path))
            .bearer_auth(token_for(USER))
            .send()
            .await
            .expect("the server answers"),
        "post" if path == "/api/v1/auth/clerk_webhook/" => {
            let event = event_fixture("user.updated");
            server
                .deliver(&format!("msg_check{n}"), &event.to_string())
                .await
        }
        other => panic!("{other} {path}: the test does not know how to call this operation yet"),
    }
}

#[actix_web::test]
async fn every_documented_operation_is_mounted_and_answers_as_documented() {
    let server = TestServer::sqlite().await;
    seed(&server).await;
    let document = openapi(&server).await;
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "not OpenAPI 3: {}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().expect("paths");
    let mut called = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if ![
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            called += 1;
            let response = request_as_user(&server, method, &concrete(path), called).await;
            let status = response.status().as_u16();
            let content_type = header(&response, "content-type");
            let body = response.text().await.unwrap_or_default();
            assert!(
                status != 404 && status != 405,
                "{method} {path} is documented but not mounted: {status} {body}"
            );
            assert_eq!(status, 200, "{method} {path}: {body}");
            let documented = &operation["responses"]["200"]["content"];
            if documented.is_null() {
                // Documented without content (forward auth answers in headers only).
                assert!(body.is_empty(), "{method} {path} answered a body: {body}");
                continue;
            }
            let media_types: Vec<&String> = documented
                .as_object()
                .map(|content| content.keys().collect())
                .unwrap_or_default();
            assert!(
                media_types.iter().any(|media_type| content_type
                    .starts_with(media_type.split(';').next().unwrap_or_default())),
                "{method} {path} answered {content_type}, documented {media_types:?}"
            );
        }
    }
    let mounted = routing::all().filter(|route| route.is_documented()).count();
    assert_eq!(called, mounted, "every documented route was called");
}

/// Every route of the tables, documented or not, answers something else than "no such
/// route" or "no such method" (anonymous callers get 401 pages, not 404s).
#[actix_web::test]
async fn every_mounted_route_answers_and_the_trailing_slash_is_optional() {
    let server = TestServer::sqlite().await;
    for route in routing::all() {
        let path = route
            .path
            .replace("{org_id}", ORGANIZATION)
            .replace("{id}", "1")
            .replace("{file}", "swagger-ui.css");
        let alternate = match path.strip_suffix('/') {
            Some(trimmed) => trimmed.to_owned(),
            None => format!("{path}/"),
        };
        for path in [path, alternate] {
            let response = server
                .client
                .request(
                    route.method.as_str().parse().expect("a method"),
                    server.url(&path),
                )
                .send()
                .await
                .expect("the server answers");
            let status = response.status().as_u16();
            assert!(
                status != 404 && status != 405,
                "{} {path} is in the route table but answers {status}",
                route.method
            );
        }
    }
}

/// The statuses of documented responses for `operation` of `path`.
fn documented_statuses(document: &Value, path: &str, method: &str) -> BTreeSet<u16> {
    document["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
        .keys()
        .map(|status| status.parse().expect("a numeric status"))
        .collect()
}

/// On a server whose budget holds one largest body and whose body deadline is 1 s: one
/// connection announces a body of the largest size and stalls (408 after the deadline), while
/// a second one finds the budget taken (503).
async fn stalled_and_over_budget() -> Vec<(u16, &'static str)> {
    use std::io::Write;
    use std::time::Duration;

    use crate::limits::{answer_within, connect, port, webhook_head};

    let tight = TestServer::start_with(
        TestDatabase::sqlite().expect("a SQLite test database"),
        &[],
        |settings| {
            settings.server.body_timeout_seconds = 1;
            settings.server.webhook_body_budget_bytes = settings.server.max_body_bytes;
        },
    )
    .await;
    let port = port(&tight);
    let largest = clerk_sync_http::DEFAULT_MAX_BODY_BYTES;
    actix_web::rt::task::spawn_blocking(move || {
        let mut holder = connect(port);
        holder
            .write_all(webhook_head(&format!("Content-Length: {largest}")).as_bytes())
            .expect("writes");
        std::thread::sleep(Duration::from_millis(300));
        let mut second = connect(port);
        second
            .write_all(webhook_head("Content-Length: 2").as_bytes())
            .expect("writes");
        let over_budget = answer_within(&mut second, Duration::from_secs(5));
        let stalled = answer_within(&mut holder, Duration::from_secs(5));
        vec![
            (stalled.map_or(0, |a| a.status), "a stalled body"),
            (over_budget.map_or(0, |a| a.status), "the budget is taken"),
        ]
    })
    .await
    .expect("the socket checks ran")
}

#[actix_web::test]
async fn the_webhook_answers_every_status_it_documents() {
    let server = TestServer::sqlite().await;
    let unconfigured = TestServer::start(
        TestDatabase::sqlite().expect("a SQLite test database"),
        &[("CLERK_WEBHOOK_SIGNING_SECRET", "")],
    )
    .await;
    let document = openapi(&server).await;
    let path = "/api/v1/auth/clerk_webhook/";
    let mut answered = BTreeSet::new();
    let mut answer = |response: &reqwest::Response, why: &str| {
        let status = response.status().as_u16();
        answered.insert(status);
        eprintln!("webhook, {why}: {status}");
    };

    let event = event_fixture("user.created").to_string();
    answer(&server.deliver("msg_ok", &event).await, "a signed event");
    let unsigned = server
        .client
        .post(server.url(path))
        .body(event.clone())
        .send()
        .await
        .expect("answers");
    assert_eq!(unsigned.status().as_u16(), 400);
    answer(&unsigned, "no signature");
    let malformed = server
        .deliver("msg_bad", r#"{"type":"user.created","data":{"id":1}}"#)
        .await;
    assert_eq!(malformed.status().as_u16(), 400);
    answer(&malformed, "a signed body that cannot be applied");
    let oversized = "x".repeat(clerk_sync_http::DEFAULT_MAX_BODY_BYTES + 1);
    answer(
        &server.deliver("msg_big", &oversized).await,
        "an oversized body",
    );
    answer(
        &unconfigured.deliver("msg_ok", &event).await,
        "no signing secret",
    );
    for (status, why) in stalled_and_over_budget().await {
        eprintln!("webhook, {why}: {status}");
        answered.insert(status);
    }

    assert_eq!(answered, documented_statuses(&document, path, "post"));
}

#[actix_web::test]
async fn the_me_routes_answer_every_status_they_document() {
    let server = TestServer::sqlite().await;
    seed(&server).await;
    let unconfigured = TestServer::start(
        TestDatabase::sqlite().expect("a SQLite test database"),
        &[("CLERK_JWT_PUBLIC_KEY", "")],
    )
    .await;
    let banned = "user_2BannedByClerkForDocs";
    let mut event = event_fixture("user.created");
    event["data"]["id"] = Value::from(banned);
    event["data"]["email_addresses"] = serde_json::json!([]);
    event["data"]["banned"] = Value::from(true);
    assert_eq!(server.deliver_json("msg_banned", &event).await.0, 200);
    let document = openapi(&server).await;
    for path in ["/api/v1/auth/me/", "/api/v1/auth/me/organizations/"] {
        let mut answered = BTreeSet::new();
        let (status, body) = server.get_as(path, &token_for(USER)).await;
        assert_eq!(status, 200, "{body}");
        answered.insert(status);
        let response = server
            .client
            .get(server.url(path))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(header(&response, "www-authenticate"), "Bearer");
        answered.insert(401);
        let (status, body) = server.get_as(path, &token_for("user_2NotSyncedYet")).await;
        assert_eq!(
            (status, &body["detail"]),
            (404, &Value::from("User not found"))
        );
        answered.insert(status);
        let (status, body) = server.get_as(path, &token_for(banned)).await;
        assert_eq!(
            (status, &body["detail"]),
            (403, &Value::from("This account is disabled"))
        );
        answered.insert(status);
        let (status, _) = unconfigured.get_as(path, &token_for(USER)).await;
        answered.insert(status);
        assert_eq!(
            answered,
            documented_statuses(&document, path, "get"),
            "{path}"
        );
    }
}

/// Every `src` and `href` of a page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for part in html.split(attribute).skip(1) {
            found.push(part.split('"').next().unwrap_or_default().to_owned());
        }
    }
    found
}

#[actix_web::test]
async fn the_docs_page_loads_only_assets_the_server_serves() {
    let server = TestServer::sqlite().await;
    for path in ["/docs", "/docs/"] {
        let response = server
            .client
            .get(server.url(path))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(header(&response, "content-type").starts_with("text/html"));
        let policy = header(&response, "content-security-policy");
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe"),
            "{policy}"
        );
        let html = response.text().await.expect("HTML");
        assert!(html.contains("id=\"swagger-ui\"") && html.contains("/openapi.json"));
        assert_eq!(
            html.matches("<script").count(),
            html.matches("<script src=").count(),
            "no inline script: {html}"
        );
        let assets = references(&html);
        assert_eq!(assets.len(), 4, "{assets:?}");
        for asset in assets {
            assert!(asset.starts_with("/docs/assets/"), "{asset} is not local");
            let response = server
                .client
                .get(server.url(&asset))
                .send()
                .await
                .expect("answers");
            assert_eq!(response.status().as_u16(), 200, "{asset}");
            let expected = if asset.contains(".js?") {
                "text/javascript"
            } else {
                "text/css"
            };
            assert!(
                header(&response, "content-type").starts_with(expected),
                "{asset}: {}",
                header(&response, "content-type")
            );
            assert!(
                header(&response, "cache-control").contains("max-age="),
                "{asset}"
            );
            assert!(
                !response.bytes().await.expect("a body").is_empty(),
                "{asset}"
            );
        }
    }
    let missing = server
        .client
        .get(server.url("/docs/assets/nothing.js"))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status().as_u16(), 404);
}

#[actix_web::test]
async fn forward_auth_answers_every_status_it_documents() {
    let server = TestServer::sqlite().await;
    seed(&server).await;
    let unconfigured = TestServer::start(
        TestDatabase::sqlite().expect("a SQLite test database"),
        &[("CLERK_JWT_PUBLIC_KEY", "")],
    )
    .await;
    let document = openapi(&server).await;
    let path = "/api/v1/auth/verify";
    let operation = &document["paths"][path]["get"];
    let documented_headers: BTreeSet<String> = operation["responses"]["200"]["headers"]
        .as_object()
        .expect("the 200 answer documents its headers")
        .keys()
        .map(|name| name.to_ascii_lowercase())
        .collect();
    let mut answered = BTreeSet::new();
    let mut member = claims(USER);
    member["org_id"] = Value::from(ORGANIZATION);
    member["org_role"] = Value::from("org:member");
    member["org_slug"] = Value::from("acme");
    member["org_permissions"] = serde_json::json!([]);
    let response = server
        .client
        .get(server.url(path))
        .bearer_auth(sign(&member))
        .send()
        .await
        .expect("answers");
    answered.insert(response.status().as_u16());
    let sent: BTreeSet<String> = response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("x-clerk-") || name.starts_with("x-user-"))
        .collect();
    assert_eq!(
        sent, documented_headers,
        "the headers sent are those documented"
    );
    for (requirements, token) in [
        ("?rol=org:admin", Some(token_for(USER))),
        ("", None),
        ("?role=org:admin", Some(sign(&member))),
    ] {
        let mut request = server
            .client
            .get(server.url(&format!("{path}{requirements}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answered.insert(request.send().await.expect("answers").status().as_u16());
    }
    let (status, _) = unconfigured.get_as(path, &token_for(USER)).await;
    answered.insert(status);
    assert_eq!(answered, documented_statuses(&document, path, "get"));
}
