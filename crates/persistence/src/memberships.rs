//! The `organization_memberships` table.

use chrono::NaiveDateTime;
use clerk_sync_domain::{
    Affiliation, ClerkMembershipId, ClerkUserId, Member, MembershipId, MembershipSnapshot,
    Organization, OrganizationId, Role, StoredMembership, UnixMillis, User, UserId,
};
use diesel::prelude::*;

use crate::organizations::OrganizationRow;
use crate::schema::{organization_memberships as memberships, organizations, users};
use crate::users::UserModelRow;
use crate::{DbConnection, JsonText, StoreError};

pub(crate) fn stored(row: (i64, String, i64)) -> Result<StoredMembership, StoreError> {
    Ok(StoredMembership {
        id: MembershipId(row.0),
        clerk_id: ClerkMembershipId::parse(&row.1)?,
        clerk_updated_at: UnixMillis(row.2),
    })
}

/// The row with a Clerk id, as the sync rules see it.
pub(crate) fn stored_by_clerk_id(
    conn: &mut DbConnection,
    clerk_id: &ClerkMembershipId,
) -> Result<Option<StoredMembership>, StoreError> {
    memberships::table
        .filter(memberships::clerk_id.eq(clerk_id.as_str()))
        .select((
            memberships::id,
            memberships::clerk_id,
            memberships::clerk_updated_at,
        ))
        .first(conn)
        .optional()?
        .map(stored)
        .transpose()
}

/// The row holding a (user, organization) pair, as the sync rules see it.
pub(crate) fn stored_for_pair(
    conn: &mut DbConnection,
    user: UserId,
    organization: OrganizationId,
) -> Result<Option<StoredMembership>, StoreError> {
    memberships::table
        .filter(memberships::user_id.eq(user.0))
        .filter(memberships::organization_id.eq(organization.0))
        .select((
            memberships::id,
            memberships::clerk_id,
            memberships::clerk_updated_at,
        ))
        .first(conn)
        .optional()?
        .map(stored)
        .transpose()
}

/// The Clerk-owned columns a membership version writes.
#[derive(AsChangeset, Insertable)]
#[diesel(table_name = memberships, treat_none_as_null = true)]
struct ClerkFields<'a> {
    clerk_id: &'a str,
    role: &'a str,
    permissions: JsonText,
    public_metadata: JsonText,
    private_metadata: JsonText,
    clerk_created_at: Option<i64>,
    clerk_object: Option<JsonText>,
    clerk_updated_at: i64,
    updated_at: NaiveDateTime,
}

impl<'a> ClerkFields<'a> {
    fn version(membership: &'a MembershipSnapshot, now: NaiveDateTime) -> Self {
        // A list of strings always serializes.
        let permissions = serde_json::to_string(&membership.permissions).unwrap_or_default();
        Self {
            clerk_id: membership.clerk_id.as_str(),
            role: membership.role.as_str(),
            permissions: JsonText(permissions),
            public_metadata: (&membership.public_metadata).into(),
            private_metadata: (&membership.private_metadata).into(),
            clerk_created_at: membership.created_at.map(|at| at.0),
            clerk_object: Some((&membership.raw).into()),
            clerk_updated_at: membership.updated_at.0,
            updated_at: now,
        }
    }
}

/// Inserts a membership version.
pub(crate) fn insert_version(
    conn: &mut DbConnection,
    membership: &MembershipSnapshot,
    user: UserId,
    organization: OrganizationId,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    insert_versions(conn, &[(membership, user, organization, now)])
}

/// Inserts many membership versions in one statement (a resync batch).
pub(crate) fn insert_versions(
    conn: &mut DbConnection,
    versions: &[(&MembershipSnapshot, UserId, OrganizationId, NaiveDateTime)],
) -> Result<(), StoreError> {
    let rows: Vec<_> = versions
        .iter()
        .map(|(membership, user, organization, now)| {
            (
                ClerkFields::version(membership, *now),
                memberships::user_id.eq(user.0),
                memberships::organization_id.eq(organization.0),
                memberships::created_at.eq(*now),
            )
        })
        .collect();
    // Per backend: diesel's MultiConnection has no multi-row INSERT of its own.
    let statement = diesel::insert_into(memberships::table).values(rows);
    match conn {
        DbConnection::Postgres(pg) => statement.execute(pg)?,
        DbConnection::Sqlite(sqlite) => statement.execute(sqlite)?,
    };
    Ok(())
}

/// Overwrites a row with a membership version (and its Clerk id, for a rejoin).
pub(crate) fn write_version(
    conn: &mut DbConnection,
    id: MembershipId,
    membership: &MembershipSnapshot,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(memberships::table.find(id.0))
        .set(ClerkFields::version(membership, now))
        .execute(conn)?;
    Ok(())
}

/// Deletes a row.
pub(crate) fn delete(conn: &mut DbConnection, id: MembershipId) -> Result<(), StoreError> {
    diesel::delete(memberships::table.find(id.0)).execute(conn)?;
    Ok(())
}

/// The organizations a user belongs to, with the user's role in each, by organization name.
///
/// # Errors
/// [`StoreError`] when the query fails or a row does not fit the model.
pub fn affiliations_of(
    conn: &mut DbConnection,
    user: UserId,
) -> Result<Vec<Affiliation>, StoreError> {
    let rows: Vec<(OrganizationRow, String)> = memberships::table
        .inner_join(organizations::table)
        .filter(memberships::user_id.eq(user.0))
        .order((organizations::name.asc(), organizations::id.asc()))
        .select((OrganizationRow::as_select(), memberships::role))
        .load(conn)?;
    rows.into_iter()
        .map(|(org, role)| {
            Ok(Affiliation {
                organization: Organization::try_from(org)?,
                role: Role::parse(&role)?,
            })
        })
        .collect()
}

/// The members of an organization, with each one's role, in the order they joined the mirror
/// (by local user id: names may be missing, and the two backends sort missing values apart).
///
/// # Errors
/// [`StoreError`] when the query fails or a row does not fit the model.
pub fn members_of(
    conn: &mut DbConnection,
    organization: OrganizationId,
) -> Result<Vec<Member>, StoreError> {
    let rows: Vec<(UserModelRow, String)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::organization_id.eq(organization.0))
        .order(users::id.asc())
        .select((UserModelRow::as_select(), memberships::role))
        .load(conn)?;
    rows.into_iter()
        .map(|(user, role)| {
            Ok(Member {
                user: User::try_from(user)?,
                role: Role::parse(&role)?,
            })
        })
        .collect()
}

/// The role the user with a Clerk id has in an organization; `None` when not a member.
///
/// # Errors
/// [`StoreError`] when the query fails or the stored role does not fit the model.
pub fn role_of(
    conn: &mut DbConnection,
    user: &ClerkUserId,
    organization: OrganizationId,
) -> Result<Option<Role>, StoreError> {
    let role: Option<String> = memberships::table
        .inner_join(users::table)
        .filter(users::clerk_id.eq(user.as_str()))
        .filter(memberships::organization_id.eq(organization.0))
        .select(memberships::role)
        .first(conn)
        .optional()?;
    Ok(role.as_deref().map(Role::parse).transpose()?)
}
