//! Organization memberships: what Clerk says about one, and what an event about one changes.
//!
//! A user has at most one membership per organization. A membership is written unless its id,
//! its user or its organization is tombstoned, or the stored version is as new or newer. When
//! a user leaves and rejoins, Clerk issues a new membership id for the same pair; whichever of
//! the two versions is newer holds the pair, so a late event of the old membership cannot
//! displace the new one.

use crate::{
    ClerkMembershipId, MembershipId, OrganizationId, OrganizationSnapshot, PublicUserData, RawJson,
    Role, UnixMillis, UserId,
};

/// A Clerk membership as an event describes it.
///
/// ```
/// let membership = clerk_sync_domain::parse_membership(r#"{"id":"orgmem_1","role":"org:member",
///     "updated_at":5, "organization":{"id":"org_1","name":"Acme","updated_at":1},
///     "public_user_data":{"user_id":"user_1"}}"#)?;
/// assert_eq!(membership.role.as_str(), "org:member");
/// assert_eq!(membership.organization.name, "Acme");
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipSnapshot {
    /// Clerk's id of the membership.
    pub clerk_id: ClerkMembershipId,
    /// The role key.
    pub role: Role,
    /// The organization as it was when the event was sent.
    pub organization: OrganizationSnapshot,
    /// The member's public data.
    pub user: PublicUserData,
    /// The permissions the role grants (`org:sys_memberships:read`, …).
    pub permissions: Vec<String>,
    /// Metadata the member's front end can read (`public_metadata`).
    pub public_metadata: RawJson,
    /// Metadata only the Backend API reads (`private_metadata`).
    pub private_metadata: RawJson,
    /// When Clerk created the membership.
    pub created_at: Option<UnixMillis>,
    /// Clerk's `updated_at` of the membership.
    pub updated_at: UnixMillis,
    /// The whole membership object, as Clerk sent it.
    pub raw: RawJson,
}

/// A membership row, as far as the sync rules need to see it.
///
/// ```
/// use clerk_sync_domain::{ClerkMembershipId, MembershipId, StoredMembership, UnixMillis};
///
/// let row = StoredMembership {
///     id: MembershipId(1),
///     clerk_id: ClerkMembershipId::parse("orgmem_1")?,
///     clerk_updated_at: UnixMillis(5),
/// };
/// assert_eq!(row.id, MembershipId(1));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMembership {
    /// Local id.
    pub id: MembershipId,
    /// Clerk id.
    pub clerk_id: ClerkMembershipId,
    /// `updated_at` of the Clerk version stored.
    pub clerk_updated_at: UnixMillis,
}

/// What the mirror holds that bears on a membership event. The default is "nothing known",
/// which includes "its user or organization was deleted" (`parties: None`).
///
/// ```
/// use clerk_sync_domain::{MembershipContext, MembershipDecision, decide_membership_upsert};
///
/// let membership = clerk_sync_domain::parse_membership(r#"{"id":"orgmem_1","role":"org:member",
///     "updated_at":5, "organization":{"id":"org_1","name":"Acme","updated_at":1},
///     "public_user_data":{"user_id":"user_1"}}"#)?;
/// let parties_gone = MembershipContext::default();
/// assert_eq!(decide_membership_upsert(&membership, &parties_gone), MembershipDecision::Tombstoned);
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MembershipContext {
    /// Whether the membership id was deleted.
    pub tombstoned: bool,
    /// The membership's user and organization; `None` when either was deleted.
    pub parties: Option<(UserId, OrganizationId)>,
    /// The row holding the (user, organization) pair, whatever its Clerk id.
    pub for_pair: Option<StoredMembership>,
    /// The row with the event's Clerk id.
    pub by_clerk_id: Option<StoredMembership>,
}

