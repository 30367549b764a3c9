//! The `webhook_events` table: one row per Svix message id, with what became of it.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use clerk_sync_domain::Outcome;
use diesel::prelude::*;

use crate::schema::webhook_events;
use crate::{DbConnection, StoreError};

/// A verified delivery, as the webhook log records it.
#[derive(Clone, Copy, Debug)]
pub struct Delivery<'a> {
    /// The `svix-id` header: the same for every retry of one message.
    pub svix_id: &'a str,
    /// The event type, or `unknown` when the body has none.
    pub event_type: &'a str,
    /// The Clerk id of the object the event is about, when known.
    pub clerk_object_id: Option<&'a str>,
    /// The body exactly as received.
    pub payload: &'a str,
    /// When it arrived.
    pub received_at: NaiveDateTime,
}

/// A full `webhook_events` row.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_events)]
pub struct WebhookEventRow {
    /// Local id.
    pub id: i64,
    /// Svix message id.
    pub svix_id: String,
    /// Event type.
    pub event_type: String,
    /// Clerk id of the object the event is about.
    pub clerk_object_id: Option<String>,
    /// What became of it (an [`Outcome`] name).
    pub outcome: String,
    /// Why it was rejected.
    pub error: Option<String>,
    /// The body as received, until the retention period purges it.
    pub payload: Option<String>,
    /// Deliveries of this message id seen.
    pub attempts: i32,
    /// First delivery.
    pub received_at: NaiveDateTime,
    /// Latest delivery.
    pub last_received_at: NaiveDateTime,
}

/// The recorded outcome of a message id, if it was seen before.
pub(crate) fn recorded_outcome(
    conn: &mut DbConnection,
    svix_id: &str,
) -> Result<Option<Outcome>, StoreError> {
    let name: Option<String> = webhook_events::table
        .filter(webhook_events::svix_id.eq(svix_id))
        .select(webhook_events::outcome)
        .first(conn)
        .optional()?;
    Ok(name.map(|name| name.parse()).transpose()?)
}

/// The recorded outcomes of those of `svix_ids` seen before, in one query.
pub(crate) fn recorded_outcomes(
    conn: &mut DbConnection,
    svix_ids: &[&str],
) -> Result<HashMap<String, Outcome>, StoreError> {
    if let [svix_id] = svix_ids {
        // One id: the statement every delivery alone sends, prepared once per connection.
        let found = recorded_outcome(conn, svix_id)?;
        return Ok(found
            .map(|outcome| ((*svix_id).to_owned(), outcome))
            .into_iter()
            .collect());
    }
    let rows: Vec<(String, String)> = webhook_events::table
        .filter(webhook_events::svix_id.eq_any(svix_ids))
        .select((webhook_events::svix_id, webhook_events::outcome))
        .load(conn)?;
    rows.into_iter()
        .map(|(svix_id, name)| Ok((svix_id, name.parse()?)))
        .collect()
}

/// A message id's first entry in the log.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NewEntry<'a> {
    pub delivery: Delivery<'a>,
    pub outcome: Outcome,
    pub error: Option<&'a str>,
}

/// Logs message ids not logged before, in one INSERT.
pub(crate) fn insert_entries<'a>(
    conn: &mut DbConnection,
    entries: &[NewEntry<'a>],
) -> Result<(), StoreError> {
    let row = |entry: &NewEntry<'a>| {
        let delivery = entry.delivery;
        (
            webhook_events::svix_id.eq(delivery.svix_id),
            webhook_events::event_type.eq(delivery.event_type),
            webhook_events::clerk_object_id.eq(delivery.clerk_object_id),
            webhook_events::outcome.eq(entry.outcome.as_str()),
            webhook_events::error.eq(entry.error),
            webhook_events::payload.eq(delivery.payload),
            webhook_events::attempts.eq(1),
            webhook_events::received_at.eq(delivery.received_at),
            webhook_events::last_received_at.eq(delivery.received_at),
        )
    };
    if let [entry] = entries {
        // One row: a statement diesel prepares once per connection (a multi-row INSERT is
        // parsed and planned anew each time).
        diesel::insert_into(webhook_events::table)
            .values(row(entry))
            .execute(conn)?;
        return Ok(());
    }
    let rows: Vec<_> = entries.iter().map(row).collect();
    // Per backend: diesel's MultiConnection has no multi-row INSERT of its own.
    let statement = diesel::insert_into(webhook_events::table).values(&rows);
    match conn {
        DbConnection::Postgres(pg) => statement.execute(pg)?,
        DbConnection::Sqlite(sqlite) => statement.execute(sqlite)?,
    };
    Ok(())
}

/// Records a new outcome for a message id that was rejected before.
pub(crate) fn record_retry(
    conn: &mut DbConnection,
    delivery: &Delivery<'_>,
    outcome: Outcome,
    error: Option<&str>,
) -> Result<(), StoreError> {
    diesel::update(webhook_events::table.filter(webhook_events::svix_id.eq(delivery.svix_id)))
        .set((
            webhook_events::event_type.eq(delivery.event_type),
            webhook_events::clerk_object_id.eq(delivery.clerk_object_id),
            webhook_events::outcome.eq(outcome.as_str()),
            webhook_events::error.eq(error),
            webhook_events::payload.eq(delivery.payload),
            webhook_events::attempts.eq(webhook_events::attempts + 1),
            webhook_events::last_received_at.eq(delivery.received_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Counts one more delivery of a message id that was already processed.
pub(crate) fn record_repeat(
    conn: &mut DbConnection,
    delivery: &Delivery<'_>,
) -> Result<(), StoreError> {
    diesel::update(webhook_events::table.filter(webhook_events::svix_id.eq(delivery.svix_id)))
        .set((
            webhook_events::attempts.eq(webhook_events::attempts + 1),
            webhook_events::last_received_at.eq(delivery.received_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The log entry of a message id.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn find(conn: &mut DbConnection, svix_id: &str) -> Result<Option<WebhookEventRow>, StoreError> {
    Ok(webhook_events::table
        .filter(webhook_events::svix_id.eq(svix_id))
        .select(WebhookEventRow::as_select())
        .first(conn)
        .optional()?)
}

/// Deletes the log entries first received before `cutoff`, returning how many went.
///
/// # Errors
/// [`StoreError`] when the delete fails.
pub fn purge_received_before(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(webhook_events::table.filter(webhook_events::received_at.lt(cutoff)))
            .execute(conn)?,
    )
}
