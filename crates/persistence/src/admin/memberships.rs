//! Memberships, as the admin pages list them (also inline on a user's and an organization's
//! page).

use chrono::NaiveDateTime;
use clerk_sync_domain::{OrganizationId, UserId};
use diesel::dsl::{self, AsExprOf, sql};
use diesel::expression::SqlLiteral;
use diesel::expression::UncheckedBind;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use diesel::sql_types::{Bool, Text};

use super::organizations::NAME;
use super::users::EMAIL;
use super::{
    Db, Direction, Page, PageRequest, backend_of, prefix_pattern, sorted, sorted_by_unique,
};
use crate::schema::{organization_memberships as memberships, organizations, users};
use crate::{Backend, DbConnection, JsonText, StoreError};

/// Which memberships a listing shows.
#[derive(Clone, Debug, Default)]
pub struct MembershipFilter {
    /// Start of the member's email or of the organization's name (case-insensitive).
    pub search: Option<String>,
    /// Only this role (exact key, e.g. `org:admin`).
    pub role: Option<String>,
    /// Only this user's memberships.
    pub user: Option<UserId>,
    /// Only this organization's memberships.
    pub organization: Option<OrganizationId>,
}

/// The orders a membership listing can take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MembershipSort {
    /// By local id: the order memberships were first synced in.
    #[default]
    Joined,
    /// By role key.
    Role,
    /// By the member's email.
    User,
    /// By the organization's name.
    Organization,
}

/// A membership with its user and organization, as a listing row.
#[derive(Debug, Queryable)]
pub struct MembershipListRow {
    /// Local id.
    pub id: i64,
    /// Clerk id.
    pub clerk_id: String,
    /// Role key.
    pub role: String,
    /// When the row was created.
    pub created_at: NaiveDateTime,
    /// The member's local id.
    pub user_id: i64,
    /// The member's Clerk id.
    pub user_clerk_id: Option<String>,
    /// The member's email.
    pub user_email: Option<String>,
    /// The member's first name.
    pub user_first_name: Option<String>,
    /// The member's last name.
    pub user_last_name: Option<String>,
    /// The organization's local id.
    pub organization_id: i64,
    /// The organization's Clerk id.
    pub organization_clerk_id: String,
    /// The organization's name.
    pub organization_name: String,
    /// The membership's permissions (a JSON list of keys).
    pub permissions: JsonText,
    /// The membership's `public_metadata`.
    pub public_metadata: JsonText,
    /// The membership's `private_metadata`.
    pub private_metadata: JsonText,
}

type SearchPredicate = SqlLiteral<
    Bool,
    UncheckedBind<
        SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>>,
        AsExprOf<String, Text>,
    >,
>;

/// Matching users or organizations beyond this many are searched with sub-queries instead of
/// lists of ids.
const SEARCH_LIST_LIMIT: usize = 1_000;

/// A search, resolved against the users and organizations it names.
enum Search {
    /// No search.
    All,
    /// Memberships of these users or of these organizations (the usual case: the planners
    /// estimate lists well and read the `user_id` and `organization_id` indexes).
    Ids(Vec<i64>, Vec<i64>),
    /// Too many matches for lists: sub-queries with this pattern.
    Broad(String),
}

fn resolve(conn: &mut DbConnection, text: Option<&str>) -> Result<Search, StoreError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Search::All);
    };
    let backend = backend_of(conn);
    let pattern = prefix_pattern(text);
    let limit = i64::try_from(SEARCH_LIST_LIMIT + 1).unwrap_or(i64::MAX);
    let user_ids: Vec<i64> = users::table
        .filter(EMAIL.starts_with(backend, &pattern))
        .select(users::id)
        .limit(limit)
        .load(conn)?;
    let organization_ids: Vec<i64> = organizations::table
        .filter(NAME.starts_with(backend, &pattern))
        .select(organizations::id)
        .limit(limit)
        .load(conn)?;
    if user_ids.len() > SEARCH_LIST_LIMIT || organization_ids.len() > SEARCH_LIST_LIMIT {
        Ok(Search::Broad(pattern))
    } else {
        Ok(Search::Ids(user_ids, organization_ids))
    }
}

/// Memberships whose user's email or organization's name starts with the pattern, as two
/// indexed sub-queries.
fn broad_search(backend: Backend, pattern: &str) -> SearchPredicate {
    let (email, name, escape) = match backend {
        Backend::Sqlite => ("s_u.email", "s_o.name", " ESCAPE '\\'"),
        Backend::Postgres => (
            "s_u.email COLLATE \"C\"",
            "lower(s_o.name) COLLATE \"C\"",
            "",
        ),
    };
    sql::<Bool>(&format!(
        "(organization_memberships.user_id IN (SELECT s_u.id FROM users s_u WHERE {email} LIKE "
    ))
    .bind::<Text, _>(pattern.to_owned())
    .sql(&format!(
        "{escape}) OR organization_memberships.organization_id IN (SELECT s_o.id FROM organizations s_o WHERE {name} LIKE "
    ))
    .bind::<Text, _>(pattern.to_owned())
    .sql(&format!("{escape}))"))
}

