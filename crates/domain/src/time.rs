//! Clerk's timestamps.

use std::fmt;

/// A point in time as Clerk writes it: milliseconds since the Unix epoch.
///
/// Clerk's `updated_at` orders versions of one object; the mirror compares these values and
/// never the time at which a delivery arrived.
///
/// ```
/// use clerk_sync_domain::UnixMillis;
///
/// assert!(UnixMillis(1_736_942_401_251) > UnixMillis(1_736_942_401_250));
/// assert_eq!(UnixMillis(5).to_string(), "5");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
