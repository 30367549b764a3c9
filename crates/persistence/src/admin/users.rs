//! Users, as the admin pages list, show and edit them.

use chrono::NaiveDateTime;
use clerk_sync_domain::{EmailAddress, UserId};
use diesel::dsl::not;
use diesel::prelude::*;

use super::{
    Db, Direction, Page, PageRequest, TextKey, backend_of, prefix_pattern, rarely_true, sorted,
    sorted_by_unique,
};
use crate::schema::{user_email_addresses, user_phone_numbers, users};
use crate::users::UserRow;
use crate::{Backend, DbConnection, JsonText, LockKey, StoreError};

/// The lock key that serializes changes of who is staff (PostgreSQL; SQLite serializes all
/// writers anyway), so that two staff members cannot each remove the other at once.
pub const STAFF_LOCK: LockKey = LockKey::fixed("admin:staff");

/// Which users a listing shows.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Start of the Clerk id when it starts with `user_`, else start of the email, of the
    /// username or of the external id (case-insensitive).
    pub search: Option<String>,
    /// Only staff (`true`) or only non-staff (`false`).
    pub staff: Option<bool>,
    /// Only active (`true`) or only inactive (`false`) accounts.
    pub active: Option<bool>,
}

/// The orders a user listing can take; each is served by an index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserSort {
    /// By email address.
    #[default]
    Email,
    /// By first name.
    FirstName,
    /// By last name.
    LastName,
    /// By Clerk id.
    ClerkId,
    /// By local id, which is the order users were first synced in.
    Joined,
}

pub(crate) const EMAIL: TextKey = TextKey {
    column: "users.email",
    lower: false,
};
const CLERK_ID: TextKey = TextKey {
    column: "users.clerk_id",
    lower: true,
};
const USERNAME: TextKey = TextKey {
    column: "users.username",
    lower: true,
};
const EXTERNAL_ID: TextKey = TextKey {
    column: "users.external_id",
    lower: true,
};

/// Whether a search text is (the start of) a Clerk id rather than of an email, a username or
/// an external id: a Clerk id search reads one column, so one index answers it in the page's
/// order.
pub(crate) fn names_clerk_id(search: &str, prefix: &str) -> bool {
    search
        .trim()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// Users whose username or external id matches a search beyond this many are searched with
/// the prefixes themselves instead of a list of ids.
const SEARCH_LIST_LIMIT: usize = 1_000;

/// A search, resolved to the predicate a listing filters on.
enum Search {
    /// No search.
    All,
    /// The start of a Clerk id (one index, in the page's order).
    ClerkId(String),
    /// The start of an email, or one of these users, whose username or external id starts
    /// with the text (the usual case). Resolving those two first keeps each query on one
    /// index: with three prefixes in one `OR`, PostgreSQL may read the email index in page
    /// order and filter, expecting the matches to be spread evenly over it, and read nearly
    /// every user when they are not.
    EmailOr(String, Vec<i64>),
    /// Too many username or external id matches for a list: the three prefixes in one `OR`.
    Broad(String),
}

fn resolve(conn: &mut DbConnection, text: Option<&str>) -> Result<Search, StoreError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Search::All);
    };
    let pattern = prefix_pattern(text);
    if names_clerk_id(text, "user_") {
        return Ok(Search::ClerkId(pattern));
    }
    let backend = backend_of(conn);
    let limit = i64::try_from(SEARCH_LIST_LIMIT + 1).unwrap_or(i64::MAX);
    let mut ids: Vec<i64> = Vec::new();
    for key in [USERNAME, EXTERNAL_ID] {
        let matched: Vec<i64> = users::table
            .filter(key.starts_with(backend, &pattern))
            .select(users::id)
            .limit(limit)
            .load(conn)?;
        if matched.len() > SEARCH_LIST_LIMIT {
            return Ok(Search::Broad(pattern));
        }
        ids.extend(matched);
    }
    Ok(Search::EmailOr(pattern, ids))
}

