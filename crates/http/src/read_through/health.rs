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
    use super::*;

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
