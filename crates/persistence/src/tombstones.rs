//! The `tombstones` table: Clerk ids that were deleted and must never be written again.

use chrono::NaiveDateTime;
use clerk_sync_domain::UnixMillis;
use diesel::prelude::*;

use crate::schema::tombstones;
use crate::{DbConnection, StoreError};

/// What kind of Clerk object a tombstone stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TombstoneKind {
    User,
    Organization,
    Membership,
}

impl TombstoneKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Organization => "organization",
            Self::Membership => "organization_membership",
        }
    }
}

/// Whether a Clerk id was deleted.
pub(crate) fn exists(conn: &mut DbConnection, clerk_id: &str) -> Result<bool, StoreError> {
    Ok(diesel::select(diesel::dsl::exists(tombstones::table.find(clerk_id))).get_result(conn)?)
}

/// Records a deletion.
pub(crate) fn insert(
    conn: &mut DbConnection,
    kind: TombstoneKind,
    clerk_id: &str,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(tombstones::table)
        .values((
            tombstones::clerk_id.eq(clerk_id),
            tombstones::kind.eq(kind.as_str()),
            tombstones::deleted_at.eq(deleted_at.map(|at| at.0)),
            tombstones::recorded_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
