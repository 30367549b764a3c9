//! Clerk's timestamps.

use std::fmt;

/// A point in time as Clerk writes it: milliseconds since the Unix epoch.
///
/// Clerk's `updated_at` orders versions of one object; the mirror compares these values and
/// never the time at which a delivery arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
