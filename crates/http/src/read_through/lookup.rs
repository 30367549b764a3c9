//! The caller's rows, looked up with a read-through when the mirror lacks the caller.

use clerk_sync_domain::{ClerkUserId, User};
use clerk_sync_persistence::{DbConnection, StoreError};

use super::Resolution;
use crate::db::run_db;
use crate::{ApiError, AppState};

/// Why the caller is still not in the mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsynced {
    /// Not known: no read-through is configured, Clerk has no such user, or it was deleted.
    Unknown,
    /// Clerk could not be asked in time (slow, down, or the rate bound spent): the user may
    /// be synced shortly.
    NotYet,
}

impl Unsynced {
    /// The answer of a route that needs the caller's user: 404, `User not found`, or the
    /// detail that says to try again.
    pub fn user_not_found(self) -> ApiError {
        match self {
            Self::Unknown => ApiError::NotFound("User not found"),
            Self::NotYet => ApiError::UserNotSyncedYet,
        }
    }
}

/// What a lookup found, and, when it lacks the caller, why.
#[derive(Debug)]
pub struct Lookup<T> {
    /// The lookup's result (after the read-through, when there was one).
    pub found: T,
    /// `None` when the caller is in the mirror.
    pub unsynced: Option<Unsynced>,
}

impl<T> Lookup<Option<T>> {
    /// What was found, or the answer for a caller not in the mirror
    /// ([`Unsynced::user_not_found`]).
    ///
    /// # Errors
    /// [`ApiError::NotFound`] or [`ApiError::UserNotSyncedYet`] (both 404) when nothing was found.
    pub fn required(self) -> Result<T, ApiError> {
        let unsynced = self.unsynced.unwrap_or(Unsynced::Unknown);
        self.found.ok_or_else(|| unsynced.user_not_found())
    }
}

/// Runs `lookup`; when `has_caller` says its result lacks the caller's user, reads the user
/// through from Clerk (when configured) and runs `lookup` again once the user is written.
///
/// # Errors
/// As [`run_db`]. Clerk's failures are not errors: they leave the caller [`Unsynced::NotYet`].
pub async fn with_read_through<T, F>(
    state: &AppState,
    user: &ClerkUserId,
    lookup: F,
    has_caller: fn(&T) -> bool,
) -> Result<Lookup<T>, ApiError>
where
    F: Fn(&mut DbConnection) -> Result<T, StoreError> + Clone + Send + 'static,
    T: Send + 'static,
{
    read_through_after(
        state,
        user,
        || run_db(&state.database, lookup.clone()),
        has_caller,
    )
    .await
}

/// [`with_read_through`] for the caller's user alone, read with other callers' (see
/// [`UserReads`](crate::user_reads::UserReads)).
///
/// # Errors
/// As [`with_read_through`].
pub async fn caller_with_read_through(
    state: &AppState,
    user: &ClerkUserId,
    has_caller: fn(&Option<User>) -> bool,
) -> Result<Lookup<Option<User>>, ApiError> {
    read_through_after(state, user, || state.user_reads.find(user), has_caller).await
}

/// [`with_read_through`] for any `lookup`.
async fn read_through_after<T, F, Found>(
    state: &AppState,
    user: &ClerkUserId,
    lookup: F,
    has_caller: fn(&T) -> bool,
) -> Result<Lookup<T>, ApiError>
where
    F: Fn() -> Found,
    Found: Future<Output = Result<T, ApiError>>,
{
    let found = lookup().await?;
    if has_caller(&found) {
        return Ok(Lookup {
            found,
            unsynced: None,
        });
    }
    let Some(read_through) = &state.read_through else {
        return Ok(Lookup {
            found,
            unsynced: Some(Unsynced::Unknown),
        });
    };
    let unsynced = match read_through
        .resolve(&state.database, &state.metrics, user)
        .await
    {
        Resolution::Synced => {
            let found = lookup().await?;
            let unsynced = (!has_caller(&found)).then_some(Unsynced::Unknown);
            return Ok(Lookup { found, unsynced });
        }
        Resolution::Absent => Unsynced::Unknown,
        Resolution::Pending => Unsynced::NotYet,
    };
    Ok(Lookup {
        found,
        unsynced: Some(unsynced),
    })
}
