//! What the sync rules read, one row at a time or preloaded for a whole batch.
//!
//! A webhook delivery reads a handful of rows; a resync batch reads thousands, and one query per
//! row would make a large import slow on PostgreSQL (a round trip each). So the per-object code
//! reads through a [`RowCache`]: a lookup first tries what a batch preloaded (a few `IN (…)`
//! queries at the start of its transaction, after its locks are taken) and otherwise queries the
//! row, remembering the answer. Every write tells the cache what it touched; an answer naming a
//! key or a row written since is not trusted again and is read anew, so the rules see exactly
//! what a query at that moment would return.
//!
//! A lookup that queries goes through the [`InsertBuffer`], which first writes the inserts a
//! batch holds back. An insert invalidates the keys it claims (Clerk id, email, membership
//! pair), so anything later in the batch that could see the new row misses the cache and so
//! reads it from the database.

mod preload;

use std::collections::{HashMap, HashSet};

use clerk_sync_domain::{
    ClerkMembershipId, ClerkOrgId, ClerkUserId, EmailAddress, MembershipId, OrganizationId,
    StoredMembership, StoredOrganization, StoredUser, UserId,
};

use crate::insert_buffer::InsertBuffer;
use crate::users::Contacts;
use crate::{StoreError, memberships, tombstones as tombstone_repo, users as user_repo};

/// A user's id, Clerk id and Clerk version, as `users::stored` reads them.
type UserColumns = (i64, Option<String>, Option<i64>);

/// Most values bound in one `IN (…)` list (SQLite allows 32,766 variables per statement).
const CHUNK: usize = 1000;

/// Rows read for the sync rules, remembered for one transaction.
#[derive(Debug, Default)]
pub(crate) struct RowCache {
    tombstoned: HashMap<String, bool>,
    users: HashMap<String, Option<StoredUser>>,
    emails: HashMap<String, Option<StoredUser>>,
    accounts: HashMap<UserId, Option<StoredUser>>,
    organizations: HashMap<String, Option<StoredOrganization>>,
    memberships: HashMap<String, Option<StoredMembership>>,
    pairs: HashMap<(UserId, OrganizationId), Option<StoredMembership>>,
    /// The addresses and numbers of preloaded user rows (and of rows this transaction wrote
    /// them for), so that a version that leaves them as they are does not rewrite them. A row
    /// missing here is rewritten.
    contacts: HashMap<UserId, Contacts>,
    written_users: HashSet<UserId>,
    written_organizations: HashSet<OrganizationId>,
    written_memberships: HashSet<MembershipId>,
}

impl RowCache {
    /// Whether a Clerk id was deleted.
    pub(crate) fn tombstoned(
        &mut self,
        db: &mut InsertBuffer<'_>,
        clerk_id: &str,
    ) -> Result<bool, StoreError> {
        if let Some(known) = self.tombstoned.get(clerk_id) {
            return Ok(*known);
        }
        let found = tombstone_repo::exists(db.conn()?, clerk_id)?;
        self.tombstoned.insert(clerk_id.to_owned(), found);
        Ok(found)
    }

    /// The user row with a Clerk id.
    pub(crate) fn user(
        &mut self,
        db: &mut InsertBuffer<'_>,
        clerk_id: &ClerkUserId,
    ) -> Result<Option<StoredUser>, StoreError> {
        if let Some(known) = self.users.get(clerk_id.as_str())
            && known
                .as_ref()
                .is_none_or(|row| !self.written_users.contains(&row.id))
        {
            return Ok(known.clone());
        }
        let found = user_repo::stored_by_clerk_id(db.conn()?, clerk_id)?;
        self.users
            .insert(clerk_id.as_str().to_owned(), found.clone());
        Ok(found)
    }

    /// The user row holding an email.
    pub(crate) fn email_holder(
        &mut self,
        db: &mut InsertBuffer<'_>,
        email: &EmailAddress,
    ) -> Result<Option<StoredUser>, StoreError> {
        if let Some(known) = self.emails.get(email.as_str())
            && known
                .as_ref()
                .is_none_or(|row| !self.written_users.contains(&row.id))
        {
            return Ok(known.clone());
        }
        let found = user_repo::stored_by_email(db.conn()?, email)?;
        self.emails.insert(email.as_str().to_owned(), found.clone());
        Ok(found)
    }

    /// The user row with a local id (the account an `external_id` names).
    pub(crate) fn account(
        &mut self,
        db: &mut InsertBuffer<'_>,
        id: UserId,
    ) -> Result<Option<StoredUser>, StoreError> {
        if !self.written_users.contains(&id)
            && let Some(known) = self.accounts.get(&id)
        {
            return Ok(known.clone());
        }
        let found = user_repo::stored_by_id(db.conn()?, id)?;
        self.accounts.insert(id, found.clone());
        Ok(found)
    }

    /// The organization row with a Clerk id.
    pub(crate) fn organization(
        &mut self,
        db: &mut InsertBuffer<'_>,
        clerk_id: &ClerkOrgId,
    ) -> Result<Option<StoredOrganization>, StoreError> {
        if let Some(known) = self.organizations.get(clerk_id.as_str()) {
            return Ok(known.clone());
        }
        let found = crate::organizations::stored_by_clerk_id(db.conn()?, clerk_id)?;
        self.organizations
            .insert(clerk_id.as_str().to_owned(), found.clone());
        Ok(found)
    }

    /// The membership row with a Clerk id.
    pub(crate) fn membership(
        &mut self,
        db: &mut InsertBuffer<'_>,
        clerk_id: &ClerkMembershipId,
    ) -> Result<Option<StoredMembership>, StoreError> {
        if let Some(known) = self.memberships.get(clerk_id.as_str())
            && known
                .as_ref()
                .is_none_or(|row| !self.written_memberships.contains(&row.id))
        {
            return Ok(known.clone());
        }
        let found = memberships::stored_by_clerk_id(db.conn()?, clerk_id)?;
        self.memberships
            .insert(clerk_id.as_str().to_owned(), found.clone());
        Ok(found)
    }

    /// The membership row holding a (user, organization) pair.
    pub(crate) fn membership_for_pair(
        &mut self,
        db: &mut InsertBuffer<'_>,
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
        let found = memberships::stored_for_pair(db.conn()?, user, organization)?;
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
        for row in rows {
            self.contacts.remove(row);
        }
    }

    /// Whether user row `id` is known to hold exactly `contacts`.
    pub(crate) fn holds_contacts(&self, id: UserId, contacts: &Contacts) -> bool {
        self.contacts.get(&id) == Some(contacts)
    }

    /// User row `id` now holds `contacts`.
    pub(crate) fn wrote_contacts(&mut self, id: UserId, contacts: Contacts) {
        self.contacts.insert(id, contacts);
    }

    /// A user row is about to be deleted (its memberships go with it) and its id tombstoned.
    pub(crate) fn deleting_user(&mut self, clerk_id: &ClerkUserId, row: Option<UserId>) {
        if let Some(row) = row {
            self.contacts.remove(&row);
        }
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
