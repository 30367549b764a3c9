//! Signing keys from a JWKS endpoint, cached, refetched on rotation, one fetch at a time.
//!
//! The rules:
//! - The first request loads the keys; after `ttl` they are refreshed. Neither counts against
//!   the refetch limit.
//! - A token whose `kid` is not among fresh keys triggers a refetch (a key rotation), at most
//!   one per `refetch_interval`; past that, the token is refused without a fetch.
//! - One fetch at a time (single-flight): requests that need keys while a fetch is in flight
//!   wait for it and use its result instead of fetching again. A request holding a key that
//!   is merely past its `ttl` does not wait: it uses that key while another request refreshes.
//! - When the endpoint fails, the keys already held keep working; the failure is logged once
//!   (until the endpoint answers again), and the next attempt waits for [`retry_delay`].

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::{DecodingKey, DecodingKeyKind};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::{TokenError, TokenRefusal};

/// The largest JWKS document read: Clerk's holds one or two keys of under a kilobyte each.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How a JWKS endpoint is reached and its keys cached.
#[derive(Clone, Debug)]
pub struct JwksOptions {
    /// The endpoint (`https://…/.well-known/jwks.json`; `http` is accepted too).
    pub url: reqwest::Url,
    /// How long fetched keys are used before they are refreshed.
    pub ttl: Duration,
    /// The least time between two refetches caused by an unknown `kid`.
    pub refetch_interval: Duration,
    /// How long one fetch may take.
    pub timeout: Duration,
}

impl JwksOptions {
    /// The endpoint as logs may show it: without user info or query, which could hold
    /// credentials.
    pub fn shown_url(&self) -> String {
        let mut url = self.url.clone();
        // Only fails for URLs that cannot have user info; those have none to hide.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        url.to_string()
    }
}

/// How long to wait after a failed fetch before trying again: the refetch interval, at most
/// 30 s, so that an endpoint that is down is not hammered and one that is back is soon used.
pub fn retry_delay(options: &JwksOptions) -> Duration {
    options.refetch_interval.min(Duration::from_secs(30))
}

#[derive(Default)]
struct Keys {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    /// When the keys were last fetched successfully.
    loaded_at: Option<Instant>,
    /// Completed fetch attempts, successful or not: a waiter that sees it change knows a
    /// fetch happened while it waited.
    attempts: u64,
    /// When the last attempt failed, while the endpoint is failing.
    failing_since: Option<Instant>,
    /// When the last refetch caused by an unknown `kid` started.
    last_kid_refetch: Option<Instant>,
}

/// A JWKS endpoint's keys, cached for one verifier (no global cache).
pub struct JwksCache {
    options: JwksOptions,
    client: reqwest::Client,
    keys: RwLock<Keys>,
    /// Held while a fetch is in flight.
    fetching: Mutex<()>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// No keys yet, or past their time to live.
    Refresh,
    /// A `kid` the fresh keys do not have.
    UnknownKid,
}

const UNKNOWN_KID: TokenError = TokenError::Invalid(TokenRefusal::UnknownKey);
const UNAVAILABLE: TokenError = TokenError::Invalid(TokenRefusal::KeysUnavailable);

impl JwksCache {
    /// The endpoint and its cache settings.
    pub fn options(&self) -> &JwksOptions {
        &self.options
    }

