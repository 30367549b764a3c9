//! Session tokens: where they are read from and every way they are refused.

use serde_json::{Value, json};

use crate::common::*;

const USER: &str = "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE";

async fn synced(server: &TestServer) {
    let (status, _) = server
        .deliver_json("msg_user", &event_fixture("user.created"))
        .await;
    assert_eq!(status, 200);
}

async fn me_with(
    server: &TestServer,
    request: reqwest::RequestBuilder,
) -> (u16, Option<String>, Value) {
    let response = request.send().await.expect("answers");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = server;
    (
        status,
        challenge,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn hs256_token(claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(b"the public key is no HMAC secret");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &key,
    )
    .expect("signs")
}

fn unsigned_token(claims: &Value) -> String {
    use base64::Engine;
    let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    format!(
        "{}.{}.",
        encode(r#"{"alg":"none","typ":"JWT"}"#),
        encode(&claims.to_string())
    )
}

server_tests!(
    a_bearer_token_or_the_session_cookie_identifies_the_caller,
    a_verified_user_not_yet_synced_gets_404,
    refused_tokens_get_401_with_a_bearer_challenge,
    my_organizations_list_each_with_the_role,
    me_reports_the_active_organization_of_a_v1_token,
    me_reports_the_active_organization_of_a_v2_token,
    me_reports_no_active_organization_as_null,
    me_reports_what_clerk_lets_the_user_see_and_never_private_metadata,
    a_phone_only_user_is_answered_with_the_number,
);

async fn a_bearer_token_or_the_session_cookie_identifies_the_caller(server: TestServer) {
    synced(&server).await;
    let token = token_for(USER);
    let (status, _, me) = me_with(
        &server,
        server
            .client
            .get(server.url("/api/v1/auth/me/"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["clerk_id"], USER);
    assert_eq!(
        me.as_object().map(|o| {
            let mut k: Vec<_> = o.keys().cloned().collect();
            k.sort();
            k
        }),
        Some(
            vec![
                "active_organization",
                "clerk_id",
                "email",
                "first_name",
                "id",
                "image_url",
                "is_active",
                "is_staff",
                "last_name",
                "phone_number",
                "public_metadata",
                "unsafe_metadata",
                "username"
            ]
            .into_iter()
            .map(String::from)
            .collect()
        )
    );
    let cookie = server
        .client
        .get(server.url("/api/v1/auth/me"))
        .header("cookie", format!("other=1; __session={token}"));
    let (status, _, me) = me_with(&server, cookie).await;
    assert_eq!((status, me["clerk_id"].clone()), (200, json!(USER)));
}

async fn a_verified_user_not_yet_synced_gets_404(server: TestServer) {
    let (status, body) = server
        .get_as("/api/v1/auth/me/", &token_for("user_notsyncedyet"))
        .await;
    assert_eq!((status, body), (404, json!({"detail": "User not found"})));
    let (status, _) = server
        .get_as(
            "/api/v1/auth/me/organizations/",
            &token_for("user_notsyncedyet"),
        )
        .await;
    assert_eq!(status, 404);
}

async fn refused_tokens_get_401_with_a_bearer_challenge(server: TestServer) {
    synced(&server).await;
    let now = unix_now();
    let valid = token_for(USER);
    let mut tampered_claims = claims(USER);
    tampered_claims["sub"] = json!("user_someoneelse");
    let tampered = {
        let parts: Vec<&str> = valid.split('.').collect();
        let forged = sign(&tampered_claims);
        let forged_payload = forged.split('.').nth(1).unwrap_or_default().to_owned();
        format!("{}.{}.{}", parts[0], forged_payload, parts[2])
    };
    let expired = sign(&json!({"sub": USER, "exp": now - 60, "iat": now - 120}));
    let within_leeway = sign(&json!({"sub": USER, "exp": now - 2, "iat": now - 120}));
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        (
            "no token",
            None,
            "Not authenticated: send the Clerk session token as `Authorization: Bearer <token>` or the `__session` cookie",
        ),
        ("expired", Some(expired), "Token has expired"),
        (
            "tampered",
            Some(tampered),
            "Could not validate credentials: invalid signature",
        ),
        (
            "other key",
            Some(sign_with(
                &claims(USER),
                "tests/fixtures/keys/other_private.pem",
            )),
            "Could not validate credentials: invalid signature",
        ),
        (
            "HS256",
            Some(hs256_token(&claims(USER))),
            "Could not validate credentials: algorithm not allowed; tokens must be signed with RS256",
        ),
        (
            "alg none",
            Some(unsigned_token(&claims(USER))),
            "Could not validate credentials: algorithm not allowed; tokens must be signed with RS256",
        ),
        (
            "not yet valid",
            Some(sign(
                &json!({"sub": USER, "exp": now + 600, "nbf": now + 300}),
            )),
            "Could not validate credentials: token is not valid yet (nbf)",
        ),
        (
            "no exp",
            Some(sign(&json!({"sub": USER, "iat": now}))),
            "Could not validate credentials: the token has no expiry (exp)",
        ),
        (
            "no sub",
            Some(sign(&json!({"exp": now + 60}))),
            "Could not validate credentials: the token names no user (sub)",
        ),
        (
            "sub not a user id",
            Some(sign(&json!({"sub": "org_1", "exp": now + 60}))),
            "Could not validate credentials: invalid `sub` claim: expected a Clerk user id",
        ),
        (
            "garbage",
            Some("not.a.jwt".to_owned()),
            "Could not validate credentials: malformed token",
        ),
    ];
    for (case, token, detail) in cases {
        let mut request = server.client.get(server.url("/api/v1/auth/me/"));
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let (status, challenge, body) = me_with(&server, request).await;
        assert_eq!(status, 401, "{case}");
        assert_eq!(challenge.as_deref(), Some("Bearer"), "{case}");
        assert_eq!(body, json!({"detail": detail}), "{case}");
    }
    let (status, _) = server.get_as("/api/v1/auth/me/", &within_leeway).await;
    assert_eq!(status, 200, "an expiry within the 5 s leeway is accepted");
}

async fn my_organizations_list_each_with_the_role(server: TestServer) {
    synced(&server).await;
    let (status, orgs) = server
        .get_as("/api/v1/auth/me/organizations/", &token_for(USER))
        .await;
    assert_eq!((status, orgs), (200, json!([])));
    server
        .deliver_json("msg_m", &event_fixture("organizationMembership.created"))
        .await;
    let (_, orgs) = server
        .get_as("/api/v1/auth/me/organizations", &token_for(USER))
        .await;
    let org = &orgs[0];
    assert_eq!(
        (
            org["clerk_id"].clone(),
            org["name"].clone(),
            org["slug"].clone(),
            org["role"].clone()
        ),
        (
            json!("org_2Tti8BTY5E6lxc3WqMO5R0U0ILB"),
            json!("Analytical Engines"),
            json!("analytical-engines"),
            json!("org:member")
        )
    );
    assert!(org["id"].is_i64());
}

async fn me_reports_the_active_organization_of_a_v1_token(server: TestServer) {
    synced(&server).await;
    let mut v1 = claims(USER);
    v1["org_id"] = json!("org_2Tti8BTY5E6lxc3WqMO5R0U0ILB");
    v1["org_role"] = json!("org:admin");
    v1["org_slug"] = json!("analytical-engines");
    v1["org_permissions"] = json!(["org:invoices:create"]);
    let (status, me) = server.get_as("/api/v1/auth/me/", &sign(&v1)).await;
    assert_eq!(status, 200);
    assert_eq!(me["clerk_id"], USER, "the synced user is still reported");
    assert_eq!(
        me["active_organization"],
        json!({
            "id": "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB", "slug": "analytical-engines",
            "role": "org:admin", "permissions": ["org:invoices:create"]
        })
    );
}

async fn me_reports_the_active_organization_of_a_v2_token(server: TestServer) {
    synced(&server).await;
    let mut v2 = claims(USER);
    v2["v"] = json!(2);
    v2["sts"] = json!("active");
    v2["fea"] = json!("o:dashboard,u:assistant,o:teams");
    v2["o"] = json!({"id": "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB", "rol": "admin",
                         "slg": "analytical-engines", "per": "manage,read", "fpm": "3,2"});
    let (status, me) = server.get_as("/api/v1/auth/me/", &sign(&v2)).await;
    assert_eq!(status, 200);
    assert_eq!(
        me["active_organization"],
        json!({
            "id": "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB", "slug": "analytical-engines", "role": "org:admin",
            "permissions": ["org:dashboard:manage", "org:dashboard:read", "org:teams:read"]
        })
    );
}

async fn me_reports_no_active_organization_as_null(server: TestServer) {
    synced(&server).await;
    let mut v2 = claims(USER);
    v2["v"] = json!(2);
    let (status, me) = server.get_as("/api/v1/auth/me/", &sign(&v2)).await;
    assert_eq!(
        (status, me["active_organization"].clone()),
        (200, Value::Null)
    );
    assert!(
        me.as_object()
            .is_some_and(|o| o.contains_key("active_organization"))
    );
}

async fn me_reports_what_clerk_lets_the_user_see_and_never_private_metadata(server: TestServer) {
    let mut event = event_fixture("user.created");
    event["data"]["username"] = json!("ada");
    event["data"]["public_metadata"] = json!({"plan": "pro", "roles": ["billing"]});
    event["data"]["unsafe_metadata"] = json!({"theme": "dark"});
    event["data"]["private_metadata"] = json!({"stripe_customer": "cus_secret"});
    event["data"]["phone_numbers"] = json!([{"id": "idn_phone", "phone_number": "+15555550100",
        "verification": {"status": "verified"}}]);
    event["data"]["primary_phone_number_id"] = json!("idn_phone");
    let (status, _) = server.deliver_json("msg_user", &event).await;
    assert_eq!(status, 200);

    let request = server.client.get(server.url("/api/v1/auth/me/"));
    let (status, _, me) = me_with(&server, request.bearer_auth(token_for(USER))).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "ada");
    assert_eq!(me["phone_number"], "+15555550100");
    assert_eq!(
        me["public_metadata"],
        json!({"plan": "pro", "roles": ["billing"]})
    );
    assert_eq!(me["unsafe_metadata"], json!({"theme": "dark"}));
    let text = me.to_string();
    assert!(
        !text.contains("private_metadata") && !text.contains("cus_secret"),
        "{text}"
    );
}

async fn a_phone_only_user_is_answered_with_the_number(server: TestServer) {
    let mut event = event_fixture("user.created");
    event["data"]["email_addresses"] = json!([]);
    event["data"]["primary_email_address_id"] = Value::Null;
    event["data"]["phone_numbers"] = json!([{"id": "idn_phone", "phone_number": "+15555550100",
        "verification": {"status": "verified"}}]);
    event["data"]["primary_phone_number_id"] = json!("idn_phone");
    let (status, _) = server.deliver_json("msg_user", &event).await;
    assert_eq!(status, 200);

    let request = server.client.get(server.url("/api/v1/auth/me/"));
    let (status, _, me) = me_with(&server, request.bearer_auth(token_for(USER))).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&me["email"], &me["phone_number"]),
        (&Value::Null, &json!("+15555550100"))
    );
    assert_eq!(
        (&me["username"], &me["public_metadata"]),
        (&Value::Null, &json!({}))
    );
}

