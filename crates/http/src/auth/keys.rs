//! Where the keys that sign session tokens come from: the instance's PEM public key, or its
//! JWKS endpoint.

use std::sync::Arc;

use jsonwebtoken::DecodingKey;

use super::jwks::{JwksCache, JwksOptions};
use super::{TokenError, TokenRefusal};

/// The key given could not be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "not an RSA public key in PEM format ({0}); copy the \"PEM Public Key\" from Clerk's dashboard (API keys → Show JWT public key)"
)]
pub struct InvalidKey(String);

/// The signing keys a verifier trusts.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// One PEM public key, configured: no network needed, any `kid` accepted.
    Pem(Arc<DecodingKey>),
    /// The keys of a JWKS endpoint, cached; a token's `kid` picks one.
    Jwks(Arc<JwksCache>),
}

impl KeySource {
    /// The key of a PEM document.
    ///
    /// `pem` may hold literal `\n` escapes instead of line breaks, as `.env` files often do.
    ///
    /// # Errors
    /// [`InvalidKey`] when `pem` is not an RSA public key in PEM format.
    pub fn pem(pem: &str) -> Result<Self, InvalidKey> {
        let pem = pem.trim().replace("\\n", "\n");
        DecodingKey::from_rsa_pem(pem.as_bytes())
            .map(|key| Self::Pem(Arc::new(key)))
            .map_err(|err| InvalidKey(err.to_string()))
    }

    /// The keys of a JWKS endpoint; nothing is fetched until a token needs a key.
    ///
    /// # Errors
    /// When the HTTP client cannot be built, with the reason.
    pub fn jwks(options: JwksOptions) -> Result<Self, String> {
        JwksCache::new(options).map(|cache| Self::Jwks(Arc::new(cache)))
    }

    /// The key for a token whose header names `kid`.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] when JWKS is used and the token names no `kid`, or one that is
    /// unknown, or no keys could be fetched.
    pub async fn key(&self, kid: Option<&str>) -> Result<Arc<DecodingKey>, TokenError> {
        match self {
            Self::Pem(key) => Ok(Arc::clone(key)),
            Self::Jwks(cache) => {
                let kid = kid.ok_or(TokenError::Invalid(TokenRefusal::NoKeyId))?;
                cache.key(kid).await
            }
        }
    }
}
