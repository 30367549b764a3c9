//! What became of a webhook delivery.

use std::fmt;
use std::str::FromStr;

/// The result of processing one delivery, as recorded in the webhook log.
///
/// Another receiver can answer with the same words; the welcome-mailer example answers
/// `{"status": "ok", "outcome": "applied" | "duplicate" | "ignored"}` as clerk-sync does:
///
/// ```
/// use clerk_sync_domain::Outcome;
///
/// assert_eq!(Outcome::Duplicate.to_string(), "duplicate");
/// assert_eq!("ignored".parse(), Ok(Outcome::Ignored));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The event changed the mirror.
    Applied,
    /// The mirror already held the same or a newer version; nothing changed.
    Stale,
    /// The event names a deleted object; nothing changed, so nothing deleted comes back.
    Tombstoned,
    /// An event type the mirror does not handle; acknowledged so the sender stops retrying.
    Ignored,
    /// The message id was already processed; nothing changed.
    Duplicate,
    /// The signature was valid but the body could not be applied; kept for replay.
    Rejected,
}

impl Outcome {
    /// Every outcome, in a stable order (for metrics and filters).
    ///
    /// ```
    /// let names: Vec<_> = clerk_sync_domain::Outcome::ALL.iter().map(|o| o.as_str()).collect();
    /// assert_eq!(names, ["applied", "stale", "tombstoned", "ignored", "duplicate", "rejected"]);
    /// ```
    pub const ALL: [Self; 6] = [
        Self::Applied,
        Self::Stale,
        Self::Tombstoned,
        Self::Ignored,
        Self::Duplicate,
        Self::Rejected,
    ];

    /// The name stored in the webhook log and shown to the sender.
    ///
    /// ```
    /// assert_eq!(clerk_sync_domain::Outcome::Applied.as_str(), "applied");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Stale => "stale",
            Self::Tombstoned => "tombstoned",
            Self::Ignored => "ignored",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name was not one of [`Outcome::as_str`]'s.
///
/// ```
/// use clerk_sync_domain::{Outcome, UnknownOutcome};
///
/// assert_eq!("Applied".parse::<Outcome>(), Err(UnknownOutcome));
/// ```
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown outcome: expected one of applied, stale, tombstoned, ignored, duplicate, rejected"
)]
pub struct UnknownOutcome;

impl FromStr for Outcome {
    type Err = UnknownOutcome;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == name)
            .ok_or(UnknownOutcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(outcome.as_str().parse::<Outcome>(), Ok(outcome));
        }
        assert_eq!("applied ".parse::<Outcome>(), Err(UnknownOutcome));
    }
}
