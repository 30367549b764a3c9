//! Authentication: Clerk session tokens, from the `Authorization: Bearer` header or Clerk's
//! `__session` cookie, verified with a PEM key or a JWKS endpoint into a [`Session`]
//! extractor, remembered in a bounded cache of verified tokens; and [`require_membership`], the
//! guard of organization-scoped routes.

mod account;
mod cache;
mod extractor;
mod guard;
mod jwks;
mod keys;
mod rsa;
mod token;

pub use account::usable;
pub use cache::TokenCacheStats;
pub use extractor::Session;
pub use guard::{OrganizationAccess, OrganizationMember, require_membership};
pub use jwks::{JwksCache, JwksOptions, retry_delay};
pub use keys::{InvalidKey, KeySource};
pub use rsa::install_crypto_provider;
pub use token::{MAX_TOKEN_BYTES, TokenError, TokenPolicy, TokenRefusal, TokenVerifier};

/// The test key pairs of `tests/fixtures/keys/`.
#[cfg(test)]
mod test_keys {
    /// The text of `tests/fixtures/keys/{name}`.
    pub(crate) fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../../tests/fixtures/keys/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).expect("the test keys")
    }
}
