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
///
/// Read from the mirror (clerk-sync's persistence crate returns it); what an application
/// typically asks of one:
///
/// ```
/// use clerk_sync_domain::User;
///
/// /// Whom to show in a greeting: the first name, else the address, else a placeholder.
/// fn display_name(user: &User) -> &str {
///     user.first_name
///         .as_deref()
///         .or(user.email.as_ref().map(|email| email.as_str()))
///         .unwrap_or("there")
/// }
///
/// /// Inactive users are refused, whatever Clerk says.
/// fn may_sign_in(user: &User) -> bool {
///     user.is_active && user.clerk_id.is_some()
/// }
/// # let _ = (display_name, may_sign_in);
/// ```
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

/// A Clerk user as an event describes it: the `data` of `user.created` / `user.updated`
/// ([`ClerkEvent::UserUpserted`](crate::ClerkEvent::UserUpserted)) or a Backend API user
/// ([`parse_user`](crate::parse_user)).
///
/// ```
/// let json = r#"{"id":"user_1","updated_at":1,"first_name":"Ada"}"#;
/// let user = clerk_sync_domain::parse_user(json)?;
/// assert_eq!(user.first_name.as_deref(), Some("Ada"));
/// assert_eq!(user.email, None, "no primary address");
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
///
/// ```
/// let json = r#"{"id":"orgmem_1","role":"org:member","updated_at":1,
///     "organization":{"id":"org_1","name":"Acme","updated_at":1},
///     "public_user_data":{"user_id":"user_1","first_name":"Ada"}}"#;
/// let member = clerk_sync_domain::parse_membership(json)?.user;
/// assert_eq!((member.clerk_id.as_str(), member.first_name.as_deref()), ("user_1", Some("Ada")));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
///
/// ```
/// use clerk_sync_domain::{StoredUser, UnixMillis, UserId};
///
/// // An account created before Clerk: no Clerk id, no Clerk version yet.
/// let legacy = StoredUser { id: UserId(7), clerk_id: None, clerk_updated_at: None };
/// let synced = StoredUser { clerk_updated_at: Some(UnixMillis(1)), ..legacy.clone() };
/// assert_ne!(legacy, synced);
/// ```
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

/// What the mirror holds that bears on a user event. The default is "nothing known".
///
/// ```
/// use clerk_sync_domain::UserContext;
///
/// let nothing = UserContext::default();
/// assert!(!nothing.tombstoned && nothing.by_clerk_id.is_none() && nothing.email_holder.is_none());
/// ```
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
///
/// ```
/// use clerk_sync_domain::{StoredUser, UserContext, UserDecision, UserId, UserTarget, decide_user_upsert};
///
/// let user = clerk_sync_domain::parse_user(r#"{"id":"user_1","updated_at":2}"#)?;
/// let known = UserContext {
///     by_clerk_id: Some(StoredUser { id: UserId(3), clerk_id: Some(user.clerk_id.clone()), clerk_updated_at: None }),
///     ..UserContext::default()
/// };
/// let UserDecision::Write(write) = decide_user_upsert(&user, &known) else { unreachable!() };
/// assert_eq!(write.target, UserTarget::Update(UserId(3)));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
///
/// ```
/// use clerk_sync_domain::{UserContext, UserDecision, UserTarget, decide_user_upsert};
///
/// let user = clerk_sync_domain::parse_user(r#"{"id":"user_1","updated_at":2}"#)?;
/// let UserDecision::Write(write) = decide_user_upsert(&user, &UserContext::default()) else { unreachable!() };
/// assert_eq!((write.target, write.email, write.release_email_from), (UserTarget::Insert, None, None));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
///
/// ```
/// use clerk_sync_domain::{UserContext, UserDecision, decide_user_upsert};
///
/// let user = clerk_sync_domain::parse_user(r#"{"id":"user_1","updated_at":2}"#)?;
/// let deleted = UserContext { tombstoned: true, ..UserContext::default() };
/// assert_eq!(decide_user_upsert(&user, &deleted), UserDecision::Tombstoned);
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
///
/// ```
/// use clerk_sync_domain::{StoredUser, UnixMillis, UserContext, UserDecision, UserId, decide_user_upsert};
///
/// let user = clerk_sync_domain::parse_user(r#"{"id":"user_1","updated_at":5}"#)?;
/// let newer_stored = UserContext {
///     by_clerk_id: Some(StoredUser {
///         id: UserId(1),
///         clerk_id: Some(user.clerk_id.clone()),
///         clerk_updated_at: Some(UnixMillis(9)),
///     }),
///     ..UserContext::default()
/// };
/// assert_eq!(decide_user_upsert(&user, &newer_stored), UserDecision::Stale);
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
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
///
/// ```
/// use clerk_sync_domain::{UserContext, UserDeletion, decide_user_deletion};
///
/// assert_eq!(decide_user_deletion(&UserContext::default()), UserDeletion::Delete(None));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserDeletion {
    /// Already deleted; nothing changes.
    AlreadyTombstoned,
    /// Tombstone the id and delete the row, when there is one (its memberships go with it).
    Delete(Option<UserId>),
}

/// Decides what a `user.deleted` event changes.
///
/// ```
/// use clerk_sync_domain::{UserContext, UserDeletion, decide_user_deletion};
///
/// let again = UserContext { tombstoned: true, ..UserContext::default() };
/// assert_eq!(decide_user_deletion(&again), UserDeletion::AlreadyTombstoned);
/// ```
pub fn decide_user_deletion(context: &UserContext) -> UserDeletion {
    if context.tombstoned {
        UserDeletion::AlreadyTombstoned
    } else {
        UserDeletion::Delete(context.by_clerk_id.as_ref().map(|row| row.id))
    }
}

/// What a membership event does about its user.
///
/// ```
/// use clerk_sync_domain::{MemberUser, UserContext, decide_member_user};
///
/// assert_eq!(decide_member_user(&UserContext::default()), MemberUser::CreateFromPublicData);
/// ```
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
///
/// ```
/// use clerk_sync_domain::{MemberUser, StoredUser, UserContext, UserId, decide_member_user};
///
/// let known = UserContext {
///     by_clerk_id: Some(StoredUser { id: UserId(4), clerk_id: None, clerk_updated_at: None }),
///     ..UserContext::default()
/// };
/// assert_eq!(decide_member_user(&known), MemberUser::Known(UserId(4)));
/// ```
pub fn decide_member_user(context: &UserContext) -> MemberUser {
    match (&context.by_clerk_id, context.tombstoned) {
        (_, true) => MemberUser::Tombstoned,
        (Some(row), false) => MemberUser::Known(row.id),
        (None, false) => MemberUser::CreateFromPublicData,
    }
}
