//! The import of one kind: listed page by page while the pages already fetched are written, one
//! transaction per page.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use clerk_sync_backend_api::{BackendApi, Listing, ObjectKind};
use clerk_sync_persistence::resync::Tally;
use clerk_sync_persistence::{Database, WriteMode};

use crate::batch::Batch;
use crate::{Progress, ResyncError};

/// What the import of one kind left for the prune.
pub(crate) struct Imported {
    pub(crate) kind: ObjectKind,
    /// When the listing began: rows written since are never pruned.
    pub(crate) started: NaiveDateTime,
    /// The Clerk ids listed.
    pub(crate) seen: HashSet<String>,
    pub(crate) tally: Tally,
    pub(crate) failed: u64,
}

/// Lists one kind and writes it, a page per transaction, while the next page is fetched.
pub(crate) async fn import(
    kind: ObjectKind,
    database: &Database,
    api: &BackendApi,
    mode: WriteMode,
    page_size: u32,
    progress: &Progress,
) -> Result<Imported, ResyncError> {
    let started = chrono::Utc::now().naive_utc();
    let mut listing = Listing::new(api, kind, page_size);
    let total = listing.count().await?;
    progress.start(kind, total);
    let (pages, queue) = tokio::sync::mpsc::channel::<Batch>(2);
    let writer = spawn_writer(kind, database, mode, progress, queue);
    let mut failed = 0;
    let listed: Result<(), ResyncError> = async {
        while let Some(page) = listing.next_page().await? {
            let (batch, unparsed) = Batch::parse(kind, &page.objects);
            failed += page.without_id + unparsed;
            if total.is_none()
                && let Some(total) = listing.total()
            {
                progress.set_total(kind, total);
            }
            if pages.send(batch).await.is_err() {
                break;
            }
        }
        Ok(())
    }
    .await;
    drop(pages);
    let tally = writer.await.map_err(|source| ResyncError::DatabaseTask {
        role: "writer",
        source,
    })??;
    listed?;
    progress.finish(kind);
    Ok(Imported {
        kind,
        started,
        seen: listing.into_seen(),
        tally,
        failed,
    })
}

/// The task writing the batches it receives, each in its own transaction, until the queue
/// closes or a write fails.
fn spawn_writer(
    kind: ObjectKind,
    database: &Database,
    mode: WriteMode,
    progress: &Progress,
    mut queue: tokio::sync::mpsc::Receiver<Batch>,
) -> tokio::task::JoinHandle<Result<Tally, ResyncError>> {
    let database = database.clone();
    let progress = progress.clone();
    tokio::task::spawn_blocking(move || -> Result<Tally, ResyncError> {
        let mut conn = database.get()?;
        let mut tally = Tally::default();
        while let Some(batch) = queue.blocking_recv() {
            let counts = batch
                .apply(&mut conn, mode)
                .map_err(|source| ResyncError::Write {
                    kind: kind.label(),
                    source,
                })?;
            tally.merge(&counts);
            progress.advance(kind, batch.len());
        }
        Ok(tally)
    })
}