fn filtered(
    backend: Backend,
    filter: &UserFilter,
    search: &Search,
) -> users::BoxedQuery<'static, Db> {
    let mut query = users::table.into_boxed();
    query = match search {
        Search::All => query,
        Search::ClerkId(pattern) => query.filter(CLERK_ID.starts_with(backend, pattern)),
        Search::EmailOr(pattern, ids) if ids.is_empty() => {
            query.filter(EMAIL.starts_with(backend, pattern))
        }
        Search::EmailOr(pattern, ids) => query.filter(
            EMAIL
                .starts_with(backend, pattern)
                .or(users::id.eq_any(ids.clone())),
        ),
        Search::Broad(pattern) => query.filter(
            EMAIL
                .starts_with(backend, pattern)
                .or(USERNAME.starts_with(backend, pattern))
                .or(EXTERNAL_ID.starts_with(backend, pattern)),
        ),
    };
    query = match filter.staff {
        Some(true) => query.filter(rarely_true(backend, "users.is_staff")),
        Some(false) => query.filter(not(users::is_staff)),
        None => query,
    };
    match filter.active {
        Some(true) => query.filter(users::is_active),
        Some(false) => query.filter(not(users::is_active)),
        None => query,
    }
}

/// A page of users matching `filter`, in `sort` order (ties broken by local id).
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    sort: UserSort,
    direction: Direction,
    page: PageRequest,
) -> Result<Page<UserRow>, StoreError> {
    let backend = backend_of(conn);
    let search = resolve(conn, filter.search.as_deref())?;
    let total: i64 = filtered(backend, filter, &search)
        .count()
        .get_result(conn)?;
    let page = page.clamped(total);
    let query = filtered(backend, filter, &search);
    // The sort table: what each order sorts by.
    let query = match sort {
        UserSort::Email => sorted(query, EMAIL.order(backend), users::id, direction),
        UserSort::FirstName => sorted(query, users::first_name, users::id, direction),
        UserSort::LastName => sorted(query, users::last_name, users::id, direction),
        UserSort::ClerkId => sorted(query, CLERK_ID.order(backend), users::id, direction),
        UserSort::Joined => sorted_by_unique(query, users::id, direction),
    };
    let items = query
        .select(UserRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok(Page {
        items,
        total,
        page: page.page,
        per_page: page.per_page,
    })
}

/// The user with a local id.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn find(conn: &mut DbConnection, id: UserId) -> Result<Option<UserRow>, StoreError> {
    Ok(users::table
        .find(id.0)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// One of a user's email addresses or phone numbers, as Clerk holds it.
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct UserContact {
    /// Clerk's id of the address or number (`idn_…`).
    pub clerk_id: String,
    /// The address or number.
    pub value: String,
    /// Verified by Clerk.
    pub verified: bool,
    /// The user's primary one.
    pub is_primary: bool,
}

/// What a user's page shows beyond [`UserRow`]: every address and number (primary first),
/// and the latest Clerk object as Clerk sent it.
#[derive(Debug)]
pub struct UserDetail {
    /// The user's row.
    pub user: UserRow,
    /// Every email address, verified or not.
    pub email_addresses: Vec<UserContact>,
    /// Every phone number, verified or not.
    pub phone_numbers: Vec<UserContact>,
    /// The latest Clerk object (none for a user known only from a membership).
    pub clerk_object: Option<JsonText>,
}

/// The user with a local id, with its addresses, numbers and Clerk object.
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn detail(conn: &mut DbConnection, id: UserId) -> Result<Option<UserDetail>, StoreError> {
    let found: Option<(UserRow, Option<JsonText>)> = users::table
        .find(id.0)
        .select((UserRow::as_select(), users::clerk_object))
        .first(conn)
        .optional()?;
    let Some((user, clerk_object)) = found else {
        return Ok(None);
    };
    let email_addresses = user_email_addresses::table
        .filter(user_email_addresses::user_id.eq(id.0))
        .select((
            user_email_addresses::clerk_id,
            user_email_addresses::email_address,
            user_email_addresses::verified,
            user_email_addresses::is_primary,
        ))
        .order((
            user_email_addresses::is_primary.desc(),
            user_email_addresses::email_address,
        ))
        .load(conn)?;
    let phone_numbers = user_phone_numbers::table
        .filter(user_phone_numbers::user_id.eq(id.0))
        .select((
            user_phone_numbers::clerk_id,
            user_phone_numbers::phone_number,
            user_phone_numbers::verified,
            user_phone_numbers::is_primary,
        ))
        .order((
            user_phone_numbers::is_primary.desc(),
            user_phone_numbers::phone_number,
        ))
        .load(conn)?;
    Ok(Some(UserDetail {
        user,
        email_addresses,
        phone_numbers,
        clerk_object,
    }))
}

/// Counts of users, for the overview page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserCounts {
    /// All users.
    pub total: i64,
    /// Users with `is_staff`.
    pub staff: i64,
}

/// How many users there are, and how many are staff.
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn counts(conn: &mut DbConnection) -> Result<UserCounts, StoreError> {
    let total = users::table.count().get_result(conn)?;
    let staff = users::table
        .filter(users::is_staff)
        .count()
        .get_result(conn)?;
    Ok(UserCounts { total, staff })
}

/// The local, editable flags of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalFlags {
    /// May use the admin pages.
    pub is_staff: bool,
    /// May sign in to the application at all.
    pub is_active: bool,
}

