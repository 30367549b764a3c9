//! Verifying Clerk session tokens (RS256 JWTs) into an [`AuthContext`].
//!
//! In order: size, header (`alg` must be RS256, no `crit`; `kid` picks the JWKS key), signature, `exp`
//! and `nbf` (with leeway), `iss` when pinned, `sub`, `iat` not in the future, `azp` when
//! authorized parties are configured, the claims' meaning, and last the session status.
//!
//! With a token cache ([`TokenVerifier::with_cache`]), a token that passed all of that is
//! remembered: its next requests re-check only its times and that its key is still the one
//! its `kid` names (see the `cache` module).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clerk_sync_domain::{AuthContext, DomainError, SessionStatus, SessionTokenClaims};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::cache::{
    TokenCache, TokenHash, TokenTimes, VerifiedToken, issued_in_future, unix_seconds,
};
use super::{InvalidKey, KeySource, TokenCacheStats};

/// The longest token read. Clerk's session tokens are about 1 KB and live in a cookie, which
/// browsers cap at 4 KB; anything much larger is refused before it is decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a session token was refused. The `Display` text is the response's `detail`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Neither an `Authorization: Bearer` header nor a `__session` cookie.
    #[error(
        "Not authenticated: send the Clerk session token as `Authorization: Bearer <token>` or the `__session` cookie"
    )]
    Missing,
    /// `exp` has passed (beyond the leeway).
    #[error("Token has expired")]
    Expired,
    /// Anything else: bad signature, algorithm, key, encoding, time or party claims.
    #[error("Could not validate credentials: {0}")]
    Invalid(TokenRefusal),
    /// A claim whose content does not mean what Clerk's claims mean.
    #[error("Could not validate credentials: {0}")]
    Claims(DomainError),
}

impl TokenError {
    /// A short, stable name of the reason, for the `reason` label of the token rejection
    /// metric: `missing`, `expired`, `invalid_claims`, or the [`TokenRefusal::label`].
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Expired => "expired",
            Self::Claims(_) => "invalid_claims",
            Self::Invalid(refusal) => refusal.label(),
        }
    }
}

/// Why a token that is there, and not expired, was refused. The `Display` text ends the
/// response's `detail`; [`TokenRefusal::label`] names it in metrics.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token is too large")]
    TooLarge,
    /// Not three base64url parts with a JSON header.
    #[error("malformed token")]
    Malformed,
    /// Signed with anything but RS256 (`none`, the HMAC family, …).
    #[error("algorithm not allowed; tokens must be signed with RS256")]
    AlgorithmNotAllowed,
    /// A `crit` header.
    #[error("the token requires header extensions (crit) this server does not support")]
    CriticalExtensions,
    /// `nbf` is still ahead (beyond the leeway).
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    /// The signature does not verify with the key.
    #[error("invalid signature")]
    InvalidSignature,
    /// No `exp`.
    #[error("the token has no expiry (exp)")]
    NoExpiry,
    /// No `iss`, while the issuer is pinned.
    #[error("the token names no issuer (iss)")]
    NoIssuer,
    /// No `sub`.
    #[error("the token names no user (sub)")]
    NoSubject,
    /// `iss` is not the pinned issuer.
    #[error("unexpected issuer (iss)")]
    UnexpectedIssuer,
    /// Claims that are not JSON of the expected types.
    #[error("malformed claims")]
    MalformedClaims,
    /// The key cannot verify RS256 signatures.
    #[error("the signing key cannot be used")]
    UnusableKey,
    /// `iat` is ahead (beyond the leeway).
    #[error("token was issued in the future (iat)")]
    IssuedInFuture,
    /// No `azp`, while authorized parties are configured.
    #[error("the token names no authorized party (azp)")]
    NoAuthorizedParty,
    /// `azp` is not one of the authorized parties.
    #[error("unexpected authorized party (azp)")]
    UnexpectedAuthorizedParty,
    /// The session's status is `pending`, and pending sessions are not accepted.
    #[error("the session is pending (sign-in is not complete)")]
    SessionPending,
    /// No `kid`, while the keys come from a JWKS endpoint.
    #[error("the token names no signing key (kid)")]
    NoKeyId,
    /// A `kid` the JWKS endpoint does not list.
    #[error("unknown signing key (kid); the keys may have been rotated")]
    UnknownKey,
    /// The JWKS endpoint could not be read, and no keys are held.
    #[error("the signing keys (JWKS) could not be fetched; try again shortly")]
    KeysUnavailable,
}

