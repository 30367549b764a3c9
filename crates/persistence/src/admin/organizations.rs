//! Organizations, as the admin pages list and show them.

use std::collections::HashMap;

use clerk_sync_domain::OrganizationId;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::users::names_clerk_id;
use super::{
    Db, Direction, Page, PageRequest, TextKey, backend_of, prefix_pattern, sorted, sorted_by_unique,
};
use crate::organizations::OrganizationRow;
use crate::schema::{organization_memberships as memberships, organizations};
use crate::{DbConnection, StoreError};

/// The orders an organization listing can take; each is served by an index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OrganizationSort {
    /// By name.
    #[default]
    Name,
    /// By Clerk id.
    ClerkId,
    /// By local id, which is the order organizations were first synced in.
    Joined,
}

pub(crate) const NAME: TextKey = TextKey {
    column: "organizations.name",
    lower: true,
};
const CLERK_ID: TextKey = TextKey {
    column: "organizations.clerk_id",
    lower: true,
};

fn filtered(conn: &DbConnection, search: Option<&str>) -> organizations::BoxedQuery<'static, Db> {
    let query = organizations::table.into_boxed();
    match search.filter(|s| !s.trim().is_empty()) {
        Some(search) => {
            let key = if names_clerk_id(search, "org_") {
                CLERK_ID
            } else {
                NAME
            };
            query.filter(key.starts_with(backend_of(conn), &prefix_pattern(search)))
        }
        None => query,
    }
}

/// A page of organizations whose Clerk id (when `search` starts with `org_`) or else name
/// starts with `search` (case-insensitive), in `sort` order (ties broken by local id; names
/// and Clerk ids compare case-insensitively).
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn list(
    conn: &mut DbConnection,
    search: Option<&str>,
    sort: OrganizationSort,
    direction: Direction,
    page: PageRequest,
) -> Result<Page<OrganizationRow>, StoreError> {
    let total: i64 = filtered(conn, search).count().get_result(conn)?;
    let page = page.clamped(total);
    let query = filtered(conn, search);
    // The sort table: what each order sorts by.
    let query = match sort {
        OrganizationSort::Name => sorted(query, organizations::name, organizations::id, direction),
        OrganizationSort::ClerkId => sorted_by_unique(query, organizations::clerk_id, direction),
        OrganizationSort::Joined => sorted_by_unique(query, organizations::id, direction),
    };
    let items = query
        .select(OrganizationRow::as_select())
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

/// How many members each of `ids` has (organizations without members are absent).
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn member_counts(
    conn: &mut DbConnection,
    ids: &[OrganizationId],
) -> Result<HashMap<OrganizationId, i64>, StoreError> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<(i64, i64)> = memberships::table
        .filter(memberships::organization_id.eq_any(ids))
        .group_by(memberships::organization_id)
        .select((memberships::organization_id, count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, count)| (OrganizationId(id), count))
        .collect())
}

/// The organization with a local id.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn find(
    conn: &mut DbConnection,
    id: OrganizationId,
) -> Result<Option<OrganizationRow>, StoreError> {
    Ok(organizations::table
        .find(id.0)
        .select(OrganizationRow::as_select())
        .first(conn)
        .optional()?)
}

/// How many organizations there are.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(organizations::table.count().get_result(conn)?)
}
