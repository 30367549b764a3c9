//! What verifying one delivery costs, next to the bare HMAC-SHA256 of the same body that it
//! cannot do without: the difference is header parsing, the timestamp check, base64 and the
//! constant-time comparison.
//!
//! `cargo bench -p clerk-sync-svix --bench verify`.

#![expect(
    clippy::expect_used,
    reason = "a benchmark whose setup fails has nothing to measure"
)]
#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented functions"
)]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clerk_sync_svix::{Verifier, WebhookSecret};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A JSON-looking body of exactly `len` bytes.
fn body(len: usize) -> Vec<u8> {
    let mut body =
        br#"{"type":"user.updated","data":{"id":"user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE","padding":""#
            .to_vec();
    body.resize(len - 3, b'x');
    body.extend_from_slice(br#""}}"#);
    body
}

fn verification(c: &mut Criterion) {
    let secret = WebhookSecret::parse(SECRET).expect("a valid secret");
    let key = STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .expect("base64");
    let verifier = Verifier::new(secret.clone());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();

    let mut group = c.benchmark_group("svix");
    for len in [1024, 10 * 1024] {
        let body = body(len);
        let headers = secret.signed_headers("msg_2VpUG6M2aNvZUuqG2SgEAZ5kNKE", now, &body);
        assert!(verifier.verify(&body, &headers).is_ok());
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("verify", len), &body, |b, body| {
            b.iter(|| verifier.verify(black_box(body), black_box(&headers)));
        });
        group.bench_with_input(
            BenchmarkId::new("bare_hmac_sha256", len),
            &body,
            |b, body| {
                b.iter(|| {
                    let mut mac =
                        Hmac::<Sha256>::new_from_slice(black_box(&key)).expect("any key length");
                    mac.update(black_box(body));
                    mac.finalize().into_bytes()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, verification);
criterion_main!(benches);
