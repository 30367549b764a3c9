//! What the sync rules read, one row at a time or preloaded for a whole batch.
//!
//! A webhook delivery reads a handful of rows; a resync batch reads thousands, and one query per
//! row would make a large import slow on PostgreSQL (a round trip each). So the per-object code
//! reads through [`Reads`]: a lookup first tries what a batch preloaded (a few `IN (…)` queries
//! at the start of its transaction, after its locks are taken) and otherwise queries the row,
//! remembering the answer. Every write tells `Reads` what it touched; an answer naming a key or
//! a row written since is not trusted again and is read anew, so the rules see exactly what a
//! query at that moment would return.
//!
//! A batch also holds its inserts back ([`Reads::deferring_inserts`]) and writes them in a few
//! multi-row statements: before any query or other write, and at the end of the batch. An
//! insert invalidates the keys it claims (Clerk id, email, membership pair), so anything later
//! in the batch that could see the new row misses the memo, which first writes what is held.

mod preload;

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use clerk_sync_domain::{
    ClerkMembershipId, ClerkOrgId, ClerkUserId, EmailAddress, MembershipId, MembershipSnapshot,
    OrganizationId, StoredMembership, StoredOrganization, StoredUser, UserId, UserSnapshot,
};

use crate::{
    DbConnection, StoreError, memberships, tombstones as tombstone_repo, users as user_repo,
};

/// A user's id, Clerk id and Clerk version, as `users::stored` reads them.
type UserColumns = (i64, Option<String>, Option<i64>);

/// Most values bound in one `IN (…)` list (SQLite allows 32,766 variables per statement).
const CHUNK: usize = 1000;

/// Most rows in one multi-row INSERT (8 columns each: well under both backends' limits).
const INSERT_CHUNK: usize = 500;

/// Rows read for the sync rules, memoized for one transaction.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    tombstoned: HashMap<String, bool>,
    users: HashMap<String, Option<StoredUser>>,
    emails: HashMap<String, Option<StoredUser>>,
    accounts: HashMap<UserId, Option<StoredUser>>,
    organizations: HashMap<String, Option<StoredOrganization>>,
    memberships: HashMap<String, Option<StoredMembership>>,
    pairs: HashMap<(UserId, OrganizationId), Option<StoredMembership>>,
    written_users: HashSet<UserId>,
    written_organizations: HashSet<OrganizationId>,
    written_memberships: HashSet<MembershipId>,
    deferring: bool,
    pending_users: Vec<(UserSnapshot, Option<EmailAddress>, NaiveDateTime)>,
    pending_memberships: Vec<(MembershipSnapshot, UserId, OrganizationId, NaiveDateTime)>,
}

impl Reads {
    /// Reads for a batch, whose inserts are held back and written together.
    pub(crate) fn deferring_inserts() -> Self {
        Self {
            deferring: true,
            ..Self::default()
        }
    }

    /// Inserts a user version (now, or with the batch's other inserts).
    pub(crate) fn insert_user(
        &mut self,
        conn: &mut DbConnection,
        user: &UserSnapshot,
        email: Option<&EmailAddress>,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        if self.deferring {
            self.pending_users.push((user.clone(), email.cloned(), now));
            return Ok(());
        }
        self.flush(conn)?;
        user_repo::insert_version(conn, user, email, now).map(drop)
    }

    /// Inserts a membership version (now, or with the batch's other inserts).
    pub(crate) fn insert_membership(
        &mut self,
        conn: &mut DbConnection,
        membership: &MembershipSnapshot,
        (user, organization): (UserId, OrganizationId),
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        if self.deferring {
            self.pending_memberships
                .push((membership.clone(), user, organization, now));
            return Ok(());
        }
        self.flush(conn)?;
        memberships::insert_version(conn, membership, user, organization, now)
    }

    /// Writes the inserts held back. Call before any other write and at the end of a batch.
    pub(crate) fn flush(&mut self, conn: &mut DbConnection) -> Result<(), StoreError> {
        for chunk in self.pending_users.chunks(INSERT_CHUNK) {
            user_repo::insert_versions(conn, chunk)?;
        }
        self.pending_users.clear();
        for chunk in self.pending_memberships.chunks(INSERT_CHUNK) {
            memberships::insert_versions(conn, chunk)?;
        }
        self.pending_memberships.clear();
        Ok(())
    }

    /// Whether a Clerk id was deleted.
    pub(crate) fn tombstoned(
        &mut self,
        conn: &mut DbConnection,
        clerk_id: &str,
    ) -> Result<bool, StoreError> {
        if let Some(known) = self.tombstoned.get(clerk_id) {
            return Ok(*known);
        }
        self.flush(conn)?;
        let found = tombstone_repo::exists(conn, clerk_id)?;
        self.tombstoned.insert(clerk_id.to_owned(), found);
        Ok(found)
    }

    /// The user row with a Clerk id.
    pub(crate) fn user(
        &mut self,
        conn: &mut DbConnection,
        clerk_id: &ClerkUserId,
    ) -> Result<Option<StoredUser>, StoreError> {
        if let Some(known) = self.users.get(clerk_id.as_str())
            && known
                .as_ref()
                .is_none_or(|row| !self.written_users.contains(&row.id))
        {
            return Ok(known.clone());
        }
        self.flush(conn)?;
        let found = user_repo::stored_by_clerk_id(conn, clerk_id)?;
        self.users
            .insert(clerk_id.as_str().to_owned(), found.clone());
        Ok(found)
    }

