//! `/api/v1/auth/verify` spoken to directly: the identity headers, the requirements, the
//! refusals, and values that cannot become headers.

use serde_json::{Value, json};

use super::*;

/// A verify call with `token` (if any) and the query `requirements`.
async fn verify(
    server: &TestServer,
    method: reqwest::Method,
    requirements: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = server.client.request(
        method,
        server.url(&format!("/api/v1/auth/verify{requirements}")),
    );
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the server answers")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("an ASCII header"))
}

/// Every `x-clerk-*` / `x-user-*` header of an answer.
fn identity(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .filter(|(name, _)| {
            name.as_str().starts_with("x-clerk-") || name.as_str().starts_with("x-user-")
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().expect("ASCII").to_owned(),
            )
        })
        .collect()
}

server_tests!(
    a_synced_member_gets_every_identity_header,
    every_method_is_answered_and_a_body_is_ignored,
    a_user_the_mirror_lacks_passes_without_user_headers_unless_synced_is_required,
    no_token_or_a_bad_one_is_401_with_www_authenticate,
    a_disabled_or_banned_user_is_refused,
    requirements_refuse_with_a_detail_naming_them,
    a_misspelt_requirement_is_refused_not_ignored,
    claims_with_cr_or_lf_never_become_headers,
    the_envoy_form_reads_requirements_from_a_header_not_the_original_query,
);

async fn a_synced_member_gets_every_identity_header(server: TestServer) {
    seed(&server).await;
    let response = verify(
        &server,
        reqwest::Method::GET,
        "",
        Some(&member_token(SYNCED, "org:member")),
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let mut headers = identity(&response);
    headers.sort();
    assert_eq!(
        headers,
        vec![
            ("x-clerk-org-id".to_owned(), ORGANIZATION.to_owned()),
            (
                "x-clerk-org-permissions".to_owned(),
                "org:invoices:read,org:invoices:create".to_owned()
            ),
            ("x-clerk-org-role".to_owned(), "org:member".to_owned()),
            (
                "x-clerk-org-slug".to_owned(),
                "analytical-engines".to_owned()
            ),
            ("x-clerk-session-id".to_owned(), "sess_test".to_owned()),
            ("x-clerk-user-id".to_owned(), SYNCED.to_owned()),
            ("x-user-email".to_owned(), SYNCED_EMAIL.to_owned()),
            ("x-user-id".to_owned(), "1".to_owned()),
            ("x-user-is-staff".to_owned(), "false".to_owned()),
        ]
    );
    assert!(
        response.text().await.expect("a body").is_empty(),
        "the body is empty"
    );
}

async fn every_method_is_answered_and_a_body_is_ignored(server: TestServer) {
    seed(&server).await;
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = server
            .client
            .request(method.clone(), server.url("/api/v1/auth/verify/"))
            .bearer_auth(token_for(SYNCED))
            .body("{\"not\": \"read\"}")
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 200, "{method}");
        assert_eq!(
            header(&response, "x-clerk-user-id"),
            Some(SYNCED),
            "{method}"
        );
    }
}

async fn a_user_the_mirror_lacks_passes_without_user_headers_unless_synced_is_required(
    server: TestServer,
) {
    let token = token_for(NOT_SYNCED);
    let response = verify(&server, reqwest::Method::GET, "", Some(&token)).await;
    assert_eq!(response.status().as_u16(), 200);
    let mut headers = identity(&response);
    headers.sort();
    assert_eq!(
        headers,
        vec![
            ("x-clerk-session-id".to_owned(), "sess_test".to_owned()),
            ("x-clerk-user-id".to_owned(), NOT_SYNCED.to_owned()),
        ]
    );
    for requirement in ["?synced=1", "?staff=1"] {
        let response = verify(&server, reqwest::Method::GET, requirement, Some(&token)).await;
        assert_eq!(response.status().as_u16(), 403, "{requirement}");
        assert!(identity(&response).is_empty(), "{requirement}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body,
            json!({"detail": "This requires a synced account: the user is not in the mirror yet"})
        );
    }
}

async fn no_token_or_a_bad_one_is_401_with_www_authenticate(server: TestServer) {
    let mut expired = claims(SYNCED);
    expired["exp"] = json!(unix_now() - 60);
    for token in [None, Some("not-a-token".to_owned()), Some(sign(&expired))] {
        let response = verify(&server, reqwest::Method::GET, "?synced=1", token.as_deref()).await;
        assert_eq!(response.status().as_u16(), 401, "{token:?}");
        assert_eq!(header(&response, "www-authenticate"), Some("Bearer"));
        assert!(identity(&response).is_empty());
    }
}

async fn a_disabled_or_banned_user_is_refused(server: TestServer) {
    seed(&server).await;
    let banned = "user_2BannedForForwardAuth";
    let mut event = event_fixture("user.created");
    event["data"]["id"] = json!(banned);
    event["data"]["email_addresses"] = json!([]);
    event["data"]["banned"] = json!(true);
    assert_eq!(server.deliver_json("msg_banned", &event).await.0, 200);
    set_user_flag(&server, SYNCED, "is_active", false);
    for user in [banned, SYNCED] {
        let response = verify(&server, reqwest::Method::GET, "", Some(&token_for(user))).await;
        assert_eq!(response.status().as_u16(), 403, "{user}");
        assert!(identity(&response).is_empty());
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body, json!({"detail": "This account is disabled"}));
    }
}

