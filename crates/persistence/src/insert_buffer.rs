//! Writes held back: a batch (of a resync, or of webhook deliveries written together) writes
//! its new rows in a few multi-row statements, and its new versions of stored users in one
//! UPDATE, instead of one statement per row.
//!
//! The per-object code reaches the transaction's connection only through an [`InsertBuffer`].
//! A batch's buffer holds new user and membership rows and user versions back;
//! [`InsertBuffer::conn`] writes them before handing out the connection, so every other query
//! and write sees them, and the batch writes what is left at its end. The held writes are
//! written in the order they were made: inserts and updates are never held at once (one kind
//! is written before the other is held), and a second version of a row held writes the first.
//! A delivery written in a savepoint of its own holds nothing back.

use chrono::NaiveDateTime;
use clerk_sync_domain::{EmailAddress, MembershipSnapshot, OrganizationId, UserId, UserSnapshot};

use crate::users::{ContactsWrite, HeldVersion};
use crate::{DbConnection, StoreError, memberships, users};

/// Most rows in one multi-row INSERT (at most 22 columns each: 11,000 bound values, well under
/// both backends' limits).
const INSERT_CHUNK: usize = 500;

/// Most versions in one UPDATE (21 arrays are bound, however many rows).
const UPDATE_CHUNK: usize = 1000;

/// The transaction's connection, with the inserts and user versions a batch holds back.
pub(crate) struct InsertBuffer<'c> {
    conn: &'c mut DbConnection,
    holding: bool,
    users: Vec<(UserSnapshot, Option<EmailAddress>, NaiveDateTime)>,
    memberships: Vec<(MembershipSnapshot, UserId, OrganizationId, NaiveDateTime)>,
    versions: Vec<HeldVersion>,
}

impl<'c> InsertBuffer<'c> {
    /// A buffer that holds nothing back: every insert is written at once.
    pub(crate) fn immediate(conn: &'c mut DbConnection) -> Self {
        Self {
            conn,
            holding: false,
            users: Vec::new(),
            memberships: Vec::new(),
            versions: Vec::new(),
        }
    }

    /// Runs a batch's `work` with a buffer that holds its inserts back, then writes what is
    /// still held.
    ///
    /// # Errors
    /// The error of `work`, or of writing the held rows.
    pub(crate) fn batch<T>(
        conn: &'c mut DbConnection,
        work: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut buffer = Self {
            holding: true,
            ..Self::immediate(conn)
        };
        let value = work(&mut buffer)?;
        buffer.flush()?;
        Ok(value)
    }

    /// The connection, once the rows held back are written: every query and write goes
    /// through here, so none misses a row of the batch.
    ///
    /// # Errors
    /// [`StoreError`] when writing the held rows fails.
    pub(crate) fn conn(&mut self) -> Result<&mut DbConnection, StoreError> {
        self.flush()?;
        Ok(self.conn)
    }

    /// Inserts a user version (now, or with the batch's other inserts).
    pub(crate) fn insert_user(
        &mut self,
        user: &UserSnapshot,
        email: Option<&EmailAddress>,
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        if self.holding {
            self.write_versions()?;
            self.users.push((user.clone(), email.cloned(), now));
            return Ok(());
        }
        users::insert_version(self.conn()?, user, email, now).map(drop)
    }

    /// Inserts a membership version (now, or with the batch's other inserts).
    pub(crate) fn insert_membership(
        &mut self,
        membership: &MembershipSnapshot,
        (user, organization): (UserId, OrganizationId),
        now: NaiveDateTime,
    ) -> Result<(), StoreError> {
        if self.holding {
            self.write_versions()?;
            self.memberships
                .push((membership.clone(), user, organization, now));
            return Ok(());
        }
        memberships::insert_version(self.conn()?, membership, user, organization, now)
    }

    /// Writes a user version over the stored row `id` (now, or with the batch's other
    /// versions).
    ///
    /// # Errors
    /// [`StoreError::LinkRaced`] when the row has meanwhile been linked to another Clerk user
    /// (now, or when the held versions are written).
    pub(crate) fn write_user(
        &mut self,
        id: UserId,
        user: &UserSnapshot,
        email: Option<&EmailAddress>,
        now: NaiveDateTime,
        contacts: ContactsWrite,
    ) -> Result<(), StoreError> {
        if !self.holding {
            return users::write_version(self.conn, id, user, email, now, contacts);
        }
        let inserts_held = !self.users.is_empty() || !self.memberships.is_empty();
        if inserts_held || self.versions.iter().any(|held| held.id == id) {
            self.flush()?;
        }
        self.versions.push(HeldVersion {
            id,
            user: user.clone(),
            email: email.cloned(),
            now,
            contacts,
        });
        Ok(())
    }

    fn write_versions(&mut self) -> Result<(), StoreError> {
        for chunk in self.versions.chunks(UPDATE_CHUNK) {
            users::write_versions(self.conn, chunk)?;
        }
        self.versions.clear();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        self.write_versions()?;
        for chunk in self.users.chunks(INSERT_CHUNK) {
            users::insert_versions(self.conn, chunk)?;
        }
        self.users.clear();
        for chunk in self.memberships.chunks(INSERT_CHUNK) {
            let versions: Vec<_> = chunk
                .iter()
                .map(|(membership, user, organization, now)| {
                    (membership, *user, *organization, *now)
                })
                .collect();
            memberships::insert_versions(self.conn, &versions)?;
        }
        self.memberships.clear();
        Ok(())
    }
}
