//! `clerk-sync promote-staff EMAIL` and `demote-staff EMAIL`: who may open the admin pages,
//! from the command line (the way in for the first staff user, and the way back in).

use crate::Settings;
use anyhow::{Context, bail};
use clerk_sync_domain::EmailAddress;
use clerk_sync_persistence::admin::users::{STAFF_LOCK, set_staff_by_email};
use clerk_sync_persistence::write_transaction;

/// Grants (`staff = true`) or revokes staff for the user with `email`, and says what it did.
///
/// # Errors
/// When the email is not an address, no user has it, or the database fails.
pub fn set_staff(settings: &Settings, email: &str, staff: bool) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).context("EMAIL is not an email address")?;
    let database = settings.database.open_for_command()?;
    let mut conn = database.get()?;
    let now = chrono::Utc::now().naive_utc();
    let change = write_transaction(&mut conn, &[STAFF_LOCK], |conn| {
        set_staff_by_email(conn, &email, staff, now)
    })?;
    let Some(change) = change else {
        bail!(
            "no user has that email address; the user must sign up with Clerk and be synced by the webhook first (the admin pages list the synced users)"
        );
    };
    let who = match &change.clerk_id {
        Some(clerk_id) => format!("user #{} ({clerk_id})", change.id.0),
        None => format!("user #{} (no Clerk id yet)", change.id.0),
    };
    match (staff, change.before.is_staff) {
        (true, true) => println!("{who} was already staff"),
        (true, false) => println!("{who} is now staff: they can open /admin/ signed in with Clerk"),
        (false, false) => println!("{who} was not staff"),
        (false, true) => println!("{who} is no longer staff"),
    }
    if staff && !change.before.is_active {
        println!("{who} was inactive and is now active again");
    }
    if change.admitted == 0 {
        println!(
            "warning: no active staff user is left; nobody can open the admin pages until `clerk-sync promote-staff EMAIL` grants it again"
        );
    }
    Ok(())
}
