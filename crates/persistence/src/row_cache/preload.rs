//! Preloading a batch's reads: a few `IN (…)` queries at the start of its transaction instead
//! of one query per object.

use std::collections::{HashMap, HashSet};

use clerk_sync_domain::{OrganizationId, StoredOrganization, UnixMillis, UserId};
use diesel::prelude::*;

use super::{CHUNK, RowCache, UserColumns};
use crate::schema::{
    organization_memberships as memberships_t, organizations, tombstones, user_email_addresses,
    user_phone_numbers, users,
};
use crate::users::Contacts;
use crate::{DbConnection, StoreError, memberships, users as user_repo};

impl RowCache {
    /// Reads, in a few queries, whether each of `clerk_ids` is tombstoned.
    pub(crate) fn preload_tombstones(
        &mut self,
        conn: &mut DbConnection,
        clerk_ids: &[&str],
    ) -> Result<(), StoreError> {
        for chunk in clerk_ids.chunks(CHUNK) {
            let found: HashSet<String> = tombstones::table
                .filter(tombstones::clerk_id.eq_any(chunk))
                .select(tombstones::clerk_id)
                .load::<String>(conn)?
                .into_iter()
                .collect();
            for id in chunk {
                self.tombstoned
                    .insert((*id).to_owned(), found.contains(*id));
            }
        }
        Ok(())
    }

    /// Reads the user rows with each of `clerk_ids`.
    pub(crate) fn preload_users(
        &mut self,
        conn: &mut DbConnection,
        clerk_ids: &[&str],
    ) -> Result<(), StoreError> {
        for chunk in clerk_ids.chunks(CHUNK) {
            for id in chunk {
                self.users.insert((*id).to_owned(), None);
            }
            let rows: Vec<UserColumns> = users::table
                .filter(users::clerk_id.eq_any(chunk))
                .select((users::id, users::clerk_id, users::clerk_updated_at))
                .load(conn)?;
            let mut found = Vec::with_capacity(rows.len());
            for row in rows {
                let key = row.1.clone().unwrap_or_default();
                let stored = user_repo::stored(row)?;
                found.push(stored.id);
                self.users.insert(key, Some(stored));
            }
            self.preload_contacts(conn, &found)?;
        }
        Ok(())
    }

    /// Reads the addresses and numbers of user rows `ids`.
    fn preload_contacts(
        &mut self,
        conn: &mut DbConnection,
        ids: &[UserId],
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let raw: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let emails: Vec<(i64, String, String, bool, bool)> = user_email_addresses::table
            .filter(user_email_addresses::user_id.eq_any(&raw))
            .select((
                user_email_addresses::user_id,
                user_email_addresses::clerk_id,
                user_email_addresses::email_address,
                user_email_addresses::verified,
                user_email_addresses::is_primary,
            ))
            .load(conn)?;
        let phones: Vec<(i64, String, String, bool, bool)> = user_phone_numbers::table
            .filter(user_phone_numbers::user_id.eq_any(&raw))
            .select((
                user_phone_numbers::user_id,
                user_phone_numbers::clerk_id,
                user_phone_numbers::phone_number,
                user_phone_numbers::verified,
                user_phone_numbers::is_primary,
            ))
            .load(conn)?;
        let mut contacts: HashMap<UserId, Contacts> =
            ids.iter().map(|id| (*id, Contacts::default())).collect();
        for (user, clerk_id, address, verified, primary) in emails {
            if let Some(held) = contacts.get_mut(&UserId(user)) {
                held.emails.push((clerk_id, address, verified, primary));
            }
        }
        for (user, clerk_id, number, verified, primary) in phones {
            if let Some(held) = contacts.get_mut(&UserId(user)) {
                held.phones.push((clerk_id, number, verified, primary));
            }
        }
        for (id, mut held) in contacts {
            held.sort();
            self.contacts.insert(id, held);
        }
        Ok(())
    }

    /// Reads the user rows holding each of `emails`.
    pub(crate) fn preload_emails(
        &mut self,
        conn: &mut DbConnection,
        emails: &[&str],
    ) -> Result<(), StoreError> {
        for chunk in emails.chunks(CHUNK) {
            for email in chunk {
                self.emails.insert((*email).to_owned(), None);
            }
            let rows: Vec<(Option<String>, UserColumns)> = users::table
                .filter(users::email.eq_any(chunk))
                .select((
                    users::email,
                    (users::id, users::clerk_id, users::clerk_updated_at),
                ))
                .load(conn)?;
            for (email, row) in rows {
                self.emails
                    .insert(email.unwrap_or_default(), Some(user_repo::stored(row)?));
            }
        }
        Ok(())
    }

