//! Listed objects parsed into a batch of one kind, written in one transaction through the same
//! rules as webhooks (`clerk_sync_persistence::resync`).

use clerk_sync_backend_api::ObjectKind;
use clerk_sync_domain::{
    DomainError, MembershipSnapshot, OrganizationSnapshot, UserSnapshot, parse_membership,
    parse_organization, parse_user,
};
use clerk_sync_persistence::resync::{Tally, apply_memberships, apply_organizations, apply_users};
use clerk_sync_persistence::{DbConnection, StoreError, WriteMode};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Objects of one kind, written in one transaction.
pub(crate) enum Batch {
    Users(Vec<UserSnapshot>),
    Organizations(Vec<OrganizationSnapshot>),
    Memberships(Vec<MembershipSnapshot>),
}

#[derive(Deserialize)]
struct Identified<'a> {
    id: &'a str,
}

impl Batch {
    /// Parses listed objects of a kind, logging (by id) and counting those that do not parse.
    pub(crate) fn parse<R: AsRef<RawValue>>(kind: ObjectKind, raws: &[R]) -> (Self, u64) {
        let mut failed = 0;
        let batch = match kind {
            ObjectKind::Users => Self::Users(parse_each(kind, raws, parse_user, &mut failed)),
            ObjectKind::Organizations => {
                Self::Organizations(parse_each(kind, raws, parse_organization, &mut failed))
            }
            ObjectKind::Memberships => {
                Self::Memberships(parse_each(kind, raws, parse_membership, &mut failed))
            }
        };
        (batch, failed)
    }

    pub(crate) fn len(&self) -> u64 {
        let len = match self {
            Self::Users(objects) => objects.len(),
            Self::Organizations(objects) => objects.len(),
            Self::Memberships(objects) => objects.len(),
        };
        u64::try_from(len).unwrap_or(u64::MAX)
    }

    pub(crate) fn apply(
        &self,
        conn: &mut DbConnection,
        mode: WriteMode,
    ) -> Result<Tally, StoreError> {
        let now = chrono::Utc::now().naive_utc();
        match self {
            Self::Users(objects) => apply_users(conn, objects, mode, now),
            Self::Organizations(objects) => apply_organizations(conn, objects, mode, now),
            Self::Memberships(objects) => apply_memberships(conn, objects, mode, now),
        }
    }
}

fn parse_each<T, R: AsRef<RawValue>>(
    kind: ObjectKind,
    raws: &[R],
    parse_one: fn(&str) -> Result<T, DomainError>,
    failed: &mut u64,
) -> Vec<T> {
    raws.iter()
        .map(AsRef::as_ref)
        .filter_map(|raw| match parse_one(raw.get()) {
            Ok(object) => Some(object),
            Err(err) => {
                let id = serde_json::from_str::<Identified<'_>>(raw.get()).map(|o| o.id);
                tracing::warn!(
                    kind = kind.label(),
                    id = id.unwrap_or("?"),
                    reason = %err,
                    "a listed object could not be parsed; skipped"
                );
                *failed += 1;
                None
            }
        })
        .collect()
}