impl TokenRefusal {
    /// Every refusal, for tests and documentation.
    pub const ALL: [Self; 19] = [
        Self::TooLarge,
        Self::Malformed,
        Self::AlgorithmNotAllowed,
        Self::CriticalExtensions,
        Self::NotYetValid,
        Self::InvalidSignature,
        Self::NoExpiry,
        Self::NoIssuer,
        Self::NoSubject,
        Self::UnexpectedIssuer,
        Self::MalformedClaims,
        Self::UnusableKey,
        Self::IssuedInFuture,
        Self::NoAuthorizedParty,
        Self::UnexpectedAuthorizedParty,
        Self::SessionPending,
        Self::NoKeyId,
        Self::UnknownKey,
        Self::KeysUnavailable,
    ];

    /// The refusal's name in the token rejection metric. These values are a contract
    /// (dashboards and alerts select on them): never change one.
    pub fn label(self) -> &'static str {
        match self {
            Self::TooLarge => "token_is_too_large",
            Self::Malformed => "malformed_token",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::CriticalExtensions => "the_token_requires_header_extensions",
            Self::NotYetValid => "token_is_not_valid_yet",
            Self::InvalidSignature => "invalid_signature",
            Self::NoExpiry => "the_token_has_no_expiry",
            Self::NoIssuer => "the_token_names_no_issuer",
            Self::NoSubject => "the_token_names_no_user",
            Self::UnexpectedIssuer => "unexpected_issuer",
            Self::MalformedClaims => "malformed_claims",
            Self::UnusableKey => "the_signing_key_cannot_be_used",
            Self::IssuedInFuture => "token_was_issued_in_the_future",
            Self::NoAuthorizedParty => "the_token_names_no_authorized_party",
            Self::UnexpectedAuthorizedParty => "unexpected_authorized_party",
            Self::SessionPending => "the_session_is_pending",
            Self::NoKeyId => "the_token_names_no_signing_key",
            Self::UnknownKey => "unknown_signing_key",
            Self::KeysUnavailable => "the_signing_keys",
        }
    }
}

/// The checks beyond the signature, as configured.
#[derive(Clone, Debug)]
pub struct TokenPolicy {
    /// Clock difference tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// The expected `iss` (the instance's Frontend API URL); `None` checks nothing.
    pub issuer: Option<String>,
    /// The accepted `azp` origins; when set, a token without `azp` is refused too.
    pub authorized_parties: Option<Vec<String>>,
    /// Accept sessions whose status is `pending` (signed in, with a task left).
    pub accept_pending: bool,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            leeway: Duration::from_secs(5),
            issuer: None,
            authorized_parties: None,
            accept_pending: false,
        }
    }
}

/// The trusted keys and the checks session tokens must pass; clones share one token cache.
#[derive(Clone, Debug)]
pub struct TokenVerifier {
    keys: KeySource,
    policy: TokenPolicy,
    validation: Validation,
    /// Tokens verified already; `None` verifies every token afresh.
    cache: Option<Arc<TokenCache>>,
}

/// The claims read from a verified token: Clerk's, and the times its cache entry is
/// re-checked with (jsonwebtoken checks them on the first verification, and keeps them).
#[derive(Deserialize)]
struct ReadClaims {
    #[serde(flatten)]
    clerk: SessionTokenClaims,
    #[serde(default, deserialize_with = "number_or_none")]
    exp: Option<f64>,
    #[serde(default, deserialize_with = "number_or_none")]
    nbf: Option<f64>,
}

/// A time claim when it is a number, else `None`: what a time that is no number means
/// (`exp` missing, `nbf` malformed) stays jsonwebtoken's to say, as without the cache.
fn number_or_none<'de, D: serde::Deserializer<'de>>(field: D) -> Result<Option<f64>, D::Error> {
    serde_json::Value::deserialize(field).map(|value| value.as_f64())
}

#[derive(Deserialize)]
struct WireHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Header extensions the signer requires the reader to understand (RFC 7515 §4.1.11);
    /// present at all (even empty or null, which the RFC forbids), the token is refused.
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// Whether a header field is there, whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(field: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(field).map(|_| true)
}

const BAD_ALGORITHM: TokenError = TokenError::Invalid(TokenRefusal::AlgorithmNotAllowed);
const MALFORMED: TokenError = TokenError::Invalid(TokenRefusal::Malformed);

