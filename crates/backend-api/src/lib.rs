#![doc = include_str!("../README.md")]

mod client;
mod error;
mod key;
mod listing;
mod users;

pub use client::{BackendApi, RetryPolicy};
pub use error::{BackendApiError, BodyFault, ClerkErrors};
pub use key::SecretKey;
pub use listing::{ListedPage, Listing, overlap};

/// The largest page Clerk's Backend API serves.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A kind of Clerk object the Backend API lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// `GET /users`.
    Users,
    /// `GET /organizations`.
    Organizations,
    /// `GET /organization_memberships` (every membership of the instance).
    Memberships,
}

impl ObjectKind {
    /// All kinds, in the order a resync imports them (memberships find their users and
    /// organizations).
    pub const ALL: [Self; 3] = [Self::Users, Self::Organizations, Self::Memberships];

    /// The kind's name in output.
    pub fn label(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Organizations => "organizations",
            Self::Memberships => "memberships",
        }
    }

    /// The listing's path, relative to the base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::Users => "/users",
            Self::Organizations => "/organizations",
            Self::Memberships => "/organization_memberships",
        }
    }
}
