//! Users as Clerk's `GET /users`, `GET /users/count` and `GET /users/{user_id}` answer them.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::{Db, IdFilter, backend_of, order_sql, primary_email_sql};
use crate::admin::Direction;
use crate::schema::{
    organization_memberships as memberships, organizations, user_email_addresses,
    user_phone_numbers, users,
};
use crate::{Backend, DbConnection, JsonText, StoreError};

/// Which users a list or count holds (`GET /users`, `GET /users/count`). Filters combine with
/// AND; the values of one filter with OR.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Users holding any of these addresses, verified or not, primary or not (compared
    /// lower-cased, as addresses are stored).
    pub email_addresses: Vec<String>,
    /// Users holding any of these phone numbers.
    pub phone_numbers: Vec<String>,
    /// Users with any of these usernames.
    pub usernames: Vec<String>,
    /// By `external_id`.
    pub external_ids: IdFilter,
    /// By Clerk user id.
    pub user_ids: IdFilter,
    /// By membership of organizations (Clerk ids): members of any included one, of none of
    /// the excluded ones.
    pub organization_ids: IdFilter,
}

/// What a user list is ordered by (Clerk's `order_by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserOrderKey {
    /// Clerk's `created_at`.
    CreatedAt,
    /// Clerk's `updated_at`.
    UpdatedAt,
    /// The primary email address, verified or not.
    EmailAddress,
    /// Username.
    Username,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
}

/// Where a page starts: an offset, or after a user (Clerk's `starting_after`, which needs the
/// `created_at` order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStart {
    /// Skip this many.
    Offset(i64),
    /// After the user at this position of the `created_at` order (see [`user_cursor`]).
    After(UserCursor),
}

/// A user's position in the `created_at` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserCursor {
    clerk_created_at: i64,
    id: i64,
}

fn users_matching(filter: &UserFilter) -> users::BoxedQuery<'static, Db> {
    let mut query = users::table
        .into_boxed()
        .filter(users::clerk_object.is_not_null());
    if !filter.email_addresses.is_empty() {
        let lowered: Vec<String> = filter
            .email_addresses
            .iter()
            .map(|address| address.trim().to_lowercase())
            .collect();
        query = query.filter(
            users::id.eq_any(
                user_email_addresses::table
                    .filter(user_email_addresses::email_address.eq_any(lowered))
                    .select(user_email_addresses::user_id),
            ),
        );
    }
    if !filter.phone_numbers.is_empty() {
        query = query.filter(
            users::id.eq_any(
                user_phone_numbers::table
                    .filter(user_phone_numbers::phone_number.eq_any(filter.phone_numbers.clone()))
                    .select(user_phone_numbers::user_id),
            ),
        );
    }
    if !filter.usernames.is_empty() {
        query = query.filter(users::username.eq_any(filter.usernames.clone()));
    }
    let ids = &filter.user_ids;
    if !ids.include.is_empty() {
        query = query.filter(users::clerk_id.eq_any(ids.include.clone()));
    }
    if !ids.exclude.is_empty() {
        query = query.filter(users::clerk_id.ne_all(ids.exclude.clone()));
    }
    let ids = &filter.external_ids;
    if !ids.include.is_empty() {
        query = query.filter(users::external_id.eq_any(ids.include.clone()));
    }
    if !ids.exclude.is_empty() {
        // NULL NOT IN (…) is NULL: users without an external id are not excluded.
        query = query.filter(
            users::external_id
                .is_null()
                .or(users::external_id.ne_all(ids.exclude.clone())),
        );
    }
    let ids = &filter.organization_ids;
    if !ids.include.is_empty() {
        query = query.filter(users::id.eq_any(members_of!(ids.include.clone())));
    }
    if !ids.exclude.is_empty() {
        query = query.filter(users::id.ne_all(members_of!(ids.exclude.clone())));
    }
    query
}

