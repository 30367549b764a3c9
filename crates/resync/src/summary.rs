//! The table a resync ends with: per kind, how many objects were created, updated, found
//! unchanged or stale, pruned, and could not be parsed.

use std::fmt;
use std::time::Duration;

use clerk_sync_persistence::resync::Tally;

use clerk_sync_backend_api::ObjectKind;

/// What a resync did (or, in a dry run, would do).
#[derive(Clone, Debug)]
pub struct Summary {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// How long it took.
    pub elapsed: Duration,
    /// One entry per kind resynced, in import order.
    pub kinds: Vec<KindSummary>,
}

/// What a resync did with one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindSummary {
    /// The kind.
    pub kind: ObjectKind,
    /// New rows.
    pub created: u64,
    /// Rows that took a newer version from Clerk.
    pub updated: u64,
    /// Rows that already held Clerk's version.
    pub unchanged: u64,
    /// Objects Clerk listed in an older version than the mirror holds (a webhook brought a
    /// newer one), or that were deleted (tombstoned) since; left as they were.
    pub stale: u64,
    /// The Clerk ids removed and tombstoned because Clerk no longer has them.
    pub pruned: Vec<String>,
    /// Listed objects that could not be parsed (each logged with its id and the reason).
    pub failed: u64,
}

impl KindSummary {
    pub(crate) fn new(kind: ObjectKind, tally: &Tally, pruned: Vec<String>, failed: u64) -> Self {
        Self {
            kind,
            created: tally.created,
            updated: tally.updated,
            unchanged: tally.unchanged,
            stale: tally.stale + tally.tombstoned,
            pruned,
            failed,
        }
    }

    /// The objects listed (and found) and written or checked.
    pub fn listed(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.stale
    }
}

impl Summary {
    /// The summary of one kind, when it was resynced.
    pub fn kind(&self, kind: ObjectKind) -> Option<&KindSummary> {
        self.kinds.iter().find(|k| k.kind == kind)
    }

    /// Objects that could not be parsed, over all kinds.
    pub fn failed(&self) -> u64 {
        self.kinds.iter().map(|k| k.failed).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            writeln!(
                f,
                "DRY RUN: nothing was written. A resync now would make these changes:"
            )?;
        }
        writeln!(
            f,
            "{:<14}{:>10}{:>10}{:>11}{:>9}{:>9}{:>9}",
            "", "created", "updated", "unchanged", "stale", "pruned", "failed"
        )?;
        for k in &self.kinds {
            writeln!(
                f,
                "{:<14}{:>10}{:>10}{:>11}{:>9}{:>9}{:>9}",
                k.kind.label(),
                k.created,
                k.updated,
                k.unchanged,
                k.stale,
                k.pruned.len(),
                k.failed
            )?;
        }
        let listed: u64 = self.kinds.iter().map(KindSummary::listed).sum();
        let seconds = self.elapsed.as_secs_f64();
        let per_second = if seconds > 0.0 {
            listed as f64 / seconds
        } else {
            0.0
        };
        write!(
            f,
            "{listed} objects in {seconds:.1} s ({per_second:.0} objects/s)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_kind_and_a_rate() {
        let tally = Tally {
            created: 3,
            updated: 1,
            unchanged: 5,
            stale: 1,
            tombstoned: 1,
            deleted: 0,
        };
        let summary = Summary {
            dry_run: true,
            elapsed: Duration::from_secs(2),
            kinds: vec![KindSummary::new(
                ObjectKind::Users,
                &tally,
                vec!["user_x".into()],
                2,
            )],
        };
        let text = summary.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("DRY RUN"), "{text}");
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            [
                "created",
                "updated",
                "unchanged",
                "stale",
                "pruned",
                "failed"
            ]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["users", "3", "1", "5", "2", "1", "2"]
        );
        assert_eq!(lines[3], "11 objects in 2.0 s (6 objects/s)");
    }
}
