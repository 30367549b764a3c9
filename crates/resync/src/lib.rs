//! `clerk-sync resync`: the mirror filled and repaired from Clerk's Backend API.
//!
//! Each kind (users, then organizations, then memberships, so that memberships find theirs) is
//! listed page by page while the pages already fetched are written, one transaction per page,
//! through the same rules as webhooks (`clerk_sync_persistence::resync`). With `prune`, the
//! objects the mirror holds that no listing returned are then checked one by one with Clerk and
//! removed and tombstoned if Clerk no longer has them. A dry run does all of it, reads included,
//! in transactions that are rolled back, so its counts are those a real run would have now.

mod cli;
mod client;
mod listing;
mod progress;
mod prune;
mod summary;

use std::collections::HashSet;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDateTime;
use clerk_sync_domain::{MembershipSnapshot, OrganizationSnapshot, UserSnapshot};
use clerk_sync_persistence::resync::{Tally, apply_memberships, apply_organizations, apply_users};
use clerk_sync_persistence::{Database, DbConnection, StoreError, WriteMode};

pub use cli::{ResyncArgs, run_cli};
pub use client::{BackendApi, RetryPolicy, SecretKey};
pub use progress::Progress;
pub use summary::{KindSummary, Summary};

use listing::Lister;

/// The largest page Clerk's Backend API serves.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A kind of Clerk object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `GET /users`.
    Users,
    /// `GET /organizations`.
    Organizations,
    /// `GET /organization_memberships` (every membership of the instance).
    Memberships,
}

impl Kind {
    /// All kinds, in the order they are imported.
    pub const ALL: [Self; 3] = [Self::Users, Self::Organizations, Self::Memberships];

    /// The kind's name in output.
    pub fn label(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Organizations => "organizations",
            Self::Memberships => "memberships",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Users => "/users",
            Self::Organizations => "/organizations",
            Self::Memberships => "/organization_memberships",
        }
    }
}

/// A prune that would remove more than half of a kind's rows, and more than this many, stops
/// before asking Clerk about any of them unless `--allow-mass-prune` is given: it is what a
/// secret key of another Clerk instance (a development key against the production mirror)
/// looks like, and every one of its lookups would answer 404.
pub const MASS_PRUNE: usize = 10;

/// What a resync does.
#[derive(Clone, Debug)]
pub struct Options {
    /// The kinds to list (in [`Kind::ALL`] order, whatever the order here).
    pub kinds: Vec<Kind>,
    /// Also remove (and tombstone) what the mirror holds and Clerk no longer has.
    pub prune: bool,
    /// Prune even when most of a kind would go (see [`MASS_PRUNE`]).
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

/// Objects of one kind, written in one transaction.
pub(crate) enum Batch {
    Users(Vec<UserSnapshot>),
    Organizations(Vec<OrganizationSnapshot>),
    Memberships(Vec<MembershipSnapshot>),
}

impl Batch {
    fn len(&self) -> u64 {
        let len = match self {
            Self::Users(objects) => objects.len(),
            Self::Organizations(objects) => objects.len(),
            Self::Memberships(objects) => objects.len(),
        };
        u64::try_from(len).unwrap_or(u64::MAX)
    }

    fn apply(&self, conn: &mut DbConnection, mode: WriteMode) -> Result<Tally, StoreError> {
        let now = chrono::Utc::now().naive_utc();
        match self {
            Self::Users(objects) => apply_users(conn, objects, mode, now),
            Self::Organizations(objects) => apply_organizations(conn, objects, mode, now),
            Self::Memberships(objects) => apply_memberships(conn, objects, mode, now),
        }
    }
}

/// What the import of one kind left for the prune.
pub(crate) struct Imported {
    kind: Kind,
    /// When the listing began: rows written since are never pruned.
    started: NaiveDateTime,
    /// The Clerk ids listed.
    seen: HashSet<String>,
    tally: Tally,
    failed: u64,
}

/// Runs a resync: imports the chosen kinds, then prunes them when asked.
///
/// # Errors
/// When Clerk refuses the secret key (nothing is written then), a request still fails after
/// its retries, or the database fails. Batches written before the failure stay written; a
/// rerun converges.
pub async fn resync(
    database: &Database,
    api: &BackendApi,
    options: &Options,
    progress: &Progress,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let page_size = options.page_size.clamp(1, MAX_PAGE_SIZE);
    let mut imported = Vec::new();
    for kind in Kind::ALL {
        if options.kinds.contains(&kind) {
            imported.push(import(kind, database, api, options.mode(), page_size, progress).await?);
        }
    }
    let mut summaries = Vec::new();
    for import in imported.iter().rev() {
        let mut tally = import.tally;
        let mut failed = import.failed;
        let mut pruned = Vec::new();
        if options.prune {
            let result = prune::prune(import, database, api, options, page_size, progress)
                .await
                .with_context(|| format!("cannot prune {}", import.kind.label()))?;
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

/// Lists one kind and writes it, a page per transaction, while the next page is fetched.
async fn import(
    kind: Kind,
    database: &Database,
    api: &BackendApi,
    mode: WriteMode,
    page_size: u32,
    progress: &Progress,
) -> anyhow::Result<Imported> {
    let started = chrono::Utc::now().naive_utc();
    let mut lister = Lister::new(api, kind, page_size);
    let total = lister.count().await?;
    progress.start(kind, total);
    let (pages, mut queue) = tokio::sync::mpsc::channel::<Batch>(2);
    let writer = {
        let database = database.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Tally> {
            let mut conn = database.get()?;
            let mut tally = Tally::default();
            while let Some(batch) = queue.blocking_recv() {
                let counts = batch
                    .apply(&mut conn, mode)
                    .with_context(|| format!("cannot write a batch of {}", kind.label()))?;
                tally.merge(&counts);
                progress.advance(kind, batch.len());
            }
            Ok(tally)
        })
    };
    let mut failed = 0;
    let listed: anyhow::Result<()> = async {
        while let Some(page) = lister.next().await? {
            failed += page.failed;
            if total.is_none()
                && let Some(total) = lister.total
            {
                progress.set_total(kind, total);
            }
            if pages.send(page.batch).await.is_err() {
                break;
            }
        }
        Ok(())
    }
    .await;
    drop(pages);
    let tally = writer.await.context("the database writer stopped")??;
    listed?;
    progress.finish(kind);
    Ok(Imported {
        kind,
        started,
        seen: lister.seen,
        tally,
        failed,
    })
}