/// The decision for a membership version.
///
/// ```
/// use clerk_sync_domain::*;
///
/// let membership = clerk_sync_domain::parse_membership(r#"{"id":"orgmem_1","role":"org:member",
///     "updated_at":5, "organization":{"id":"org_1","name":"Acme","updated_at":1},
///     "public_user_data":{"user_id":"user_1"}}"#)?;
/// let parties = MembershipContext { parties: Some((UserId(1), OrganizationId(2))), ..MembershipContext::default() };
/// let decision = decide_membership_upsert(&membership, &parties);
/// assert_eq!(decision, MembershipDecision::Insert { user: UserId(1), organization: OrganizationId(2) });
/// # Ok::<(), DomainError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipDecision {
    /// The membership, its user or its organization was deleted; nothing is written.
    Tombstoned,
    /// The stored version is as new or newer; nothing is written.
    Stale,
    /// A new row.
    Insert {
        /// The member.
        user: UserId,
        /// The organization.
        organization: OrganizationId,
    },
    /// Overwrite the row (taking the event's Clerk id when the row held an older membership of
    /// the same pair).
    Update(MembershipId),
}

/// Decides what a membership version changes.
///
/// ```
/// use clerk_sync_domain::*;
///
/// let membership = clerk_sync_domain::parse_membership(r#"{"id":"orgmem_1","role":"org:member",
///     "updated_at":5, "organization":{"id":"org_1","name":"Acme","updated_at":1},
///     "public_user_data":{"user_id":"user_1"}}"#)?;
/// let stored = |at| MembershipContext {
///     parties: Some((UserId(1), OrganizationId(2))),
///     by_clerk_id: Some(StoredMembership {
///         id: MembershipId(3),
///         clerk_id: membership.clerk_id.clone(),
///         clerk_updated_at: UnixMillis(at),
///     }),
///     ..MembershipContext::default()
/// };
/// assert_eq!(decide_membership_upsert(&membership, &stored(4)), MembershipDecision::Update(MembershipId(3)));
/// assert_eq!(decide_membership_upsert(&membership, &stored(5)), MembershipDecision::Stale);
/// # Ok::<(), DomainError>(())
/// ```
pub fn decide_membership_upsert(
    snapshot: &MembershipSnapshot,
    context: &MembershipContext,
) -> MembershipDecision {
    let Some((user, organization)) = context.parties.filter(|_| !context.tombstoned) else {
        return MembershipDecision::Tombstoned;
    };
    match context.by_clerk_id.as_ref().or(context.for_pair.as_ref()) {
        None => MembershipDecision::Insert { user, organization },
        Some(row) if row.clerk_id == snapshot.clerk_id => {
            if snapshot.updated_at <= row.clerk_updated_at {
                MembershipDecision::Stale
            } else {
                MembershipDecision::Update(row.id)
            }
        }
        Some(row) => {
            if (snapshot.updated_at, &snapshot.clerk_id) > (row.clerk_updated_at, &row.clerk_id) {
                MembershipDecision::Update(row.id)
            } else {
                MembershipDecision::Stale
            }
        }
    }
}

/// The decision for an `organizationMembership.deleted` event.
///
/// ```
/// use clerk_sync_domain::{MembershipContext, MembershipDeletion, decide_membership_deletion};
///
/// assert_eq!(decide_membership_deletion(&MembershipContext::default()), MembershipDeletion::Delete(None));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipDeletion {
    /// Already deleted; nothing changes.
    AlreadyTombstoned,
    /// Tombstone the id and delete the row, when there is one.
    Delete(Option<MembershipId>),
}

/// Decides what an `organizationMembership.deleted` event changes. Only the row with the
/// event's own Clerk id is deleted: a newer membership of the same pair stays.
///
/// ```
/// use clerk_sync_domain::{MembershipContext, MembershipDeletion, decide_membership_deletion};
///
/// let again = MembershipContext { tombstoned: true, ..MembershipContext::default() };
/// assert_eq!(decide_membership_deletion(&again), MembershipDeletion::AlreadyTombstoned);
/// ```
pub fn decide_membership_deletion(context: &MembershipContext) -> MembershipDeletion {
    if context.tombstoned {
        MembershipDeletion::AlreadyTombstoned
    } else {
        MembershipDeletion::Delete(context.by_clerk_id.as_ref().map(|row| row.id))
    }
}
