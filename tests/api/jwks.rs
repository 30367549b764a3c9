//! Keys from a JWKS endpoint (a real local one): first load, rotation, the refetch limit,
//! single-flight, and an endpoint that is down with and without keys in the cache.
//!
//! Verification does not touch the database, so these run on SQLite only: a token accepted
//! for a user who is not synced answers 404, a refused one 401.

use std::time::Duration;

use clerk_sync_persistence::testing::TestDatabase;
use futures_util::future::join_all;

use crate::common::*;
use crate::jwks_server::{JwksServer, ROTATED_KEY, TEST_KEY};

const UNKNOWN_KID: &str =
    "Could not validate credentials: unknown signing key (kid); the keys may have been rotated";
const UNAVAILABLE: &str = "Could not validate credentials: the signing keys (JWKS) could not be fetched; try again shortly";

async fn app(jwks: &JwksServer, settings: &[(&str, &str)]) -> TestServer {
    let mut vars = vec![
        ("CLERK_JWT_PUBLIC_KEY", ""),
        ("CLERK_JWKS_URL", jwks.url.as_str()),
    ];
    vars.extend_from_slice(settings);
    TestServer::start(
        TestDatabase::sqlite().expect("a SQLite test database"),
        &vars,
    )
    .await
}

/// `Ok` when the token is accepted, else the 401's detail.
async fn verdict(server: &TestServer, token: &str) -> Result<(), String> {
    let (status, body) = server.get_as("/api/v1/auth/me/", token).await;
    match status {
        404 => Ok(()),
        401 => Err(body["detail"].as_str().unwrap_or_default().to_owned()),
        other => panic!("unexpected status {other}: {body}"),
    }
}

fn token(key: (&str, &str)) -> String {
    sign_kid(&claims("user_jwks"), key.1, key.0)
}

#[actix_web::test]
async fn keys_load_on_first_use_then_come_from_the_cache() {
    let jwks = JwksServer::start(&[TEST_KEY]).await;
    let server = app(&jwks, &[]).await;
    assert_eq!(
        jwks.fetches(),
        0,
        "nothing is fetched before a token needs a key"
    );
    for _ in 0..5 {
        assert_eq!(verdict(&server, &token(TEST_KEY)).await, Ok(()));
    }
    assert_eq!(jwks.fetches(), 1);
}

#[actix_web::test]
async fn a_rotated_key_is_fetched_and_accepted() {
    let jwks = JwksServer::start(&[TEST_KEY]).await;
    let server = app(&jwks, &[]).await;
    assert_eq!(verdict(&server, &token(TEST_KEY)).await, Ok(()));
    jwks.serve(&[TEST_KEY, ROTATED_KEY]);
    assert_eq!(verdict(&server, &token(ROTATED_KEY)).await, Ok(()));
    assert_eq!(jwks.fetches(), 2, "one refetch for the new kid");
    jwks.serve(&[ROTATED_KEY]);
    assert_eq!(
        verdict(&server, &token(TEST_KEY)).await,
        Ok(()),
        "until its TTL, the cache holds the old key"
    );
}

#[actix_web::test]
async fn unknown_kids_cause_at_most_one_refetch_per_interval() {
    let jwks = JwksServer::start(&[TEST_KEY]).await;
    let server = app(&jwks, &[("CLERK_JWKS_REFETCH_INTERVAL_SECONDS", "2")]).await;
    assert_eq!(verdict(&server, &token(TEST_KEY)).await, Ok(()));
    for i in 0..25 {
        let forged = sign_kid(&claims("user_jwks"), TEST_KEY.1, &format!("ins_flood_{i}"));
        assert_eq!(verdict(&server, &forged).await, Err(UNKNOWN_KID.to_owned()));
    }
    assert_eq!(
        jwks.fetches(),
        2,
        "the first load, then one refetch for the whole flood"
    );
    jwks.serve(&[TEST_KEY, ROTATED_KEY]);
    assert_eq!(
        verdict(&server, &token(ROTATED_KEY)).await,
        Err(UNKNOWN_KID.to_owned()),
        "the interval's refetch is spent"
    );
    assert_eq!(jwks.fetches(), 2);
    actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(verdict(&server, &token(ROTATED_KEY)).await, Ok(()));
    assert_eq!(jwks.fetches(), 3, "a new interval allows one more");
}

#[actix_web::test]
async fn concurrent_requests_share_one_fetch() {
    let jwks = JwksServer::start(&[TEST_KEY]).await;
    jwks.delay(Duration::from_millis(300));
    let server = app(&jwks, &[]).await;
    let test_token = token(TEST_KEY);
    let cold = join_all((0..12).map(|_| verdict(&server, &test_token))).await;
    assert!(cold.iter().all(Result::is_ok), "{cold:?}");
    assert_eq!(jwks.fetches(), 1, "a cold cache is loaded once");
    jwks.serve(&[TEST_KEY, ROTATED_KEY]);
    let rotated_token = token(ROTATED_KEY);
    let rotated = join_all((0..12).map(|_| verdict(&server, &rotated_token))).await;
    assert!(rotated.iter().all(Result::is_ok), "{rotated:?}");
    assert_eq!(jwks.fetches(), 2, "a new kid is fetched once");
}

