//! Identifiers: Clerk's string ids (`user_…`, `org_…`, `orgmem_…`) and the mirror's local integer ids.
//!
//! Clerk ids and local ids are different types so that one can never be passed where the other
//! is meant, and a Clerk id of one kind is never taken for another.

use std::fmt;

use crate::DomainError;

/// The longest Clerk id accepted. Real ids are about 30 characters; the bound keeps a hostile
/// payload from filling an indexed column.
///
/// ```
/// use clerk_sync_domain::{ClerkUserId, MAX_CLERK_ID_LEN};
///
/// let too_long = format!("user_{}", "a".repeat(MAX_CLERK_ID_LEN));
/// assert!(ClerkUserId::parse(&too_long).is_err());
/// ```
pub const MAX_CLERK_ID_LEN: usize = 128;

macro_rules! clerk_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        ///
        /// ```
        #[doc = concat!("use clerk_sync_domain::", stringify!($name), ";")]
        ///
        #[doc = concat!("let id = ", stringify!($name), "::parse(\"", $prefix, "2VpUG6M2aNvZUuqG2SgEAZ5kNKE\")?;")]
        #[doc = concat!("assert_eq!(id.to_string(), \"", $prefix, "2VpUG6M2aNvZUuqG2SgEAZ5kNKE\");")]
        #[doc = concat!("assert!(", stringify!($name), "::parse(\"2VpUG6M2aNvZUuqG2SgEAZ5kNKE\").is_err());")]
        /// # Ok::<(), clerk_sync_domain::DomainError>(())
        /// ```
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            ///
            /// ```
            #[doc = concat!("assert_eq!(clerk_sync_domain::", stringify!($name), "::PREFIX, \"", $prefix, "\");")]
            /// ```
            pub const PREFIX: &'static str = $prefix;

            /// Parses an id, checking its prefix and characters.
            ///
            /// # Errors
            /// [`DomainError::InvalidId`] when the text lacks the prefix, has nothing after it,
            /// is longer than [`MAX_CLERK_ID_LEN`] or holds characters other than ASCII letters,
            /// digits and `_`.
            ///
            /// ```
            #[doc = concat!("use clerk_sync_domain::{", stringify!($name), ", DomainError};")]
            ///
            #[doc = concat!("assert!(", stringify!($name), "::parse(\"", $prefix, "abc_123\").is_ok());")]
            #[doc = concat!("let refused = ", stringify!($name), "::parse(\"", $prefix, "a b\");")]
            /// assert!(matches!(refused, Err(DomainError::InvalidId { .. })));
            /// ```
            pub fn parse(text: &str) -> Result<Self, DomainError> {
                parse_clerk_id(text, $prefix, $kind).map(Self)
            }

            /// The id as Clerk writes it.
            ///
            /// ```
            #[doc = concat!("let id = clerk_sync_domain::", stringify!($name), "::parse(\"", $prefix, "1\")?;")]
            #[doc = concat!("assert_eq!(id.as_str(), \"", $prefix, "1\");")]
            /// # Ok::<(), clerk_sync_domain::DomainError>(())
            /// ```
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

clerk_id!(
    /// A Clerk user id, `user_…`.
    ClerkUserId, "user_", "user"
);
clerk_id!(
    /// A Clerk organization id, `org_…`.
    ClerkOrgId, "org_", "organization"
);
clerk_id!(
    /// A Clerk organization membership id, `orgmem_…`.
    ClerkMembershipId, "orgmem_", "organization membership"
);

fn parse_clerk_id(
    text: &str,
    prefix: &'static str,
    kind: &'static str,
) -> Result<String, DomainError> {
    let valid = text.len() <= MAX_CLERK_ID_LEN
        && text.len() > prefix.len()
        && text.starts_with(prefix)
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(text.to_owned())
    } else {
        Err(DomainError::InvalidId { kind, prefix })
    }
}

macro_rules! local_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// A plain integer (the row's primary key) in its own type, so it is never mixed up
        /// with another kind's id:
        ///
        /// ```
        #[doc = concat!("use clerk_sync_domain::", stringify!($name), ";")]
        ///
        #[doc = concat!("let id = ", stringify!($name), "(42);")]
        /// assert_eq!((id.0, id.to_string()), (42, "42".to_owned()));
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

local_id!(
    /// The mirror's own id of a user row.
    UserId
);
local_id!(
    /// The mirror's own id of an organization row.
    OrganizationId
);
local_id!(
    /// The mirror's own id of a membership row.
    MembershipId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_clerk_ids() {
        let id = ClerkUserId::parse("user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE");
        assert_eq!(
            id.map(|id| id.to_string()).ok().as_deref(),
            Some("user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE")
        );
        assert!(ClerkOrgId::parse("org_2Tti8BTY5E6lxc3WqMO5R0U0ILB").is_ok());
        assert!(ClerkMembershipId::parse("orgmem_203FEu7bS7SwJzTrjVAiZRblaxS").is_ok());
    }

    #[test]
    fn rejects_wrong_kind_empty_and_odd_characters() {
        for bad in [
            "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB",
            "user_",
            "",
            "user_a b",
            "user_ä",
            "USER_x",
        ] {
            assert!(
                ClerkUserId::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(
            ClerkOrgId::parse("orgmem_x").is_err(),
            "a membership id is not an organization id"
        );
        let long = format!("user_{}", "a".repeat(MAX_CLERK_ID_LEN));
        assert!(ClerkUserId::parse(&long).is_err());
    }

    #[test]
    fn error_names_the_kind_and_prefix() {
        let err = ClerkMembershipId::parse("mem_1")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "invalid organization membership id: expected `orgmem_` followed by letters, digits or `_`"
            )
        );
    }
}
