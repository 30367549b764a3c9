//! Applying one Clerk object: a version of a user, an organization or a membership, or its
//! deletion, inside the caller's transaction. Webhook deliveries and resync batches both come
//! through here, so they follow the same rules and converge to the same state.
//!
//! Every function reads what the domain rules need (through a [`RowCache`]), asks them what to
//! do, and writes that (through an [`InsertBuffer`]); no rule is decided here.

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

use crate::insert_buffer::InsertBuffer;
use crate::row_cache::RowCache;
use crate::tombstones::TombstoneKind;
use crate::users::{Contacts, ContactsWrite};
use crate::{LockKey, StoreError, memberships, organizations, tombstones, users};

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
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    clerk_id: &ClerkUserId,
) -> Result<UserContext, StoreError> {
    Ok(UserContext {
        tombstoned: cache.tombstoned(db, clerk_id.as_str())?,
        by_clerk_id: cache.user(db, clerk_id)?,
        ..UserContext::default()
    })
}

/// The lock keys of what a user version may take over besides its own Clerk id: the row that
/// holds its email, and the account its `external_id` names. Writers of either run one after
/// the other.
pub(crate) fn claim_keys(user: &UserSnapshot) -> impl Iterator<Item = LockKey> + '_ {
    let email = user.email.as_ref().map(LockKey::email);
    let account = user.external_account().map(LockKey::account);
    email.into_iter().chain(account)
}

/// Applies a user version.
pub(crate) fn upsert_user(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    user: &UserSnapshot,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    let mut context = user_context(db, cache, &user.clerk_id)?;
    if let Some(email) = &user.email {
        context.email_holder = cache.email_holder(db, email)?;
    }
    if let Some(account) = user.external_account() {
        context.external_account = cache.account(db, account)?;
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
    // The version's addresses and numbers, next to what the row holds: asked before
    // `writing_user` below makes the cache forget them.
    let contacts = Contacts::of(user);
    let contacts_write = match write.target {
        UserTarget::Update(id) | UserTarget::Link(id) if cache.holds_contacts(id, &contacts) => {
            ContactsWrite::Unchanged
        }
        _ => ContactsWrite::Replace,
    };
    cache.writing_user(&user.clerk_id, user.email.as_ref(), &touched);
    if let UserTarget::Insert = write.target
        && write.release_email_from.is_none()
    {
        db.insert_user(user, email, now)?;
        return Ok(Change::Created);
    }
    if let (Some(holder), Some(email)) = (write.release_email_from, email) {
        users::release_email(db.conn()?, holder, email, now)?;
    }
    match write.target {
        UserTarget::Insert => {
            users::insert_version(db.conn()?, user, email, now)?;
            return Ok(Change::Created);
        }
        UserTarget::Update(id) | UserTarget::Link(id) => {
            db.write_user(id, user, email, now, contacts_write)?;
            cache.wrote_contacts(id, contacts);
        }
        UserTarget::Merge { from, into } => {
            let conn = db.conn()?;
            users::merge(conn, from, into)?;
            users::write_version(conn, into, user, email, now, ContactsWrite::Replace)?;
            cache.wrote_contacts(into, contacts);
        }
    }
    Ok(Change::Updated)
}

/// Applies a user deletion (`deleted_at`: when Clerk deleted it, when known).
pub(crate) fn delete_user(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    clerk_id: &ClerkUserId,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    match decide_user_deletion(&user_context(db, cache, clerk_id)?) {
        UserDeletion::AlreadyTombstoned => Ok(Change::Tombstoned),
        UserDeletion::Delete(row) => {
            cache.deleting_user(clerk_id, row);
            let conn = db.conn()?;
            if let Some(id) = row {
                users::delete(conn, id)?;
            }
            tombstones::insert(
                conn,
                TombstoneKind::User,
                clerk_id.as_str(),
                deleted_at,
                now,
            )?;
            Ok(Change::Deleted)
        }
    }
}

fn organization_context(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    clerk_id: &ClerkOrgId,
) -> Result<OrganizationContext, StoreError> {
    Ok(OrganizationContext {
        tombstoned: cache.tombstoned(db, clerk_id.as_str())?,
        existing: cache.organization(db, clerk_id)?,
    })
}

/// Applies an organization version; also returns the organization's row, unless deleted.
pub(crate) fn upsert_organization(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    org: &OrganizationSnapshot,
    now: NaiveDateTime,
) -> Result<(Change, Option<OrganizationId>), StoreError> {
    let context = organization_context(db, cache, &org.clerk_id)?;
    Ok(match decide_organization_upsert(org, &context) {
        OrganizationDecision::Tombstoned => (Change::Tombstoned, None),
        OrganizationDecision::Stale(id) => {
            let stored = context.existing.map(|row| row.clerk_updated_at);
            (not_newer(stored, org.updated_at), Some(id))
        }
        OrganizationDecision::Insert => {
            cache.writing_organization(&org.clerk_id);
            let id = organizations::insert_version(db.conn()?, org, now)?;
            (Change::Created, Some(id))
        }
        OrganizationDecision::Update(id) => {
            cache.writing_organization(&org.clerk_id);
            organizations::write_version(db.conn()?, id, org, now)?;
            (Change::Updated, Some(id))
        }
    })
}

/// Applies an organization deletion.
pub(crate) fn delete_organization(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    clerk_id: &ClerkOrgId,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    match decide_organization_deletion(&organization_context(db, cache, clerk_id)?) {
        OrganizationDeletion::AlreadyTombstoned => Ok(Change::Tombstoned),
        OrganizationDeletion::Delete(row) => {
            cache.deleting_organization(clerk_id, row);
            let conn = db.conn()?;
            if let Some(id) = row {
                organizations::delete(conn, id)?;
            }
            tombstones::insert(
                conn,
                TombstoneKind::Organization,
                clerk_id.as_str(),
                deleted_at,
                now,
            )?;
            Ok(Change::Deleted)
        }
    }
}

/// The membership's user: known, created from the public data, or `None` when deleted.
fn member_user(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    user: &PublicUserData,
    now: NaiveDateTime,
) -> Result<Option<UserId>, StoreError> {
    match decide_member_user(&user_context(db, cache, &user.clerk_id)?) {
        MemberUser::Tombstoned => Ok(None),
        MemberUser::Known(id) => Ok(Some(id)),
        MemberUser::CreateFromPublicData => {
            cache.writing_user(&user.clerk_id, None, &[]);
            users::insert_placeholder(db.conn()?, user, now).map(Some)
        }
    }
}

/// What a membership event asks for: its version, or the membership's deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MembershipAction {
    /// Apply the version.
    Upsert,
    /// Delete the membership, which Clerk deleted at this time.
    DeleteAt(UnixMillis),
    /// Delete the membership; when Clerk deleted it is not known.
    DeleteAtUnknownTime,
}