/// Reads the header, refusing any algorithm but RS256 before anything else is read: `none`,
/// the HMAC family (whose "secret" would be the public key), and any other algorithm; then any
/// `crit` header, since this server implements no extension a signer could mark critical.
fn read_header(token: &str) -> Result<WireHeader, TokenError> {
    let (header, _) = token.split_once('.').ok_or(MALFORMED)?;
    let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| MALFORMED)?;
    let header: WireHeader = serde_json::from_slice(&header).map_err(|_| MALFORMED)?;
    if header.alg != "RS256" {
        return Err(BAD_ALGORITHM);
    }
    if header.crit {
        return Err(TokenError::Invalid(TokenRefusal::CriticalExtensions));
    }
    Ok(header)
}

fn rejection(kind: &ErrorKind) -> TokenError {
    TokenError::Invalid(match kind {
        ErrorKind::ExpiredSignature => return TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenRefusal::NotYetValid,
        ErrorKind::InvalidSignature => TokenRefusal::InvalidSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenRefusal::AlgorithmNotAllowed
        }
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => TokenRefusal::NoExpiry,
            "iss" => TokenRefusal::NoIssuer,
            _ => TokenRefusal::NoSubject,
        },
        ErrorKind::InvalidIssuer => TokenRefusal::UnexpectedIssuer,
        ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => TokenRefusal::MalformedClaims,
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => TokenRefusal::UnusableKey,
        _ => TokenRefusal::Malformed,
    })
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

impl TokenVerifier {
    /// A verifier trusting `keys` and enforcing `policy`.
    pub fn new(keys: KeySource, policy: TokenPolicy) -> Self {
        super::install_crypto_provider();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = policy.leeway.as_secs();
        validation.validate_nbf = true;
        validation.validate_aud = false;
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = &policy.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        Self {
            keys,
            policy,
            validation,
            cache: None,
        }
    }

    /// The verifier with a cache of at most `capacity` verified tokens (0: no cache), so that
    /// a token's signature is checked once rather than on each of its requests. Bounded
    /// memory: about 0.5–1 KB an entry (see the `cache` module).
    #[must_use]
    pub fn with_cache(self, capacity: usize) -> Self {
        let cache = (capacity > 0)
            .then(|| Arc::new(TokenCache::new(capacity, self.policy.leeway.as_secs())));
        Self { cache, ..self }
    }

    /// How the token cache was used so far; `None` without one.
    pub fn cache_stats(&self) -> Option<TokenCacheStats> {
        self.cache.as_deref().map(TokenCache::stats)
    }

    /// A verifier for tokens signed with the private half of `pem`, with the default checks
    /// and `leeway`.
    ///
    /// # Errors
    /// [`InvalidKey`] when `pem` is not an RSA public key in PEM format.
    pub fn from_pem(pem: &str, leeway: Duration) -> Result<Self, InvalidKey> {
        let policy = TokenPolicy {
            leeway,
            ..TokenPolicy::default()
        };
        Ok(Self::new(KeySource::pem(pem)?, policy))
    }

    /// The keys this verifier trusts.
    pub fn keys(&self) -> &KeySource {
        &self.keys
    }

