//! Applying one Clerk object: a version of a user, an organization or a membership, or its
//! deletion, inside the caller's transaction. Webhook deliveries and resync batches both come
//! through here, so they follow the same rules and converge to the same state.
//!
//! Every function reads what the domain rules need (through [`Reads`]), asks them what to do,
//! and writes that; no rule is decided here.

use chrono::NaiveDateTime;
use clerk_sync_domain::{
    ClerkMembershipId, ClerkOrgId, ClerkUserId, MemberUser, MembershipContext, MembershipDecision,
    MembershipDeletion, MembershipSnapshot, OrganizationContext, OrganizationDecision,
    OrganizationDeletion, OrganizationId, OrganizationSnapshot, Outcome, PublicUserData,
    UnixMillis, UserContext, UserDecision, UserDeletion, UserId, UserSnapshot, UserTarget,
    decide_member_user, decide_membership_deletion, decide_membership_upsert,
    decide_organization_deletion, decide_organization_upsert, decide_user_deletion,
    decide_user_upsert,
};

use crate::reads::Reads;
use crate::tombstones::Kind;
use crate::{DbConnection, StoreError, memberships, organizations, tombstones, users};

/// What applying one object version (or deletion) did to the mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// A new row.
    Created,
    /// An existing row took a newer version (or an account was linked to its Clerk user).
    Updated,
    /// The row was removed and its id tombstoned.
    Deleted,
    /// The mirror already holds this very version (same Clerk `updated_at`); nothing written.
    Unchanged,
    /// The mirror holds a newer version; nothing written.
    Stale,
    /// The object was deleted before; nothing written, so nothing deleted comes back.
    Tombstoned,
}

impl Change {
    /// The outcome a webhook delivery that made this change reports.
    pub fn outcome(self) -> Outcome {
        match self {
            Self::Created | Self::Updated | Self::Deleted => Outcome::Applied,
            Self::Unchanged | Self::Stale => Outcome::Stale,
            Self::Tombstoned => Outcome::Tombstoned,
        }
    }
}

fn not_newer(stored: Option<UnixMillis>, version: UnixMillis) -> Change {
    if stored == Some(version) {
        Change::Unchanged
    } else {
        Change::Stale
    }
}

fn user_context(
    conn: &mut DbConnection,
    reads: &mut Reads,
    clerk_id: &ClerkUserId,
) -> Result<UserContext, StoreError> {
    Ok(UserContext {
        tombstoned: reads.tombstoned(conn, clerk_id.as_str())?,
        by_clerk_id: reads.user(conn, clerk_id)?,
        ..UserContext::default()
    })
}

/// The lock keys of what a user version may take over besides its own Clerk id: the row that
/// holds its email, and the account its `external_id` names. Writers of either run one after
/// the other.
pub(crate) fn claim_keys(user: &UserSnapshot) -> impl Iterator<Item = String> + '_ {
    let email = user.email.as_ref().map(|email| format!("email:{email}"));
    let account = user
        .external_account()
        .map(|account| format!("account:{}", account.0));
    email.into_iter().chain(account)
}

