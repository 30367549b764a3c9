//! Whether Clerk's Backend API answers the read-through, logged once per change of state
//! rather than once per request: during an outage every unsynced caller would otherwise add
//! a line.

use std::sync::atomic::{AtomicBool, Ordering};

/// The read-through's view of the Backend API: answering, or not (down, slow, refusing the
/// key, or the local rate bound spent).
#[derive(Debug, Default)]
pub(crate) struct ClerkHealth {
    failing: AtomicBool,
}

impl ClerkHealth {
    /// A fetch was answered in time: logs the recovery if it was failing.
    pub(crate) fn answered(&self) {
        if self.failing.swap(false, Ordering::Relaxed) {
            tracing::info!(
                "read-through: Clerk's Backend API answers again; users the mirror lacks are fetched again"
            );
        }
    }

    /// A fetch failed or came too late, for `reason` (no ids, no key, no personal data): logs
    /// it if it was answering.
    pub(crate) fn failed(&self, reason: &str) {
        if !self.failing.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                reason,
                "read-through: cannot fetch users from Clerk's Backend API (CLERK_API_URL); callers the mirror lacks are answered 404 (not synced yet) until it answers, logged again only then"
            );
        }
    }

    /// Whether the last fetch failed.
    #[cfg(test)]
    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use tracing_subscriber::layer::{Context, SubscriberExt};

    use super::*;

    /// Counts the events logged.
    struct Lines(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Lines {
        fn on_event(&self, _: &tracing::Event<'_>, _: Context<'_, S>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn an_outage_is_logged_once_and_its_end_once() {
        let lines = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(Lines(Arc::clone(&lines)));
        let health = ClerkHealth::default();
        tracing::subscriber::with_default(subscriber, || {
            health.answered();
            for _ in 0..50 {
                health.failed("a timeout");
            }
            health.failed("503 Service Unavailable");
            assert_eq!(lines.load(Ordering::Relaxed), 1, "one line for the outage");
            for _ in 0..50 {
                health.answered();
            }
            assert_eq!(lines.load(Ordering::Relaxed), 2, "one line for its end");
        });
    }

    #[test]
    fn the_state_flips_only_on_a_change() {
        let health = ClerkHealth::default();
        assert!(!health.is_failing());
        health.failed("a timeout");
        health.failed("a timeout");
        assert!(health.is_failing());
        health.answered();
        assert!(!health.is_failing());
    }
}
