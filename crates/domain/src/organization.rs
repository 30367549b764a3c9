//! Organizations: what Clerk says about one, and what an event about one changes.
//!
//! An organization version is written unless its id is tombstoned or the stored version is as
//! new or newer. Versions come from organization events and also from the `organization`
//! object every membership event carries, so a membership that arrives first still finds its
//! organization, and the newest version wins whichever event brought it.

use crate::{ClerkOrgId, OrganizationId, Role, UnixMillis, User};

/// An organization of the mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Local id.
    pub id: OrganizationId,
    /// Clerk id.
    pub clerk_id: ClerkOrgId,
    /// Display name.
    pub name: String,
    /// URL slug.
    pub slug: Option<String>,
    /// Logo.
    pub image_url: Option<String>,
}

/// An organization a user belongs to, with the user's role in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affiliation {
    /// The organization.
    pub organization: Organization,
    /// The user's role.
    pub role: Role,
}

/// A member of an organization, with the member's role in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user: User,
    /// The user's role.
    pub role: Role,
}

/// A Clerk organization as an event describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationSnapshot {
    /// Clerk's id of the organization.
    pub clerk_id: ClerkOrgId,
    /// Display name.
    pub name: String,
    /// URL slug, when the instance uses slugs.
    pub slug: Option<String>,
    /// Logo.
    pub image_url: Option<String>,
    /// Clerk's `updated_at`: orders versions of this organization.
    pub updated_at: UnixMillis,
}

/// An organization row, as far as the sync rules need to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOrganization {
    /// Local id.
    pub id: OrganizationId,
    /// `updated_at` of the Clerk version stored.
    pub clerk_updated_at: UnixMillis,
}

/// What the mirror holds that bears on an organization event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationContext {
    /// Whether the Clerk id was deleted.
    pub tombstoned: bool,
    /// The row with the event's Clerk id.
    pub existing: Option<StoredOrganization>,
}

/// The decision for an organization version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganizationDecision {
    /// The organization was deleted; nothing is written.
    Tombstoned,
    /// The stored version is as new or newer; nothing is written.
    Stale(OrganizationId),
    /// A new row.
    Insert,
    /// Overwrite the row.
    Update(OrganizationId),
}

/// Decides what an organization version changes.
pub fn decide_organization_upsert(
    snapshot: &OrganizationSnapshot,
    context: &OrganizationContext,
) -> OrganizationDecision {
    match (&context.existing, context.tombstoned) {
        (_, true) => OrganizationDecision::Tombstoned,
        (None, false) => OrganizationDecision::Insert,
        (Some(row), false) if snapshot.updated_at <= row.clerk_updated_at => {
            OrganizationDecision::Stale(row.id)
        }
        (Some(row), false) => OrganizationDecision::Update(row.id),
    }
}

/// The decision for an `organization.deleted` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganizationDeletion {
    /// Already deleted; nothing changes.
    AlreadyTombstoned,
    /// Tombstone the id and delete the row, when there is one (its memberships go with it).
    Delete(Option<OrganizationId>),
}

/// Decides what an `organization.deleted` event changes.
pub fn decide_organization_deletion(context: &OrganizationContext) -> OrganizationDeletion {
    if context.tombstoned {
        OrganizationDeletion::AlreadyTombstoned
    } else {
        OrganizationDeletion::Delete(context.existing.as_ref().map(|row| row.id))
    }
}
