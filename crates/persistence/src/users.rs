//! The `users` table.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use clerk_sync_domain::{
    ClerkUserId, EmailAddress, PublicUserData, RawJson, StoredUser, UnixMillis, User, UserId,
    UserSnapshot,
};
use diesel::prelude::*;

use crate::prepared::{ArrayBind, Prepared};
use crate::schema::{organization_memberships, user_email_addresses, user_phone_numbers, users};
use crate::{DbConnection, JsonText, StoreError};

/// A full `users` row.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Local id.
    pub id: i64,
    /// Clerk id.
    pub clerk_id: Option<String>,
    /// Primary email.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Profile image.
    pub image_url: Option<String>,
    /// Staff flag (local).
    pub is_staff: bool,
    /// Active flag (local).
    pub is_active: bool,
    /// Clerk's `updated_at` of the stored version.
    pub clerk_updated_at: Option<i64>,
    /// When the row was created.
    pub created_at: NaiveDateTime,
    /// When the row last changed.
    pub updated_at: NaiveDateTime,
    /// The application's id for the user, as Clerk holds it.
    pub external_id: Option<String>,
    /// Banned by Clerk.
    pub banned: bool,
    /// Username.
    pub username: Option<String>,
    /// Primary phone number, verified or not.
    pub phone_number: Option<String>,
    /// `public_metadata`.
    pub public_metadata: JsonText,
    /// `private_metadata`.
    pub private_metadata: JsonText,
    /// `unsafe_metadata`.
    pub unsafe_metadata: JsonText,
    /// Locked out by Clerk.
    pub locked: bool,
    /// Signs in with a second factor.
    pub two_factor_enabled: bool,
    /// Last sign-in, Unix ms.
    pub last_sign_in_at: Option<i64>,
    /// Last activity, Unix ms.
    pub last_active_at: Option<i64>,
    /// Clerk's `created_at`, Unix ms.
    pub clerk_created_at: Option<i64>,
}

/// The columns of a `users` row that [`User`] holds: what a caller's lookup reads (not the
/// private metadata, timestamps and flags the model does not answer).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserModelRow {
    id: i64,
    clerk_id: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    image_url: Option<String>,
    is_staff: bool,
    is_active: bool,
    banned: bool,
    username: Option<String>,
    phone_number: Option<String>,
    public_metadata: JsonText,
    unsafe_metadata: JsonText,
}

impl TryFrom<UserModelRow> for User {
    type Error = StoreError;

    fn try_from(row: UserModelRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: UserId(row.id),
            clerk_id: row
                .clerk_id
                .as_deref()
                .map(ClerkUserId::parse)
                .transpose()?,
            email: row.email.as_deref().map(EmailAddress::parse).transpose()?,
            first_name: row.first_name,
            last_name: row.last_name,
            image_url: row.image_url,
            is_staff: row.is_staff,
            is_active: row.is_active,
            banned: row.banned,
            username: row.username,
            phone_number: row.phone_number,
            public_metadata: RawJson::parse(&row.public_metadata.0)?,
            unsafe_metadata: RawJson::parse(&row.unsafe_metadata.0)?,
        })
    }
}

/// The Clerk-owned columns a user version writes.
#[derive(AsChangeset, Insertable)]
#[diesel(table_name = users, treat_none_as_null = true)]
struct ClerkFields<'a> {
    clerk_id: Option<&'a str>,
    email: Option<&'a str>,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    image_url: Option<&'a str>,
    external_id: Option<&'a str>,
    banned: bool,
    username: Option<&'a str>,
    phone_number: Option<&'a str>,
    public_metadata: JsonText,
    private_metadata: JsonText,
    unsafe_metadata: JsonText,
    locked: bool,
    two_factor_enabled: bool,
    last_sign_in_at: Option<i64>,
    last_active_at: Option<i64>,
    clerk_created_at: Option<i64>,
    clerk_object: Option<JsonText>,
    clerk_updated_at: Option<i64>,
    updated_at: NaiveDateTime,
}

