//! What can stop a resync.

use clerk_sync_backend_api::BackendApiError;
use clerk_sync_persistence::StoreError;

/// An error of [`resync`](crate::resync). Batches written before it stay written.
#[derive(Debug, thiserror::Error)]
pub enum ResyncError {
    /// Clerk's Backend API failed (an invalid key, retries exhausted, a malformed answer).
    #[error(transparent)]
    Api(#[from] BackendApiError),
    /// The database could not be reached or a read failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A page could not be written.
    #[error("cannot write a batch of {kind}")]
    Write {
        /// The kind's label.
        kind: &'static str,
        /// The database's error.
        #[source]
        source: StoreError,
    },
    /// The task writing to (or reading from) the database panicked or was cancelled.
    #[error("the database {role} stopped")]
    DatabaseTask {
        /// `writer` or `reader`.
        role: &'static str,
        /// The task's end.
        #[source]
        source: tokio::task::JoinError,
    },
    /// Most of a kind would be pruned: what a secret key of another Clerk instance looks like.
    #[error(
        "{kind}: {candidates} of the {held} held here are not in Clerk's listing, which looks like a secret key of another Clerk instance; check CLERK_SECRET_KEY, see the list with --dry-run, and pass --allow-mass-prune if it is right"
    )]
    MassPrune {
        /// The kind's label.
        kind: &'static str,
        /// The rows no listing returned.
        candidates: usize,
        /// The rows held (written before the listing began).
        held: usize,
    },
    /// The prune of a kind failed.
    #[error("cannot prune {kind}")]
    Prune {
        /// The kind's label.
        kind: &'static str,
        /// Why.
        #[source]
        source: Box<ResyncError>,
    },
}

impl ResyncError {
    /// The Backend API error at the root of this one, if any (through a failed prune).
    pub fn api(&self) -> Option<&BackendApiError> {
        match self {
            Self::Api(err) => Some(err),
            Self::Prune { source, .. } => source.api(),
            _ => None,
        }
    }
}