/// Applies a user version.
pub(crate) fn upsert_user(
    conn: &mut DbConnection,
    reads: &mut Reads,
    user: &UserSnapshot,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    let mut context = user_context(conn, reads, &user.clerk_id)?;
    if let Some(email) = &user.email {
        context.email_holder = reads.email_holder(conn, email)?;
    }
    if let Some(account) = user.external_account() {
        context.external_account = reads.account(conn, account)?;
    }
    let write = match decide_user_upsert(user, &context) {
        UserDecision::Tombstoned => return Ok(Change::Tombstoned),
        UserDecision::Stale => {
            let stored = context.by_clerk_id.and_then(|row| row.clerk_updated_at);
            return Ok(not_newer(stored, user.updated_at));
        }
        UserDecision::Write(write) => write,
    };
    let email = write.email.as_ref();
    let mut touched: Vec<UserId> = match write.target {
        UserTarget::Insert => Vec::new(),
        UserTarget::Update(id) | UserTarget::Link(id) => vec![id],
        UserTarget::Merge { from, into } => vec![from, into],
    };
    touched.extend(write.release_email_from);
    reads.writing_user(&user.clerk_id, user.email.as_ref(), &touched);
    if let UserTarget::Insert = write.target
        && write.release_email_from.is_none()
    {
        reads.insert_user(conn, user, email, now)?;
        return Ok(Change::Created);
    }
    reads.flush(conn)?;
    if let (Some(holder), Some(email)) = (write.release_email_from, email) {
        users::release_email(conn, holder, email, now)?;
    }
    match write.target {
        UserTarget::Insert => {
            users::insert_version(conn, user, email, now)?;
            return Ok(Change::Created);
        }
        UserTarget::Update(id) | UserTarget::Link(id) => {
            users::write_version(conn, id, user, email, now)?;
        }
        UserTarget::Merge { from, into } => {
            users::merge(conn, from, into)?;
            users::write_version(conn, into, user, email, now)?;
        }
    }
    Ok(Change::Updated)
}

/// Applies a user deletion (`deleted_at`: when Clerk deleted it, when known).
pub(crate) fn delete_user(
    conn: &mut DbConnection,
    reads: &mut Reads,
    clerk_id: &ClerkUserId,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    match decide_user_deletion(&user_context(conn, reads, clerk_id)?) {
        UserDeletion::AlreadyTombstoned => Ok(Change::Tombstoned),
        UserDeletion::Delete(row) => {
            reads.deleting_user(clerk_id, row);
            reads.flush(conn)?;
            if let Some(id) = row {
                users::delete(conn, id)?;
            }
            tombstones::insert(conn, Kind::User, clerk_id.as_str(), deleted_at, now)?;
            Ok(Change::Deleted)
        }
    }
}

fn organization_context(
    conn: &mut DbConnection,
    reads: &mut Reads,
    clerk_id: &ClerkOrgId,
) -> Result<OrganizationContext, StoreError> {
    Ok(OrganizationContext {
        tombstoned: reads.tombstoned(conn, clerk_id.as_str())?,
        existing: reads.organization(conn, clerk_id)?,
    })
}

/// Applies an organization version; also returns the organization's row, unless deleted.
pub(crate) fn upsert_organization(
    conn: &mut DbConnection,
    reads: &mut Reads,
    org: &OrganizationSnapshot,
    now: NaiveDateTime,
) -> Result<(Change, Option<OrganizationId>), StoreError> {
    let context = organization_context(conn, reads, &org.clerk_id)?;
    Ok(match decide_organization_upsert(org, &context) {
        OrganizationDecision::Tombstoned => (Change::Tombstoned, None),
        OrganizationDecision::Stale(id) => {
            let stored = context.existing.map(|row| row.clerk_updated_at);
            (not_newer(stored, org.updated_at), Some(id))
        }
        OrganizationDecision::Insert => {
            reads.writing_organization(&org.clerk_id);
            reads.flush(conn)?;
            let id = organizations::insert_version(conn, org, now)?;
            (Change::Created, Some(id))
        }
        OrganizationDecision::Update(id) => {
            reads.writing_organization(&org.clerk_id);
            reads.flush(conn)?;
            organizations::write_version(conn, id, org, now)?;
            (Change::Updated, Some(id))
        }
    })
}

/// Applies an organization deletion.
pub(crate) fn delete_organization(
    conn: &mut DbConnection,
    reads: &mut Reads,
    clerk_id: &ClerkOrgId,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    match decide_organization_deletion(&organization_context(conn, reads, clerk_id)?) {
        OrganizationDeletion::AlreadyTombstoned => Ok(Change::Tombstoned),
        OrganizationDeletion::Delete(row) => {
            reads.deleting_organization(clerk_id, row);
            reads.flush(conn)?;
            if let Some(id) = row {
                organizations::delete(conn, id)?;
            }
            tombstones::insert(conn, Kind::Organization, clerk_id.as_str(), deleted_at, now)?;
            Ok(Change::Deleted)
        }
    }
}

