//! The latest Clerk objects as Clerk's Backend API lists and shows them (clerk-sync's
//! `/clerk/v1` reads): filters, orders and pages done in the database over indexed columns
//! (the `backend_api_reads` migration), answering each row's `clerk_object` as stored.
//!
//! Rows without a Clerk object are left out everywhere, lists and counts alike: a user known
//! only from a membership's public data, or a row synced before the complete mirror, cannot be
//! answered in Clerk's shape (a resync fills them in).

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::admin::Direction;
use crate::schema::{
    organization_memberships as memberships, organizations, user_email_addresses,
    user_phone_numbers, users,
};
use crate::{Backend, DbConnection, JsonText, StoreError};

type Db = <DbConnection as Connection>::Backend;

/// Ids a list includes or excludes: Clerk's `user_id=+user_…` / `user_id=-user_…` (no sign
/// means include). An object is listed when it is one of `include` (or `include` is empty)
/// and none of `exclude`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdFilter {
    /// Only these, when not empty.
    pub include: Vec<String>,
    /// Never these.
    pub exclude: Vec<String>,
}

impl IdFilter {
    /// Adds one value as Clerk writes it: a leading `-` excludes, a leading `+` (or none)
    /// includes.
    pub fn push_signed(&mut self, value: &str) {
        if let Some(id) = value.strip_prefix('-') {
            self.exclude.push(id.to_owned());
        } else {
            let id = value.strip_prefix('+').unwrap_or(value);
            self.include.push(id.to_owned());
        }
    }
}

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

fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Postgres(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}

/// `ORDER BY` text for `column` then the local id, both in `direction`. Text columns may be
/// NULL: they sort as PostgreSQL (and so Clerk) sorts them, after every value ascending,
/// before every value descending, on SQLite too. `column` is fixed SQL, never input.
fn order_sql(
    backend: Backend,
    column: &str,
    nullable: bool,
    id: &str,
    direction: Direction,
) -> String {
    let (dir, nulls) = match direction {
        Direction::Asc => ("ASC", " NULLS LAST"),
        Direction::Desc => ("DESC", " NULLS FIRST"),
    };
    let nulls = if nullable && backend == Backend::Sqlite {
        nulls
    } else {
        ""
    };
    format!("{column} {dir}{nulls}, {id} {dir}")
}

/// The primary email address of the user whose local id is `user_id` (SQL), for ordering.
fn primary_email_sql(user_id: &str) -> String {
    format!(
        "(SELECT e.email_address FROM user_email_addresses e WHERE e.user_id = {user_id} AND e.is_primary)"
    )
}

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

/// An organization's Clerk object and the members the mirror counts for it (Clerk answers
/// `members_count` only when asked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationObject {
    /// The latest object, as Clerk sent it.
    pub object: JsonText,
    /// The organization's memberships in the mirror.
    pub members_count: i64,
}

impl OrganizationObject {
    fn from_row((object, members_count): (Option<JsonText>, i64)) -> Option<Self> {
        object.map(|object| Self {
            object,
            members_count,
        })
    }
}

/// Which organizations a list holds (`GET /organizations`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationFilter {
    /// By Clerk organization id.
    pub organization_ids: IdFilter,
    /// Organizations any included user is a member of, none of the excluded ones is.
    pub user_ids: IdFilter,
}

/// What an organization list is ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganizationOrderKey {
    /// Clerk's `created_at`.
    CreatedAt,
    /// Name.
    Name,
    /// The members the mirror counts.
    MembersCount,
}

/// A page of objects and how many match in all (Clerk's `{data, total_count}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPage<T> {
    /// This page.
    pub data: Vec<T>,
    /// Objects matching on all pages.
    pub total_count: i64,
}

fn organizations_matching(filter: &OrganizationFilter) -> organizations::BoxedQuery<'static, Db> {
    let mut query = organizations::table
        .into_boxed()
        .filter(organizations::clerk_object.is_not_null());
    let ids = &filter.organization_ids;
    if !ids.include.is_empty() {
        query = query.filter(organizations::clerk_id.eq_any(ids.include.clone()));
    }
    if !ids.exclude.is_empty() {
        query = query.filter(organizations::clerk_id.ne_all(ids.exclude.clone()));
    }
    let ids = &filter.user_ids;
    if !ids.include.is_empty() {
        query = query.filter(organizations::id.eq_any(organizations_of!(ids.include.clone())));
    }
    if !ids.exclude.is_empty() {
        query = query.filter(organizations::id.ne_all(organizations_of!(ids.exclude.clone())));
    }
    query
}

/// The local ids of the organizations users (by Clerk id) are members of (a subquery, as
/// [`members_of`]).
macro_rules! organizations_of {
    ($users:expr) => {
        memberships::table
            .inner_join(users::table)
            .filter(users::clerk_id.eq_any($users))
            .select(memberships::organization_id)
    };
}
use organizations_of;

/// A page of organizations matching `filter`, ordered by `key` (ties broken by local id).
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn list_organizations(
    conn: &mut DbConnection,
    filter: &OrganizationFilter,
    (key, direction): (OrganizationOrderKey, Direction),
    offset: i64,
    limit: i64,
) -> Result<ObjectPage<OrganizationObject>, StoreError> {
    let total_count = organizations_matching(filter).count().get_result(conn)?;
    let column = match key {
        OrganizationOrderKey::CreatedAt => "organizations.clerk_created_at",
        OrganizationOrderKey::Name => "organizations.name",
        OrganizationOrderKey::MembersCount => "organizations.members_count",
    };
    let order = order_sql(
        backend_of(conn),
        column,
        false,
        "organizations.id",
        direction,
    );
    let rows: Vec<(Option<JsonText>, i64)> = organizations_matching(filter)
        .order(sql::<BigInt>(&order))
        .limit(limit)
        .offset(offset)
        .select((organizations::clerk_object, organizations::members_count))
        .load(conn)?;
    Ok(ObjectPage {
        data: rows
            .into_iter()
            .filter_map(OrganizationObject::from_row)
            .collect(),
        total_count,
    })
}

