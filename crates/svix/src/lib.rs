#![doc = include_str!("../README.md")]

mod error;
mod headers;
mod secret;
mod signature;
mod verifier;

pub use error::WebhookError;
pub use headers::{HeaderKind, Headers};
pub use secret::WebhookSecret;
pub use verifier::{DEFAULT_TOLERANCE, MAX_MESSAGE_ID_LEN, VerifiedMessage, Verifier};
