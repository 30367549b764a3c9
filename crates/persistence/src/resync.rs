//! Resync: objects listed by Clerk's Backend API, applied many to a transaction through the same
//! per-object code as webhook deliveries, and the prune of what Clerk no longer has.
//!
//! A batch takes the locks of all its objects (their Clerk ids, and the emails its users
//! claim) in one sorted set, reads what the rules need in a few queries, then applies the
//! objects one by one. A webhook about one of them waits for the batch, or the batch for it;
//! either way each object's versions are ordered by Clerk's `updated_at` and tombstones win,
//! so a resync running while webhooks arrive ends in the state the webhooks alone would give.

use chrono::NaiveDateTime;
use clerk_sync_domain::{
    ClerkMembershipId, ClerkOrgId, ClerkUserId, MembershipSnapshot, OrganizationSnapshot, UserId,
    UserSnapshot,
};
use diesel::prelude::*;

use crate::changes::{self, Change, MembershipAction};
use crate::insert_buffer::InsertBuffer;
use crate::row_cache::RowCache;
use crate::schema::{organization_memberships, organizations, users};
use crate::{DbConnection, LockKey, StoreError, WriteMode, write_transaction_in};

/// How many objects of a batch came to each [`Change`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// New rows.
    pub created: u64,
    /// Rows that took a newer version.
    pub updated: u64,
    /// Rows that already held the listed version.
    pub unchanged: u64,
    /// Rows holding a newer version than the one listed.
    pub stale: u64,
    /// Objects deleted before (tombstoned); not written.
    pub tombstoned: u64,
    /// Rows removed and tombstoned.
    pub deleted: u64,
}

impl Tally {
    /// Counts one change.
    pub fn add(&mut self, change: Change) {
        let counter = match change {
            Change::Created => &mut self.created,
            Change::Updated => &mut self.updated,
            Change::Unchanged => &mut self.unchanged,
            Change::Stale => &mut self.stale,
            Change::Tombstoned => &mut self.tombstoned,
            Change::Deleted => &mut self.deleted,
        };
        *counter += 1;
    }

    /// Adds another tally's counts.
    pub fn merge(&mut self, other: &Self) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.stale += other.stale;
        self.tombstoned += other.tombstoned;
        self.deleted += other.deleted;
    }

    /// All objects counted.
    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.stale + self.tombstoned + self.deleted
    }
}

/// Applies a batch of user versions in one transaction.
///
/// # Errors
/// [`StoreError`] when the database fails; nothing of the batch is written then.
pub fn apply_users(
    conn: &mut DbConnection,
    batch: &[UserSnapshot],
    mode: WriteMode,
    now: NaiveDateTime,
) -> Result<Tally, StoreError> {
    let ids: Vec<&str> = batch.iter().map(|u| u.clerk_id.as_str()).collect();
    let emails: Vec<&str> = batch
        .iter()
        .filter_map(|u| u.email.as_ref().map(|e| e.as_str()))
        .collect();
    let accounts: Vec<UserId> = batch
        .iter()
        .filter_map(UserSnapshot::external_account)
        .collect();
    let mut keys: Vec<LockKey> = ids.iter().copied().map(LockKey::object).collect();
    keys.extend(batch.iter().flat_map(changes::claim_keys));
    write_transaction_in(mode, conn, &keys, |conn| {
        let cache = &mut RowCache::default();
        cache.preload_tombstones(conn, &ids)?;
        cache.preload_users(conn, &ids)?;
        cache.preload_emails(conn, &emails)?;
        cache.preload_accounts(conn, &accounts)?;
        InsertBuffer::batch(conn, |db| {
            let mut tally = Tally::default();
            for user in batch {
                tally.add(changes::upsert_user(db, cache, user, now)?);
            }
            Ok(tally)
        })
    })
}