/// An organization by Clerk id, else by slug (Clerk's `GET /organizations/{id or slug}`).
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn find_organization(
    conn: &mut DbConnection,
    id_or_slug: &str,
) -> Result<Option<OrganizationObject>, StoreError> {
    let columns = (organizations::clerk_object, organizations::members_count);
    let by_id: Option<(Option<JsonText>, i64)> = organizations::table
        .filter(organizations::clerk_id.eq(id_or_slug))
        .select(columns)
        .first(conn)
        .optional()?;
    let row = match by_id {
        Some(row) => Some(row),
        None => organizations::table
            .filter(organizations::slug.eq(id_or_slug))
            .select(columns)
            .first(conn)
            .optional()?,
    };
    Ok(row.and_then(OrganizationObject::from_row))
}

/// Whose memberships a list holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipScope {
    /// Every membership of the instance.
    Instance,
    /// One organization's, by Clerk id.
    Organization(String),
    /// One user's, by Clerk id.
    User(String),
}

/// What a membership list is ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipOrderKey {
    /// The membership's `created_at`.
    CreatedAt,
    /// The member's primary email address.
    EmailAddress,
    /// The member's username.
    Username,
    /// The member's first name.
    FirstName,
    /// The member's last name.
    LastName,
}

/// A membership's Clerk object, with its organization and member as the mirror holds them
/// now (Clerk answers the current organization and user data inside each membership; the
/// object's own copies are as of the membership's latest event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipObject {
    /// The latest membership object, as Clerk sent it.
    pub object: JsonText,
    /// Its organization, when the mirror holds the organization's object.
    pub organization: Option<OrganizationObject>,
    /// The member's public data as the mirror holds it now.
    pub member: MemberNow,
}

/// A member's public data as the mirror holds it now (from the user's latest object, or the
/// latest membership that named the user).
#[derive(Clone, Debug, PartialEq, Eq, Queryable)]
pub struct MemberNow {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Profile image.
    pub image_url: Option<String>,
    /// Username.
    pub username: Option<String>,
}

/// Memberships joined with their organization and user, boxed.
type MembershipQuery = diesel::helper_types::IntoBoxed<
    'static,
    diesel::helper_types::Filter<
        MembershipsWithOrganizationAndUser,
        diesel::dsl::IsNotNull<memberships::clerk_object>,
    >,
    Db,
>;
type MembershipsWithOrganizationAndUser = diesel::helper_types::InnerJoin<
    diesel::helper_types::InnerJoin<memberships::table, organizations::table>,
    users::table,
>;

fn memberships_matching(scope: &MembershipScope, roles: &[String]) -> MembershipQuery {
    let mut query = memberships::table
        .inner_join(organizations::table)
        .inner_join(users::table)
        .filter(memberships::clerk_object.is_not_null())
        .into_boxed();
    match scope {
        MembershipScope::Instance => {}
        MembershipScope::Organization(id) => {
            query = query.filter(organizations::clerk_id.eq(id.clone()));
        }
        MembershipScope::User(id) => query = query.filter(users::clerk_id.eq(id.clone())),
    }
    if !roles.is_empty() {
        query = query.filter(memberships::role.eq_any(roles.to_vec()));
    }
    query
}

/// A page of memberships in `scope`, with any of `roles` (all when empty), ordered by `key`
/// (ties broken by local id).
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn list_memberships(
    conn: &mut DbConnection,
    scope: &MembershipScope,
    roles: &[String],
    (key, direction): (MembershipOrderKey, Direction),
    offset: i64,
    limit: i64,
) -> Result<ObjectPage<MembershipObject>, StoreError> {
    let total_count = memberships_matching(scope, roles)
        .count()
        .get_result(conn)?;
    let (column, nullable) = match key {
        MembershipOrderKey::CreatedAt => (
            "organization_memberships.clerk_created_at".to_owned(),
            false,
        ),
        MembershipOrderKey::EmailAddress => {
            (primary_email_sql("organization_memberships.user_id"), true)
        }
        MembershipOrderKey::Username => ("users.username".to_owned(), true),
        MembershipOrderKey::FirstName => ("users.first_name".to_owned(), true),
        MembershipOrderKey::LastName => ("users.last_name".to_owned(), true),
    };
    let order = order_sql(
        backend_of(conn),
        &column,
        nullable,
        "organization_memberships.id",
        direction,
    );
    type Row = (Option<JsonText>, Option<JsonText>, i64, MemberNow);
    let rows: Vec<Row> = memberships_matching(scope, roles)
        .order(sql::<BigInt>(&order))
        .limit(limit)
        .offset(offset)
        .select((
            memberships::clerk_object,
            organizations::clerk_object,
            organizations::members_count,
            (
                users::first_name,
                users::last_name,
                users::image_url,
                users::username,
            ),
        ))
        .load(conn)?;
    let data = rows
        .into_iter()
        .filter_map(|(object, organization, members_count, member)| {
            Some(MembershipObject {
                object: object?,
                organization: OrganizationObject::from_row((organization, members_count)),
                member,
            })
        })
        .collect();
    Ok(ObjectPage { data, total_count })
}