    /// The user row holding an email.
    pub(crate) fn email_holder(
        &mut self,
        conn: &mut DbConnection,
        email: &EmailAddress,
    ) -> Result<Option<StoredUser>, StoreError> {
        if let Some(known) = self.emails.get(email.as_str())
            && known
                .as_ref()
                .is_none_or(|row| !self.written_users.contains(&row.id))
        {
            return Ok(known.clone());
        }
        self.flush(conn)?;
        let found = user_repo::stored_by_email(conn, email)?;
        self.emails.insert(email.as_str().to_owned(), found.clone());
        Ok(found)
    }

    /// The user row with a local id (the account an `external_id` names).
    pub(crate) fn account(
        &mut self,
        conn: &mut DbConnection,
        id: UserId,
    ) -> Result<Option<StoredUser>, StoreError> {
        if !self.written_users.contains(&id)
            && let Some(known) = self.accounts.get(&id)
        {
            return Ok(known.clone());
        }
        self.flush(conn)?;
        let found = user_repo::stored_by_id(conn, id)?;
        self.accounts.insert(id, found.clone());
        Ok(found)
    }

    /// The organization row with a Clerk id.
    pub(crate) fn organization(
        &mut self,
        conn: &mut DbConnection,
        clerk_id: &ClerkOrgId,
    ) -> Result<Option<StoredOrganization>, StoreError> {
        if let Some(known) = self.organizations.get(clerk_id.as_str()) {
            return Ok(known.clone());
        }
        self.flush(conn)?;
        let found = crate::organizations::stored_by_clerk_id(conn, clerk_id)?;
        self.organizations
            .insert(clerk_id.as_str().to_owned(), found.clone());
        Ok(found)
    }

    /// The membership row with a Clerk id.
    pub(crate) fn membership(
        &mut self,
        conn: &mut DbConnection,
        clerk_id: &ClerkMembershipId,
    ) -> Result<Option<StoredMembership>, StoreError> {
        if let Some(known) = self.memberships.get(clerk_id.as_str())
            && known
                .as_ref()
                .is_none_or(|row| !self.written_memberships.contains(&row.id))
        {
            return Ok(known.clone());
        }
        self.flush(conn)?;
        let found = memberships::stored_by_clerk_id(conn, clerk_id)?;
        self.memberships
            .insert(clerk_id.as_str().to_owned(), found.clone());
        Ok(found)
    }

    /// The membership row holding a (user, organization) pair.
    pub(crate) fn membership_for_pair(
        &mut self,
        conn: &mut DbConnection,
        user: UserId,
        organization: OrganizationId,
    ) -> Result<Option<StoredMembership>, StoreError> {
        let trusted = !self.written_users.contains(&user)
            && !self.written_organizations.contains(&organization);
        if trusted
            && let Some(known) = self.pairs.get(&(user, organization))
            && known
                .as_ref()
                .is_none_or(|row| !self.written_memberships.contains(&row.id))
        {
            return Ok(known.clone());
        }
        self.flush(conn)?;
        let found = memberships::stored_for_pair(conn, user, organization)?;
        if trusted {
            self.pairs.insert((user, organization), found.clone());
        }
        Ok(found)
    }

    /// A user version or placeholder is about to be written under `clerk_id` (and `email`),
    /// touching `rows`.
    pub(crate) fn writing_user(
        &mut self,
        clerk_id: &ClerkUserId,
        email: Option<&EmailAddress>,
        rows: &[UserId],
    ) {
        self.users.remove(clerk_id.as_str());
        if let Some(email) = email {
            self.emails.remove(email.as_str());
        }
        self.written_users.extend(rows.iter().copied());
    }

    /// A user row is about to be deleted (its memberships go with it) and its id tombstoned.
    pub(crate) fn deleting_user(&mut self, clerk_id: &ClerkUserId, row: Option<UserId>) {
        self.users.remove(clerk_id.as_str());
        self.tombstoned.insert(clerk_id.as_str().to_owned(), true);
        self.written_users.extend(row);
        self.forget_memberships();
    }

    /// An organization version is about to be written.
    pub(crate) fn writing_organization(&mut self, clerk_id: &ClerkOrgId) {
        self.organizations.remove(clerk_id.as_str());
    }

    /// An organization row is about to be deleted (its memberships go with it) and its id
    /// tombstoned.
    pub(crate) fn deleting_organization(
        &mut self,
        clerk_id: &ClerkOrgId,
        row: Option<OrganizationId>,
    ) {
        self.organizations.remove(clerk_id.as_str());
        self.tombstoned.insert(clerk_id.as_str().to_owned(), true);
        self.written_organizations.extend(row);
        self.forget_memberships();
    }

    /// A membership version is about to be written under `clerk_id` for a pair, into `row`
    /// (`None` for a new row).
    pub(crate) fn writing_membership(
        &mut self,
        clerk_id: &ClerkMembershipId,
        pair: Option<(UserId, OrganizationId)>,
        row: Option<MembershipId>,
    ) {
        self.memberships.remove(clerk_id.as_str());
        if let Some(pair) = pair {
            self.pairs.remove(&pair);
        }
        self.written_memberships.extend(row);
    }

    /// A membership row is about to be deleted and its id tombstoned.
    pub(crate) fn deleting_membership(
        &mut self,
        clerk_id: &ClerkMembershipId,
        row: Option<MembershipId>,
    ) {
        self.memberships.remove(clerk_id.as_str());
        self.tombstoned.insert(clerk_id.as_str().to_owned(), true);
        self.written_memberships.extend(row);
    }

    fn forget_memberships(&mut self) {
        self.memberships.clear();
        self.pairs.clear();
    }
}