    /// Verifies a token and returns who it speaks for.
    ///
    /// # Errors
    /// [`TokenError::Expired`], or [`TokenError::Invalid`] / [`TokenError::Claims`] with the
    /// reason.
    pub async fn verify(&self, token: &str) -> Result<AuthContext, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid(TokenRefusal::TooLarge));
        }
        let Some(cache) = &self.cache else {
            return self
                .verify_signed(token)
                .await
                .map(|verified| verified.context);
        };
        let hash = TokenHash::of(token);
        if let Some(entry) = cache.get(&hash) {
            match self.still_valid(&entry).await {
                Ok(true) => {
                    cache.count_hit();
                    return Ok(entry.context.clone());
                }
                // Its key was rotated out or replaced: verified afresh, which refuses it as
                // any token signed with a key no longer trusted.
                Ok(false) => cache.remove(&hash, &entry),
                Err(expired) => {
                    cache.remove(&hash, &entry);
                    cache.count_miss();
                    return Err(expired);
                }
            }
        }
        cache.count_miss();
        let verified = self.verify_signed(token).await?;
        let context = verified.context.clone();
        cache.insert(hash, verified, unix_seconds(unix_now()));
        Ok(context)
    }

    /// Every check but the size, with the key the token's `kid` names.
    async fn verify_signed(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let header = read_header(token)?;
        let key = self.keys.key(header.kid.as_deref()).await?;
        let claims = jsonwebtoken::decode::<ReadClaims>(token, &key, &self.validation)
            .map_err(|err| rejection(err.kind()))?
            .claims;
        let context = self.check(&claims.clerk)?;
        // Required by the validation, so always there once decoded.
        let exp = claims
            .exp
            .ok_or(TokenError::Invalid(TokenRefusal::NoExpiry))?;
        Ok(VerifiedToken {
            context,
            times: TokenTimes::new(exp, claims.nbf, claims.clerk.iat),
            kid: header.kid.map(String::into_boxed_str),
            key,
        })
    }

    /// Whether a cached token is still good: its times now, with the same leeway, and its
    /// key still the one its `kid` names (asking the key source also keeps the JWKS refreshed
    /// after its TTL, as uncached verification does).
    ///
    /// # Errors
    /// The answer to the token's times, such as [`TokenError::Expired`].
    async fn still_valid(&self, entry: &VerifiedToken) -> Result<bool, TokenError> {
        entry.times.check(unix_now(), self.policy.leeway)?;
        let current = self.keys.key(entry.kid.as_deref()).await;
        Ok(current.is_ok_and(|key| entry.verified_with(&key)))
    }

    /// The checks on verified claims that the JWT library does not make.
    fn check(&self, claims: &SessionTokenClaims) -> Result<AuthContext, TokenError> {
        if issued_in_future(claims.iat, unix_now(), self.policy.leeway) {
            return Err(TokenError::Invalid(TokenRefusal::IssuedInFuture));
        }
        if let Some(parties) = &self.policy.authorized_parties {
            let azp = claims
                .azp
                .as_deref()
                .ok_or(TokenError::Invalid(TokenRefusal::NoAuthorizedParty))?;
            if !parties.iter().any(|party| party == azp) {
                return Err(TokenError::Invalid(TokenRefusal::UnexpectedAuthorizedParty));
            }
        }
        let context = AuthContext::from_claims(claims).map_err(TokenError::Claims)?;
        if context.status == SessionStatus::Pending && !self.policy.accept_pending {
            return Err(TokenError::Invalid(TokenRefusal::SessionPending));
        }
        Ok(context)
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::super::test_keys::fixture;
    use super::*;

    fn now() -> u64 {
        unix_seconds(unix_now())
    }

    /// A token for `user_1`, valid for a minute, signed with `{key}_private.pem`.
    fn signed_by(key: &str, exp: u64) -> String {
        let private = fixture(&format!("{key}_private.pem"));
        let key = EncodingKey::from_rsa_pem(private.as_bytes()).expect("a private key");
        let claims = json!({"sub": "user_1", "sid": "sess_1", "iat": now(), "exp": exp});
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signs")
    }

    fn valid_token() -> String {
        signed_by("test", now() + 60)
    }

    fn cached_verifier(capacity: usize) -> TokenVerifier {
        TokenVerifier::from_pem(&fixture("test_public.pem"), Duration::from_secs(5))
            .expect("the test key")
            .with_cache(capacity)
    }

    /// Verifies without a runtime: with a PEM key nothing is awaited.
    fn verify(verifier: &TokenVerifier, token: &str) -> Result<AuthContext, TokenError> {
        verifier
            .verify(token)
            .now_or_never()
            .expect("a PEM key needs no fetch")
    }

    /// What verifying `token` establishes, as its cache entry holds it.
    fn verified(verifier: &TokenVerifier, token: &str) -> VerifiedToken {
        verifier
            .verify_signed(token)
            .now_or_never()
            .expect("a PEM key needs no fetch")
            .expect("a valid token")
    }

    /// A verifier whose cache holds a valid token's entry as `change` made it, and the token.
    fn cached_as(change: impl FnOnce(&mut VerifiedToken)) -> (TokenVerifier, String) {
        let verifier = cached_verifier(16);
        let token = valid_token();
        let mut entry = verified(&verifier, &token);
        change(&mut entry);
        cache(&verifier).insert(TokenHash::of(&token), entry, now());
        (verifier, token)
    }

    fn stats(verifier: &TokenVerifier) -> TokenCacheStats {
        verifier.cache_stats().expect("a cache")
    }

    fn cache(verifier: &TokenVerifier) -> &TokenCache {
        verifier.cache.as_deref().expect("a cache")
    }

    #[test]
    fn a_token_is_verified_once_then_answered_from_the_cache() {
        let verifier = cached_verifier(16);
        let token = valid_token();
        for _ in 0..3 {
            let context = verify(&verifier, &token).expect("a valid token");
            assert_eq!(context.user_id.as_str(), "user_1");
        }
        let expected = TokenCacheStats {
            hits: 2,
            misses: 1,
            evictions: 0,
        };
        assert_eq!(stats(&verifier), expected);
    }

    #[test]
    fn a_refused_token_is_never_cached() {
        let verifier = cached_verifier(16);
        let forged = signed_by("other", now() + 60);
        let expired = signed_by("test", now() - 60);
        for _ in 0..3 {
            assert_eq!(
                verify(&verifier, &forged),
                Err(TokenError::Invalid(TokenRefusal::InvalidSignature))
            );
            assert_eq!(verify(&verifier, &expired), Err(TokenError::Expired));
        }
        assert_eq!(stats(&verifier).hits, 0);
        assert_eq!(stats(&verifier).misses, 6);
        assert!(cache(&verifier).get(&TokenHash::of(&forged)).is_none());
        assert!(cache(&verifier).get(&TokenHash::of(&expired)).is_none());
    }

    #[test]
    fn a_cached_token_past_its_exp_is_refused_as_expired_and_dropped() {
        // As its entry will be once its exp has passed, beyond the leeway.
        let (verifier, token) = cached_as(|verified| verified.times.exp = now() - 6);
        let hash = TokenHash::of(&token);
        assert_eq!(verify(&verifier, &token), Err(TokenError::Expired));
        assert!(cache(&verifier).get(&hash).is_none(), "dropped");
        assert_eq!(stats(&verifier).hits, 0);
    }

    #[test]
    fn a_cached_token_whose_key_is_no_longer_trusted_is_verified_afresh() {
        let KeySource::Pem(other) = KeySource::pem(&fixture("other_public.pem")).expect("a key")
        else {
            panic!("a PEM key source");
        };
        // As if it had been verified with a key since rotated out.
        let (verifier, token) = cached_as(|verified| verified.key = other);
        assert!(verify(&verifier, &token).is_ok());
        assert_eq!(stats(&verifier).hits, 0, "the stale entry was not used");
        assert!(verify(&verifier, &token).is_ok());
        assert_eq!(stats(&verifier).hits, 1, "the fresh entry is");
    }

    #[test]
    fn a_full_cache_evicts_and_counts() {
        let verifier = cached_verifier(2);
        let tokens: Vec<String> = (0..4).map(|i| signed_by("test", now() + 60 + i)).collect();
        for token in &tokens {
            assert!(verify(&verifier, token).is_ok());
        }
        assert_eq!(stats(&verifier).evictions, 2);
        assert!(verify(&verifier, &tokens[0]).is_ok());
        assert_eq!(stats(&verifier).hits, 0, "the oldest was evicted");
        assert!(verify(&verifier, &tokens[3]).is_ok());
        assert_eq!(stats(&verifier).hits, 1);
    }

    #[test]
    fn a_size_of_zero_turns_the_cache_off() {
        let verifier = cached_verifier(0);
        assert!(verify(&verifier, &valid_token()).is_ok());
        assert_eq!(verifier.cache_stats(), None);
    }

    /// How labels were once derived from the refusal's text (up to its first `;` or `(`, in
    /// snake case): the labels each variant now states must stay these.
    fn label_of_text(text: &str) -> String {
        let head = text.split([';', '(']).next().unwrap_or(text).trim();
        head.split_whitespace().collect::<Vec<_>>().join("_")
    }

    #[test]
    fn every_refusal_has_its_own_label_and_keeps_the_published_one() {
        let mut labels: Vec<&str> = TokenRefusal::ALL.iter().map(|r| r.label()).collect();
        for refusal in TokenRefusal::ALL {
            assert_eq!(
                refusal.label(),
                label_of_text(&refusal.to_string()),
                "{refusal:?}"
            );
            assert_eq!(TokenError::Invalid(refusal).reason(), refusal.label());
        }
        let claims = TokenError::Claims(DomainError::InvalidEmail);
        labels.extend([
            TokenError::Missing.reason(),
            TokenError::Expired.reason(),
            claims.reason(),
        ]);
        assert_eq!(
            labels[labels.len() - 3..],
            ["missing", "expired", "invalid_claims"]
        );
        let count = labels.len();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), count, "labels are distinct: {labels:?}");
    }
}