/// Applies a batch of organization versions in one transaction.
///
/// # Errors
/// [`StoreError`] when the database fails; nothing of the batch is written then.
pub fn apply_organizations(
    conn: &mut DbConnection,
    batch: &[OrganizationSnapshot],
    mode: WriteMode,
    now: NaiveDateTime,
) -> Result<Tally, StoreError> {
    let ids: Vec<&str> = batch.iter().map(|o| o.clerk_id.as_str()).collect();
    let keys: Vec<LockKey> = ids.iter().copied().map(LockKey::object).collect();
    write_transaction_in(mode, conn, &keys, |conn| {
        let cache = &mut RowCache::default();
        cache.preload_tombstones(conn, &ids)?;
        cache.preload_organizations(conn, &ids)?;
        InsertBuffer::batch(conn, |db| {
            let mut tally = Tally::default();
            for org in batch {
                tally.add(changes::upsert_organization(db, cache, org, now)?.0);
            }
            Ok(tally)
        })
    })
}

/// Applies a batch of membership versions in one transaction, with the organization versions
/// and member data they carry (as a membership webhook does).
///
/// # Errors
/// [`StoreError`] when the database fails; nothing of the batch is written then.
pub fn apply_memberships(
    conn: &mut DbConnection,
    batch: &[MembershipSnapshot],
    mode: WriteMode,
    now: NaiveDateTime,
) -> Result<Tally, StoreError> {
    let ids: Vec<&str> = batch.iter().map(|m| m.clerk_id.as_str()).collect();
    let user_ids: Vec<&str> = batch.iter().map(|m| m.user.clerk_id.as_str()).collect();
    let org_ids: Vec<&str> = batch
        .iter()
        .map(|m| m.organization.clerk_id.as_str())
        .collect();
    let pairs: Vec<(&str, &str)> = user_ids
        .iter()
        .copied()
        .zip(org_ids.iter().copied())
        .collect();
    let mut keys = ids.clone();
    keys.extend(&user_ids);
    keys.extend(&org_ids);
    keys.sort_unstable();
    keys.dedup();
    let lock_keys: Vec<LockKey> = keys.iter().copied().map(LockKey::object).collect();
    write_transaction_in(mode, conn, &lock_keys, |conn| {
        let cache = &mut RowCache::default();
        cache.preload_tombstones(conn, &keys)?;
        cache.preload_organizations(conn, &org_ids)?;
        cache.preload_users(conn, &user_ids)?;
        cache.preload_memberships(conn, &ids)?;
        cache.preload_pairs(conn, &pairs)?;
        InsertBuffer::batch(conn, |db| {
            let mut tally = Tally::default();
            for membership in batch {
                let action = MembershipAction::Upsert;
                tally.add(changes::apply_membership(
                    db, cache, membership, action, now,
                )?);
            }
            Ok(tally)
        })
    })
}

/// The Clerk ids of the users the mirror holds whose rows were last written before
/// `written_before` (candidates for a prune; a row written since was written by something that
/// knew the user then, and is left alone).
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn held_users(
    conn: &mut DbConnection,
    written_before: NaiveDateTime,
) -> Result<Vec<String>, StoreError> {
    let ids: Vec<Option<String>> = users::table
        .filter(users::clerk_id.is_not_null())
        .filter(users::updated_at.lt(written_before))
        .select(users::clerk_id)
        .load(conn)?;
    Ok(ids.into_iter().flatten().collect())
}

/// The Clerk ids of the organizations the mirror holds whose rows were last written before
/// `written_before`.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn held_organizations(
    conn: &mut DbConnection,
    written_before: NaiveDateTime,
) -> Result<Vec<String>, StoreError> {
    Ok(organizations::table
        .filter(organizations::updated_at.lt(written_before))
        .select(organizations::clerk_id)
        .load(conn)?)
}

/// A membership the mirror holds, with the Clerk ids of its user and organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldMembership {
    /// The membership's Clerk id.
    pub clerk_id: String,
    /// The member's Clerk id (`None` only for a row that lost it, which Clerk never lists).
    pub user: Option<String>,
    /// The organization's Clerk id.
    pub organization: String,
}

/// The memberships the mirror holds whose rows were last written before `written_before`.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn held_memberships(
    conn: &mut DbConnection,
    written_before: NaiveDateTime,
) -> Result<Vec<HeldMembership>, StoreError> {
    let rows: Vec<(String, Option<String>, String)> = organization_memberships::table
        .inner_join(users::table)
        .inner_join(organizations::table)
        .filter(organization_memberships::updated_at.lt(written_before))
        .select((
            organization_memberships::clerk_id,
            users::clerk_id,
            organizations::clerk_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(clerk_id, user, organization)| HeldMembership {
            clerk_id,
            user,
            organization,
        })
        .collect())
}