/// The membership's user: known, created from the public data, or `None` when deleted.
fn member_user(
    conn: &mut DbConnection,
    reads: &mut Reads,
    user: &PublicUserData,
    now: NaiveDateTime,
) -> Result<Option<UserId>, StoreError> {
    match decide_member_user(&user_context(conn, reads, &user.clerk_id)?) {
        MemberUser::Tombstoned => Ok(None),
        MemberUser::Known(id) => Ok(Some(id)),
        MemberUser::CreateFromPublicData => {
            reads.writing_user(&user.clerk_id, None, &[]);
            reads.flush(conn)?;
            users::insert_placeholder(conn, user, now).map(Some)
        }
    }
}

/// Applies a membership version, or its deletion when `deleted` is given (with the deletion
/// time, when known). Either way the organization version and the user it carries are applied
/// first, so the mirror ends the same whichever of a membership's events arrive and in what
/// order.
pub(crate) fn apply_membership(
    conn: &mut DbConnection,
    reads: &mut Reads,
    membership: &MembershipSnapshot,
    deleted: Option<Option<UnixMillis>>,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    let (_, organization) = upsert_organization(conn, reads, &membership.organization, now)?;
    let user = member_user(conn, reads, &membership.user, now)?;
    let parties = user.zip(organization);
    let context = MembershipContext {
        tombstoned: reads.tombstoned(conn, membership.clerk_id.as_str())?,
        parties,
        for_pair: match parties {
            Some((user, organization)) => reads.membership_for_pair(conn, user, organization)?,
            None => None,
        },
        by_clerk_id: reads.membership(conn, &membership.clerk_id)?,
    };
    if let Some(deleted_at) = deleted {
        return finish_membership_deletion(
            conn,
            reads,
            &membership.clerk_id,
            &context,
            deleted_at,
            now,
        );
    }
    match decide_membership_upsert(membership, &context) {
        MembershipDecision::Tombstoned => Ok(Change::Tombstoned),
        MembershipDecision::Stale => {
            let stored = context.by_clerk_id.map(|row| row.clerk_updated_at);
            Ok(not_newer(stored, membership.updated_at))
        }
        MembershipDecision::Insert { user, organization } => {
            reads.writing_membership(&membership.clerk_id, Some((user, organization)), None);
            reads.insert_membership(conn, membership, (user, organization), now)?;
            Ok(Change::Created)
        }
        MembershipDecision::Update(id) => {
            reads.writing_membership(&membership.clerk_id, parties, Some(id));
            reads.flush(conn)?;
            memberships::write_version(conn, id, membership, now)?;
            Ok(Change::Updated)
        }
    }
}

/// Applies a membership deletion known only by its id (a prune): the membership's own row,
/// if any, is removed and the id tombstoned.
pub(crate) fn delete_membership(
    conn: &mut DbConnection,
    reads: &mut Reads,
    clerk_id: &ClerkMembershipId,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    let context = MembershipContext {
        tombstoned: reads.tombstoned(conn, clerk_id.as_str())?,
        by_clerk_id: reads.membership(conn, clerk_id)?,
        ..MembershipContext::default()
    };
    finish_membership_deletion(conn, reads, clerk_id, &context, None, now)
}

fn finish_membership_deletion(
    conn: &mut DbConnection,
    reads: &mut Reads,
    clerk_id: &ClerkMembershipId,
    context: &MembershipContext,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    match decide_membership_deletion(context) {
        MembershipDeletion::AlreadyTombstoned => Ok(Change::Tombstoned),
        MembershipDeletion::Delete(row) => {
            reads.deleting_membership(clerk_id, row);
            reads.flush(conn)?;
            if let Some(id) = row {
                memberships::delete(conn, id)?;
            }
            tombstones::insert(conn, Kind::Membership, clerk_id.as_str(), deleted_at, now)?;
            Ok(Change::Deleted)
        }
    }
}