impl<'a> ClerkFields<'a> {
    fn version(
        user: &'a UserSnapshot,
        email: Option<&'a EmailAddress>,
        now: NaiveDateTime,
    ) -> Self {
        Self {
            clerk_id: Some(user.clerk_id.as_str()),
            email: email.map(EmailAddress::as_str),
            first_name: user.first_name.as_deref(),
            last_name: user.last_name.as_deref(),
            image_url: user.image_url.as_deref(),
            external_id: user.external_id.as_deref(),
            banned: user.banned,
            username: user.username.as_deref(),
            phone_number: user.primary_phone_number(),
            public_metadata: (&user.public_metadata).into(),
            private_metadata: (&user.private_metadata).into(),
            unsafe_metadata: (&user.unsafe_metadata).into(),
            locked: user.locked,
            two_factor_enabled: user.two_factor_enabled,
            last_sign_in_at: user.last_sign_in_at.map(|at| at.0),
            last_active_at: user.last_active_at.map(|at| at.0),
            clerk_created_at: user.created_at.map(|at| at.0),
            clerk_object: Some((&user.raw).into()),
            clerk_updated_at: Some(user.updated_at.0),
            updated_at: now,
        }
    }
}

/// One row of `user_email_addresses`.
#[derive(Insertable)]
#[diesel(table_name = user_email_addresses)]
struct EmailAddressRow<'a> {
    user_id: i64,
    clerk_id: &'a str,
    email_address: &'a str,
    verified: bool,
    is_primary: bool,
}

/// One row of `user_phone_numbers`.
#[derive(Insertable)]
#[diesel(table_name = user_phone_numbers)]
struct PhoneNumberRow<'a> {
    user_id: i64,
    clerk_id: &'a str,
    phone_number: &'a str,
    verified: bool,
    is_primary: bool,
}

/// Writes the addresses and numbers of user versions, for rows that have none yet.
fn insert_contacts(
    conn: &mut DbConnection,
    versions: &[(UserId, &UserSnapshot)],
) -> Result<(), StoreError> {
    let emails: Vec<EmailAddressRow<'_>> = versions
        .iter()
        .flat_map(|(id, user)| {
            user.email_addresses.iter().map(|e| EmailAddressRow {
                user_id: id.0,
                clerk_id: &e.clerk_id,
                email_address: e.email_address.as_str(),
                verified: e.verified,
                is_primary: e.primary,
            })
        })
        .collect();
    let phones: Vec<PhoneNumberRow<'_>> = versions
        .iter()
        .flat_map(|(id, user)| {
            user.phone_numbers.iter().map(|p| PhoneNumberRow {
                user_id: id.0,
                clerk_id: &p.clerk_id,
                phone_number: &p.phone_number,
                verified: p.verified,
                is_primary: p.primary,
            })
        })
        .collect();
    // Per backend, in chunks: diesel's MultiConnection has no multi-row INSERT of its own. A
    // single row (a webhook about a user with one address) is written as columns, a statement
    // diesel prepares once per connection; a multi-row INSERT (or a derived `Insertable`) is
    // parsed and planned anew each time.
    for chunk in emails.chunks(CONTACT_CHUNK) {
        if let [row] = chunk {
            diesel::insert_into(user_email_addresses::table)
                .values((
                    user_email_addresses::user_id.eq(row.user_id),
                    user_email_addresses::clerk_id.eq(row.clerk_id),
                    user_email_addresses::email_address.eq(row.email_address),
                    user_email_addresses::verified.eq(row.verified),
                    user_email_addresses::is_primary.eq(row.is_primary),
                ))
                .execute(conn)?;
            continue;
        }
        let statement = diesel::insert_into(user_email_addresses::table).values(chunk);
        match conn {
            DbConnection::Postgres(pg) => statement.execute(pg)?,
            DbConnection::Sqlite(sqlite) => statement.execute(sqlite)?,
        };
    }
    for chunk in phones.chunks(CONTACT_CHUNK) {
        if let [row] = chunk {
            diesel::insert_into(user_phone_numbers::table)
                .values((
                    user_phone_numbers::user_id.eq(row.user_id),
                    user_phone_numbers::clerk_id.eq(row.clerk_id),
                    user_phone_numbers::phone_number.eq(row.phone_number),
                    user_phone_numbers::verified.eq(row.verified),
                    user_phone_numbers::is_primary.eq(row.is_primary),
                ))
                .execute(conn)?;
            continue;
        }
        let statement = diesel::insert_into(user_phone_numbers::table).values(chunk);
        match conn {
            DbConnection::Postgres(pg) => statement.execute(pg)?,
            DbConnection::Sqlite(sqlite) => statement.execute(sqlite)?,
        };
    }
    Ok(())
}