/// A Clerk id of a kind the prune removes: [`ClerkUserId`], [`ClerkOrgId`] or
/// [`ClerkMembershipId`] (sealed: each names its table and its deletion).
pub trait PrunableId: sealed::Prunable + Clone {}

impl PrunableId for ClerkUserId {}
impl PrunableId for ClerkOrgId {}
impl PrunableId for ClerkMembershipId {}

mod sealed {
    use chrono::NaiveDateTime;
    use clerk_sync_domain::{ClerkMembershipId, ClerkOrgId, ClerkUserId};
    use diesel::prelude::*;

    use crate::changes::{self, Change};
    use crate::insert_buffer::InsertBuffer;
    use crate::row_cache::RowCache;
    use crate::schema::{organization_memberships, organizations, users};
    use crate::{DbConnection, StoreError};

    /// The row cache a prune's deletions share in a transaction. Nominally public so that
    /// the sealed trait can name it; nothing outside the crate can make or open one.
    pub struct PruneCache(pub(crate) RowCache);

    /// What the prune needs of a kind: when its row was last written, and its deletion (as
    /// the kind's `*.deleted` event would do it).
    pub trait Prunable: AsRef<str> {
        fn written_at(&self, conn: &mut DbConnection) -> QueryResult<Option<NaiveDateTime>>;

        fn delete(
            &self,
            conn: &mut DbConnection,
            cache: &mut PruneCache,
            now: NaiveDateTime,
        ) -> Result<Change, StoreError>;
    }

    /// A kind's table (with `clerk_id` and `updated_at` columns) and its deletion.
    macro_rules! prunable {
        ($id:ty, $table:ident, $delete:expr) => {
            impl Prunable for $id {
                fn written_at(
                    &self,
                    conn: &mut DbConnection,
                ) -> QueryResult<Option<NaiveDateTime>> {
                    $table::table
                        .filter($table::clerk_id.eq(self.as_str()))
                        .select($table::updated_at)
                        .first(conn)
                        .optional()
                }

                fn delete(
                    &self,
                    conn: &mut DbConnection,
                    cache: &mut PruneCache,
                    now: NaiveDateTime,
                ) -> Result<Change, StoreError> {
                    let delete: fn(
                        &mut InsertBuffer<'_>,
                        &mut RowCache,
                        &Self,
                        NaiveDateTime,
                    ) -> Result<Change, StoreError> = $delete;
                    delete(&mut InsertBuffer::immediate(conn), &mut cache.0, self, now)
                }
            }
        };
    }

    prunable!(ClerkUserId, users, |db, cache, id, now| {
        changes::delete_user(db, cache, id, None, now)
    });
    // An organization's memberships go with it.
    prunable!(ClerkOrgId, organizations, |db, cache, id, now| {
        changes::delete_organization(db, cache, id, None, now)
    });
    prunable!(
        ClerkMembershipId,
        organization_memberships,
        |db, cache, id, now| { changes::delete_membership(db, cache, id, now) }
    );
}

/// Removes and tombstones objects Clerk no longer has (users, organizations with their
/// memberships, or memberships), as their `*.deleted` events would; an object whose row was
/// written at or after `written_before` (by a webhook, say, since the listing began) or is gone
/// already is left alone. Returns the ids pruned.
///
/// # Errors
/// [`StoreError`] when the database fails; nothing is pruned then.
pub fn prune<Id: PrunableId>(
    conn: &mut DbConnection,
    ids: &[Id],
    written_before: NaiveDateTime,
    mode: WriteMode,
    now: NaiveDateTime,
) -> Result<Vec<Id>, StoreError> {
    let keys: Vec<LockKey> = ids.iter().map(|id| LockKey::object(id.as_ref())).collect();
    write_transaction_in(mode, conn, &keys, |conn| {
        let cache = &mut sealed::PruneCache(RowCache::default());
        let mut pruned = Vec::new();
        for id in ids {
            let written = id.written_at(conn)?;
            if written.is_some_and(|at| at < written_before)
                && id.delete(conn, cache, now)? == Change::Deleted
            {
                pruned.push(id.clone());
            }
        }
        Ok(pruned)
    })
}
