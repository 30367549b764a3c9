//! The secret key of a Clerk instance.

use std::fmt;

/// A Clerk secret key (`sk_live_…`, `sk_test_…`). `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey(String);

impl SecretKey {
    /// Checks the shape of a key.
    ///
    /// # Errors
    /// A message (without the value) when the text is not a Clerk secret key.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let valid =
            text.starts_with("sk_") && text.len() > 3 && text.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err("expected a Clerk secret key, sk_live_… or sk_test_… (Clerk's dashboard, API keys)")
        }
    }

    /// Whether `presented` is this key, compared in constant time (clerk-sync's `/clerk/v1`
    /// accepts callers that present the instance's own key, as Clerk does).
    pub fn verifies(&self, presented: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.as_bytes().ct_eq(presented))
    }

    /// The key itself, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_checked_and_never_shown() {
        assert!(SecretKey::parse("sk_test_abc").is_ok());
        for bad in ["", "pk_test_abc", "sk_", "sk_te st"] {
            assert!(SecretKey::parse(bad).is_err(), "{bad:?}");
        }
        let key = SecretKey::parse("sk_test_hunter2").map(|k| format!("{k:?}"));
        let parsed = SecretKey::parse("sk_test_hunter2").expect("a key");
        assert!(parsed.verifies(b"sk_test_hunter2"));
        assert!(!parsed.verifies(b"sk_test_hunter"));
        assert!(!parsed.verifies(b"sk_test_hunter3"));
        assert_eq!(key.as_deref(), Ok("SecretKey(<redacted>)"));
    }
}
