//! What can go wrong building a development event or token. The messages name the
//! `clerk-sync dev` flags, since that is where the values come from.

/// An error of [`templates::event`](crate::templates::event) or [`token::mint`](crate::token::mint).
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// A built-in template does not parse (a broken build, never the caller's input).
    #[error("a built-in event template is not JSON")]
    Template(#[source] serde_json::Error),
    /// No user to put in `sub`.
    #[error(
        "--user is empty: give a Clerk user id (user_…); did the `dev send … --print-id` that was to set it fail?"
    )]
    EmptyUser,
    /// `sub` that is not a Clerk user id.
    #[error("--user must be a Clerk user id (user_…)")]
    NotAUserId,
    /// An active organization that is not a Clerk organization id.
    #[error("--org must be a Clerk organization id (org_…)")]
    NotAnOrganizationId,
    /// A role or slug without an active organization to describe.
    #[error("--role and --org-slug need --org: they describe the active organization")]
    RoleWithoutOrganization,
    /// A lifetime past what a token's `exp` can say.
    #[error("--expires-in is too long")]
    LifetimeTooLong(#[source] std::num::TryFromIntError),
    /// The development key is not an RSA private key.
    #[error(
        "CLERK_DEV_PRIVATE_KEY is not an RSA private key in PEM format; run `clerk-sync dev init --force`"
    )]
    InvalidKey(#[source] jsonwebtoken::errors::Error),
    /// Signing failed.
    #[error("cannot sign the token")]
    Sign(#[source] jsonwebtoken::errors::Error),
}