    /// A cache for the endpoint; nothing is fetched until a token needs a key.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS backend), with the reason.
    pub fn new(options: JwksOptions) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(concat!("clerk-sync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| err.to_string())?;
        Ok(Self {
            options,
            client,
            keys: RwLock::default(),
            fetching: Mutex::new(()),
        })
    }

    /// The key a token's `kid` names, fetching the keys when the rules above allow.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] when the `kid` is unknown (after a refetch, when allowed) or no
    /// keys could ever be fetched.
    pub async fn key(&self, kid: &str) -> Result<Arc<DecodingKey>, TokenError> {
        let (seen, key, fresh) = {
            let keys = self.read();
            let fresh = keys
                .loaded_at
                .is_some_and(|at| at.elapsed() < self.options.ttl);
            (keys.attempts, keys.by_kid.get(kid).cloned(), fresh)
        };
        match key {
            Some(key) if fresh => Ok(key),
            Some(stale) => {
                // Refresh unless another request already is; the stale key serves meanwhile.
                let Ok(_guard) = self.fetching.try_lock() else {
                    return Ok(stale);
                };
                if self.attempts() == seen && self.may_retry() {
                    self.fetch(Reason::Refresh).await;
                }
                // Refreshed now or by another request: a key since removed is refused.
                self.lookup(kid).ok_or(UNKNOWN_KID)
            }
            None => {
                let _guard = self.fetching.lock().await;
                if self.attempts() != seen {
                    // A fetch completed while this request waited: its result is the answer.
                    return self.lookup(kid).ok_or_else(|| self.missing());
                }
                let reason = if fresh {
                    Reason::UnknownKid
                } else {
                    Reason::Refresh
                };
                if self.may_fetch(reason) {
                    self.fetch(reason).await;
                }
                self.lookup(kid).ok_or_else(|| self.missing())
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn attempts(&self) -> u64 {
        self.read().attempts
    }

    fn lookup(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.read().by_kid.get(kid).cloned()
    }

    /// Why a `kid` was not found: no keys at all, or not among those held.
    fn missing(&self) -> TokenError {
        if self.read().loaded_at.is_some() {
            UNKNOWN_KID
        } else {
            UNAVAILABLE
        }
    }

    fn may_retry(&self) -> bool {
        self.read()
            .failing_since
            .is_none_or(|at| at.elapsed() >= retry_delay(&self.options))
    }

    fn may_fetch(&self, reason: Reason) -> bool {
        match reason {
            Reason::Refresh => self.may_retry(),
            Reason::UnknownKid => self
                .read()
                .last_kid_refetch
                .is_none_or(|at| at.elapsed() >= self.options.refetch_interval),
        }
    }

    /// Fetches the keys and records the outcome. The caller holds `fetching`.
    async fn fetch(&self, reason: Reason) {
        let started = Instant::now();
        if reason == Reason::UnknownKid {
            self.write().last_kid_refetch = Some(started);
        }
        let result = self.download().await;
        let mut keys = self.write();
        keys.attempts += 1;
        match result {
            Ok(by_kid) => {
                if keys.failing_since.take().is_some() {
                    let url = self.options.shown_url();
                    tracing::info!(url, "the JWKS endpoint answers again");
                }
                tracing::debug!(keys = by_kid.len(), "JWKS fetched");
                keys.by_kid = keep_unchanged(&keys.by_kid, by_kid);
                keys.loaded_at = Some(started);
            }
            Err(problem) => {
                if keys.failing_since.is_none() {
                    tracing::warn!(
                        url = self.options.shown_url(),
                        %problem,
                        cached_keys = keys.by_kid.len(),
                        "cannot fetch the JWKS; keys already fetched keep working"
                    );
                } else {
                    tracing::debug!(%problem, "the JWKS endpoint still fails");
                }
                keys.failing_since = Some(Instant::now());
            }
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Keys> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }

    async fn download(&self) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
        let mut response = self
            .client
            .get(self.options.url.clone())
            .send()
            .await
            .map_err(|err| format!("request failed: {err}"))?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| format!("reading the body failed: {err}"))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("the body is larger than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body)
    }
}

/// The fetched keys, where a key is unchanged (same `kid`, same modulus and exponent) the one
/// already held: what was verified with a key stays verified across a refresh that keeps it
/// (the token cache compares keys by identity), and ends with a refresh that drops or
/// replaces it.
fn keep_unchanged(
    held: &HashMap<String, Arc<DecodingKey>>,
    fetched: HashMap<String, Arc<DecodingKey>>,
) -> HashMap<String, Arc<DecodingKey>> {
    fetched
        .into_iter()
        .map(|(kid, key)| match held.get(&kid) {
            Some(old) if same_key(old, &key) => (kid, Arc::clone(old)),
            _ => (kid, key),
        })
        .collect()
}

fn same_key(a: &DecodingKey, b: &DecodingKey) -> bool {
    match (a.kind(), b.kind()) {
        (
            DecodingKeyKind::RsaModulusExponent { n, e },
            DecodingKeyKind::RsaModulusExponent { n: n2, e: e2 },
        ) => n == n2 && e == e2,
        (DecodingKeyKind::SecretOrDer(a), DecodingKeyKind::SecretOrDer(b)) => a == b,
        _ => false,
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RsaJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

/// The RS256 signing keys of a JWKS document, by `kid`; keys of other kinds are skipped.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<DecodingKey>>, String> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|err| format!("not a JWKS document: {err}"))?;
    let mut by_kid = HashMap::new();
    for key in set.keys {
        let Ok(jwk) = serde_json::from_value::<RsaJwk>(key) else {
            continue;
        };
        let usable = jwk.kty == "RSA"
            && jwk.alg.as_deref().is_none_or(|alg| alg == "RS256")
            && jwk.usage.as_deref().is_none_or(|usage| usage == "sig");
        if let (true, Some(kid), Some(n), Some(e)) = (usable, jwk.kid, jwk.n, jwk.e)
            && let Ok(key) = DecodingKey::from_rsa_components(&n, &e)
        {
            by_kid.insert(kid, Arc::new(key));
        }
    }
    if by_kid.is_empty() {
        return Err("the JWKS document holds no RS256 signing key with a kid".to_owned());
    }
    Ok(by_kid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_rs256_signing_keys_and_skips_the_rest() {
        let n = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
        let body = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "ins_a", "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "ins_b", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": n, "e": "AQAB"},
            {"kty": "RSA", "n": n, "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "x", "y": "y"},
            {"kty": "OKP", "kid": "future", "crv": "Ed448"}
        ]});
        let keys = parse_jwks(body.to_string().as_bytes()).expect("parses");
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["ins_a", "ins_b"]);
    }

    #[test]
    fn logs_show_the_url_without_credentials() {
        let options = JwksOptions {
            url: reqwest::Url::parse("https://user:secret@clerk.example.com/jwks?token=secret#x")
                .expect("a URL"),
            ttl: Duration::from_secs(1),
            refetch_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(options.shown_url(), "https://clerk.example.com/jwks");
    }

    #[test]
    fn a_refresh_keeps_the_held_key_when_unchanged_and_only_then() {
        let n = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";
        let document = |e: &str| {
            let body = serde_json::json!({"keys": [
                {"kty": "RSA", "kid": "ins_a", "n": n, "e": e},
                {"kty": "RSA", "kid": "ins_b", "n": n, "e": "AQAB"},
            ]});
            parse_jwks(body.to_string().as_bytes()).expect("parses")
        };
        let held = document("AQAB");
        let refreshed = keep_unchanged(&held, document("AQAB"));
        assert!(Arc::ptr_eq(&held["ins_a"], &refreshed["ins_a"]));
        let replaced = keep_unchanged(&held, document("AAEAAQ"));
        assert!(
            !Arc::ptr_eq(&held["ins_a"], &replaced["ins_a"]),
            "new key, same kid"
        );
        assert!(Arc::ptr_eq(&held["ins_b"], &replaced["ins_b"]));
    }

    #[test]
    fn a_document_without_usable_keys_is_a_failure() {
        assert!(parse_jwks(br#"{"keys": []}"#).is_err());
        assert!(parse_jwks(b"<html>").is_err());
    }
}
