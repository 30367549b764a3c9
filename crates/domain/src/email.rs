//! Email addresses, as the mirror stores and matches them.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// The longest address accepted (RFC 5321 limits a path to 254 characters; a little slack is
/// left for senders that are laxer than the RFC).
const MAX_LEN: usize = 320;

/// An email address, trimmed and lower-cased.
///
/// Clerk treats addresses case-insensitively, and so does the mirror: linking a pre-existing
/// account by email must not fail because one side wrote `Ada@Example.com`. The check is
/// deliberately loose (one `@` with text on both sides, no whitespace or control characters):
/// Clerk has already verified the address, and the mirror must not reject what Clerk accepted.
///
/// ```
/// use clerk_sync_domain::EmailAddress;
///
/// let email: EmailAddress = " Ada@Example.COM ".parse()?;
/// assert_eq!(email.as_str(), "ada@example.com");
/// // `Debug` hides the local part, so a stray `{:?}` in a log identifies nobody.
/// assert_eq!(format!("{email:?}"), "EmailAddress(…@example.com)");
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses and normalises an address.
    ///
    /// # Errors
    /// [`DomainError::InvalidEmail`] when the text is empty, too long, lacks a local part or a
    /// domain, or holds whitespace or control characters.
    ///
    /// ```
    /// use clerk_sync_domain::{DomainError, EmailAddress};
    ///
    /// assert!(EmailAddress::parse("ada+clerk@example.com").is_ok());
    /// assert_eq!(EmailAddress::parse("ada at example.com"), Err(DomainError::InvalidEmail));
    /// ```
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        // The limit applies to the stored, lower-cased form: lower-casing can lengthen text
        // (`İ` is 2 bytes, its lower case 3), and a stored address must parse again.
        let text = text.trim().to_lowercase();
        let valid = !text.is_empty()
            && text.len() <= MAX_LEN
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && text
                .rsplit_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if valid {
            Ok(Self(text))
        } else {
            Err(DomainError::InvalidEmail)
        }
    }

    /// The normalised address.
    ///
    /// ```
    /// let email = clerk_sync_domain::EmailAddress::parse("ADA@example.com")?;
    /// assert_eq!(email.as_str(), "ada@example.com");
    /// # Ok::<(), clerk_sync_domain::DomainError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Addresses are personal data: `Debug` shows only the domain, so that a value which slips into
/// a log line or an error does not identify a person.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.rsplit_once('@').map_or("", |(_, domain)| domain);
        write!(f, "EmailAddress(…@{domain})")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Same as [`EmailAddress::parse`], for `"ada@example.com".parse::<EmailAddress>()`.
impl FromStr for EmailAddress {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_surrounding_space() {
        let email = EmailAddress::parse("  Ada.Lovelace@Example.COM ").map(|e| e.to_string());
        assert_eq!(email.ok().as_deref(), Some("ada.lovelace@example.com"));
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada lovelace@example.com",
            "a\u{0}@b",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(EmailAddress::parse(&format!("{}@example.com", "a".repeat(400))).is_err());
    }

    #[test]
    fn the_length_limit_holds_for_the_stored_lower_case() {
        // 159 × `İ` (2 bytes) + `@x` is 320 bytes; lower-cased, each `İ` takes 3.
        let lengthening = format!("{}@x", "\u{130}".repeat(159));
        assert_eq!(lengthening.len(), MAX_LEN);
        assert_eq!(
            EmailAddress::parse(&lengthening),
            Err(DomainError::InvalidEmail)
        );
        // Whatever is accepted parses again to itself.
        let accepted = format!("{}@x", "\u{130}".repeat(100));
        let email = EmailAddress::parse(&accepted).ok();
        let again = email
            .as_ref()
            .and_then(|e| EmailAddress::parse(e.as_str()).ok());
        assert!(email.is_some());
        assert_eq!(again, email);
    }

    #[test]
    fn accepts_plus_addressing_and_unicode() {
        assert!(EmailAddress::parse("ada+clerk@example.com").is_ok());
        assert!(EmailAddress::parse("jürgen@bücher.example").is_ok());
    }

    #[test]
    fn debug_hides_the_local_part() {
        let email = EmailAddress::parse("ada@example.com").map(|e| format!("{e:?}"));
        assert_eq!(email.ok().as_deref(), Some("EmailAddress(…@example.com)"));
    }
}
