//! The webhook log: its retention (`clerk-sync events purge --older-than 30d`, and the daily
//! purge the server runs itself), and `clerk-sync events replay`, which processes deliveries
//! kept as rejected again.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use clerk_sync_persistence::replay::{self, ReplayEffect, ReplaySelection, Replayed};
use clerk_sync_persistence::{Database, DbConnection, WriteMode, webhook_events};

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
                    tracing::warn!(error = %format_args!("{err:#}"), "webhook log purge failed; retrying tomorrow")
                }
                Err(err) => tracing::warn!(error = %err, "webhook log purge could not run"),
            }
        }
    });
}

/// Replays the deliveries `selection` names (see [`replay::replay`]), writing a line per
/// delivery to `out` (Svix id, type, old → new outcome; never payload content) and a summary.
///
/// # Errors
/// When some deliveries stay rejected, some Svix ids are not in the log, or the database
/// fails (the deliveries replayed before stay replayed); the message says which and what to do.
pub fn replay(
    conn: &mut DbConnection,
    selection: &ReplaySelection,
    mode: WriteMode,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().naive_utc();
    let mut tally: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut written = Ok(());
    let unknown = replay::replay(conn, selection, mode, now, |replayed| {
        *tally.entry(tally_key(&replayed.effect)).or_default() += 1;
        if written.is_ok() {
            written = writeln!(out, "{}", replay_line(replayed, mode));
        }
    })
    .context("replaying stopped: the database failed (deliveries replayed before it stay replayed; run the command again)")?;
    written.context("cannot write the report")?;
    writeln!(out, "{}", summary(&tally, mode)).context("cannot write the report")?;
    let still_rejected = tally.get("still rejected").copied().unwrap_or(0)
        + tally.get("no payload kept").copied().unwrap_or(0);
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(format!(
            "not in the webhook log (never received, or purged): {}",
            unknown.join(", ")
        ));
    }
    if still_rejected > 0 {
        let (what, verb) = match (still_rejected, mode) {
            (1, WriteMode::DryRun) => ("1 delivery", "would stay"),
            (1, WriteMode::Commit) => ("1 delivery", "stays"),
            (_, WriteMode::DryRun) => ("deliveries", "would stay"),
            (_, WriteMode::Commit) => ("deliveries", "stay"),
        };
        let count = if still_rejected == 1 {
            String::new()
        } else {
            format!("{still_rejected} ")
        };
        problems.push(format!(
            "{count}{what} {verb} rejected: the lines above say why; fix the cause (a newer clerk-sync, or the object in Clerk) and replay again"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        bail!("{}", problems.join("; "))
    }
}

fn tally_key(effect: &ReplayEffect) -> &'static str {
    match effect {
        ReplayEffect::Became(outcome) => outcome.as_str(),
        ReplayEffect::StillRejected(_) => "still rejected",
        ReplayEffect::NotRejected => "not rejected",
        ReplayEffect::NoPayload => "no payload kept",
    }
}

fn replay_line(replayed: &Replayed, mode: WriteMode) -> String {
    let arrow = if mode == WriteMode::DryRun {
        "→ would be"
    } else {
        "→"
    };
    let what = match &replayed.effect {
        ReplayEffect::Became(outcome) => format!("{} {arrow} {outcome}", replayed.before),
        ReplayEffect::StillRejected(reason) if mode == WriteMode::DryRun => {
            format!("{} → would stay rejected: {reason}", replayed.before)
        }
        ReplayEffect::StillRejected(reason) => {
            format!("{} → rejected: {reason}", replayed.before)
        }
        ReplayEffect::NotRejected => format!("{}: not rejected, left alone", replayed.before),
        ReplayEffect::NoPayload => format!(
            "{}: its payload is no longer kept, nothing to replay",
            replayed.before
        ),
    };
    format!("{}  {}  {what}", replayed.svix_id, replayed.event_type)
}

fn summary(tally: &BTreeMap<&'static str, usize>, mode: WriteMode) -> String {
    let total: usize = tally.values().sum();
    if total == 0 {
        return "no rejected deliveries to replay".to_owned();
    }
    let counts = tally
        .iter()
        .map(|(what, count)| format!("{count} {what}"))
        .collect::<Vec<_>>()
        .join(", ");
    match mode {
        WriteMode::Commit => format!("replayed {total}: {counts}"),
        WriteMode::DryRun => {
            format!("dry run, nothing written: of {total}, {counts} (what a replay would do now)")
        }
    }
}
