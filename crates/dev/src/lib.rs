#![doc = include_str!("../README.md")]

mod error;
pub mod templates;
pub mod token;

use rand::Rng;

pub use error::DevError;

/// The variable `dev init` stores the development private key in; `dev token` signs with it.
pub const PRIVATE_KEY_VARIABLE: &str = "CLERK_DEV_PRIVATE_KEY";

/// A Clerk-style id: the prefix and 27 random base62 characters, like Clerk's KSUID-based ids.
pub fn random_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let suffix: String = (0..27)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{suffix}")
}

/// Undoes the `\n` escapes a PEM gets in a one-line `.env` value.
pub fn unescape_pem(pem: &str) -> String {
    pem.trim().trim_matches('"').replace("\\n", "\n")
}

/// Milliseconds since the Unix epoch, as Clerk writes timestamps.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
