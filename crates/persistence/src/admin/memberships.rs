//! Memberships, as the admin pages list them (also inline on a user's and an organization's
//! page).

use chrono::NaiveDateTime;
use clerk_sync_domain::{OrganizationId, UserId};
use diesel::dsl::{AsExprOf, sql};
use diesel::expression::SqlLiteral;
use diesel::expression::UncheckedBind;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::{Db, Direction, Page, PageRequest, backend_of, prefix_pattern};
use crate::schema::{organization_memberships as memberships, organizations, users};
use crate::{Backend, DbConnection, StoreError};

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
}

type SearchPredicate = SqlLiteral<
    Bool,
    UncheckedBind<
        SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>>,
        AsExprOf<String, Text>,
    >,
>;

/// Memberships whose user's email or organization's name starts with the pattern, as two
/// indexed sub-queries (an OR across the joined tables could use neither index).
fn search(backend: Backend, pattern: &str) -> SearchPredicate {
    let (email, name, escape) = match backend {
        Backend::Sqlite => ("s_u.email", "s_o.name", " ESCAPE '\\'"),
        Backend::Postgres => ("s_u.email", "lower(s_o.name)", ""),
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

type Joined = diesel::dsl::IntoBoxed<
    'static,
    diesel::dsl::InnerJoin<diesel::dsl::InnerJoin<memberships::table, users::table>, organizations::table>,
    Db,
>;

fn filtered(conn: &DbConnection, filter: &MembershipFilter) -> Joined {
    let mut query = memberships::table
        .inner_join(users::table)
        .inner_join(organizations::table)
        .into_boxed();
    if let Some(text) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
        query = query.filter(search(backend_of(conn), &prefix_pattern(text)));
    }
    if let Some(role) = filter.role.as_deref().filter(|r| !r.is_empty()) {
        query = query.filter(memberships::role.eq(role.to_owned()));
    }
    if let Some(user) = filter.user {
        query = query.filter(memberships::user_id.eq(user.0));
    }
    if let Some(organization) = filter.organization {
        query = query.filter(memberships::organization_id.eq(organization.0));
    }
    query
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
    let total: i64 = filtered(conn, filter).count().get_result(conn)?;
    let page = page.clamped(total);
    let query = filtered(conn, filter);
    let query = match (sort, direction) {
        (MembershipSort::Joined, Direction::Asc) => query.order(memberships::id.asc()),
        (MembershipSort::Joined, Direction::Desc) => query.order(memberships::id.desc()),
        (MembershipSort::Role, Direction::Asc) => {
            query.order((memberships::role.asc(), memberships::id.asc()))
        }
        (MembershipSort::Role, Direction::Desc) => {
            query.order((memberships::role.desc(), memberships::id.desc()))
        }
        (MembershipSort::User, Direction::Asc) => {
            query.order((users::email.asc(), memberships::id.asc()))
        }
        (MembershipSort::User, Direction::Desc) => {
            query.order((users::email.desc(), memberships::id.desc()))
        }
        (MembershipSort::Organization, Direction::Asc) => {
            query.order((organizations::name.asc(), memberships::id.asc()))
        }
        (MembershipSort::Organization, Direction::Desc) => {
            query.order((organizations::name.desc(), memberships::id.desc()))
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

/// The role keys in use, in order (at most 100), for the role filter.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn roles(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(memberships::table
        .select(memberships::role)
        .distinct()
        .order(memberships::role.asc())
        .limit(100)
        .load(conn)?)
}

/// How many memberships there are.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(memberships::table.count().get_result(conn)?)
}