/// Most address or number rows in one INSERT (5 columns each: well under both backends'
/// limits on bound values).
const CONTACT_CHUNK: usize = 1000;

/// A user's addresses and numbers as rows hold them (`clerk_id`, the address or number,
/// verified, primary), each list sorted: two are equal when the rows are.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Contacts {
    pub(crate) emails: Vec<(String, String, bool, bool)>,
    pub(crate) phones: Vec<(String, String, bool, bool)>,
}

impl Contacts {
    /// The rows a user version writes.
    pub(crate) fn of(user: &UserSnapshot) -> Self {
        let mut contacts = Self {
            emails: user
                .email_addresses
                .iter()
                .map(|e| {
                    let address = e.email_address.as_str().to_owned();
                    (e.clerk_id.clone(), address, e.verified, e.primary)
                })
                .collect(),
            phones: user
                .phone_numbers
                .iter()
                .map(|p| {
                    (
                        p.clerk_id.clone(),
                        p.phone_number.clone(),
                        p.verified,
                        p.primary,
                    )
                })
                .collect(),
        };
        contacts.sort();
        contacts
    }

    pub(crate) fn sort(&mut self) {
        self.emails.sort_unstable();
        self.phones.sort_unstable();
    }
}

/// Whether a version's write also rewrites the row's addresses and numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ContactsWrite {
    /// Delete the row's and insert the version's.
    Replace,
    /// The row already holds exactly the version's: leave them.
    Unchanged,
}

/// Replaces a row's addresses and numbers with a version's.
fn replace_contacts(
    conn: &mut DbConnection,
    id: UserId,
    user: &UserSnapshot,
) -> Result<(), StoreError> {
    diesel::delete(user_email_addresses::table.filter(user_email_addresses::user_id.eq(id.0)))
        .execute(conn)?;
    diesel::delete(user_phone_numbers::table.filter(user_phone_numbers::user_id.eq(id.0)))
        .execute(conn)?;
    insert_contacts(conn, &[(id, user)])
}

pub(crate) fn stored(row: (i64, Option<String>, Option<i64>)) -> Result<StoredUser, StoreError> {
    Ok(StoredUser {
        id: UserId(row.0),
        clerk_id: row.1.as_deref().map(ClerkUserId::parse).transpose()?,
        clerk_updated_at: row.2.map(UnixMillis),
    })
}

/// The row with a Clerk id, as the sync rules see it.
pub(crate) fn stored_by_clerk_id(
    conn: &mut DbConnection,
    clerk_id: &ClerkUserId,
) -> Result<Option<StoredUser>, StoreError> {
    users::table
        .filter(users::clerk_id.eq(clerk_id.as_str()))
        .select((users::id, users::clerk_id, users::clerk_updated_at))
        .first(conn)
        .optional()?
        .map(stored)
        .transpose()
}

/// The row with a local id, as the sync rules see it.
pub(crate) fn stored_by_id(
    conn: &mut DbConnection,
    id: UserId,
) -> Result<Option<StoredUser>, StoreError> {
    users::table
        .find(id.0)
        .select((users::id, users::clerk_id, users::clerk_updated_at))
        .first(conn)
        .optional()?
        .map(stored)
        .transpose()
}

/// The row holding an email, as the sync rules see it.
pub(crate) fn stored_by_email(
    conn: &mut DbConnection,
    email: &EmailAddress,
) -> Result<Option<StoredUser>, StoreError> {
    users::table
        .filter(users::email.eq(email.as_str()))
        .select((users::id, users::clerk_id, users::clerk_updated_at))
        .first(conn)
        .optional()?
        .map(stored)
        .transpose()
}

