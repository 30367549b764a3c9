//! The attack matrix: each way a session token can be forged, stretched or misused, one test
//! each, with the status and the detail it must get. The server pins the issuer and the
//! authorized parties, as a careful deployment does.
//!
//! Verification does not touch the database, so these run on SQLite: an accepted token of a
//! user who is not synced answers 404, a refused one 401 with a Bearer challenge.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clerk_sync_persistence::testing::TestDatabase;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::*;

const ISSUER: &str = "https://clerk.example.test";
const PARTIES: &str = "http://localhost:3000, https://app.example.test/";
const USER: &str = "user_attacked";

async fn pinned_server(extra: &[(&str, &str)]) -> TestServer {
    let mut vars = vec![
        ("CLERK_ISSUER", ISSUER),
        ("CLERK_AUTHORIZED_PARTIES", PARTIES),
    ];
    vars.extend_from_slice(extra);
    TestServer::start(
        TestDatabase::sqlite().expect("a SQLite test database"),
        &vars,
    )
    .await
}

/// Status, challenge and detail for a request to /me.
async fn outcome(
    server: &TestServer,
    request: reqwest::RequestBuilder,
) -> (u16, Option<String>, String) {
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let _ = server;
    (
        status,
        challenge,
        body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn check(server: &TestServer, token: &str) -> (u16, Option<String>, String) {
    let request = server
        .client
        .get(server.url("/api/v1/auth/me/"))
        .bearer_auth(token);
    outcome(server, request).await
}

fn valid() -> Value {
    claims(USER)
}

fn with(mut claims: Value, claim: &str, value: Value) -> Value {
    claims[claim] = value;
    claims
}

fn without(mut claims: Value, claim: &str) -> Value {
    claims.as_object_mut().map(|o| o.remove(claim));
    claims
}

fn encode(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn private_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(fixture("tests/fixtures/keys/test_private.pem").as_bytes())
        .expect("test key")
}

fn signed_as(algorithm: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &private_key()).expect("signs")
}

/// A header and payload of one's choosing, validly signed with the instance's key.
fn signed_raw(header: &str, payload: &str) -> String {
    let message = format!("{}.{}", encode(header), encode(payload));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &private_key(), Algorithm::RS256)
            .expect("signs");
    format!("{message}.{signature}")
}

const ACCEPTED: (u16, &str) = (404, "User not found");

fn refused(reason: &str) -> (u16, String) {
    (401, format!("Could not validate credentials: {reason}"))
}

macro_rules! attacks {
    ($($name:ident: $token:expr => $expected:expr;)*) => {
        $(
            #[actix_web::test]
            async fn $name() {
                let server = pinned_server(&[]).await;
                let token: String = $token;
                let (status, challenge, detail) = check(&server, &token).await;
                let (want_status, want_detail) = $expected;
                let want_detail: String = want_detail.into();
                assert_eq!((status, detail.as_str()), (want_status, want_detail.as_str()));
                if status == 401 {
                    assert_eq!(challenge.as_deref(), Some("Bearer"));
                }
            }
        )*
    };
}

fn now() -> i64 {
    unix_now()
}

