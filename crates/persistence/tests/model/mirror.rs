//! The mirror's tables as the reliability tests compare them, and the rules every state of it
//! must satisfy.

use std::collections::BTreeSet;

use clerk_sync_persistence::DbConnection;
use clerk_sync_persistence::schema::{
    organization_memberships, organizations, tombstones, user_email_addresses, users,
};
use diesel::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Queryable)]
pub struct UserRow {
    pub clerk_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub image_url: Option<String>,
    pub is_staff: bool,
    pub is_active: bool,
    pub clerk_updated_at: Option<i64>,
}

/// An organization: Clerk id, name, slug, image, Clerk version.
pub type OrgRow = (String, String, Option<String>, Option<String>, i64);
/// A membership: Clerk id, the user's and the organization's Clerk ids, role, Clerk version.
pub type MembershipRow = (String, Option<String>, String, String, i64);

/// Every column of the mirror but local ids and local timestamps (which depend on arrival).
#[derive(Debug, PartialEq, Eq)]
pub struct Mirror {
    pub users: Vec<UserRow>,
    /// clerk id, name, slug, image, Clerk version.
    pub orgs: Vec<OrgRow>,
    /// clerk id, user's clerk id, organization's clerk id, role, Clerk version.
    pub memberships: Vec<MembershipRow>,
    /// clerk id, deletion time.
    pub tombstones: Vec<(String, Option<i64>)>,
    /// user's clerk id, address id, address, verified, primary: every user's addresses.
    pub addresses: Vec<AddressRow>,
}

/// user's clerk id, address id, address, verified, primary.
pub type AddressRow = (Option<String>, String, String, bool, bool);

impl Mirror {
    /// Sorts every table, so that two mirrors compare by content.
    pub fn sort(&mut self) {
        self.users.sort();
        self.orgs.sort();
        self.memberships.sort();
        self.tombstones.sort();
        self.addresses.sort();
    }

    /// Rules that hold whatever Clerk did, checked on the mirror itself so that a wrong
    /// reference cannot hide a violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        let dead: BTreeSet<&str> = self.tombstones.iter().map(|(id, _)| id.as_str()).collect();
        let mut emails = BTreeSet::new();
        for user in &self.users {
            let id = user.clerk_id.as_deref().unwrap_or_default();
            if dead.contains(id) {
                return Err(format!("deleted user {id} is in the mirror"));
            }
            if let Some(email) = &user.email
                && !emails.insert(email.as_str())
            {
                return Err(format!("two users hold {email}"));
            }
        }
        for (id, ..) in &self.orgs {
            if dead.contains(id.as_str()) {
                return Err(format!("deleted organization {id} is in the mirror"));
            }
        }
        let mut pairs = BTreeSet::new();
        for (id, user, org, ..) in &self.memberships {
            let user = user.as_deref().unwrap_or_default();
            if dead.contains(id.as_str()) || dead.contains(user) || dead.contains(org.as_str()) {
                return Err(format!(
                    "membership {id} of a deleted object is in the mirror"
                ));
            }
            if !pairs.insert((user, org.as_str())) {
                return Err(format!("two memberships of {user} in {org}"));
            }
        }
        Ok(())
    }
}

/// The mirror's tables, sorted.
pub fn dump(conn: &mut DbConnection) -> Mirror {
    let users = users::table
        .select((
            users::clerk_id,
            users::email,
            users::first_name,
            users::last_name,
            users::image_url,
            users::is_staff,
            users::is_active,
            users::clerk_updated_at,
        ))
        .load(conn)
        .unwrap_or_else(|err| panic!("users: {err}"));
    let orgs = organizations::table
        .select((
            organizations::clerk_id,
            organizations::name,
            organizations::slug,
            organizations::image_url,
            organizations::clerk_updated_at,
        ))
        .load(conn)
        .unwrap_or_else(|err| panic!("organizations: {err}"));
    let memberships = organization_memberships::table
        .inner_join(users::table)
        .inner_join(organizations::table)
        .select((
            organization_memberships::clerk_id,
            users::clerk_id,
            organizations::clerk_id,
            organization_memberships::role,
            organization_memberships::clerk_updated_at,
        ))
        .load(conn)
        .unwrap_or_else(|err| panic!("memberships: {err}"));
    let tombstones = tombstones::table
        .select((tombstones::clerk_id, tombstones::deleted_at))
        .load(conn)
        .unwrap_or_else(|err| panic!("tombstones: {err}"));
    let addresses = user_email_addresses::table
        .inner_join(users::table)
        .select((
            users::clerk_id,
            user_email_addresses::clerk_id,
            user_email_addresses::email_address,
            user_email_addresses::verified,
            user_email_addresses::is_primary,
        ))
        .load(conn)
        .unwrap_or_else(|err| panic!("addresses: {err}"));
    let mut mirror = Mirror {
        users,
        orgs,
        memberships,
        tombstones,
        addresses,
    };
    mirror.sort();
    mirror
}
