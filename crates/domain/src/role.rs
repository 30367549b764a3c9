//! Organization roles.

use std::fmt;

use crate::DomainError;

/// The longest role key accepted.
const MAX_LEN: usize = 128;

/// A Clerk organization role key: `org:admin`, `org:member`, or any custom `org:<key>`.
///
/// Payloads from before Clerk's custom roles (2022) used `admin` and `basic_member`; they are
/// read as `org:admin` and `org:member` so that one rule ("is an admin") covers both eras.
///
/// ```
/// use clerk_sync_domain::Role;
///
/// assert_eq!(Role::parse("basic_member")?.as_str(), Role::MEMBER);
/// assert!(!Role::parse("org:billing_manager")?.is_admin());
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Role(String);

impl Role {
    /// The built-in administrator role.
    ///
    /// ```
    /// assert_eq!(clerk_sync_domain::Role::ADMIN, "org:admin");
    /// ```
    pub const ADMIN: &'static str = "org:admin";
    /// The built-in member role.
    ///
    /// ```
    /// assert_eq!(clerk_sync_domain::Role::MEMBER, "org:member");
    /// ```
    pub const MEMBER: &'static str = "org:member";

    /// Parses a role key, mapping the legacy keys to their current names.
    ///
    /// # Errors
    /// [`DomainError::InvalidRole`] when the key is empty, too long, or holds whitespace or
    /// control characters.
    ///
    /// ```
    /// use clerk_sync_domain::{DomainError, Role};
    ///
    /// assert_eq!(Role::parse("admin")?.as_str(), "org:admin");
    /// assert_eq!(Role::parse("org admin"), Err(DomainError::InvalidRole));
    /// # Ok::<(), DomainError>(())
    /// ```
    pub fn parse(key: &str) -> Result<Self, DomainError> {
        let key = match key {
            "admin" => Self::ADMIN,
            "basic_member" => Self::MEMBER,
            other => other,
        };
        let valid = !key.is_empty()
            && key.len() <= MAX_LEN
            && !key.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(key.to_owned()))
        } else {
            Err(DomainError::InvalidRole)
        }
    }

    /// The role key.
    ///
    /// ```
    /// assert_eq!(clerk_sync_domain::Role::parse("org:viewer")?.as_str(), "org:viewer");
    /// # Ok::<(), clerk_sync_domain::DomainError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the built-in administrator role.
    ///
    /// ```
    /// use clerk_sync_domain::Role;
    ///
    /// assert!(Role::parse("org:admin")?.is_admin());
    /// assert!(!Role::parse("org:member")?.is_admin());
    /// # Ok::<(), clerk_sync_domain::DomainError>(())
    /// ```
    pub fn is_admin(&self) -> bool {
        self.0 == Self::ADMIN
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_current_and_custom_keys() {
        for key in ["org:admin", "org:member", "org:billing_manager"] {
            assert_eq!(
                Role::parse(key).map(|r| r.to_string()).ok().as_deref(),
                Some(key)
            );
        }
    }

    #[test]
    fn maps_legacy_keys() {
        assert!(Role::parse("admin").is_ok_and(|r| r.is_admin()));
        assert_eq!(
            Role::parse("basic_member")
                .ok()
                .map(|r| r.to_string())
                .as_deref(),
            Some("org:member")
        );
    }

    #[test]
    fn rejects_empty_and_blank_keys() {
        for bad in ["", "org admin", "org:\n"] {
            assert!(Role::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
