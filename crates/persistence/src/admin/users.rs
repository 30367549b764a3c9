//! Users, as the admin pages list, show and edit them.

use chrono::NaiveDateTime;
use clerk_sync_domain::{EmailAddress, UserId};
use diesel::dsl::not;
use diesel::prelude::*;

use super::{
    Db, Direction, Page, PageRequest, TextKey, backend_of, prefix_pattern, rarely_true, sorted,
    sorted_by_unique,
};
use crate::schema::users;
use crate::users::UserRow;
use crate::{DbConnection, LockKey, StoreError};

/// The lock key that serializes changes of who is staff (PostgreSQL; SQLite serializes all
/// writers anyway), so that two staff members cannot each remove the other at once.
pub const STAFF_LOCK: LockKey = LockKey::fixed("admin:staff");

/// Which users a listing shows.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    /// Start of the Clerk id when it starts with `user_`, else start of the email
    /// (case-insensitive).
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

/// Whether a search text is (the start of) a Clerk id rather than of an email: each search
/// reads one column, so one index answers it in the page's order.
pub(crate) fn names_clerk_id(search: &str, prefix: &str) -> bool {
    search
        .trim()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

fn filtered(conn: &DbConnection, filter: &UserFilter) -> users::BoxedQuery<'static, Db> {
    let backend = backend_of(conn);
    let mut query = users::table.into_boxed();
    if let Some(search) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
        let key = if names_clerk_id(search, "user_") {
            CLERK_ID
        } else {
            EMAIL
        };
        query = query.filter(key.starts_with(backend, &prefix_pattern(search)));
    }
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
    let total: i64 = filtered(conn, filter).count().get_result(conn)?;
    let page = page.clamped(total);
    let backend = backend_of(conn);
    let query = filtered(conn, filter);
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
