//! Headers every answer carries: `X-Content-Type-Options: nosniff` on all of them, and
//! `Cache-Control: no-store` on answers to authenticated requests, so that no shared cache or
//! browser history keeps a user's data.

use serde_json::json;

use crate::common::*;

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

server_tests!(
    every_answer_says_nosniff,
    authenticated_answers_are_not_stored,
);

async fn every_answer_says_nosniff(server: TestServer) {
    let answers = [
        server.client.get(server.url("/api/v1/health")).send().await,
        server
            .client
            .get(server.url("/api/v1/nothing"))
            .send()
            .await,
        server.client.get(server.url("/openapi.json")).send().await,
        server.client.get(server.url("/metrics")).send().await,
        server
            .client
            .get(server.url("/api/v1/auth/me/"))
            .send()
            .await,
        server
            .client
            .post(server.url("/api/v1/auth/clerk_webhook/"))
            .body("{}")
            .send()
            .await,
        server.client.get(server.url("/admin/")).send().await,
    ];
    for answer in answers {
        let answer = answer.expect("the server answers");
        assert_eq!(
            header(&answer, "x-content-type-options").as_deref(),
            Some("nosniff"),
            "{}",
            answer.url()
        );
    }
}

async fn authenticated_answers_are_not_stored(server: TestServer) {
    let user = "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE";
    let (status, _) = server
        .deliver_json("msg_u", &event_fixture("user.created"))
        .await;
    assert_eq!(status, 200);
    let org = json!({"type": "organization.created", "object": "event", "data": {
            "id": "org_2Store", "object": "organization", "name": "Store", "slug": "store",
            "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_000_000_i64}});
    assert_eq!(server.deliver_json("msg_o", &org).await.0, 200);
    let token = token_for(user);
    for path in [
        "/api/v1/auth/me/",
        "/api/v1/auth/me/organizations/",
        "/api/v1/organizations/org_2Store/members/",
    ] {
        let answer = server
            .client
            .get(server.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .expect("answers");
        let status = answer.status().as_u16();
        assert!(matches!(status, 200 | 403), "{path}: {status}");
        assert_eq!(
            header(&answer, "cache-control").as_deref(),
            Some("no-store"),
            "{path}"
        );
        let answer = server
            .client
            .get(server.url(path))
            .header("cookie", format!("__session={token}"))
            .send()
            .await
            .expect("answers");
        assert_eq!(
            header(&answer, "cache-control").as_deref(),
            Some("no-store"),
            "{path} with the cookie"
        );
    }
    let refused = server
        .client
        .get(server.url("/api/v1/auth/me/"))
        .bearer_auth("nonsense")
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(
        header(&refused, "cache-control").as_deref(),
        Some("no-store"),
        "a refusal is not stored either"
    );
}
