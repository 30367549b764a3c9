//! A bounded in-memory cache of verified session tokens, so that the RSA check runs once per
//! token rather than once per request (browsers reuse a session token for up to a minute).
//!
//! The rules:
//! - The key is the SHA-256 of the whole token; the token itself is never stored.
//! - Only tokens that passed every check are stored: a refusal is never cached, so callers
//!   without a valid token cannot fill the cache.
//! - An entry is used only while its token's times still pass (`exp`, `nbf`, `iat`, with the
//!   verifier's leeway) and while the key that verified it is still the one its `kid` names
//!   (a JWKS refresh or refetch that drops or replaces the key ends the entry).
//! - At most `capacity` entries. When full, expired entries are dropped first (one sweep per
//!   second at most); if none were, the oldest entry is evicted (insertion-order FIFO: session
//!   tokens all live about a minute, so the oldest is also the nearest to expiry). Each
//!   insertion costs O(1) amortized.
//!
//! Memory: an entry holds the [`AuthContext`] (the user, session and organization ids and the
//! organization's role and permissions, all copied from the token), the token's times, its
//! `kid` and a reference to the key (about 250 bytes inline, with the allocations' overhead),
//! plus its 32-byte hash and place in the map and the insertion queue (about 100–150 bytes):
//! about 0.5 KB for a token without an active organization, 0.7 KB with one and two
//! permissions, about 60 bytes more per further permission. Every string comes from a token of
//! at most [`super::MAX_TOKEN_BYTES`] that Clerk signed, which bounds an entry whatever the
//! token says. At the default 4096 entries that is 2–4 MB for Clerk's usual tokens.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use clerk_sync_domain::AuthContext;
use jsonwebtoken::DecodingKey;
use sha2::{Digest, Sha256};

use super::{TokenError, TokenRefusal};

/// The SHA-256 of a whole token: what the cache is keyed by, instead of the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct TokenHash([u8; 32]);

impl TokenHash {
    pub(super) fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }
}

/// The time claims of a verified token, re-checked whenever its cache entry is used.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct TokenTimes {
    /// `exp`, in Unix seconds, rounded as jsonwebtoken rounds it.
    pub exp: u64,
    /// `nbf`, likewise, when the token has one.
    pub nbf: Option<u64>,
    /// `iat`, as the token states it, when it has one.
    pub iat: Option<f64>,
}

impl TokenTimes {
    /// The times of verified claims, `exp` and `nbf` rounded to seconds as jsonwebtoken
    /// rounds them when it checks them.
    pub fn new(exp: f64, nbf: Option<f64>, iat: Option<f64>) -> Self {
        // `as` saturates; jsonwebtoken refused the token already if a time was negative.
        let seconds = |time: f64| time.round() as u64;
        Self {
            exp: seconds(exp),
            nbf: nbf.map(seconds),
            iat,
        }
    }

    /// Whether `exp` has passed at `now` (Unix seconds) beyond `leeway`: jsonwebtoken's rule,
    /// `exp < now - leeway`, so that a cached token expires at the very second a fresh
    /// verification would refuse it.
    pub fn expired(&self, now: u64, leeway: u64) -> bool {
        self.exp < now.saturating_sub(leeway)
    }

    /// The time checks of a verified token against `now` (Unix seconds, fractional), with the
    /// verifier's rules and leeway (whole seconds for `exp` and `nbf`, as jsonwebtoken takes it).
    ///
    /// # Errors
    /// [`TokenError::Expired`], or [`TokenRefusal::NotYetValid`] / [`TokenRefusal::IssuedInFuture`]
    /// when the clock went back since the token was verified.
    pub fn check(&self, now: f64, leeway: Duration) -> Result<(), TokenError> {
        let seconds = unix_seconds(now);
        if self.expired(seconds, leeway.as_secs()) {
            return Err(TokenError::Expired);
        }
        if self
            .nbf
            .is_some_and(|nbf| nbf > seconds.saturating_add(leeway.as_secs()))
        {
            return Err(TokenError::Invalid(TokenRefusal::NotYetValid));
        }
        if issued_in_future(self.iat, now, leeway) {
            return Err(TokenError::Invalid(TokenRefusal::IssuedInFuture));
        }
        Ok(())
    }
}

