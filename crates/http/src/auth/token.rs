//! Verifying Clerk session tokens (RS256 JWTs).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clerk_sync_domain::ClerkUserId;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The public key and the checks session tokens must pass.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("leeway_seconds", &self.validation.leeway)
            .finish_non_exhaustive()
    }
}

/// The key given could not be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "not an RSA public key in PEM format ({0}); copy the \"PEM Public Key\" from Clerk's dashboard (API keys → Show JWT public key)"
)]
pub struct InvalidKey(String);

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
    /// Anything else: bad signature, algorithm, claims, encoding.
    #[error("Could not validate credentials: {0}")]
    Invalid(&'static str),
}

/// What a verified session token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionClaims {
    /// The signed-in user (`sub`).
    pub user_id: ClerkUserId,
    /// The session (`sid`), when present.
    pub session_id: Option<String>,
}

#[derive(Deserialize)]
struct WireHeader {
    alg: String,
}

/// Refuses any algorithm but RS256 before anything else is read: `none`, the HMAC family
/// (whose "secret" would be the public key), and algorithms this verifier has no key for.
fn check_algorithm(token: &str) -> Result<(), TokenError> {
    let header = token.split('.').next().unwrap_or_default();
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Invalid("malformed token"))?;
    let header: WireHeader =
        serde_json::from_slice(&header).map_err(|_| TokenError::Invalid("malformed token"))?;
    if header.alg == "RS256" {
        Ok(())
    } else {
        Err(TokenError::Invalid(
            "algorithm not allowed; tokens must be signed with RS256",
        ))
    }
}

#[derive(Deserialize)]
struct WireClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

impl TokenVerifier {
    /// A verifier for tokens signed with the private half of `pem`.
    ///
    /// `pem` may hold literal `\n` escapes instead of line breaks, as `.env` files often do.
    /// `leeway` is the clock difference tolerated on `exp` and `nbf`.
    ///
    /// # Errors
    /// [`InvalidKey`] when `pem` is not an RSA public key in PEM format.
    pub fn from_pem(pem: &str, leeway: Duration) -> Result<Self, InvalidKey> {
        let pem = pem.trim().replace("\\n", "\n");
        let key =
            DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|err| InvalidKey(err.to_string()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = leeway.as_secs();
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self { key, validation })
    }

    /// Verifies a token and returns its claims.
    ///
    /// # Errors
    /// [`TokenError::Expired`] or [`TokenError::Invalid`] with the reason.
    pub fn verify(&self, token: &str) -> Result<SessionClaims, TokenError> {
        check_algorithm(token)?;
        let data = jsonwebtoken::decode::<WireClaims>(token, &self.key, &self.validation).map_err(
            |err| {
                TokenError::Invalid(match err.kind() {
                    ErrorKind::ExpiredSignature => return TokenError::Expired,
                    ErrorKind::ImmatureSignature => "token is not valid yet (nbf)",
                    ErrorKind::InvalidSignature => "invalid signature",
                    ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                        "algorithm not allowed; tokens must be signed with RS256"
                    }
                    ErrorKind::MissingRequiredClaim(claim) if claim == "exp" => {
                        "the token has no expiry (exp)"
                    }
                    ErrorKind::MissingRequiredClaim(_) => "the token names no user (sub)",
                    ErrorKind::InvalidIssuer => "unexpected issuer (iss)",
                    ErrorKind::Json(_) => "malformed claims",
                    _ => "malformed token",
                })
            },
        )?;
        let sub = data
            .claims
            .sub
            .ok_or(TokenError::Invalid("the token names no user (sub)"))?;
        let user_id = ClerkUserId::parse(&sub)
            .map_err(|_| TokenError::Invalid("`sub` is not a Clerk user id"))?;
        Ok(SessionClaims {
            user_id,
            session_id: data.claims.sid,
        })
    }
}