/// Inserts a user version.
pub(crate) fn insert_version(
    conn: &mut DbConnection,
    user: &UserSnapshot,
    email: Option<&EmailAddress>,
    now: NaiveDateTime,
) -> Result<UserId, StoreError> {
    let id = diesel::insert_into(users::table)
        .values((
            ClerkFields::version(user, email, now),
            users::created_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)?;
    insert_contacts(conn, &[(UserId(id), user)])?;
    Ok(UserId(id))
}

/// Inserts many user versions in one statement (a resync batch).
pub(crate) fn insert_versions(
    conn: &mut DbConnection,
    versions: &[(UserSnapshot, Option<EmailAddress>, NaiveDateTime)],
) -> Result<(), StoreError> {
    let rows: Vec<_> = versions
        .iter()
        .map(|(user, email, now)| {
            let now = *now;
            (
                ClerkFields::version(user, email.as_ref(), now),
                users::created_at.eq(now),
            )
        })
        .collect();
    // Per backend: diesel's MultiConnection has no multi-row INSERT of its own. The rows come
    // back in no promised order: each is matched to its version by Clerk id.
    let statement = diesel::insert_into(users::table)
        .values(rows)
        .returning((users::id, users::clerk_id));
    let inserted: Vec<(i64, Option<String>)> = match conn {
        DbConnection::Postgres(pg) => statement.get_results(pg)?,
        DbConnection::Sqlite(sqlite) => statement.get_results(sqlite)?,
    };
    let ids: HashMap<String, i64> = inserted
        .into_iter()
        .filter_map(|(id, clerk_id)| Some((clerk_id?, id)))
        .collect();
    let contacts: Vec<(UserId, &UserSnapshot)> = versions
        .iter()
        .filter_map(|(user, _, _)| Some((UserId(*ids.get(user.clerk_id.as_str())?), user)))
        .collect();
    insert_contacts(conn, &contacts)
}

/// Overwrites a row's Clerk-owned columns (also its Clerk id, when linking).
///
/// # Errors
/// [`StoreError::LinkRaced`] when the row has meanwhile been linked to another Clerk user (by a
/// concurrent transaction that took other locks): the caller's transaction runs again and
/// sees that.
pub(crate) fn write_version(
    conn: &mut DbConnection,
    id: UserId,
    user: &UserSnapshot,
    email: Option<&EmailAddress>,
    now: NaiveDateTime,
    contacts: ContactsWrite,
) -> Result<(), StoreError> {
    let unlinked_or_ours = users::clerk_id
        .is_null()
        .or(users::clerk_id.eq(user.clerk_id.as_str()));
    let written = diesel::update(users::table.find(id.0).filter(unlinked_or_ours))
        .set(ClerkFields::version(user, email, now))
        .execute(conn)?;
    if written == 0 {
        return Err(StoreError::LinkRaced);
    }
    match contacts {
        ContactsWrite::Replace => replace_contacts(conn, id, user),
        ContactsWrite::Unchanged => Ok(()),
    }
}

/// A user version held back to be written over its stored row with others: see
/// [`write_versions`].
pub(crate) struct HeldVersion {
    pub(crate) id: UserId,
    pub(crate) user: UserSnapshot,
    pub(crate) email: Option<EmailAddress>,
    pub(crate) now: NaiveDateTime,
    pub(crate) contacts: ContactsWrite,
}

/// Overwrites the Clerk-owned columns of many rows, each id at most once, as
/// [`write_version`] does one: on PostgreSQL in one statement, on SQLite (whose statements cost
/// no round trip) one after the other.
///
/// # Errors
/// [`StoreError::LinkRaced`] when a row has meanwhile been linked to another Clerk user.
pub(crate) fn write_versions(
    conn: &mut DbConnection,
    versions: &[HeldVersion],
) -> Result<(), StoreError> {
    let DbConnection::Postgres(pg) = conn else {
        for held in versions {
            let email = held.email.as_ref();
            write_version(conn, held.id, &held.user, email, held.now, held.contacts)?;
        }
        return Ok(());
    };
    let written = update_many(pg, versions)?;
    if written != versions.len() {
        return Err(StoreError::LinkRaced);
    }
    for held in versions {
        if held.contacts == ContactsWrite::Replace {
            replace_contacts(conn, held.id, &held.user)?;
        }
    }
    Ok(())
}

/// The one UPDATE of [`write_versions`] on PostgreSQL: the versions' columns bound as arrays,
/// one per column, joined to the rows by id. A row linked to another Clerk user is left
/// alone, and not counted.
fn update_many(pg: &mut PgConnection, versions: &[HeldVersion]) -> QueryResult<usize> {
    const HEAD: &str = "UPDATE users AS u SET clerk_id = v.clerk_id, email = v.email, \
        first_name = v.first_name, last_name = v.last_name, image_url = v.image_url, \
        external_id = v.external_id, banned = v.banned, username = v.username, \
        phone_number = v.phone_number, public_metadata = v.public_metadata::jsonb, \
        private_metadata = v.private_metadata::jsonb, \
        unsafe_metadata = v.unsafe_metadata::jsonb, locked = v.locked, \
        two_factor_enabled = v.two_factor_enabled, last_sign_in_at = v.last_sign_in_at, \
        last_active_at = v.last_active_at, clerk_created_at = v.clerk_created_at, \
        clerk_object = v.clerk_object::jsonb, clerk_updated_at = v.clerk_updated_at, \
        updated_at = v.updated_at FROM unnest(";
    const TAIL: &str = ") AS v(id, clerk_id, email, first_name, last_name, image_url, \
        external_id, banned, username, phone_number, public_metadata, private_metadata, \
        unsafe_metadata, locked, two_factor_enabled, last_sign_in_at, last_active_at, \
        clerk_created_at, clerk_object, clerk_updated_at, updated_at) \
        WHERE u.id = v.id AND (u.clerk_id IS NULL OR u.clerk_id = v.clerk_id)";

    let rows: Vec<ClerkFields<'_>> = versions
        .iter()
        .map(|held| ClerkFields::version(&held.user, held.email.as_ref(), held.now))
        .collect();
    let text = |pick: for<'r> fn(&'r ClerkFields<'r>) -> Option<&'r str>| {
        ArrayBind::Text(rows.iter().map(pick).collect())
    };
    let json = |pick: for<'r> fn(&'r ClerkFields<'r>) -> &'r JsonText| {
        ArrayBind::Text(rows.iter().map(|row| Some(pick(row).0.as_str())).collect())
    };
    let flag =
        |pick: fn(&ClerkFields<'_>) -> bool| ArrayBind::Bool(rows.iter().map(pick).collect());
    let millis = |pick: fn(&ClerkFields<'_>) -> Option<i64>| {
        ArrayBind::NullableInt8(rows.iter().map(pick).collect())
    };
    let binds = vec![
        ArrayBind::Int8(versions.iter().map(|held| held.id.0).collect()),
        text(|row| row.clerk_id),
        text(|row| row.email),
        text(|row| row.first_name),
        text(|row| row.last_name),
        text(|row| row.image_url),
        text(|row| row.external_id),
        flag(|row| row.banned),
        text(|row| row.username),
        text(|row| row.phone_number),
        json(|row| &row.public_metadata),
        json(|row| &row.private_metadata),
        json(|row| &row.unsafe_metadata),
        flag(|row| row.locked),
        flag(|row| row.two_factor_enabled),
        millis(|row| row.last_sign_in_at),
        millis(|row| row.last_active_at),
        millis(|row| row.clerk_created_at),
        ArrayBind::Text(
            rows.iter()
                .map(|row| row.clerk_object.as_ref().map(|json| json.0.as_str()))
                .collect(),
        ),
        millis(|row| row.clerk_updated_at),
        ArrayBind::Timestamp(rows.iter().map(|row| row.updated_at).collect()),
    ];
    Prepared::new(HEAD, binds, TAIL).execute(pg)
}

/// Moves `from`'s memberships to `into` and deletes `from`.
pub(crate) fn merge(conn: &mut DbConnection, from: UserId, into: UserId) -> Result<(), StoreError> {
    diesel::update(
        organization_memberships::table.filter(organization_memberships::user_id.eq(from.0)),
    )
    .set(organization_memberships::user_id.eq(into.0))
    .execute(conn)?;
    diesel::delete(users::table.find(from.0)).execute(conn)?;
    Ok(())
}

/// Clears `email` from a row, if the row still holds it.
pub(crate) fn release_email(
    conn: &mut DbConnection,
    id: UserId,
    email: &EmailAddress,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(
        users::table
            .find(id.0)
            .filter(users::email.eq(email.as_str())),
    )
    .set((users::email.eq(None::<&str>), users::updated_at.eq(now)))
    .execute(conn)?;
    Ok(())
}

/// Inserts a user known only from a membership's public data. It has no `clerk_updated_at`,
/// so the user's own event, whenever it comes, overwrites it.
pub(crate) fn insert_placeholder(
    conn: &mut DbConnection,
    user: &PublicUserData,
    now: NaiveDateTime,
) -> Result<UserId, StoreError> {
    let id = diesel::insert_into(users::table)
        .values((
            users::clerk_id.eq(user.clerk_id.as_str()),
            users::first_name.eq(user.first_name.as_deref()),
            users::last_name.eq(user.last_name.as_deref()),
            users::image_url.eq(user.image_url.as_deref()),
            users::username.eq(user.username.as_deref()),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)?;
    Ok(UserId(id))
}

/// Deletes a row (its memberships go with it).
pub(crate) fn delete(conn: &mut DbConnection, id: UserId) -> Result<(), StoreError> {
    diesel::delete(users::table.find(id.0)).execute(conn)?;
    Ok(())
}

/// The user with a Clerk id.
///
/// # Errors
/// [`StoreError`] when the query fails or the row does not fit the model.
pub fn find_by_clerk_id(
    conn: &mut DbConnection,
    clerk_id: &ClerkUserId,
) -> Result<Option<User>, StoreError> {
    users::table
        .filter(users::clerk_id.eq(clerk_id.as_str()))
        .select(UserModelRow::as_select())
        .first(conn)
        .optional()?
        .map(User::try_from)
        .transpose()
}

/// The users with these Clerk ids, each id's own answer in the order asked: on PostgreSQL one
/// query for them all (`= ANY`), on SQLite one prepared query each (its `IN` list would be
/// planned anew for every count of ids). A row that does not fit the model fails its own id
/// only.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn find_many_by_clerk_id(
    conn: &mut DbConnection,
    clerk_ids: &[&ClerkUserId],
) -> Result<Vec<Result<Option<User>, StoreError>>, StoreError> {
    if clerk_ids.len() < 2 || matches!(conn, DbConnection::Sqlite(_)) {
        return clerk_ids
            .iter()
            .map(|clerk_id| match find_by_clerk_id(conn, clerk_id) {
                Err(StoreError::Corrupt(value)) => Ok(Err(StoreError::Corrupt(value))),
                answer => answer.map(Ok),
            })
            .collect();
    }
    let rows: Vec<UserModelRow> = users::table
        .filter(users::clerk_id.eq_any(clerk_ids.iter().map(|id| id.as_str())))
        .select(UserModelRow::as_select())
        .load(conn)?;
    let found: HashMap<String, UserModelRow> = rows
        .into_iter()
        .filter_map(|row| Some((row.clerk_id.clone()?, row)))
        .collect();
    // An id may be asked twice (two requests of one caller): each asking gets the row.
    Ok(clerk_ids
        .iter()
        .map(|clerk_id| {
            found
                .get(clerk_id.as_str())
                .cloned()
                .map(User::try_from)
                .transpose()
        })
        .collect())
}

/// Whether a Clerk user was deleted (tombstoned): it is never written again, so a read-through
/// does not ask Clerk for it.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn is_deleted(conn: &mut DbConnection, clerk_id: &ClerkUserId) -> Result<bool, StoreError> {
    crate::tombstones::exists(conn, clerk_id.as_str())
}

/// Inserts a local account that is not (yet) a Clerk user, as accounts created before Clerk
/// was adopted are. The first Clerk user with the same primary email is linked to it.
///
/// # Errors
/// [`StoreError`] when the insert fails, e.g. because another account has the email.
pub fn insert_local(
    conn: &mut DbConnection,
    email: &EmailAddress,
    is_staff: bool,
    now: NaiveDateTime,
) -> Result<UserId, StoreError> {
    let id = diesel::insert_into(users::table)
        .values((
            users::email.eq(email.as_str()),
            users::is_staff.eq(is_staff),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::id)
        .get_result(conn)?;
    Ok(UserId(id))
}
