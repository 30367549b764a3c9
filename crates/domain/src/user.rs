//! Users: what Clerk says about one, and what an event about one changes in the mirror.
//!
//! The rules, in the order [`decide_user_upsert`] applies them:
//! 1. A tombstoned (deleted) Clerk id is never written again.
//! 2. A version no newer (by Clerk's `updated_at`) than the stored one is stale.
//! 3. A user is found by Clerk id; failing that, a local account that existed before Clerk
//!    (no Clerk id) with the same primary email is linked. Should the user already have a row
//!    (created, say, from a membership that arrived first), that row is merged into the linked
//!    account, so the result does not depend on which event came first.
//! 4. A primary email held by another Clerk user goes to whichever of the two claimed it later
//!    (by `updated_at`, then Clerk id to break ties); the other is left without an email.

use crate::{ClerkUserId, EmailAddress, UnixMillis, UserId};

/// A user of the mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Local id.
    pub id: UserId,
    /// Clerk id; `None` for an account that existed before Clerk and is not linked yet.
    pub clerk_id: Option<ClerkUserId>,
    /// Primary email address, when the user has one.
    pub email: Option<EmailAddress>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Profile image.
    pub image_url: Option<String>,
    /// May use the admin pages (local; never synced from Clerk).
    pub is_staff: bool,
    /// May sign in to the application (local; never synced from Clerk).
    pub is_active: bool,
}

/// A Clerk user as an event describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSnapshot {
    /// Clerk's id of the user.
    pub clerk_id: ClerkUserId,
    /// The primary email address; `None` for users who signed up with a phone, a username or
    /// a wallet.
    pub email: Option<EmailAddress>,
    /// First name, when set.
    pub first_name: Option<String>,
    /// Last name, when set.
    pub last_name: Option<String>,
    /// Profile image (Clerk generates one when the user has not uploaded any).
    pub image_url: Option<String>,
    /// Clerk's `updated_at`: orders versions of this user.
    pub updated_at: UnixMillis,
}

/// What a membership event says about its user: enough to create the user before the user's
/// own event arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUserData {
    /// Clerk's id of the user.
    pub clerk_id: ClerkUserId,
    /// First name, when set.
    pub first_name: Option<String>,
    /// Last name, when set.
    pub last_name: Option<String>,
    /// Profile image.
    pub image_url: Option<String>,
}

/// A user row, as far as the sync rules need to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUser {
    /// Local id.
    pub id: UserId,
    /// Clerk id; `None` for an account that existed before Clerk and is not linked yet.
    pub clerk_id: Option<ClerkUserId>,
    /// `updated_at` of the Clerk version stored; `None` when no user event has been applied
    /// yet (unlinked accounts, users created from a membership's public data).
    pub clerk_updated_at: Option<UnixMillis>,
}

/// What the mirror holds that bears on a user event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserContext {
    /// Whether the Clerk id was deleted.
    pub tombstoned: bool,
    /// The row with the event's Clerk id.
    pub by_clerk_id: Option<StoredUser>,
    /// The row, other than `by_clerk_id`, holding the event's primary email.
    pub email_holder: Option<StoredUser>,
}

/// Where a user version is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserTarget {
    /// A new row.
    Insert,
    /// The row already carrying the Clerk id.
    Update(UserId),
    /// An unlinked pre-existing account, which takes the Clerk id.
    Link(UserId),
    /// An unlinked pre-existing account takes the Clerk id from `from`, which is removed after
    /// its memberships move to `into`.
    Merge {
        /// The row that had the Clerk id.
        from: UserId,
        /// The pre-existing account that is kept.
        into: UserId,
    },
}

/// The writes a user version causes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserWrite {
    /// Where the version goes.
    pub target: UserTarget,
    /// The email to store: the snapshot's, or `None` when another user holds a later claim.
    pub email: Option<EmailAddress>,
    /// A row that must give up the email first, because this version claims it later.
    pub release_email_from: Option<UserId>,
}

/// The decision for a `user.created` / `user.updated` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserDecision {
    /// The user was deleted; nothing is written.
    Tombstoned,
    /// The stored version is as new or newer; nothing is written.
    Stale,
    /// Write the version.
    Write(UserWrite),
}

/// Decides what a user version changes, given what the mirror holds.
pub fn decide_user_upsert(snapshot: &UserSnapshot, context: &UserContext) -> UserDecision {
    if context.tombstoned {
        return UserDecision::Tombstoned;
    }
    let current = context.by_clerk_id.as_ref();
    if current
        .and_then(|row| row.clerk_updated_at)
        .is_some_and(|stored| snapshot.updated_at <= stored)
    {
        return UserDecision::Stale;
    }
    let holder = context
        .email_holder
        .as_ref()
        .filter(|holder| current.is_none_or(|row| row.id != holder.id));
    let (target, email, release_email_from) = match (current, holder) {
        (None, None) => (UserTarget::Insert, snapshot.email.clone(), None),
        (Some(row), None) => (UserTarget::Update(row.id), snapshot.email.clone(), None),
        (current, Some(holder)) => match &holder.clerk_id {
            None => {
                let target = match current {
                    None => UserTarget::Link(holder.id),
                    Some(row) => UserTarget::Merge {
                        from: row.id,
                        into: holder.id,
                    },
                };
                (target, snapshot.email.clone(), None)
            }
            Some(holder_clerk_id) => {
                let target = current.map_or(UserTarget::Insert, |row| UserTarget::Update(row.id));
                let ours = (Some(snapshot.updated_at), &snapshot.clerk_id);
                let theirs = (holder.clerk_updated_at, holder_clerk_id);
                if ours > theirs {
                    (target, snapshot.email.clone(), Some(holder.id))
                } else {
                    (target, None, None)
                }
            }
        },
    };
    UserDecision::Write(UserWrite {
        target,
        email,
        release_email_from,
    })
}

/// The decision for a `user.deleted` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserDeletion {
    /// Already deleted; nothing changes.
    AlreadyTombstoned,
    /// Tombstone the id and delete the row, when there is one (its memberships go with it).
    Delete(Option<UserId>),
}

/// Decides what a `user.deleted` event changes.
pub fn decide_user_deletion(context: &UserContext) -> UserDeletion {
    if context.tombstoned {
        UserDeletion::AlreadyTombstoned
    } else {
        UserDeletion::Delete(context.by_clerk_id.as_ref().map(|row| row.id))
    }
}

/// What a membership event does about its user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberUser {
    /// The user was deleted: the membership is not written.
    Tombstoned,
    /// The user is known.
    Known(UserId),
    /// The user is not known yet: create them from the membership's public data. The row has
    /// no Clerk version, so the user's own event overwrites it whenever it arrives.
    CreateFromPublicData,
}

/// Decides what a membership event does about its user.
pub fn decide_member_user(context: &UserContext) -> MemberUser {
    match (&context.by_clerk_id, context.tombstoned) {
        (_, true) => MemberUser::Tombstoned,
        (Some(row), false) => MemberUser::Known(row.id),
        (None, false) => MemberUser::CreateFromPublicData,
    }
}