/// Whether `iat` is ahead of `now` beyond `leeway`.
pub(super) fn issued_in_future(iat: Option<f64>, now: f64, leeway: Duration) -> bool {
    iat.is_some_and(|iat| iat > now + leeway.as_secs_f64())
}

/// Whole seconds of a fractional Unix time, as `SystemTime::as_secs` counts them (`as`
/// saturates: a negative time is 0).
pub(super) fn unix_seconds(now: f64) -> u64 {
    now.floor() as u64
}

/// What a successful verification established about a token: who it speaks for, until when,
/// and with which key.
#[derive(Clone, Debug)]
pub(super) struct VerifiedToken {
    /// Who the token speaks for.
    pub context: AuthContext,
    /// Its time claims.
    pub times: TokenTimes,
    /// The `kid` of its header, which picks the JWKS key.
    pub kid: Option<Box<str>>,
    /// The key that verified its signature.
    pub key: Arc<DecodingKey>,
}

impl VerifiedToken {
    /// Whether `current`, the key the token's `kid` names now, is the one that verified it.
    pub fn verified_with(&self, current: &Arc<DecodingKey>) -> bool {
        Arc::ptr_eq(&self.key, current)
    }
}

/// How often the cache was used, since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCacheStats {
    /// Requests answered from an entry.
    pub hits: u64,
    /// Requests whose token was verified afresh: none was cached, or its entry could no longer
    /// be used (expired, or its key rotated out).
    pub misses: u64,
    /// Unexpired entries dropped to make room for a new one: a count that keeps growing says
    /// the cache is smaller than the number of tokens in use.
    pub evictions: u64,
}

struct Stored {
    token: Arc<VerifiedToken>,
    /// Its place in the insertion queue.
    serial: u64,
}

#[derive(Default)]
struct Entries {
    by_hash: HashMap<TokenHash, Stored>,
    /// Insertion order, oldest first. Entries removed out of order leave their item behind;
    /// an item whose serial is not its entry's is skipped, and the queue is compacted when
    /// such items outnumber the entries.
    order: VecDeque<(TokenHash, u64)>,
    next_serial: u64,
    /// The second of the last sweep of expired entries.
    swept_at: u64,
}