attacks! {
    a_valid_token_is_accepted: sign(&valid()) => ACCEPTED;
    alg_none: format!("{}.{}.", encode(r#"{"alg":"none","typ":"JWT"}"#), encode(&valid().to_string()))
        => refused("algorithm not allowed; tokens must be signed with RS256");
    hs256_with_the_public_key_as_secret: {
        let secret = fixture("tests/fixtures/keys/test_public.pem");
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &valid(), &EncodingKey::from_secret(secret.as_bytes())).expect("signs")
    } => refused("algorithm not allowed; tokens must be signed with RS256");
    rs512_with_the_right_key: signed_as(Algorithm::RS512, &valid())
        => refused("algorithm not allowed; tokens must be signed with RS256");
    ps256_with_the_right_key: signed_as(Algorithm::PS256, &valid())
        => refused("algorithm not allowed; tokens must be signed with RS256");
    a_header_claiming_rs256_over_an_rs512_signature: {
        let rs512 = signed_as(Algorithm::RS512, &valid());
        let mut parts = rs512.splitn(2, '.');
        let _ = parts.next();
        format!("{}.{}", encode(r#"{"alg":"RS256","typ":"JWT"}"#), parts.next().unwrap_or_default())
    } => refused("invalid signature");
    signed_with_another_key: sign_with(&valid(), "tests/fixtures/keys/other_private.pem")
        => refused("invalid signature");
    expired: sign(&with(valid(), "exp", json!(now() - 60))) => (401, "Token has expired");
    expired_within_the_leeway: sign(&with(valid(), "exp", json!(now() - 2))) => ACCEPTED;
    no_expiry: sign(&without(valid(), "exp")) => refused("the token has no expiry (exp)");
    expiry_that_is_not_a_number: sign(&with(valid(), "exp", json!("tomorrow"))) => refused("the token has no expiry (exp)");
    not_valid_yet_beyond_the_leeway: sign(&with(valid(), "nbf", json!(now() + 60)))
        => refused("token is not valid yet (nbf)");
    not_valid_before_a_time_that_is_not_a_number: sign(&with(valid(), "nbf", json!("soon")))
        => refused("malformed claims");
    not_valid_yet_within_the_leeway: sign(&with(valid(), "nbf", json!(now() + 2))) => ACCEPTED;
    issued_in_the_future_beyond_the_leeway: sign(&with(valid(), "iat", json!(now() + 60)))
        => refused("token was issued in the future (iat)");
    issued_in_the_future_within_the_leeway: sign(&with(valid(), "iat", json!(now() + 2))) => ACCEPTED;
    no_subject: sign(&without(valid(), "sub")) => refused("the token names no user (sub)");
    a_subject_that_is_not_a_user: sign(&with(valid(), "sub", json!("org_2Tti8BTY5E6lxc3WqMO5R0U0ILB")))
        => refused("invalid `sub` claim: expected a Clerk user id");
    no_authorized_party: sign(&without(valid(), "azp"))
        => refused("the token names no authorized party (azp)");
    an_authorized_party_not_listed: sign(&with(valid(), "azp", json!("https://evil.example")))
        => refused("unexpected authorized party (azp)");
    the_second_listed_party: sign(&with(valid(), "azp", json!("https://app.example.test"))) => ACCEPTED;
    another_clerk_instance: sign(&with(valid(), "iss", json!("https://clerk.other.test")))
        => refused("unexpected issuer (iss)");
    no_issuer: sign(&without(valid(), "iss")) => refused("the token names no issuer (iss)");
    a_pending_session: sign(&with(with(valid(), "v", json!(2)), "sts", json!("pending")))
        => refused("the session is pending (sign-in is not complete)");
    an_unknown_claims_version: sign(&with(valid(), "v", json!(9)))
        => refused("invalid `v` claim: expected session token version 1 or 2");
    an_unreadable_permission_map: sign(&json!({
        "sub": USER, "exp": now() + 60, "iss": ISSUER, "azp": "http://localhost:3000", "v": 2,
        "fea": "o:dashboard", "o": {"id": "org_1", "rol": "admin", "per": "read", "fpm": "7"}
    })) => refused("invalid `o.fpm` claim: expected bitmasks with no bit past the end of `o.per`");
    one_segment: "eyJhbGciOiJSUzI1NiJ9".to_owned() => refused("malformed token");
    two_segments: format!("{}.{}", encode(r#"{"alg":"RS256"}"#), encode("{}")) => refused("malformed token");
    four_segments: format!("{}.x", sign(&valid())) => refused("malformed token");
    a_header_that_is_not_base64: "!!!.e30.sig".to_owned() => refused("malformed token");
    a_header_that_is_not_json: format!("{}.e30.sig", encode("alg=RS256")) => refused("malformed token");
    a_signed_payload_that_is_not_json: signed_raw(r#"{"alg":"RS256","typ":"JWT"}"#, "not json")
        => refused("malformed claims");
    a_signature_that_is_not_base64: format!("{}!!", sign(&valid())) => refused("malformed token");
    a_critical_header_extension: signed_raw(r#"{"alg":"RS256","typ":"JWT","crit":["b64"],"b64":false}"#, &valid().to_string())
        => refused("the token requires header extensions (crit) this server does not support");
    a_null_crit: signed_raw(r#"{"alg":"RS256","typ":"JWT","crit":null}"#, &valid().to_string())
        => refused("the token requires header extensions (crit) this server does not support");
    an_empty_crit_list: signed_raw(r#"{"alg":"RS256","typ":"JWT","crit":[]}"#, &valid().to_string())
        => refused("the token requires header extensions (crit) this server does not support");
    an_oversized_token: sign(&with(valid(), "padding", json!("x".repeat(9000))))
        => refused("token is too large");
}

#[actix_web::test]
async fn the_bearer_token_wins_over_the_cookie() {
    let server = pinned_server(&[]).await;
    let good = sign(&valid());
    let bad = sign_with(&valid(), "tests/fixtures/keys/other_private.pem");
    let both = |bearer: &str, cookie: &str| {
        server
            .client
            .get(server.url("/api/v1/auth/me/"))
            .bearer_auth(bearer)
            .header("cookie", format!("__session={cookie}"))
    };
    let (status, _, _) = outcome(&server, both(&good, &bad)).await;
    assert_eq!(status, 404, "a good bearer with a bad cookie is accepted");
    let (status, challenge, detail) = outcome(&server, both(&bad, &good)).await;
    assert_eq!(
        (status, challenge.as_deref(), detail.as_str()),
        (
            401,
            Some("Bearer"),
            "Could not validate credentials: invalid signature"
        ),
        "a bad bearer is refused, never rescued by the cookie"
    );
}

#[actix_web::test]
async fn pending_sessions_pass_when_configured() {
    let server = pinned_server(&[("CLERK_ACCEPT_PENDING_SESSIONS", "true")]).await;
    let pending = sign(&with(with(valid(), "v", json!(2)), "sts", json!("pending")));
    let (status, _, _) = check(&server, &pending).await;
    assert_eq!(status, 404);
}
