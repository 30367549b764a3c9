//! Verifying Clerk session tokens (RS256 JWTs) into an [`AuthContext`].
//!
//! In order: size, header (`alg` must be RS256, no `crit`; `kid` picks the JWKS key), signature, `exp`
//! and `nbf` (with leeway), `iss` when pinned, `sub`, `iat` not in the future, `azp` when
//! authorized parties are configured, the claims' meaning, and last the session status.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clerk_sync_domain::{AuthContext, DomainError, SessionStatus, SessionTokenClaims};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::{InvalidKey, KeySource};

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
    Invalid(&'static str),
    /// A claim whose content does not mean what Clerk's claims mean.
    #[error("Could not validate credentials: {0}")]
    Claims(DomainError),
}

impl TokenError {
    /// A short, stable name of the reason, for metrics: `missing`, `expired`, `invalid_claims`,
    /// or the refusal's text up to its first `;` or `(`, in snake case (`invalid_signature`,
    /// `algorithm_not_allowed`, `unknown_signing_key`, …).
    pub fn reason(&self) -> String {
        match self {
            Self::Missing => "missing".to_owned(),
            Self::Expired => "expired".to_owned(),
            Self::Claims(_) => "invalid_claims".to_owned(),
            Self::Invalid(text) => {
                let head = text.split([';', '(']).next().unwrap_or(text).trim();
                head.split_whitespace().collect::<Vec<_>>().join("_")
            }
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

/// The trusted keys and the checks session tokens must pass.
#[derive(Clone, Debug)]
pub struct TokenVerifier {
    keys: KeySource,
    policy: TokenPolicy,
    validation: Validation,
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

const BAD_ALGORITHM: TokenError =
    TokenError::Invalid("algorithm not allowed; tokens must be signed with RS256");
const MALFORMED: TokenError = TokenError::Invalid("malformed token");
const CRITICAL_EXTENSIONS: TokenError =
    TokenError::Invalid("the token requires header extensions (crit) this server does not support");

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
        return Err(CRITICAL_EXTENSIONS);
    }
    Ok(header)
}

fn rejection(kind: &ErrorKind) -> TokenError {
    TokenError::Invalid(match kind {
        ErrorKind::ExpiredSignature => return TokenError::Expired,
        ErrorKind::ImmatureSignature => "token is not valid yet (nbf)",
        ErrorKind::InvalidSignature => "invalid signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            return BAD_ALGORITHM;
        }
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => "the token has no expiry (exp)",
            "iss" => "the token names no issuer (iss)",
            _ => "the token names no user (sub)",
        },
        ErrorKind::InvalidIssuer => "unexpected issuer (iss)",
        ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => "malformed claims",
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            "the signing key cannot be used"
        }
        _ => "malformed token",
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
        }
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
            return Err(TokenError::Invalid("token is too large"));
        }
        let header = read_header(token)?;
        let key = self.keys.key(header.kid.as_deref()).await?;
        let claims = jsonwebtoken::decode::<SessionTokenClaims>(token, &key, &self.validation)
            .map_err(|err| rejection(err.kind()))?
            .claims;
        self.check(&claims)
    }

    /// The checks on verified claims that the JWT library does not make.
    fn check(&self, claims: &SessionTokenClaims) -> Result<AuthContext, TokenError> {
        let leeway = self.policy.leeway.as_secs_f64();
        if claims.iat.is_some_and(|iat| iat > unix_now() + leeway) {
            return Err(TokenError::Invalid("token was issued in the future (iat)"));
        }
        if let Some(parties) = &self.policy.authorized_parties {
            let azp = claims.azp.as_deref().ok_or(TokenError::Invalid(
                "the token names no authorized party (azp)",
            ))?;
            if !parties.iter().any(|party| party == azp) {
                return Err(TokenError::Invalid("unexpected authorized party (azp)"));
            }
        }
        let context = AuthContext::from_claims(claims).map_err(TokenError::Claims)?;
        if context.status == SessionStatus::Pending && !self.policy.accept_pending {
            return Err(TokenError::Invalid(
                "the session is pending (sign-in is not complete)",
            ));
        }
        Ok(context)
    }
}
