//! `clerk-sync dev token`: a session token signed with the development key (minted by the
//! `clerk-sync-dev` crate, which the benchmark shares), with the organization's slug read from
//! the mirror.

use clerk_sync_domain::ClerkOrgId;
use clerk_sync_persistence::{DatabaseUrl, organizations};

pub use clerk_sync_dev::token::{TokenRequest, mint};

use crate::Settings;

/// The slug the mirror holds for `org`, for `dev token`; `None`, with a note saying so, when
/// the mirror cannot tell.
pub fn mirrored_slug(settings: &Settings, org: &str) -> Option<String> {
    let note = |why: &str| {
        eprintln!("note: {why}: the token's organization has no slug; pass --org-slug to give one");
        None
    };
    let Ok(id) = ClerkOrgId::parse(org) else {
        return None;
    };
    let url = &settings.database.url;
    if let DatabaseUrl::Sqlite(path) = url
        && !path.exists()
    {
        return note(&format!("the mirror {} does not exist yet", path.display()));
    }
    let found = settings
        .database
        .open_connection()
        .and_then(|mut conn| Ok(organizations::find_by_clerk_id(&mut conn, &id)?));
    match found {
        Ok(Some(organization)) => organization.slug,
        Ok(None) => note(&format!(
            "{org} is not in the mirror (send organization.created for it first)"
        )),
        Err(err) => note(&format!("cannot read the mirror: {err:#}")),
    }
}