#[actix_web::test]
async fn a_warm_cache_outlives_an_endpoint_that_is_down() {
    let jwks = JwksServer::start(&[TEST_KEY]).await;
    let server = app(&jwks, &[("CLERK_JWKS_CACHE_TTL_SECONDS", "1")]).await;
    assert_eq!(verdict(&server, &token(TEST_KEY)).await, Ok(()));
    jwks.fail(true);
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..5 {
        assert_eq!(
            verdict(&server, &token(TEST_KEY)).await,
            Ok(()),
            "the cached key keeps working"
        );
    }
    assert_eq!(
        jwks.fetches(),
        2,
        "one failed refresh, then a pause before the next try"
    );
    assert_eq!(
        verdict(&server, &token(ROTATED_KEY)).await,
        Err(UNKNOWN_KID.to_owned()),
        "a kid the cache lacks is still refused"
    );
}

#[actix_web::test]
async fn a_cold_cache_with_the_endpoint_down_is_401_not_500() {
    let jwks = JwksServer::start(&[TEST_KEY]).await;
    jwks.fail(true);
    let server = app(&jwks, &[("CLERK_JWKS_REFETCH_INTERVAL_SECONDS", "1")]).await;
    assert_eq!(
        verdict(&server, &token(TEST_KEY)).await,
        Err(UNAVAILABLE.to_owned())
    );
    assert_eq!(
        verdict(&server, &token(TEST_KEY)).await,
        Err(UNAVAILABLE.to_owned())
    );
    assert_eq!(jwks.fetches(), 1, "no retry before the pause is over");
    jwks.fail(false);
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        verdict(&server, &token(TEST_KEY)).await,
        Ok(()),
        "the endpoint is used again once back"
    );
}

#[actix_web::test]
async fn with_jwks_the_kid_must_name_the_key_that_signed() {
    let jwks = JwksServer::start(&[TEST_KEY, ROTATED_KEY]).await;
    let server = app(&jwks, &[]).await;
    let wrong_key = sign_kid(&claims("user_jwks"), ROTATED_KEY.1, TEST_KEY.0);
    assert_eq!(
        verdict(&server, &wrong_key).await,
        Err("Could not validate credentials: invalid signature".to_owned())
    );
    let attacker = sign_kid(
        &claims("user_jwks"),
        "tests/fixtures/keys/other",
        TEST_KEY.0,
    );
    assert_eq!(
        verdict(&server, &attacker).await,
        Err("Could not validate credentials: invalid signature".to_owned())
    );
    assert_eq!(
        verdict(&server, &sign(&claims("user_jwks"))).await,
        Err("Could not validate credentials: the token names no signing key (kid)".to_owned())
    );
}

#[actix_web::test]
async fn the_pem_key_is_preferred_and_needs_no_network() {
    let jwks = JwksServer::start(&[ROTATED_KEY]).await;
    let pem = fixture("tests/fixtures/keys/test_public.pem");
    let server = app(&jwks, &[("CLERK_JWT_PUBLIC_KEY", pem.as_str())]).await;
    assert_eq!(verdict(&server, &token(TEST_KEY)).await, Ok(()));
    assert_eq!(
        verdict(&server, &sign(&claims("user_jwks"))).await,
        Ok(()),
        "no kid needed"
    );
    assert!(verdict(&server, &token(ROTATED_KEY)).await.is_err());
    assert_eq!(jwks.fetches(), 0);
}

const HITS: &str = r#"clerk_sync_token_cache_total{result="hit"}"#;

#[actix_web::test]
async fn a_cached_token_is_refused_once_a_refetch_drops_its_key() {
    let jwks = JwksServer::start(&[TEST_KEY]).await;
    let server = app(&jwks, &[]).await;
    let cached = token(TEST_KEY);
    assert_eq!(verdict(&server, &cached).await, Ok(()));
    assert_eq!(verdict(&server, &cached).await, Ok(()));
    assert_eq!(
        counter(&server, HITS).await,
        1,
        "the second came from the cache"
    );
    jwks.serve(&[ROTATED_KEY]);
    assert_eq!(
        verdict(&server, &token(ROTATED_KEY)).await,
        Ok(()),
        "a token of the new key makes the refetch that drops the old one"
    );
    assert_eq!(jwks.fetches(), 2);
    assert_eq!(
        verdict(&server, &cached).await,
        Err(UNKNOWN_KID.to_owned()),
        "cached, but its key is gone"
    );
    assert_eq!(counter(&server, HITS).await, 1);
}

/// A server whose JWKS keys live a second, and a token it accepted (and cached).
async fn accepted_with_a_ttl_of_one_second() -> (JwksServer, TestServer, String) {
    let jwks = JwksServer::start(&[TEST_KEY]).await;
    let server = app(&jwks, &[("CLERK_JWKS_CACHE_TTL_SECONDS", "1")]).await;
    let cached = token(TEST_KEY);
    assert_eq!(verdict(&server, &cached).await, Ok(()));
    (jwks, server, cached)
}

#[actix_web::test]
async fn a_cached_token_is_refused_once_a_refresh_drops_its_key() {
    let (jwks, server, cached) = accepted_with_a_ttl_of_one_second().await;
    assert_eq!(verdict(&server, &cached).await, Ok(()));
    jwks.serve(&[ROTATED_KEY]);
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        verdict(&server, &cached).await,
        Err(UNKNOWN_KID.to_owned()),
        "answered from the cache alone, the keys would never be refreshed"
    );
    assert_eq!(counter(&server, HITS).await, 1);
}

#[actix_web::test]
async fn a_refresh_that_keeps_the_key_keeps_its_cached_tokens() {
    let (jwks, server, cached) = accepted_with_a_ttl_of_one_second().await;
    actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(verdict(&server, &cached).await, Ok(()));
    assert_eq!(jwks.fetches(), 2, "refreshed");
    assert_eq!(verdict(&server, &cached).await, Ok(()));
    assert_eq!(
        counter(&server, HITS).await,
        2,
        "neither request checked the signature"
    );
}
