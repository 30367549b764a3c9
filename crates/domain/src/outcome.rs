//! What became of a webhook delivery.

use std::fmt;
use std::str::FromStr;

/// The result of processing one delivery, as recorded in the webhook log.
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
    pub const ALL: [Self; 6] = [
        Self::Applied,
        Self::Stale,
        Self::Tombstoned,
        Self::Ignored,
        Self::Duplicate,
        Self::Rejected,
    ];

    /// The name stored in the webhook log and shown to the sender.
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
