//! The users Clerk answered 404 for, remembered briefly: a token that outlives its user (Clerk
//! deleted it; session tokens stay valid for up to a minute) would otherwise cost a fetch per
//! request.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use clerk_sync_domain::ClerkUserId;

/// Clerk ids Clerk does not have, each until its time is up, at most `capacity` of them (the
/// oldest go first).
#[derive(Debug)]
pub(crate) struct NotFoundCache {
    ttl: Duration,
    capacity: usize,
    until: HashMap<ClerkUserId, Instant>,
    /// Insertion order, which is expiry order: every entry lives `ttl`. An id put again holds
    /// a stale place here too, recognised by its instant.
    order: VecDeque<(ClerkUserId, Instant)>,
}

impl NotFoundCache {
    /// A cache that remembers each id for `ttl`; a capacity of 0 remembers nothing.
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            until: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers that Clerk has no such user, from `now`.
    pub(crate) fn insert(&mut self, id: ClerkUserId, now: Instant) {
        if self.capacity == 0 {
            return;
        }
        self.expire(now);
        while self.until.len() >= self.capacity && !self.order.is_empty() {
            self.pop_oldest();
        }
        let until = now + self.ttl;
        self.until.insert(id.clone(), until);
        self.order.push_back((id, until));
    }

    /// Whether Clerk said so less than `ttl` ago.
    pub(crate) fn contains(&mut self, id: &ClerkUserId, now: Instant) -> bool {
        self.expire(now);
        self.until.contains_key(id)
    }

    /// How many ids are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.until.len()
    }

    fn expire(&mut self, now: Instant) {
        while self.order.front().is_some_and(|(_, until)| *until <= now) {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((id, until)) = self.order.pop_front()
            && self.until.get(&id) == Some(&until)
        {
            self.until.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> ClerkUserId {
        ClerkUserId::parse(&format!("user_{n}")).expect("a user id")
    }

    #[test]
    fn an_id_is_remembered_for_its_time_only() {
        let start = Instant::now();
        let mut cache = NotFoundCache::new(Duration::from_secs(30), 10);
        cache.insert(id(1), start);
        assert!(cache.contains(&id(1), start + Duration::from_secs(29)));
        assert!(!cache.contains(&id(2), start));
        assert!(!cache.contains(&id(1), start + Duration::from_secs(30)));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_oldest_go_first_when_full() {
        let start = Instant::now();
        let mut cache = NotFoundCache::new(Duration::from_secs(30), 3);
        for n in 0..5 {
            cache.insert(id(n), start + Duration::from_millis(u64::from(n)));
        }
        let later = start + Duration::from_millis(10);
        let held: Vec<bool> = (0..5).map(|n| cache.contains(&id(n), later)).collect();
        assert_eq!(held, [false, false, true, true, true]);
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn an_id_put_again_lives_from_its_latest_insert() {
        let start = Instant::now();
        let mut cache = NotFoundCache::new(Duration::from_secs(30), 10);
        cache.insert(id(1), start);
        cache.insert(id(1), start + Duration::from_secs(20));
        assert!(cache.contains(&id(1), start + Duration::from_secs(40)));
        assert!(!cache.contains(&id(1), start + Duration::from_secs(50)));
    }

    #[test]
    fn a_capacity_of_zero_remembers_nothing() {
        let start = Instant::now();
        let mut cache = NotFoundCache::new(Duration::from_secs(30), 0);
        cache.insert(id(1), start);
        assert!(!cache.contains(&id(1), start));
    }
}
