//! Read-through for the caller: a verified session token can arrive before the `user.created`
//! webhook (Clerk's documentation warns of it right after sign-up). When the mirror lacks the
//! caller (and has not tombstoned them) and `CLERK_SECRET_KEY` is set, the user and their
//! memberships are fetched from Clerk's Backend API, written through the same rules as
//! resync, and the request is answered from the mirror.
//!
//! - Single flight: concurrent requests for one user share one fetch, which runs as a task of
//!   its own; a request waits for it at most [`ReadThroughOptions::wait`] and is answered
//!   404 "not synced yet" after that, while the fetch goes on and fills the mirror for the
//!   next request.
//! - A token bucket on the fetches started (`rate_bound`), well under Clerk's limits.
//! - Clerk's 404 is remembered for a while, for a bounded number of users (`not_found`).
//! - A failing Backend API is logged once per change of state (`health`).

mod fetch;
mod health;
mod lookup;
mod not_found;
mod rate_bound;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use clerk_sync_backend_api::{BackendApi, BackendApiError, RetryPolicy, SecretKey};
use clerk_sync_domain::ClerkUserId;
use clerk_sync_persistence::Database;
use tokio::sync::watch;

use crate::metrics::Metrics;
use health::ClerkHealth;
use not_found::NotFoundCache;
use rate_bound::RateBound;

pub use lookup::{Lookup, Unsynced, caller_with_read_through, with_read_through};
pub use rate_bound::RATE_WINDOW;

/// How long one request to the Backend API may take. A fetch outlives the wait of the
/// requests that started it, but not by much: a hung API holds one task per user, not more.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts per request: one. The client logs each retry, naming the path (which holds the
/// user's id), so retries would log once per fetch during an outage; and the caller's next
/// request is the retry anyway (a new fetch, within the rate bound).
const MAX_ATTEMPTS: u32 = 1;

/// How the read-through is bounded.
#[derive(Clone, Debug)]
pub struct ReadThroughOptions {
    /// The longest a request waits for a fetch before it is answered "not synced yet".
    pub wait: Duration,
    /// Fetches started in any [`RATE_WINDOW`] (each is two requests to Clerk, more for a user
    /// with over 500 memberships).
    pub fetches_per_window: u32,
    /// How long Clerk's 404 for a user is remembered.
    pub not_found_ttl: Duration,
    /// How many such users are remembered at most.
    pub not_found_capacity: usize,
}

/// What a read-through came to, for the request that asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// The user is in the mirror now: look again.
    Synced,
    /// Clerk has no such user, or it was deleted (tombstoned).
    Absent,
    /// Clerk did not answer in time, failed, or the rate bound is spent: maybe later.
    Pending,
}

/// What one fetch (shared by the requests that wait for it) came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlightOutcome {
    /// Fetched and written.
    Synced,
    /// Another fetch wrote the user just before.
    AlreadySynced,
    /// Clerk answered 404.
    NotFound,
    /// The mirror has a tombstone for the user: no fetch.
    Tombstoned,
    /// The rate bound is spent: no fetch.
    RateLimited,
    /// Clerk or the database failed.
    Failed,
}

impl FlightOutcome {
    /// The `result` label of `clerk_sync_read_through_total` (a contract: never renamed).
    fn label(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::AlreadySynced => "already_synced",
            Self::NotFound => "not_found",
            Self::Tombstoned => "tombstoned",
            Self::RateLimited => "rate_limited",
            Self::Failed => "error",
        }
    }

    fn resolution(self) -> Resolution {
        match self {
            Self::Synced | Self::AlreadySynced => Resolution::Synced,
            Self::NotFound | Self::Tombstoned => Resolution::Absent,
            Self::RateLimited | Self::Failed => Resolution::Pending,
        }
    }
}

/// The read-through of one server. Cheap to clone; clones share their flights and caches.
#[derive(Clone, Debug)]
pub struct ReadThrough {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    api: BackendApi,
    options: ReadThroughOptions,
    /// The fetches running, by user: each request for the user waits on the same channel.
    flights: Mutex<HashMap<ClerkUserId, watch::Receiver<Option<FlightOutcome>>>>,
    not_found: Mutex<NotFoundCache>,
    rate: Mutex<RateBound>,
    health: ClerkHealth,
}

/// A poisoned lock only means another request panicked while holding it; the data (a map, a
/// counter) is still whole.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ReadThrough {
    /// A read-through asking the Backend API at `api_url` with `key`.
    ///
    /// # Errors
    /// As [`BackendApi::new`]: an unusable URL or key, or no HTTP client.
    pub fn new(
        api_url: &str,
        key: &SecretKey,
        options: ReadThroughOptions,
    ) -> Result<Self, BackendApiError> {
        let retry = RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            ..RetryPolicy::default()
        };
        let api = BackendApi::new(api_url, key, REQUEST_TIMEOUT, retry)?;
        let now = Instant::now();
        Ok(Self {
            inner: Arc::new(Inner {
                api,
                not_found: Mutex::new(NotFoundCache::new(
                    options.not_found_ttl,
                    options.not_found_capacity,
                )),
                rate: Mutex::new(RateBound::new(options.fetches_per_window, now)),
                options,
                flights: Mutex::new(HashMap::new()),
                health: ClerkHealth::default(),
            }),
        })
    }

    /// Brings the user into the mirror if Clerk has them, waiting at most
    /// [`ReadThroughOptions::wait`].
    pub(crate) async fn resolve(
        &self,
        database: &Database,
        metrics: &Metrics,
        id: &ClerkUserId,
    ) -> Resolution {
        if lock(&self.inner.not_found).contains(id, Instant::now()) {
            metrics.observe_read_through("cached_not_found");
            return Resolution::Absent;
        }
        let mut flight = self.join_or_start(database, metrics, id);
        let wait = self.inner.options.wait;
        match tokio::time::timeout(wait, flight.wait_for(Option::is_some)).await {
            Ok(Ok(outcome)) => outcome.map_or(Resolution::Pending, FlightOutcome::resolution),
            // The fetch's task ended without saying (it panicked).
            Ok(Err(_closed)) => Resolution::Pending,
            Err(_elapsed) => {
                self.inner
                    .health
                    .failed("no answer within the read-through's wait");
                Resolution::Pending
            }
        }
    }

    /// The running fetch of the user, or a new one.
    fn join_or_start(
        &self,
        database: &Database,
        metrics: &Metrics,
        id: &ClerkUserId,
    ) -> watch::Receiver<Option<FlightOutcome>> {
        let mut flights = lock(&self.inner.flights);
        if let Some(flight) = flights.get(id) {
            return flight.clone();
        }
        let (sender, receiver) = watch::channel(None);
        flights.insert(id.clone(), receiver.clone());
        drop(flights);
        let landing = Landing {
            inner: Arc::clone(&self.inner),
            id: id.clone(),
        };
        let database = database.clone();
        let metrics = metrics.clone();
        let id = id.clone();
        actix_web::rt::spawn(async move {
            let outcome = landing.inner.fly(&database, &id).await;
            metrics.observe_read_through(outcome.label());
            // Sent before the flight is removed (by `landing`'s drop): a request that finds
            // no flight afterwards finds the user in the mirror, or starts a fetch that sees
            // it there first.
            let _ = sender.send(Some(outcome));
            drop(landing);
        });
        receiver
    }
}

/// Removes a flight from the map when its task ends, also when it panics.
struct Landing {
    inner: Arc<Inner>,
    id: ClerkUserId,
}

impl Drop for Landing {
    fn drop(&mut self) {
        lock(&self.inner.flights).remove(&self.id);
    }
}
