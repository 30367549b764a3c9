//! `clerk-sync dev`: local development without a Clerk account or a tunnel. `init` writes a
//! development signing secret and key pair into `.env`, `token` mints session tokens with that
//! key, `send` signs realistic Clerk events and posts them to a running server.

pub mod init;
pub mod send;
pub mod token;

pub use clerk_sync_dev::{PRIVATE_KEY_VARIABLE, now_millis, random_id, templates, unescape_pem};