const CACHE_HITS: &str = r#"clerk_sync_token_cache_total{result="hit"}"#;
const CACHE_MISSES: &str = r#"clerk_sync_token_cache_total{result="miss"}"#;

/// Verification does not touch the database: SQLite only.
#[actix_web::test]
async fn a_token_used_again_is_answered_from_the_cache_and_a_refused_one_never_is() {
    let server = TestServer::sqlite().await;
    synced(&server).await;
    let token = token_for(USER);
    for _ in 0..4 {
        assert_eq!(server.get_as("/api/v1/auth/me/", &token).await.0, 200);
    }
    assert_eq!(counter(&server, CACHE_HITS).await, 3);
    assert_eq!(counter(&server, CACHE_MISSES).await, 1);
    let forged = sign_with(&claims(USER), "tests/fixtures/keys/other_private.pem");
    for _ in 0..3 {
        assert_eq!(server.get_as("/api/v1/auth/me/", &forged).await.0, 401);
    }
    assert_eq!(
        counter(&server, CACHE_HITS).await,
        3,
        "a refusal is not cached"
    );
    assert_eq!(counter(&server, CACHE_MISSES).await, 4);
    assert!(
        metrics_text(&server)
            .await
            .contains("clerk_sync_token_cache_evictions_total 0")
    );
}

#[actix_web::test]
async fn a_token_cache_size_of_zero_verifies_every_request() {
    let server = TestServer::sqlite_with(&[("CLERK_TOKEN_CACHE_SIZE", "0")]).await;
    let token = token_for("user_notsyncedyet");
    for _ in 0..2 {
        assert_eq!(server.get_as("/api/v1/auth/me/", &token).await.0, 404);
    }
    assert!(
        !metrics_text(&server)
            .await
            .contains("clerk_sync_token_cache")
    );
}