/// The condition of a search resolved to ids: memberships of these users or organizations.
type MemberOf = dsl::Or<
    dsl::EqAny<memberships::user_id, Vec<i64>>,
    dsl::EqAny<memberships::organization_id, Vec<i64>>,
>;

/// Applies a filter's conditions, which are all on the membership's own columns, to a query
/// of memberships alone (counts) or joined with users and organizations (pages).
fn filter_memberships<Q>(
    mut query: Q,
    backend: Backend,
    filter: &MembershipFilter,
    search: &Search,
) -> Q
where
    Q: methods::FilterDsl<MemberOf, Output = Q>
        + methods::FilterDsl<SearchPredicate, Output = Q>
        + methods::FilterDsl<dsl::Eq<memberships::role, String>, Output = Q>
        + methods::FilterDsl<dsl::Eq<memberships::user_id, i64>, Output = Q>
        + methods::FilterDsl<dsl::Eq<memberships::organization_id, i64>, Output = Q>,
{
    match search {
        Search::All => {}
        Search::Ids(user_ids, organization_ids) => {
            let member_of = memberships::user_id
                .eq_any(user_ids.clone())
                .or(memberships::organization_id.eq_any(organization_ids.clone()));
            query = methods::FilterDsl::filter(query, member_of);
        }
        Search::Broad(pattern) => {
            query = methods::FilterDsl::filter(query, broad_search(backend, pattern))
        }
    }
    if let Some(role) = filter.role.as_deref().filter(|r| !r.is_empty()) {
        query = methods::FilterDsl::filter(query, memberships::role.eq(role.to_owned()));
    }
    if let Some(user) = filter.user {
        query = methods::FilterDsl::filter(query, memberships::user_id.eq(user.0));
    }
    if let Some(organization) = filter.organization {
        query = methods::FilterDsl::filter(query, memberships::organization_id.eq(organization.0));
    }
    query
}

type Joined = dsl::IntoBoxed<
    'static,
    dsl::InnerJoin<dsl::InnerJoin<memberships::table, users::table>, organizations::table>,
    Db,
>;

fn joined(backend: Backend, filter: &MembershipFilter, search: &Search) -> Joined {
    let query = memberships::table
        .inner_join(users::table)
        .inner_join(organizations::table)
        .into_boxed();
    filter_memberships(query, backend, filter, search)
}

/// A page of memberships matching `filter`, in `sort` order (ties broken by local id).
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn list(
    conn: &mut DbConnection,
    filter: &MembershipFilter,
    sort: MembershipSort,
    direction: Direction,
    page: PageRequest,
) -> Result<Page<MembershipListRow>, StoreError> {
    let backend = backend_of(conn);
    let search = resolve(conn, filter.search.as_deref())?;
    // Every condition is on the membership itself: counting needs no join.
    let total: i64 = filter_memberships(
        memberships::table.into_boxed::<Db>(),
        backend,
        filter,
        &search,
    )
    .count()
    .get_result(conn)?;
    let page = page.clamped(total);
    let query = joined(backend, filter, &search);
    // The sort table: what each order sorts by.
    let query = match sort {
        MembershipSort::Joined => sorted_by_unique(query, memberships::id, direction),
        MembershipSort::Role => sorted(query, memberships::role, memberships::id, direction),
        MembershipSort::User => sorted(query, users::email, memberships::id, direction),
        MembershipSort::Organization => {
            sorted(query, organizations::name, memberships::id, direction)
        }
    };
    let items = query
        .select((
            memberships::id,
            memberships::clerk_id,
            memberships::role,
            memberships::created_at,
            users::id,
            users::clerk_id,
            users::email,
            users::first_name,
            users::last_name,
            organizations::id,
            organizations::clerk_id,
            organizations::name,
            memberships::permissions,
            memberships::public_metadata,
            memberships::private_metadata,
        ))
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

/// The role keys in use, in order (at most 100), for the role filter. Read as a "loose
/// index scan": one seek in the role index per distinct role, instead of reading every
/// membership as `SELECT DISTINCT` does on both backends.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn roles(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    #[derive(QueryableByName)]
    struct RoleRow {
        #[diesel(sql_type = Text)]
        role: String,
    }
    let rows: Vec<RoleRow> = diesel::sql_query(
        "WITH RECURSIVE roles(role) AS ( \
             SELECT MIN(role) FROM organization_memberships \
             UNION ALL \
             SELECT (SELECT MIN(m.role) FROM organization_memberships m WHERE m.role > roles.role) \
             FROM roles WHERE roles.role IS NOT NULL \
         ) \
         SELECT role FROM roles WHERE role IS NOT NULL LIMIT 100",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|row| row.role).collect())
}

/// How many memberships there are.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(memberships::table.count().get_result(conn)?)
}
