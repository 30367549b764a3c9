//! The latest Clerk objects as Clerk's Backend API lists and shows them (clerk-sync's
//! `/clerk/v1` reads): filters, orders and pages done in the database over indexed columns
//! (the `backend_api_reads` migration), answering each row's `clerk_object` as stored.
//!
//! Rows without a Clerk object are left out everywhere, lists and counts alike: a user known
//! only from a membership's public data, or a row synced before the complete mirror, cannot be
//! answered in Clerk's shape (a resync fills them in).

mod memberships;
mod organizations;
mod users;

use crate::admin::Direction;
use crate::{Backend, DbConnection};

pub use memberships::{
    MemberNow, MembershipObject, MembershipOrderKey, MembershipScope, list_memberships,
};
pub use organizations::{
    OrganizationFilter, OrganizationObject, OrganizationOrderKey, find_organization,
    list_organizations,
};
pub use users::{
    PageStart, UserCursor, UserFilter, UserOrderKey, count_users, find_user, list_users,
    user_cursor,
};

type Db = <DbConnection as diesel::Connection>::Backend;

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

/// A page of objects and how many match in all (Clerk's `{data, total_count}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPage<T> {
    /// This page.
    pub data: Vec<T>,
    /// Objects matching on all pages.
    pub total_count: i64,
}

pub(crate) fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Postgres(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}

/// `ORDER BY` text for `column` then the local id, both in `direction`. Text columns may be
/// NULL: they sort as PostgreSQL (and so Clerk) sorts them, after every value ascending,
/// before every value descending, on SQLite too. `column` is fixed SQL, never input.
pub(crate) fn order_sql(
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
pub(crate) fn primary_email_sql(user_id: &str) -> String {
    format!(
        "(SELECT e.email_address FROM user_email_addresses e WHERE e.user_id = {user_id} AND e.is_primary)"
    )
}
