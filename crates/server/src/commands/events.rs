//! The webhook log's retention: `clerk-sync events purge --older-than 30d`, and the daily purge
//! the server runs itself.

use std::time::Duration;

use anyhow::{Context, bail};
use clerk_sync_persistence::{Database, webhook_events};

/// The shortest retention accepted: longer than the sender's retry schedule (about 28 hours),
/// because the log entry of a message id is what makes its retry a duplicate.
pub const MINIMUM_RETENTION: Duration = Duration::from_secs(3 * 86_400);

/// Deletes webhook log entries first received more than `older_than` ago.
///
/// # Errors
/// When `older_than` is shorter than [`MINIMUM_RETENTION`], or the database fails.
pub fn purge(database: &Database, older_than: Duration) -> anyhow::Result<usize> {
    if older_than < MINIMUM_RETENTION {
        bail!(
            "refusing to purge entries younger than 3 days: Svix retries a delivery for about a day, and a purged entry would let a retry apply twice"
        );
    }
    let age = chrono::Duration::from_std(older_than).context("the retention is too long")?;
    let cutoff = chrono::Utc::now().naive_utc() - age;
    let mut conn = database.get()?;
    Ok(webhook_events::purge_received_before(&mut conn, cutoff)?)
}

/// Runs [`purge`] once a day, starting a minute after start-up, for as long as the server runs.
/// Several replicas may all do it: the delete is idempotent.
pub fn spawn_daily_purge(database: Database, retention_days: u64) {
    if retention_days == 0 {
        return;
    }
    let retention =
        Duration::from_secs(retention_days.saturating_mul(86_400)).max(MINIMUM_RETENTION);
    actix_web::rt::spawn(async move {
        let day = Duration::from_secs(86_400);
        let mut ticks = actix_web::rt::time::interval_at(
            actix_web::rt::time::Instant::now() + Duration::from_secs(60),
            day,
        );
        loop {
            ticks.tick().await;
            let database = database.clone();
            match actix_web::web::block(move || purge(&database, retention)).await {
                Ok(Ok(purged)) => tracing::info!(purged, retention_days, "webhook log purged"),
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "webhook log purge failed; retrying tomorrow")
                }
                Err(err) => tracing::warn!(error = %err, "webhook log purge could not run"),
            }
        }
    });
}
