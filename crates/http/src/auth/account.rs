//! Accounts that may not be used, whatever their session tokens say: Clerk keeps a banned
//! user's sessions valid until they expire, and an account that staff made inactive has no
//! Clerk-side state at all, so the mirror is what refuses them.

use clerk_sync_domain::User;

use crate::ApiError;

/// The user, unless the account is disabled (inactive or banned).
///
/// # Errors
/// [`ApiError::AccountDisabled`] (403) for a disabled account.
pub fn usable(user: User) -> Result<User, ApiError> {
    if user.is_disabled() {
        tracing::info!(user_id = user.id.0, "refused: the account is disabled");
        Err(ApiError::AccountDisabled)
    } else {
        Ok(user)
    }
}
