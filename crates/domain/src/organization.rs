//! Organizations: what Clerk says about one, and what an event about one changes.
//!
//! An organization version is written unless its id is tombstoned or the stored version is as
//! new or newer. Versions come from organization events and also from the `organization`
//! object every membership event carries, so a membership that arrives first still finds its
//! organization, and the newest version wins whichever event brought it.

use crate::{ClerkOrgId, OrganizationId, RawJson, Role, UnixMillis, User};

/// An organization of the mirror.
///
/// ```
/// use clerk_sync_domain::{ClerkOrgId, Organization, OrganizationId};
///
/// let acme = Organization {
///     id: OrganizationId(1),
///     clerk_id: ClerkOrgId::parse("org_1")?,
///     name: "Acme".to_owned(),
///     slug: Some("acme".to_owned()),
///     image_url: None,
/// };
/// assert_eq!(acme.slug.as_deref(), Some("acme"));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
///
/// ```
/// use clerk_sync_domain::Affiliation;
///
/// /// The organizations where the caller may manage members.
/// fn administered(affiliations: &[Affiliation]) -> Vec<&str> {
///     affiliations.iter().filter(|a| a.role.is_admin()).map(|a| a.organization.name.as_str()).collect()
/// }
/// assert!(administered(&[]).is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affiliation {
    /// The organization.
    pub organization: Organization,
    /// The user's role.
    pub role: Role,
}

/// A member of an organization, with the member's role in it.
///
/// ```
/// use clerk_sync_domain::Member;
///
/// /// How many administrators an organization has.
/// fn admins(members: &[Member]) -> usize {
///     members.iter().filter(|m| m.role.is_admin()).count()
/// }
/// assert_eq!(admins(&[]), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user: User,
    /// The user's role.
    pub role: Role,
}

/// A Clerk organization as an event describes it.
///
/// ```
/// let org = clerk_sync_domain::parse_organization(r#"{"id":"org_1","name":"Acme","updated_at":5}"#)?;
/// assert_eq!((org.clerk_id.as_str(), org.name.as_str(), org.slug), ("org_1", "Acme", None));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
    /// Metadata members' front ends can read (`public_metadata`).
    pub public_metadata: RawJson,
    /// Metadata only the Backend API reads (`private_metadata`).
    pub private_metadata: RawJson,
    /// The most members the organization may have, when limited.
    pub max_allowed_memberships: Option<i64>,
    /// The Clerk id of the user who created it, when one did.
    pub created_by: Option<String>,
    /// When Clerk created the organization.
    pub created_at: Option<UnixMillis>,
    /// Clerk's `updated_at`: orders versions of this organization.
    pub updated_at: UnixMillis,
    /// The whole organization object, as Clerk sent it.
    pub raw: RawJson,
}

/// An organization row, as far as the sync rules need to see it.
///
/// ```
/// use clerk_sync_domain::{OrganizationId, StoredOrganization, UnixMillis};
///
/// let row = StoredOrganization { id: OrganizationId(1), clerk_updated_at: UnixMillis(9) };
/// assert_eq!(row.clerk_updated_at, UnixMillis(9));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOrganization {
    /// Local id.
    pub id: OrganizationId,
    /// `updated_at` of the Clerk version stored.
    pub clerk_updated_at: UnixMillis,
}

/// What the mirror holds that bears on an organization event. The default is "nothing known".
///
/// ```
/// use clerk_sync_domain::{OrganizationContext, OrganizationDecision, decide_organization_upsert};
///
/// let org = clerk_sync_domain::parse_organization(r#"{"id":"org_1","name":"Acme","updated_at":5}"#)?;
/// assert_eq!(decide_organization_upsert(&org, &OrganizationContext::default()), OrganizationDecision::Insert);
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationContext {
    /// Whether the Clerk id was deleted.
    pub tombstoned: bool,
    /// The row with the event's Clerk id.
    pub existing: Option<StoredOrganization>,
}

/// The decision for an organization version.
///
/// ```
/// use clerk_sync_domain::{OrganizationContext, OrganizationDecision, decide_organization_upsert};
///
/// let org = clerk_sync_domain::parse_organization(r#"{"id":"org_1","name":"Acme","updated_at":5}"#)?;
/// let deleted = OrganizationContext { tombstoned: true, ..OrganizationContext::default() };
/// assert_eq!(decide_organization_upsert(&org, &deleted), OrganizationDecision::Tombstoned);
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
///
/// ```
/// use clerk_sync_domain::*;
///
/// let org = clerk_sync_domain::parse_organization(r#"{"id":"org_1","name":"Acme","updated_at":5}"#)?;
/// let stored = |at| OrganizationContext {
///     existing: Some(StoredOrganization { id: OrganizationId(1), clerk_updated_at: UnixMillis(at) }),
///     ..OrganizationContext::default()
/// };
/// assert_eq!(decide_organization_upsert(&org, &stored(4)), OrganizationDecision::Update(OrganizationId(1)));
/// assert_eq!(decide_organization_upsert(&org, &stored(5)), OrganizationDecision::Stale(OrganizationId(1)));
/// # Ok::<(), DomainError>(())
/// ```
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
///
/// ```
/// use clerk_sync_domain::{OrganizationContext, OrganizationDeletion, decide_organization_deletion};
///
/// assert_eq!(decide_organization_deletion(&OrganizationContext::default()), OrganizationDeletion::Delete(None));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganizationDeletion {
    /// Already deleted; nothing changes.
    AlreadyTombstoned,
    /// Tombstone the id and delete the row, when there is one (its memberships go with it).
    Delete(Option<OrganizationId>),
}

/// Decides what an `organization.deleted` event changes.
///
/// ```
/// use clerk_sync_domain::{OrganizationContext, OrganizationDeletion, decide_organization_deletion};
///
/// let again = OrganizationContext { tombstoned: true, ..OrganizationContext::default() };
/// assert_eq!(decide_organization_deletion(&again), OrganizationDeletion::AlreadyTombstoned);
/// ```
pub fn decide_organization_deletion(context: &OrganizationContext) -> OrganizationDeletion {
    if context.tombstoned {
        OrganizationDeletion::AlreadyTombstoned
    } else {
        OrganizationDeletion::Delete(context.existing.as_ref().map(|row| row.id))
    }
}