impl MembershipAction {
    /// A deletion, at `deleted_at` when known.
    pub(crate) fn delete(deleted_at: Option<UnixMillis>) -> Self {
        deleted_at.map_or(Self::DeleteAtUnknownTime, Self::DeleteAt)
    }
}

/// Applies a membership version, or its deletion. Either way the organization version and the
/// user it carries are applied first, so the mirror ends the same whichever of a membership's
/// events arrive and in what order.
pub(crate) fn apply_membership(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    membership: &MembershipSnapshot,
    action: MembershipAction,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    let (_, organization) = upsert_organization(db, cache, &membership.organization, now)?;
    let user = member_user(db, cache, &membership.user, now)?;
    let parties = user.zip(organization);
    let context = MembershipContext {
        tombstoned: cache.tombstoned(db, membership.clerk_id.as_str())?,
        parties,
        for_pair: match parties {
            Some((user, organization)) => cache.membership_for_pair(db, user, organization)?,
            None => None,
        },
        by_clerk_id: cache.membership(db, &membership.clerk_id)?,
    };
    match action {
        MembershipAction::Upsert => finish_membership_upsert(db, cache, membership, &context, now),
        MembershipAction::DeleteAt(at) => {
            finish_membership_deletion(db, cache, &membership.clerk_id, &context, Some(at), now)
        }
        MembershipAction::DeleteAtUnknownTime => {
            finish_membership_deletion(db, cache, &membership.clerk_id, &context, None, now)
        }
    }
}

fn finish_membership_upsert(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    membership: &MembershipSnapshot,
    context: &MembershipContext,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    match decide_membership_upsert(membership, context) {
        MembershipDecision::Tombstoned => Ok(Change::Tombstoned),
        MembershipDecision::Stale => {
            let stored = context.by_clerk_id.as_ref().map(|row| row.clerk_updated_at);
            Ok(not_newer(stored, membership.updated_at))
        }
        MembershipDecision::Insert { user, organization } => {
            cache.writing_membership(&membership.clerk_id, Some((user, organization)), None);
            db.insert_membership(membership, (user, organization), now)?;
            Ok(Change::Created)
        }
        MembershipDecision::Update(id) => {
            cache.writing_membership(&membership.clerk_id, context.parties, Some(id));
            memberships::write_version(db.conn()?, id, membership, now)?;
            Ok(Change::Updated)
        }
    }
}

/// Applies a membership deletion known only by its id (a prune): the membership's own row,
/// if any, is removed and the id tombstoned.
pub(crate) fn delete_membership(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    clerk_id: &ClerkMembershipId,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    let context = MembershipContext {
        tombstoned: cache.tombstoned(db, clerk_id.as_str())?,
        by_clerk_id: cache.membership(db, clerk_id)?,
        ..MembershipContext::default()
    };
    finish_membership_deletion(db, cache, clerk_id, &context, None, now)
}

fn finish_membership_deletion(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    clerk_id: &ClerkMembershipId,
    context: &MembershipContext,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<Change, StoreError> {
    match decide_membership_deletion(context) {
        MembershipDeletion::AlreadyTombstoned => Ok(Change::Tombstoned),
        MembershipDeletion::Delete(row) => {
            cache.deleting_membership(clerk_id, row);
            let conn = db.conn()?;
            if let Some(id) = row {
                memberships::delete(conn, id)?;
            }
            tombstones::insert(
                conn,
                TombstoneKind::Membership,
                clerk_id.as_str(),
                deleted_at,
                now,
            )?;
            Ok(Change::Deleted)
        }
    }
}