/// The cache. Its lock is held for map operations only, never across a signature check or a
/// key fetch.
pub(super) struct TokenCache {
    capacity: usize,
    leeway: u64,
    entries: Mutex<Entries>,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache of at most `capacity` (at least 1) entries, which expire with the verifier's
    /// `leeway` (seconds).
    pub fn new(capacity: usize, leeway: u64) -> Self {
        Self {
            capacity: capacity.max(1),
            leeway,
            entries: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry of a token, when there is one; the caller decides whether it is still usable.
    pub fn get(&self, hash: &TokenHash) -> Option<Arc<VerifiedToken>> {
        self.lock()
            .by_hash
            .get(hash)
            .map(|stored| Arc::clone(&stored.token))
    }

    /// Removes the entry of a token that can no longer be used, unless it was replaced since
    /// `token` was read from it.
    pub fn remove(&self, hash: &TokenHash, token: &Arc<VerifiedToken>) {
        let mut entries = self.lock();
        if let MapEntry::Occupied(stored) = entries.by_hash.entry(*hash)
            && Arc::ptr_eq(&stored.get().token, token)
        {
            stored.remove();
            entries.compact_if_sparse();
        }
    }

    /// Stores a verified token, making room first when full (`now` in Unix seconds).
    pub fn insert(&self, hash: TokenHash, token: VerifiedToken, now: u64) {
        let mut entries = self.lock();
        let serial = entries.next_serial;
        entries.next_serial += 1;
        let stored = Stored {
            token: Arc::new(token),
            serial,
        };
        if let Some(replaced) = entries.by_hash.get_mut(&hash) {
            // Verified twice at once by concurrent requests: one entry, at its new place.
            *replaced = stored;
        } else {
            if entries.by_hash.len() >= self.capacity {
                self.make_room(&mut entries, now);
            }
            entries.by_hash.insert(hash, stored);
        }
        entries.order.push_back((hash, serial));
        entries.compact_if_sparse();
    }

    /// Drops the expired entries (at most once a second), else evicts the oldest one.
    fn make_room(&self, entries: &mut Entries, now: u64) {
        if now > entries.swept_at {
            entries.swept_at = now;
            entries
                .by_hash
                .retain(|_, stored| !stored.token.times.expired(now, self.leeway));
            entries.compact();
            if entries.by_hash.len() < self.capacity {
                return;
            }
        }
        while let Some((hash, serial)) = entries.order.pop_front() {
            if let MapEntry::Occupied(stored) = entries.by_hash.entry(hash)
                && stored.get().serial == serial
            {
                let expired = stored.get().token.times.expired(now, self.leeway);
                stored.remove();
                if !expired {
                    self.evictions.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
        }
    }

    /// Counts a request answered from an entry.
    pub fn count_hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request whose token was verified afresh.
    pub fn count_miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn stats(&self) -> TokenCacheStats {
        TokenCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }

    /// How many entries are held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().by_hash.len()
    }
}

impl Entries {
    /// Rebuilds the queue when most of its items belong to removed or replaced entries.
    fn compact_if_sparse(&mut self) {
        if self.order.len() > 2 * self.by_hash.len() + 16 {
            self.compact();
        }
    }

    /// Keeps only the queue items of entries still held at that place.
    fn compact(&mut self) {
        let by_hash = &self.by_hash;
        self.order.retain(|(hash, serial)| {
            by_hash
                .get(hash)
                .is_some_and(|stored| stored.serial == *serial)
        });
    }
}

#[cfg(test)]
mod tests {
    use clerk_sync_domain::{ClerkUserId, SessionStatus};

    use super::*;

    const LEEWAY_SECONDS: u64 = 5;
    const LEEWAY: Duration = Duration::from_secs(LEEWAY_SECONDS);
    const NOW: u64 = 1_800_000_000;

    fn key() -> Arc<DecodingKey> {
        Arc::new(DecodingKey::from_rsa_components("AQAB", "AQAB").expect("a key"))
    }

    fn verified(user: &str, exp: u64, key: &Arc<DecodingKey>) -> VerifiedToken {
        VerifiedToken {
            context: AuthContext {
                user_id: ClerkUserId::parse(user).expect("a user id"),
                session_id: Some("sess_1".to_owned()),
                status: SessionStatus::Active,
                active_organization: None,
            },
            times: TokenTimes {
                exp,
                nbf: Some(NOW - 10),
                iat: Some(NOW as f64),
            },
            kid: Some("ins_1".into()),
            key: Arc::clone(key),
        }
    }

    fn user_of(cache: &TokenCache, token: &str) -> Option<String> {
        cache
            .get(&TokenHash::of(token))
            .map(|entry| entry.context.user_id.as_str().to_owned())
    }

    #[test]
    fn the_key_is_a_hash_of_the_whole_token() {
        let hash = TokenHash::of("header.payload.signature");
        assert_eq!(hash, TokenHash::of("header.payload.signature"));
        assert_ne!(hash, TokenHash::of("header.payload.signaturf"));
        assert_ne!(hash.0[..], b"header.payload.signature"[..]);
    }

    #[test]
    fn a_stored_token_is_found_by_its_hash_and_only_by_it() {
        let cache = TokenCache::new(8, LEEWAY_SECONDS);
        let key = key();
        cache.insert(TokenHash::of("a"), verified("user_a", NOW + 60, &key), NOW);
        assert_eq!(user_of(&cache, "a").as_deref(), Some("user_a"));
        assert_eq!(user_of(&cache, "b"), None);
    }

    #[test]
    fn times_pass_up_to_exp_plus_leeway_and_not_a_second_later() {
        let times = TokenTimes {
            exp: NOW,
            nbf: None,
            iat: None,
        };
        let at = |seconds: u64| seconds as f64 + 0.5;
        assert_eq!(times.check(at(NOW), LEEWAY), Ok(()));
        assert_eq!(times.check(at(NOW + LEEWAY_SECONDS), LEEWAY), Ok(()));
        assert_eq!(
            times.check(at(NOW + LEEWAY_SECONDS + 1), LEEWAY),
            Err(TokenError::Expired)
        );
        assert!(!times.expired(NOW + LEEWAY_SECONDS, LEEWAY_SECONDS));
        assert!(times.expired(NOW + LEEWAY_SECONDS + 1, LEEWAY_SECONDS));
    }

    #[test]
    fn times_refuse_nbf_and_iat_ahead_when_the_clock_went_back() {
        let times = TokenTimes {
            exp: NOW + 60,
            nbf: Some(NOW),
            iat: Some(NOW as f64),
        };
        assert_eq!(times.check(NOW as f64, LEEWAY), Ok(()));
        let earlier = (NOW - LEEWAY_SECONDS - 1) as f64;
        assert_eq!(
            times.check(earlier, LEEWAY),
            Err(TokenError::Invalid(TokenRefusal::NotYetValid))
        );
        let times = TokenTimes { nbf: None, ..times };
        assert_eq!(
            times.check(earlier, LEEWAY),
            Err(TokenError::Invalid(TokenRefusal::IssuedInFuture))
        );
    }

    #[test]
    fn when_full_the_oldest_entry_is_evicted_and_counted() {
        let cache = TokenCache::new(3, LEEWAY_SECONDS);
        let key = key();
        for name in ["a", "b", "c", "d", "e"] {
            cache.insert(
                TokenHash::of(name),
                verified(&format!("user_{name}"), NOW + 60, &key),
                NOW,
            );
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(user_of(&cache, "a"), None);
        assert_eq!(user_of(&cache, "b"), None);
        assert_eq!(user_of(&cache, "e").as_deref(), Some("user_e"));
        assert_eq!(cache.stats().evictions, 2);
    }

    #[test]
    fn when_full_expired_entries_go_first_and_are_not_evictions() {
        let cache = TokenCache::new(3, LEEWAY_SECONDS);
        let key = key();
        cache.insert(TokenHash::of("a"), verified("user_a", NOW + 60, &key), NOW);
        cache.insert(TokenHash::of("b"), verified("user_b", NOW + 1, &key), NOW);
        cache.insert(TokenHash::of("c"), verified("user_c", NOW + 1, &key), NOW);
        let later = NOW + 1 + LEEWAY_SECONDS + 1;
        cache.insert(
            TokenHash::of("d"),
            verified("user_d", later + 60, &key),
            later,
        );
        assert_eq!(cache.len(), 2, "both expired entries were dropped");
        assert_eq!(
            user_of(&cache, "a").as_deref(),
            Some("user_a"),
            "not the oldest"
        );
        assert_eq!(cache.stats().evictions, 0);
    }

    #[test]
    fn replacing_or_removing_entries_keeps_the_bound_and_the_queue_small() {
        let cache = TokenCache::new(4, LEEWAY_SECONDS);
        let key = key();
        for round in 0..100 {
            let name = format!("t{}", round % 6);
            let hash = TokenHash::of(&name);
            cache.insert(hash, verified("user_a", NOW + 60, &key), NOW);
            if round % 3 == 0
                && let Some(entry) = cache.get(&hash)
            {
                cache.remove(&hash, &entry);
            }
            assert!(cache.len() <= 4);
            assert!(cache.lock().order.len() <= 2 * 4 + 16);
        }
    }

    #[test]
    fn removal_spares_an_entry_replaced_since_it_was_read() {
        let cache = TokenCache::new(4, LEEWAY_SECONDS);
        let key = key();
        let hash = TokenHash::of("a");
        cache.insert(hash, verified("user_a", NOW + 60, &key), NOW);
        let read = cache.get(&hash).expect("stored");
        cache.insert(hash, verified("user_a", NOW + 60, &key), NOW);
        cache.remove(&hash, &read);
        assert!(cache.get(&hash).is_some(), "the newer entry stays");
        let newer = cache.get(&hash).expect("stored");
        cache.remove(&hash, &newer);
        assert!(cache.get(&hash).is_none());
    }

    #[test]
    fn an_entry_knows_the_key_that_verified_it() {
        let (old, new) = (key(), key());
        let entry = verified("user_a", NOW + 60, &old);
        assert!(entry.verified_with(&old));
        assert!(
            !entry.verified_with(&new),
            "another key, even of equal parts"
        );
    }
}
