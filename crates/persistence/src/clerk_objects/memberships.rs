//! Memberships as Clerk's membership lists answer them: an organization's, a user's, the
//! instance's.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::OrganizationObject;
use super::{Db, ObjectPage, backend_of, order_sql, primary_email_sql};
use crate::admin::Direction;
use crate::schema::{organization_memberships as memberships, organizations, users};
use crate::{DbConnection, JsonText, StoreError};

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
