//! Users: what Clerk says about one, and what an event about one changes in the mirror.
//!
//! The rules, in the order [`decide_user_upsert`] applies them:
//! 1. A tombstoned (deleted) Clerk id is never written again.
//! 2. A version no newer (by Clerk's `updated_at`) than the stored one is stale.
//! 3. A user is found by Clerk id. A local account that existed before Clerk (no Clerk id) is
//!    linked when the user's `external_id` names it (its local id: Clerk's migration path),
//!    else when it holds the user's primary email and Clerk verified that address. Should the
//!    user already have a row (created, say, from a membership that arrived first), that row
//!    is merged into the linked account, so the result does not depend on which event came
//!    first. An account that has another Clerk id is never linked.
//! 4. Only a verified primary address is the user's `email`: an unverified one is not kept
//!    there, so it never links, claims or displaces anything (whoever typed it in has not
//!    shown that they own it).
//! 5. A primary email held by another Clerk user goes to whichever of the two claimed it later
//!    (by `updated_at`, then Clerk id to break ties); the other is left without an email. An
//!    account without a Clerk id that is not the one linked keeps its address, and the user is
//!    stored without it.

use crate::{ClerkUserId, EmailAddress, RawJson, UnixMillis, UserId};

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
    /// Clerk has banned the user (synced from Clerk).
    pub banned: bool,
    /// Username (synced from Clerk).
    pub username: Option<String>,
    /// Primary phone number, verified or not (synced from Clerk).
    pub phone_number: Option<String>,
    /// Metadata the user's front end can read (synced from Clerk).
    pub public_metadata: RawJson,
    /// Metadata the user's front end can read and write (synced from Clerk).
    pub unsafe_metadata: RawJson,
}

impl User {
    /// Whether the account is refused: unticked *active* by staff, or banned by Clerk.
    pub fn is_disabled(&self) -> bool {
        !self.is_active || self.banned
    }
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
    /// The primary email address when Clerk verified it; `None` for users who signed up with
    /// a phone, a username or a wallet, and while the primary address is unverified.
    pub email: Option<EmailAddress>,
    /// The application's own id for the user, set through Clerk's Backend API (never by the
    /// user); a local account's id here links that account.
    pub external_id: Option<String>,
    /// Clerk has banned the user.
    pub banned: bool,
    /// First name, when set.
    pub first_name: Option<String>,
    /// Last name, when set.
    pub last_name: Option<String>,
    /// Profile image (Clerk generates one when the user has not uploaded any).
    pub image_url: Option<String>,
    /// Username, when the instance uses usernames and the user set one.
    pub username: Option<String>,
    /// Every email address of the user, verified or not, in Clerk's order.
    pub email_addresses: Vec<UserEmailAddress>,
    /// Every phone number of the user, verified or not, in Clerk's order.
    pub phone_numbers: Vec<UserPhoneNumber>,
    /// Metadata the user's own front end can read and write (`unsafe_metadata`).
    pub unsafe_metadata: RawJson,
    /// Metadata the front end can read and only the Backend API write (`public_metadata`).
    pub public_metadata: RawJson,
    /// Metadata only the Backend API reads and writes (`private_metadata`).
    pub private_metadata: RawJson,
    /// Clerk has locked the user out after failed sign-in attempts.
    pub locked: bool,
    /// The user signs in with a second factor.
    pub two_factor_enabled: bool,
    /// When the user last signed in.
    pub last_sign_in_at: Option<UnixMillis>,
    /// When the user was last active.
    pub last_active_at: Option<UnixMillis>,
    /// When Clerk created the user.
    pub created_at: Option<UnixMillis>,
    /// Clerk's `updated_at`: orders versions of this user.
    pub updated_at: UnixMillis,
    /// The whole user object, as Clerk sent it.
    pub raw: RawJson,
}

/// One email address of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEmailAddress {
    /// Clerk's id of the address (`idn_…`).
    pub clerk_id: String,
    /// The address, lower-cased.
    pub email_address: EmailAddress,
    /// Clerk verified that the user owns it.
    pub verified: bool,
    /// It is the user's primary address.
    pub primary: bool,
}

/// One phone number of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPhoneNumber {
    /// Clerk's id of the number (`idn_…`).
    pub clerk_id: String,
    /// The number, as Clerk holds it (E.164: `+15555550100`).
    pub phone_number: String,
    /// Clerk verified that the user owns it.
    pub verified: bool,
    /// It is the user's primary number.
    pub primary: bool,
}

impl UserSnapshot {
    /// The local account the `external_id` names: a local id in decimal, as an application
    /// that migrated its users to Clerk sets it.
    pub fn external_account(&self) -> Option<UserId> {
        let text = self.external_id.as_deref()?;
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().filter(|id| *id > 0).map(UserId)
    }

    /// The primary phone number, verified or not.
    pub fn primary_phone_number(&self) -> Option<&str> {
        let primary = self.phone_numbers.iter().find(|phone| phone.primary)?;
        Some(primary.phone_number.as_str())
    }
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
    /// Username, when set.
    pub username: Option<String>,
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
    /// The row whose local id the event's `external_id` names.
    pub external_account: Option<StoredUser>,
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
    let not_current = |row: &&StoredUser| current.is_none_or(|current| current.id != row.id);
    // A pre-existing account to take over: the one `external_id` names, else the one holding
    // the (verified) primary email; never one that another Clerk user has.
    let linked = [&context.external_account, &context.email_holder]
        .into_iter()
        .flatten()
        .find(|row| row.clerk_id.is_none() && not_current(row));
    let target = match (current, linked) {
        (None, None) => UserTarget::Insert,
        (Some(row), None) => UserTarget::Update(row.id),
        (None, Some(account)) => UserTarget::Link(account.id),
        (Some(row), Some(account)) => UserTarget::Merge {
            from: row.id,
            into: account.id,
        },
    };
    let rival = context
        .email_holder
        .as_ref()
        .filter(|holder| not_current(holder) && linked.is_none_or(|row| row.id != holder.id));
    let (email, release_email_from) = match rival {
        None => (snapshot.email.clone(), None),
        Some(holder) => match &holder.clerk_id {
            // An unlinked account keeps its address: only linking takes it over.
            None => (None, None),
            Some(holder_clerk_id) => {
                let ours = (Some(snapshot.updated_at), &snapshot.clerk_id);
                let theirs = (holder.clerk_updated_at, holder_clerk_id);
                if ours > theirs {
                    (snapshot.email.clone(), Some(holder.id))
                } else {
                    (None, None)
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