/// The local user ids of the members of organizations, by Clerk id (a subquery; a macro,
/// since boxed subqueries do not compose with diesel's multi-backend connection).
macro_rules! members_of {
    ($organizations:expr) => {
        memberships::table
            .inner_join(organizations::table)
            .filter(organizations::clerk_id.eq_any($organizations))
            .select(memberships::user_id)
    };
}
use members_of;

fn user_order_sql(backend: Backend, key: UserOrderKey, direction: Direction) -> String {
    let (column, nullable) = match key {
        UserOrderKey::CreatedAt => ("users.clerk_created_at".to_owned(), false),
        UserOrderKey::UpdatedAt => ("users.clerk_updated_at".to_owned(), false),
        UserOrderKey::EmailAddress => (primary_email_sql("users.id"), true),
        UserOrderKey::Username => ("users.username".to_owned(), true),
        UserOrderKey::FirstName => ("users.first_name".to_owned(), true),
        UserOrderKey::LastName => ("users.last_name".to_owned(), true),
    };
    order_sql(backend, &column, nullable, "users.id", direction)
}

/// Where a user stands in the `created_at` order, for a page that starts after it; `None`
/// when the mirror holds no such user (with a Clerk object).
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn user_cursor(
    conn: &mut DbConnection,
    clerk_id: &str,
) -> Result<Option<UserCursor>, StoreError> {
    let found: Option<(Option<i64>, i64)> = users::table
        .filter(users::clerk_id.eq(clerk_id))
        .filter(users::clerk_object.is_not_null())
        .select((users::clerk_created_at, users::id))
        .first(conn)
        .optional()?;
    Ok(found.and_then(|(created, id)| {
        created.map(|clerk_created_at| UserCursor {
            clerk_created_at,
            id,
        })
    }))
}

/// A page of users matching `filter`, ordered by `key` (ties broken by local id), as Clerk
/// objects. With [`PageStart::After`] the order must be [`UserOrderKey::CreatedAt`] (the
/// caller checks it, as Clerk does).
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn list_users(
    conn: &mut DbConnection,
    filter: &UserFilter,
    (key, direction): (UserOrderKey, Direction),
    start: PageStart,
    limit: i64,
) -> Result<Vec<JsonText>, StoreError> {
    let order = user_order_sql(backend_of(conn), key, direction);
    let mut query = users_matching(filter)
        .order(sql::<BigInt>(&order))
        .limit(limit);
    match start {
        PageStart::Offset(offset) => query = query.offset(offset),
        PageStart::After(cursor) => {
            let at = cursor.clerk_created_at;
            // The first, redundant bound is the index range to seek to (neither backend
            // makes one of the OR); the second breaks ties at the cursor's time by local id.
            query = match direction {
                Direction::Desc => query.filter(users::clerk_created_at.le(at)).filter(
                    users::clerk_created_at
                        .lt(at)
                        .or(users::clerk_created_at.eq(at).and(users::id.lt(cursor.id))),
                ),
                Direction::Asc => query.filter(users::clerk_created_at.ge(at)).filter(
                    users::clerk_created_at
                        .gt(at)
                        .or(users::clerk_created_at.eq(at).and(users::id.gt(cursor.id))),
                ),
            };
        }
    }
    let objects: Vec<Option<JsonText>> = query.select(users::clerk_object).load(conn)?;
    Ok(objects.into_iter().flatten().collect())
}

/// How many users match `filter`.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn count_users(conn: &mut DbConnection, filter: &UserFilter) -> Result<i64, StoreError> {
    Ok(users_matching(filter).count().get_result(conn)?)
}

/// The Clerk object of a user, by Clerk id.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn find_user(conn: &mut DbConnection, clerk_id: &str) -> Result<Option<JsonText>, StoreError> {
    let found: Option<Option<JsonText>> = users::table
        .filter(users::clerk_id.eq(clerk_id))
        .select(users::clerk_object)
        .first(conn)
        .optional()?;
    Ok(found.flatten())
}
