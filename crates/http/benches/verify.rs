//! What verifying one session token with the PEM key costs, next to the bare RSA-2048
//! signature check of the same key and token that it cannot do without: with ring (what the
//! verifier uses, see `install_crypto_provider`) and with RustCrypto (jsonwebtoken's default);
//! and what a token already in the verifier's cache costs (`verify_cached`, the common case:
//! a browser sends one token for up to a minute).
//!
//! `cargo bench -p clerk-sync-http --bench verify`; the target is a ratio of at most 1.5 to
//! the bare ring check.

#![expect(
    clippy::expect_used,
    reason = "a benchmark whose setup fails has nothing to measure"
)]
#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented functions"
)]

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clerk_sync_http::auth::TokenVerifier;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha2::{Digest, Sha256};

fn key(name: &str) -> String {
    let path = format!(
        "{}/../../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).expect("the test keys")
}

/// A version 2 token with an active organization, as Clerk issues them.
fn session_token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    let claims = serde_json::json!({
        "azp": "https://app.example.com", "exp": now + 3600, "fva": [7, -1], "iat": now,
        "iss": "https://clerk.example.com", "jti": "0b5f1c2a9e4d3b7c6a1f", "nbf": now - 10,
        "sid": "sess_2VpUJSJ8lEkvZ8dXsJXJVJpaJ2h", "sts": "active",
        "sub": "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE", "v": 2, "pla": "o:pro",
        "fea": "o:dashboard,u:ai_assistant,o:teams",
        "o": {"id": "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB", "rol": "admin",
              "slg": "analytical-engines", "per": "manage,read", "fpm": "3,2"}
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ins_2VpUG6M2aNvZUuqG2SgEAZ5kNKE".to_owned());
    let private = EncodingKey::from_rsa_pem(key("test_private.pem").as_bytes()).expect("a key");
    jsonwebtoken::encode(&header, &claims, &private).expect("signs")
}

fn verification(c: &mut Criterion) {
    // Before anything signs or verifies: jsonwebtoken's provider is chosen once per process.
    clerk_sync_http::auth::install_crypto_provider();
    let public_pem = key("test_public.pem");
    let token = session_token();
    let verifier = TokenVerifier::from_pem(&public_pem, Duration::from_secs(5)).expect("a key");
    let verified = verifier
        .verify(&token)
        .now_or_never()
        .expect("no waiting with a PEM key");
    assert!(verified.is_ok_and(|ctx| ctx.active_organization.is_some()));

    let public = RsaPublicKey::from_public_key_pem(&public_pem).expect("a key");
    let (message, signature) = token.rsplit_once('.').expect("a JWT");
    let signature = URL_SAFE_NO_PAD.decode(signature).expect("base64");
    let bare = || {
        let digest = Sha256::digest(black_box(message).as_bytes());
        public.verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &digest,
            black_box(&signature),
        )
    };
    assert!(bare().is_ok());
    let der = public.to_pkcs1_der().expect("PKCS#1 DER");
    let ring_key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_bytes());
    let bare_ring = || ring_key.verify(black_box(message).as_bytes(), black_box(&signature));
    assert!(bare_ring().is_ok());
    let cached = verifier.clone().with_cache(16);
    let first = cached.verify(&token).now_or_never().expect("no waiting");
    assert!(first.is_ok());

    let mut group = c.benchmark_group("session_token");
    group.bench_function("verify_with_pem_key", |b| {
        b.iter(|| verifier.verify(black_box(&token)).now_or_never())
    });
    group.bench_function("verify_cached", |b| {
        b.iter(|| cached.verify(black_box(&token)).now_or_never())
    });
    group.bench_function("bare_rsa2048_sha256_check_ring", |b| b.iter(bare_ring));
    group.bench_function("bare_rsa2048_sha256_check_rustcrypto", |b| b.iter(bare));
    group.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
