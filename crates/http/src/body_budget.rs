//! A budget of bytes for webhook bodies that are not verified yet, shared by every connection:
//! a body is only buffered once its bytes are reserved, so however many clients announce or
//! send large bodies at once, the server holds at most the budget for them. A reservation is
//! given back when it is dropped (the body was verified, refused, or its connection closed).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The default budget: 32 bodies of the largest size accepted (1 MiB) at once; Clerk's
/// deliveries are a few kilobytes.
pub const DEFAULT_WEBHOOK_BUDGET_BYTES: usize = 32 * 1024 * 1024;

/// Bytes that may be reserved at once.
#[derive(Debug)]
pub struct BodyBudget {
    capacity: usize,
    in_use: AtomicUsize,
}

impl BodyBudget {
    /// A budget of `capacity` bytes, none reserved.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            in_use: AtomicUsize::new(0),
        }
    }

    /// The bytes the budget holds in all.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The bytes reserved now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Reserves `bytes`, or `None` when the budget lacks them.
    pub fn reserve(&self, bytes: usize) -> Option<Reservation<'_>> {
        let mut reservation = Reservation {
            budget: self,
            bytes: 0,
        };
        reservation.grow_to(bytes).then_some(reservation)
    }

    fn take(&self, bytes: usize) -> bool {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                in_use
                    .checked_add(bytes)
                    .filter(|total| *total <= self.capacity)
            })
            .is_ok()
    }
}

/// Bytes reserved from a [`BodyBudget`], given back on drop.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a BodyBudget,
    bytes: usize,
}

impl Reservation<'_> {
    /// Grows the reservation to `bytes` in all; `false` (and unchanged) when the budget lacks
    /// the difference.
    pub fn grow_to(&mut self, bytes: usize) -> bool {
        let more = bytes.saturating_sub(self.bytes);
        if more == 0 {
            return true;
        }
        let taken = self.budget.take(more);
        if taken {
            self.bytes = bytes;
        }
        taken
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.in_use.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_the_capacity_and_are_given_back() {
        let budget = BodyBudget::new(100);
        let first = budget.reserve(60);
        assert!(first.is_some());
        assert!(budget.reserve(41).is_none(), "41 more would exceed 100");
        let mut second = budget.reserve(40).expect("40 fit");
        assert_eq!(budget.in_use(), 100);
        assert!(!second.grow_to(41), "a full budget cannot grow");
        drop(first);
        assert_eq!(budget.in_use(), 40);
        assert!(second.grow_to(90));
        assert!(second.grow_to(50), "shrinking asks for nothing");
        assert_eq!(budget.in_use(), 90);
        drop(second);
        assert_eq!(budget.in_use(), 0);
        assert!(budget.reserve(usize::MAX).is_none(), "no overflow");
    }
}