async fn requirements_refuse_with_a_detail_naming_them(server: TestServer) {
    seed(&server).await;
    let member = member_token(SYNCED, "org:member");
    let cases = [
        (
            "?role=org:admin",
            "This requires the role org:admin in the session's active organization",
        ),
        (
            "?permission=org:billing:manage",
            "This requires the permission org:billing:manage in the session's active organization",
        ),
        ("?staff=1", "This requires a staff account"),
    ];
    for (requirement, detail) in cases {
        let response = verify(&server, reqwest::Method::GET, requirement, Some(&member)).await;
        assert_eq!(response.status().as_u16(), 403, "{requirement}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body, json!({"detail": detail}), "{requirement}");
    }
    // Without an active organization, no role or permission is met.
    let response = verify(
        &server,
        reqwest::Method::GET,
        "?role=org:member",
        Some(&token_for(SYNCED)),
    )
    .await;
    assert_eq!(response.status().as_u16(), 403);
    // Met requirements pass.
    set_user_flag(&server, SYNCED, "is_staff", true);
    let admin = member_token(SYNCED, "org:admin");
    for requirement in [
        "?role=org:admin",
        "?permission=org:invoices:create",
        "?staff=1&synced=1",
        "?synced=1&role=org:admin&permission=org:invoices:read",
    ] {
        let response = verify(&server, reqwest::Method::GET, requirement, Some(&admin)).await;
        assert_eq!(response.status().as_u16(), 200, "{requirement}");
        assert_eq!(header(&response, "x-user-is-staff"), Some("true"));
    }
}

async fn a_misspelt_requirement_is_refused_not_ignored(server: TestServer) {
    seed(&server).await;
    for requirement in ["?rol=org:admin", "?staff=yes", "?synced=2", "?synced="] {
        let response = verify(
            &server,
            reqwest::Method::GET,
            requirement,
            Some(&token_for(SYNCED)),
        )
        .await;
        assert_eq!(response.status().as_u16(), 400, "{requirement}");
        let body: Value = response.json().await.expect("JSON");
        let detail = body["detail"].as_str().expect("a detail");
        assert!(
            detail.starts_with("Invalid forward auth requirements"),
            "{detail}"
        );
    }
}

async fn claims_with_cr_or_lf_never_become_headers(server: TestServer) {
    seed(&server).await;
    // A descriptive value (the slug) is left out; the rest of the identity is passed on.
    let mut with_slug = member_claims(SYNCED, "org:member");
    with_slug["org_slug"] = json!("acme\r\nX-User-Is-Staff: true");
    let response = verify(&server, reqwest::Method::GET, "", Some(&sign(&with_slug))).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(&response, "x-clerk-org-slug"), None);
    assert_eq!(header(&response, "x-user-is-staff"), Some("false"));
    assert_eq!(header(&response, "x-clerk-org-id"), Some(ORGANIZATION));
    // A value the upstream may decide on refuses the token.
    let mut with_sid = claims(SYNCED);
    with_sid["sid"] = json!("sess_1\r\nX-Clerk-Org-Role: org:admin");
    let mut with_permission = member_claims(SYNCED, "org:member");
    with_permission["org_permissions"] = json!(["org:a:b\nX-Clerk-Org-Role: org:admin"]);
    let mut with_comma = member_claims(SYNCED, "org:member");
    with_comma["org_permissions"] = json!(["org:a:read,org:billing:manage"]);
    for (claim, forged) in [
        ("sid", with_sid),
        ("org_permissions", with_permission),
        ("org_permissions", with_comma),
    ] {
        let response = verify(&server, reqwest::Method::GET, "", Some(&sign(&forged))).await;
        assert_eq!(response.status().as_u16(), 401, "{claim}");
        assert!(identity(&response).is_empty(), "{claim}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body["detail"],
            json!(format!(
                "Could not validate credentials: the claim {claim} holds characters a header cannot carry"
            ))
        );
    }
}

async fn the_envoy_form_reads_requirements_from_a_header_not_the_original_query(
    server: TestServer,
) {
    seed(&server).await;
    let member = member_token(SYNCED, "org:member");
    let envoy = |path: &str, token: Option<&str>, requirements: Option<&str>| {
        let mut request = server
            .client
            .get(server.url(&format!("/api/v1/auth/verify/envoy{path}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(requirements) = requirements {
            request = request.header("x-clerk-sync-requirements", requirements);
        }
        request.send()
    };
    // Envoy appends the original path and query: neither is read, whatever they hold.
    for path in [
        "",
        "/",
        "/api/items",
        "/api/items?page=2&rol=x",
        "/api/v1/auth/verify?staff=1",
    ] {
        let response = envoy(path, Some(&member), None).await.expect("answers");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert_eq!(header(&response, "x-clerk-user-id"), Some(SYNCED), "{path}");
        assert_eq!(
            header(&response, "x-clerk-org-role"),
            Some("org:member"),
            "{path}"
        );
        assert_eq!(identity(&response).len(), 9, "{path}");
    }
    let response = envoy("/api/items", None, None).await.expect("answers");
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(header(&response, "www-authenticate"), Some("Bearer"));
    // The requirements come from the header the filter adds.
    let response = envoy(
        "/api/admin/?role=org:member",
        Some(&member),
        Some("role=org:admin"),
    )
    .await
    .expect("answers");
    assert_eq!(response.status().as_u16(), 403);
    assert!(identity(&response).is_empty());
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({"detail": "This requires the role org:admin in the session's active organization"})
    );
    let admin = member_token(SYNCED, "org:admin");
    let response = envoy("/api/admin/", Some(&admin), Some("role=org:admin&synced=1"))
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let response = envoy("/api/admin/", Some(&admin), Some("rol=org:admin"))
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 400);
}