    /// Reads the user rows with each of the local `ids` (accounts that `external_id`s name).
    pub(crate) fn preload_accounts(
        &mut self,
        conn: &mut DbConnection,
        ids: &[UserId],
    ) -> Result<(), StoreError> {
        for chunk in ids.chunks(CHUNK) {
            for id in chunk {
                self.accounts.insert(*id, None);
            }
            let local_ids: Vec<i64> = chunk.iter().map(|id| id.0).collect();
            let rows: Vec<UserColumns> = users::table
                .filter(users::id.eq_any(local_ids))
                .select((users::id, users::clerk_id, users::clerk_updated_at))
                .load(conn)?;
            for row in rows {
                let stored = user_repo::stored(row)?;
                self.accounts.insert(stored.id, Some(stored));
            }
        }
        Ok(())
    }

    /// Reads the organization rows with each of `clerk_ids`.
    pub(crate) fn preload_organizations(
        &mut self,
        conn: &mut DbConnection,
        clerk_ids: &[&str],
    ) -> Result<(), StoreError> {
        for chunk in clerk_ids.chunks(CHUNK) {
            for id in chunk {
                self.organizations.insert((*id).to_owned(), None);
            }
            let rows: Vec<(i64, String, i64)> = organizations::table
                .filter(organizations::clerk_id.eq_any(chunk))
                .select((
                    organizations::id,
                    organizations::clerk_id,
                    organizations::clerk_updated_at,
                ))
                .load(conn)?;
            for (id, clerk_id, updated_at) in rows {
                let stored = StoredOrganization {
                    id: OrganizationId(id),
                    clerk_updated_at: UnixMillis(updated_at),
                };
                self.organizations.insert(clerk_id, Some(stored));
            }
        }
        Ok(())
    }

    /// Reads the membership rows with each of `clerk_ids`.
    pub(crate) fn preload_memberships(
        &mut self,
        conn: &mut DbConnection,
        clerk_ids: &[&str],
    ) -> Result<(), StoreError> {
        for chunk in clerk_ids.chunks(CHUNK) {
            for id in chunk {
                self.memberships.insert((*id).to_owned(), None);
            }
            let rows: Vec<(i64, String, i64)> = memberships_t::table
                .filter(memberships_t::clerk_id.eq_any(chunk))
                .select((
                    memberships_t::id,
                    memberships_t::clerk_id,
                    memberships_t::clerk_updated_at,
                ))
                .load(conn)?;
            for row in rows {
                let key = row.1.clone();
                self.memberships
                    .insert(key, Some(memberships::stored(row)?));
            }
        }
        Ok(())
    }

    /// Reads the membership rows holding each of `pairs`, for the pairs whose user and
    /// organization were preloaded (a row created in this transaction is read when needed).
    pub(crate) fn preload_pairs(
        &mut self,
        conn: &mut DbConnection,
        members: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let pairs: Vec<(UserId, OrganizationId)> = members
            .iter()
            .filter_map(|(user, organization)| {
                let user = self.users.get(*user)?.as_ref()?.id;
                let organization = self.organizations.get(*organization)?.as_ref()?.id;
                Some((user, organization))
            })
            .collect();
        for chunk in pairs.chunks(CHUNK / 2) {
            for pair in chunk {
                self.pairs.insert(*pair, None);
            }
            // By user only: both lists together would make SQLite probe their cross product.
            let user_ids: HashSet<i64> = chunk.iter().map(|(user, _)| user.0).collect();
            let rows: Vec<(i64, String, i64, i64, i64)> = memberships_t::table
                .filter(memberships_t::user_id.eq_any(user_ids))
                .select((
                    memberships_t::id,
                    memberships_t::clerk_id,
                    memberships_t::clerk_updated_at,
                    memberships_t::user_id,
                    memberships_t::organization_id,
                ))
                .load(conn)?;
            for (id, clerk_id, updated_at, user, organization) in rows {
                let pair = (UserId(user), OrganizationId(organization));
                if let Some(slot) = self.pairs.get_mut(&pair) {
                    *slot = Some(memberships::stored((id, clerk_id, updated_at))?);
                }
            }
        }
        Ok(())
    }
}
