//! The `organizations` table.

use chrono::NaiveDateTime;
use clerk_sync_domain::{
    ClerkOrgId, Organization, OrganizationId, OrganizationSnapshot, StoredOrganization, UnixMillis,
};
use diesel::prelude::*;

use crate::schema::organizations;
use crate::{DbConnection, JsonText, StoreError};

/// A full `organizations` row.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = organizations)]
pub struct OrganizationRow {
    /// Local id.
    pub id: i64,
    /// Clerk id.
    pub clerk_id: String,
    /// Display name.
    pub name: String,
    /// URL slug.
    pub slug: Option<String>,
    /// Logo.
    pub image_url: Option<String>,
    /// Clerk's `updated_at` of the stored version.
    pub clerk_updated_at: i64,
    /// When the row was created.
    pub created_at: NaiveDateTime,
    /// When the row last changed.
    pub updated_at: NaiveDateTime,
    /// `public_metadata`.
    pub public_metadata: JsonText,
    /// `private_metadata`.
    pub private_metadata: JsonText,
    /// The most members allowed, when limited.
    pub max_allowed_memberships: Option<i64>,
    /// Clerk id of the user who created it.
    pub created_by: Option<String>,
    /// Clerk's `created_at`, Unix ms.
    pub clerk_created_at: Option<i64>,
    /// Memberships in the mirror (kept by the database).
    pub members_count: i64,
}

impl TryFrom<OrganizationRow> for Organization {
    type Error = StoreError;

    fn try_from(row: OrganizationRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: OrganizationId(row.id),
            clerk_id: ClerkOrgId::parse(&row.clerk_id)?,
            name: row.name,
            slug: row.slug,
            image_url: row.image_url,
        })
    }
}

#[derive(AsChangeset, Insertable)]
#[diesel(table_name = organizations, treat_none_as_null = true)]
struct ClerkFields<'a> {
    clerk_id: &'a str,
    name: &'a str,
    slug: Option<&'a str>,
    image_url: Option<&'a str>,
    public_metadata: JsonText,
    private_metadata: JsonText,
    max_allowed_memberships: Option<i64>,
    created_by: Option<&'a str>,
    clerk_created_at: Option<i64>,
    clerk_object: Option<JsonText>,
    clerk_updated_at: i64,
    updated_at: NaiveDateTime,
}

impl<'a> ClerkFields<'a> {
    fn version(org: &'a OrganizationSnapshot, now: NaiveDateTime) -> Self {
        Self {
            clerk_id: org.clerk_id.as_str(),
            name: &org.name,
            slug: org.slug.as_deref(),
            image_url: org.image_url.as_deref(),
            public_metadata: (&org.public_metadata).into(),
            private_metadata: (&org.private_metadata).into(),
            max_allowed_memberships: org.max_allowed_memberships,
            created_by: org.created_by.as_deref(),
            clerk_created_at: org.created_at.map(|at| at.0),
            clerk_object: Some((&org.raw).into()),
            clerk_updated_at: org.updated_at.0,
            updated_at: now,
        }
    }
}

/// The row with a Clerk id, as the sync rules see it.
pub(crate) fn stored_by_clerk_id(
    conn: &mut DbConnection,
    clerk_id: &ClerkOrgId,
) -> Result<Option<StoredOrganization>, StoreError> {
    let row: Option<(i64, i64)> = organizations::table
        .filter(organizations::clerk_id.eq(clerk_id.as_str()))
        .select((organizations::id, organizations::clerk_updated_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, at)| StoredOrganization {
        id: OrganizationId(id),
        clerk_updated_at: UnixMillis(at),
    }))
}

/// Inserts an organization version.
pub(crate) fn insert_version(
    conn: &mut DbConnection,
    org: &OrganizationSnapshot,
    now: NaiveDateTime,
) -> Result<OrganizationId, StoreError> {
    let id = diesel::insert_into(organizations::table)
        .values((
            ClerkFields::version(org, now),
            organizations::created_at.eq(now),
        ))
        .returning(organizations::id)
        .get_result(conn)?;
    Ok(OrganizationId(id))
}

/// Overwrites a row with an organization version.
pub(crate) fn write_version(
    conn: &mut DbConnection,
    id: OrganizationId,
    org: &OrganizationSnapshot,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(organizations::table.find(id.0))
        .set(ClerkFields::version(org, now))
        .execute(conn)?;
    Ok(())
}

/// Deletes a row (its memberships go with it).
pub(crate) fn delete(conn: &mut DbConnection, id: OrganizationId) -> Result<(), StoreError> {
    diesel::delete(organizations::table.find(id.0)).execute(conn)?;
    Ok(())
}

/// The organization with a Clerk id.
///
/// # Errors
/// [`StoreError`] when the query fails or the row does not fit the model.
pub fn find_by_clerk_id(
    conn: &mut DbConnection,
    clerk_id: &ClerkOrgId,
) -> Result<Option<Organization>, StoreError> {
    organizations::table
        .filter(organizations::clerk_id.eq(clerk_id.as_str()))
        .select(OrganizationRow::as_select())
        .first(conn)
        .optional()?
        .map(Organization::try_from)
        .transpose()
}
