#![doc = include_str!("../README.md")]

mod batch;
mod error;
mod import;
mod progress;
mod prune;
mod summary;

use std::time::Instant;

use clerk_sync_backend_api::{BackendApi, MAX_PAGE_SIZE, ObjectKind};
use clerk_sync_persistence::{Database, WriteMode};

pub use error::ResyncError;
pub use progress::Progress;
pub use summary::{KindSummary, Summary};

/// A prune that would remove more than half of a kind's rows, and more than this many
/// candidates, stops before asking Clerk about any of them unless `--allow-mass-prune` is given:
/// it is what a secret key of another Clerk instance (a development key against the production
/// mirror) looks like, and every one of its lookups would answer 404.
pub const MASS_PRUNE_MIN_CANDIDATES: usize = 10;

/// What a resync does.
#[derive(Clone, Debug)]
pub struct Options {
    /// The kinds to list (in [`ObjectKind::ALL`] order, whatever the order here).
    pub kinds: Vec<ObjectKind>,
    /// Also remove (and tombstone) what the mirror holds and Clerk no longer has.
    pub prune: bool,
    /// Prune even when most of a kind would go (see [`MASS_PRUNE_MIN_CANDIDATES`]).
    pub allow_mass_prune: bool,
    /// Write nothing; report what would change.
    pub dry_run: bool,
    /// Objects per request and per transaction (1 to [`MAX_PAGE_SIZE`]).
    pub page_size: u32,
}

impl Options {
    fn mode(&self) -> WriteMode {
        if self.dry_run {
            WriteMode::DryRun
        } else {
            WriteMode::Commit
        }
    }
}

/// Runs a resync: imports the chosen kinds, then prunes them when asked.
///
/// # Errors
/// When Clerk refuses the secret key (nothing is written then), a request still fails after
/// its retries, a prune looks like another instance's key, or the database fails. Batches
/// written before the failure stay written; a rerun converges.
pub async fn resync(
    database: &Database,
    api: &BackendApi,
    options: &Options,
    progress: &Progress,
) -> Result<Summary, ResyncError> {
    let started = Instant::now();
    let page_size = options.page_size.clamp(1, MAX_PAGE_SIZE);
    let mut imported = Vec::new();
    for kind in ObjectKind::ALL {
        if options.kinds.contains(&kind) {
            let import = import::import(kind, database, api, options.mode(), page_size, progress);
            imported.push(import.await?);
        }
    }
    // Pruned in reverse import order: memberships before their organizations and users.
    let mut summaries = Vec::new();
    for import in imported.iter().rev() {
        let mut tally = import.tally;
        let mut failed = import.failed;
        let mut pruned = Vec::new();
        if options.prune {
            let result = prune::prune(import, database, api, options, page_size, progress)
                .await
                .map_err(|source| ResyncError::Prune {
                    kind: import.kind.label(),
                    source: Box::new(source),
                })?;
            tally.merge(&result.applied);
            failed += result.failed;
            pruned = result.pruned;
        }
        summaries.push(KindSummary::new(import.kind, &tally, pruned, failed));
    }
    summaries.reverse();
    Ok(Summary {
        dry_run: options.dry_run,
        elapsed: started.elapsed(),
        kinds: summaries,
    })
}
