//! One fetch: the mirror checked again, the rate bound, the user and their memberships from
//! Clerk, and the write through resync's rules.

use std::time::Instant;

use clerk_sync_backend_api::BackendApiError;
use clerk_sync_domain::{ClerkUserId, MembershipSnapshot, UserSnapshot};
use clerk_sync_persistence::resync::{apply_memberships, apply_users};
use clerk_sync_persistence::{Database, WriteMode, users};

use super::{FlightOutcome, Inner, lock};
use crate::db::{run_db, run_db_write};

impl Inner {
    /// Fetches the user and writes what Clerk has. Never fails: the outcome says how it went,
    /// and what went wrong is logged here (Clerk's state once per change, in `health`).
    pub(super) async fn fly(&self, database: &Database, id: &ClerkUserId) -> FlightOutcome {
        let looked_up = id.clone();
        // A fetch that ended just before this one started may have written the user; and a
        // deleted user is never fetched, since it would never be written.
        let known = run_db(database, move |conn| {
            let held = users::find_by_clerk_id(conn, &looked_up)?.is_some();
            Ok((held, users::is_deleted(conn, &looked_up)?))
        })
        .await;
        match known {
            Ok((true, _)) => return FlightOutcome::AlreadySynced,
            Ok((false, true)) => return FlightOutcome::Tombstoned,
            Ok((false, false)) => {}
            Err(err) => {
                tracing::warn!(error = %err, "read-through: the mirror could not be read");
                return FlightOutcome::Failed;
            }
        }
        if !lock(&self.rate).try_take(Instant::now()) {
            self.health.failed(
                "the read-through's rate bound is spent ([read_through] fetches_per_10_seconds)",
            );
            return FlightOutcome::RateLimited;
        }
        let started = Instant::now();
        let (user, memberships) =
            tokio::join!(self.api.get_user(id), self.api.list_user_memberships(id));
        let fetched = user.and_then(|user| Ok((user, memberships?)));
        if started.elapsed() > self.options.wait {
            self.health
                .failed("answers slower than the read-through's wait");
        } else if fetched.is_ok() {
            self.health.answered();
        }
        match fetched {
            Ok((None, _)) => {
                lock(&self.not_found).insert(id.clone(), Instant::now());
                FlightOutcome::NotFound
            }
            Ok((Some(user), memberships)) => write(database, user, memberships).await,
            Err(err) => {
                self.health.failed(&reason(&err));
                FlightOutcome::Failed
            }
        }
    }
}

/// Writes the user, then their memberships (with the organizations they carry), as a resync
/// writes its batches.
async fn write(
    database: &Database,
    user: UserSnapshot,
    memberships: Vec<MembershipSnapshot>,
) -> FlightOutcome {
    let written = run_db_write(database, move |conn| {
        let now = chrono::Utc::now().naive_utc();
        apply_users(conn, std::slice::from_ref(&user), WriteMode::Commit, now)?;
        if !memberships.is_empty() {
            apply_memberships(conn, &memberships, WriteMode::Commit, now)?;
        }
        Ok(())
    })
    .await;
    match written {
        Ok(()) => FlightOutcome::Synced,
        Err(err) => {
            tracing::warn!(error = %err, "read-through: the fetched user could not be written");
            FlightOutcome::Failed
        }
    }
}

/// Why a fetch failed, in words that name neither the user (the path holds their id) nor the
/// key.
fn reason(err: &BackendApiError) -> String {
    match err {
        BackendApiError::RateLimited { .. } => "429 Too Many Requests from Clerk".to_owned(),
        BackendApiError::Unauthorized { .. } => {
            "401 Unauthorized: Clerk refuses CLERK_SECRET_KEY".to_owned()
        }
        BackendApiError::ServerError { status, .. } => status.to_string(),
        BackendApiError::Transport { cause, .. } if cause.is_timeout() => {
            "no answer within the request timeout".to_owned()
        }
        BackendApiError::Transport { .. } => "the connection failed".to_owned(),
        BackendApiError::Rejected { status, .. } => format!("refused with {status}"),
        BackendApiError::MalformedBody { expected, .. } => {
            format!("an answer that is not {expected}")
        }
        BackendApiError::NotFound { .. } => "404 Not Found".to_owned(),
        BackendApiError::CursorStuck { .. } => "a listing that does not advance".to_owned(),
        // Set-up errors: their messages name a setting, never the user.
        BackendApiError::InvalidBaseUrl
        | BackendApiError::InvalidSecretKey
        | BackendApiError::Client(_) => err.to_string(),
    }
}
