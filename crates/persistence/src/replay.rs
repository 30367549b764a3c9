//! Replaying deliveries the webhook log kept as `rejected`, once an upgrade (or a fix of the
//! data) made them applicable: `clerk-sync events replay` and the admin event page's button.
//!
//! A replay is a delivery of the kept payload under its Svix message id, through the same
//! exactly-once path as the webhook (`process_delivery`, which processes a rejected message id
//! again), so its effect and its log row are those the webhook would have produced: the
//! outcome says what it became, the attempts count it. A payload that still cannot be parsed
//! stays rejected, with today's reason.

use chrono::NaiveDateTime;
use clerk_sync_domain::{DomainError, EventEnvelope, Outcome};
use diesel::prelude::*;

use crate::schema::webhook_events;
use crate::sync::process_delivery_in;
use crate::webhook_events::{Delivery, WebhookEventRow};
use crate::{DbConnection, StoreError, WriteMode, record_rejection};

/// Rows read from the log at a time while replaying every rejected delivery.
const BATCH: i64 = 50;

/// Which logged deliveries to replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplaySelection {
    /// Every delivery kept as rejected.
    AllRejected,
    /// The rejected deliveries of one event type, as the log records it (`unknown` for a body
    /// without a readable type).
    EventType(String),
    /// These Svix message ids; those not rejected (any more) are left alone.
    SvixIds(Vec<String>),
}

/// What replaying a delivery did, or in a dry run would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayEffect {
    /// Processed again: what it became (`applied`, `stale`, `tombstoned`, `ignored`, or
    /// `duplicate` when a redelivery processed it meanwhile).
    Became(Outcome),
    /// Processed again and still cannot be applied, for this reason (a field's path, never a
    /// value).
    StillRejected(String),
    /// Not rejected (any more): left alone, nothing written.
    NotRejected,
    /// The log no longer holds its payload: nothing to replay.
    NoPayload,
}

impl ReplayEffect {
    /// Whether the delivery is no longer rejected (or never was).
    pub fn is_resolved(&self) -> bool {
        matches!(self, Self::Became(_) | Self::NotRejected)
    }
}

/// One replayed log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replayed {
    /// The log entry's local id.
    pub id: i64,
    /// Its Svix message id.
    pub svix_id: String,
    /// Its event type, as parsed now (or as logged, when it still cannot be read).
    pub event_type: String,
    /// Its outcome before the replay.
    pub before: Outcome,
    /// What the replay did.
    pub effect: ReplayEffect,
}

/// Replays the deliveries `selection` names, oldest first, each in a transaction of its own,
/// and hands each result to `each` as it is done. With [`WriteMode::DryRun`] every transaction
/// is rolled back: the results say what a real replay would do now, and nothing is written.
///
/// Returns the Svix message ids of [`ReplaySelection::SvixIds`] that the log does not hold
/// (never received, or purged).
///
/// # Errors
/// [`StoreError`] when the database fails; the deliveries replayed before stay replayed.
pub fn replay(
    conn: &mut DbConnection,
    selection: &ReplaySelection,
    mode: WriteMode,
    now: NaiveDateTime,
    mut each: impl FnMut(&Replayed),
) -> Result<Vec<String>, StoreError> {
    let event_type = match selection {
        ReplaySelection::SvixIds(ids) => {
            let mut unknown = Vec::new();
            for svix_id in ids {
                match crate::webhook_events::find(conn, svix_id)? {
                    Some(row) => each(&replay_row(conn, row, mode, now)?),
                    None => unknown.push(svix_id.clone()),
                }
            }
            return Ok(unknown);
        }
        ReplaySelection::AllRejected => None,
        ReplaySelection::EventType(event_type) => Some(event_type.as_str()),
    };
    let mut after_id = 0;
    loop {
        let mut query = webhook_events::table
            .filter(webhook_events::outcome.eq(Outcome::Rejected.as_str()))
            .filter(webhook_events::id.gt(after_id))
            .into_boxed();
        if let Some(event_type) = event_type {
            query = query.filter(webhook_events::event_type.eq(event_type));
        }
        let rows: Vec<WebhookEventRow> = query
            .order(webhook_events::id.asc())
            .limit(BATCH)
            .select(WebhookEventRow::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else {
            return Ok(Vec::new());
        };
        after_id = last.id;
        for row in rows {
            each(&replay_row(conn, row, mode, now)?);
        }
    }
}

/// Replays the log entry with local id `id` (the admin event page's button); `None` when
/// there is none.
///
/// # Errors
/// [`StoreError`] when the database fails.
pub fn replay_event(
    conn: &mut DbConnection,
    id: i64,
    mode: WriteMode,
    now: NaiveDateTime,
) -> Result<Option<Replayed>, StoreError> {
    let row = webhook_events::table
        .find(id)
        .select(WebhookEventRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| replay_row(conn, row, mode, now)).transpose()
}

fn replay_row(
    conn: &mut DbConnection,
    row: WebhookEventRow,
    mode: WriteMode,
    now: NaiveDateTime,
) -> Result<Replayed, StoreError> {
    let before: Outcome = row.outcome.parse()?;
    let mut replayed = Replayed {
        id: row.id,
        svix_id: row.svix_id,
        event_type: row.event_type,
        before,
        effect: ReplayEffect::NotRejected,
    };
    if before != Outcome::Rejected {
        return Ok(replayed);
    }
    let Some(payload) = row.payload else {
        replayed.effect = ReplayEffect::NoPayload;
        return Ok(replayed);
    };
    match EventEnvelope::parse(payload.as_bytes()) {
        Ok(envelope) => {
            let delivery = Delivery {
                svix_id: &replayed.svix_id,
                event_type: &envelope.event_type,
                clerk_object_id: envelope.event.object_id(),
                payload: &payload,
                received_at: now,
            };
            let outcome = process_delivery_in(mode, conn, &delivery, &envelope)?;
            replayed.effect = ReplayEffect::Became(outcome);
            replayed.event_type = envelope.event_type;
        }
        Err(err) => {
            // The same type and reason the webhook records for a body it cannot apply.
            let event_type = match &err {
                DomainError::MalformedEvent {
                    event_type: Some(event_type),
                    ..
                } => event_type.clone(),
                _ => "unknown".to_owned(),
            };
            let reason = err.to_string();
            let delivery = Delivery {
                svix_id: &replayed.svix_id,
                event_type: &event_type,
                clerk_object_id: None,
                payload: &payload,
                received_at: now,
            };
            let outcome = match mode {
                WriteMode::Commit => record_rejection(conn, &delivery, &reason)?,
                WriteMode::DryRun => Outcome::Rejected,
            };
            replayed.effect = match outcome {
                Outcome::Rejected => ReplayEffect::StillRejected(reason),
                other => ReplayEffect::Became(other),
            };
            replayed.event_type = event_type;
        }
    }
    Ok(replayed)
}
