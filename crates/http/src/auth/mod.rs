//! Authentication: Clerk session tokens, from the `Authorization: Bearer` header or Clerk's
//! `__session` cookie, verified into a [`Session`] extractor.

mod extractor;
mod token;

pub use extractor::Session;
pub use token::{InvalidKey, SessionClaims, TokenError, TokenVerifier};