impl LocalFlags {
    /// Whether these flags open the admin pages (staff and active).
    pub fn admits(self) -> bool {
        self.is_staff && self.is_active
    }
}

/// What became of a change of local flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagsChange {
    /// The flags were written (also when they were unchanged).
    Saved {
        /// The flags before.
        before: LocalFlags,
    },
    /// No user has that id.
    NotFound,
    /// Refused: the change would leave no active staff user, and nobody could open the
    /// admin pages any more.
    LastStaff,
}

fn admitted_others(conn: &mut DbConnection, id: UserId) -> Result<i64, StoreError> {
    Ok(users::table
        .filter(users::is_staff)
        .filter(users::is_active)
        .filter(users::banned.eq(false))
        .filter(users::id.ne(id.0))
        .count()
        .get_result(conn)?)
}

/// Sets a user's local flags, refusing a change that would leave no active staff user.
///
/// Run it inside [`crate::write_transaction`] holding [`STAFF_LOCK`], so that the check and
/// the write are one transaction.
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn set_flags(
    conn: &mut DbConnection,
    id: UserId,
    flags: LocalFlags,
    now: NaiveDateTime,
) -> Result<FlagsChange, StoreError> {
    let before: Option<(bool, bool)> = users::table
        .find(id.0)
        .select((users::is_staff, users::is_active))
        .first(conn)
        .optional()?;
    let Some((is_staff, is_active)) = before else {
        return Ok(FlagsChange::NotFound);
    };
    let before = LocalFlags {
        is_staff,
        is_active,
    };
    if before.admits() && !flags.admits() && admitted_others(conn, id)? == 0 {
        return Ok(FlagsChange::LastStaff);
    }
    diesel::update(users::table.find(id.0))
        .set((
            users::is_staff.eq(flags.is_staff),
            users::is_active.eq(flags.is_active),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(FlagsChange::Saved { before })
}

/// What `promote-staff` / `demote-staff` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffChange {
    /// The user changed.
    pub id: UserId,
    /// Its Clerk id, when it has one.
    pub clerk_id: Option<String>,
    /// The flags before.
    pub before: LocalFlags,
    /// The flags after.
    pub after: LocalFlags,
    /// Active staff users after the change (0 means nobody can open the admin pages).
    pub admitted: i64,
}

/// Grants (`staff = true`) or revokes staff to the user with `email`, from the command line.
/// Granting also activates the account, since inactive users cannot open the admin pages.
/// Unlike [`set_flags`], revoking the last staff user is allowed (the command line is the
/// way back in); [`StaffChange::admitted`] tells the caller to warn.
///
/// Run it inside [`crate::write_transaction`] holding [`STAFF_LOCK`].
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn set_staff_by_email(
    conn: &mut DbConnection,
    email: &EmailAddress,
    staff: bool,
    now: NaiveDateTime,
) -> Result<Option<StaffChange>, StoreError> {
    let row: Option<(i64, Option<String>, bool, bool)> = users::table
        .filter(users::email.eq(email.as_str()))
        .select((
            users::id,
            users::clerk_id,
            users::is_staff,
            users::is_active,
        ))
        .first(conn)
        .optional()?;
    let Some((id, clerk_id, is_staff, is_active)) = row else {
        return Ok(None);
    };
    let before = LocalFlags {
        is_staff,
        is_active,
    };
    let after = LocalFlags {
        is_staff: staff,
        is_active: is_active || staff,
    };
    diesel::update(users::table.find(id))
        .set((
            users::is_staff.eq(after.is_staff),
            users::is_active.eq(after.is_active),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    let id = UserId(id);
    let admitted = admitted_others(conn, id)? + i64::from(after.admits());
    Ok(Some(StaffChange {
        id,
        clerk_id,
        before,
        after,
        admitted,
    }))
}
