//! Organizations as Clerk's `GET /organizations` and `GET /organizations/{id or slug}`
//! answer them.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::{Db, IdFilter, ObjectPage, backend_of, order_sql};
use crate::admin::Direction;
use crate::schema::{organization_memberships as memberships, organizations, users};
use crate::{DbConnection, JsonText, StoreError};

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
    pub(super) fn from_row((object, members_count): (Option<JsonText>, i64)) -> Option<Self> {
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
