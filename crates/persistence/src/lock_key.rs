//! The keys write transactions lock: what two writers must not change at the same time.

use std::borrow::Cow;

use clerk_sync_domain::{EmailAddress, UserId};

/// A key a write transaction locks (on PostgreSQL, an advisory lock on the hash of its text).
///
/// The text is the lock: every replica, and every version of the server during a rolling
/// deploy, must write the same text for the same thing, or two writers of one object would run
/// at once. Keys compare and sort by their text; a transaction takes its keys in that order,
/// deduplicated, so two transactions never wait on each other in a cycle.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LockKey(Cow<'static, str>);

impl LockKey {
    /// A key of fixed text, such as `admin:staff`.
    pub const fn fixed(text: &'static str) -> Self {
        Self(Cow::Borrowed(text))
    }

    /// A Clerk object (user, organization or membership), by its Clerk id.
    pub(crate) fn object(clerk_id: &str) -> Self {
        Self(Cow::Owned(clerk_id.to_owned()))
    }

    /// The row that holds an email.
    pub(crate) fn email(email: &EmailAddress) -> Self {
        Self(Cow::Owned(format!("email:{email}")))
    }

    /// A local account, by its id (the account a Clerk user's `external_id` names).
    pub(crate) fn account(id: UserId) -> Self {
        Self(Cow::Owned(format!("account:{}", id.0)))
    }

    /// A webhook delivery, by its Svix message id.
    pub(crate) fn message(svix_id: &str) -> Self {
        Self(Cow::Owned(format!("msg:{svix_id}")))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_texts_are_those_replicas_lock_on() {
        let email = EmailAddress::parse("ada@example.com").expect("an email");
        let keys = [
            LockKey::fixed("admin:staff"),
            LockKey::object("user_2abc"),
            LockKey::email(&email),
            LockKey::account(UserId(42)),
            LockKey::message("msg_1"),
        ];
        let texts: Vec<&str> = keys.iter().map(LockKey::as_str).collect();
        assert_eq!(
            texts,
            [
                "admin:staff",
                "user_2abc",
                "email:ada@example.com",
                "account:42",
                "msg:msg_1"
            ]
        );
    }

    #[test]
    fn keys_sort_by_their_text_whatever_made_them() {
        let mut keys = vec![
            LockKey::message("z"),
            LockKey::object("user_b"),
            LockKey::fixed("admin:staff"),
            LockKey::account(UserId(7)),
            LockKey::object("org_a"),
            LockKey::object("user_b"),
        ];
        keys.sort_unstable();
        keys.dedup();
        let texts: Vec<&str> = keys.iter().map(LockKey::as_str).collect();
        let mut expected = vec!["msg:z", "user_b", "admin:staff", "account:7", "org_a"];
        expected.sort_unstable();
        assert_eq!(texts, expected);
    }
}
