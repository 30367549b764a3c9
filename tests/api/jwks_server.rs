//! A JWKS endpoint the tests control, on a real local port: it serves JWKs derived from the
//! test PEM keys, counts the requests it gets, and can rotate keys, answer 500 or be slow.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use crate::common::fixture;

/// The test key pairs, by the `kid` the JWKS endpoint gives them.
pub const TEST_KEY: (&str, &str) = ("ins_test", "tests/fixtures/keys/test");
pub const ROTATED_KEY: (&str, &str) = ("ins_rotated", "tests/fixtures/keys/rotated");

/// The JWK of a PEM public key (`{path}_public.pem`), as Clerk's endpoint writes it.
pub fn jwk(kid: &str, key: &str) -> Value {
    let pem = fixture(&format!("{key}_public.pem"));
    let public = rsa::RsaPublicKey::from_public_key_pem(&pem).expect("a test public key");
    json!({
        "use": "sig", "kty": "RSA", "kid": kid, "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    })
}

#[derive(Default)]
struct State {
    keys: Mutex<Vec<Value>>,
    failing: AtomicBool,
    delay_ms: AtomicU64,
    fetches: AtomicUsize,
}

/// The running endpoint; stopped on `Drop`.
pub struct JwksServer {
    pub url: String,
    state: Arc<State>,
    handle: actix_web::dev::ServerHandle,
}

async fn serve_jwks(state: web::Data<State>) -> HttpResponse {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        actix_web::rt::time::sleep(Duration::from_millis(delay)).await;
    }
    if state.failing.load(Ordering::SeqCst) {
        return HttpResponse::InternalServerError().body("down");
    }
    let keys = state.keys.lock().map(|k| k.clone()).unwrap_or_default();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}

impl JwksServer {
    /// Starts serving the given `(kid, key)` pairs at `/.well-known/jwks.json`.
    pub async fn start(keys: &[(&str, &str)]) -> Self {
        let state = Arc::new(State::default());
        let data = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/.well-known/jwks.json", web::get().to(serve_jwks))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("a free port");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let jwks = Self {
            url: format!("http://127.0.0.1:{port}/.well-known/jwks.json"),
            state,
            handle,
        };
        jwks.serve(keys);
        jwks
    }

    /// Serves these keys from now on (a rotation).
    pub fn serve(&self, keys: &[(&str, &str)]) {
        let keys = keys.iter().map(|(kid, key)| jwk(kid, key)).collect();
        if let Ok(mut held) = self.state.keys.lock() {
            *held = keys;
        }
    }

    /// Answers 500 from now on (`true`), or serves again (`false`).
    pub fn fail(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// Waits this long before each answer.
    pub fn delay(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.delay_ms.store(millis, Ordering::SeqCst);
    }

    /// How many requests it has received.
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
