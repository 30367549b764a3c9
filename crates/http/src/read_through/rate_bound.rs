//! How many fetches the read-through may start: a token bucket, so that a burst of new users
//! (a launch, a batch import signing everyone in) cannot spend the Backend API's rate limit,
//! which the instance's other clients (resync, the application's own calls) share.

use std::time::{Duration, Instant};

/// The window Clerk states its rate limits in: 100 requests per 10 s on development
/// instances, 1,000 on production ones.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

/// At most `per_window` fetches in any [`RATE_WINDOW`], and as many at once after a quiet
/// window.
#[derive(Debug)]
pub(crate) struct RateBound {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl RateBound {
    /// A full bucket of `per_window` fetches; 0 allows none.
    pub(crate) fn new(per_window: u32, now: Instant) -> Self {
        let capacity = f64::from(per_window);
        Self {
            capacity,
            per_second: capacity / RATE_WINDOW.as_secs_f64(),
            tokens: capacity,
            last: now,
        }
    }

    /// Takes one fetch's share, if there is one left.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_takes_the_window_then_fetches_come_at_the_steady_rate() {
        let start = Instant::now();
        let mut bound = RateBound::new(20, start);
        let burst = (0..25).filter(|_| bound.try_take(start)).count();
        assert_eq!(burst, 20);
        // 20 per 10 s: one every half second.
        assert!(!bound.try_take(start + Duration::from_millis(400)));
        assert!(bound.try_take(start + Duration::from_millis(520)));
        assert!(!bound.try_take(start + Duration::from_millis(530)));
        let later = start + Duration::from_secs(60);
        let refilled = (0..25).filter(|_| bound.try_take(later)).count();
        assert_eq!(refilled, 20, "a quiet minute refills the bucket, no more");
    }

    #[test]
    fn zero_allows_nothing() {
        let start = Instant::now();
        let mut bound = RateBound::new(0, start);
        assert!(!bound.try_take(start + Duration::from_secs(100)));
    }
}
