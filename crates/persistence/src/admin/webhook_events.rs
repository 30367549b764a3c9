//! The webhook log, as the admin pages list and show it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Db, Direction, Page, PageRequest, sorted_by_unique};
use crate::schema::webhook_events;
use crate::webhook_events::WebhookEventRow;
use crate::{DbConnection, StoreError};

/// Which log entries a listing shows.
#[derive(Clone, Debug, Default)]
pub struct WebhookEventFilter {
    /// A Svix message id or a Clerk object id, exactly.
    pub search: Option<String>,
    /// Only this event type (exact, e.g. `user.created`).
    pub event_type: Option<String>,
    /// Only this outcome (e.g. `rejected`).
    pub outcome: Option<String>,
}

/// A log entry without its payload, as a listing row.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_events)]
pub struct WebhookEventListRow {
    /// Local id.
    pub id: i64,
    /// Svix message id.
    pub svix_id: String,
    /// Event type.
    pub event_type: String,
    /// Clerk id of the object the event is about.
    pub clerk_object_id: Option<String>,
    /// What became of it.
    pub outcome: String,
    /// Deliveries of this message id seen.
    pub attempts: i32,
    /// First delivery.
    pub received_at: NaiveDateTime,
    /// Latest delivery.
    pub last_received_at: NaiveDateTime,
}

fn filtered(filter: &WebhookEventFilter) -> webhook_events::BoxedQuery<'static, Db> {
    let mut query = webhook_events::table.into_boxed();
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        query = query.filter(
            webhook_events::svix_id
                .eq(search.to_owned())
                .or(webhook_events::clerk_object_id.eq(search.to_owned())),
        );
    }
    if let Some(event_type) = filter.event_type.as_deref().filter(|t| !t.is_empty()) {
        query = query.filter(webhook_events::event_type.eq(event_type.to_owned()));
    }
    if let Some(outcome) = filter.outcome.as_deref().filter(|o| !o.is_empty()) {
        query = query.filter(webhook_events::outcome.eq(outcome.to_owned()));
    }
    query
}

/// A page of log entries matching `filter`, newest first (`Desc`) or oldest first (`Asc`),
/// by the order they were first received.
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn list(
    conn: &mut DbConnection,
    filter: &WebhookEventFilter,
    direction: Direction,
    page: PageRequest,
) -> Result<Page<WebhookEventListRow>, StoreError> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let page = page.clamped(total);
    let query = sorted_by_unique(filtered(filter), webhook_events::id, direction);
    let items = query
        .select(WebhookEventListRow::as_select())
        .limit(page.limit())
        .offset(page.offset())
        .load(conn)?;
    Ok(Page {
        items,
        total,
        page: page.page,
        per_page: page.per_page,
    })
}

/// The log entry with a local id, payload included.
///
/// # Errors
/// [`StoreError`] when the query fails.
pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<WebhookEventRow>, StoreError> {
    Ok(webhook_events::table
        .find(id)
        .select(WebhookEventRow::as_select())
        .first(conn)
        .optional()?)
}

/// How many entries the log holds, and how many of them were rejected.
///
/// # Errors
/// [`StoreError`] when a query fails.
pub fn counts(conn: &mut DbConnection) -> Result<(i64, i64), StoreError> {
    let total = webhook_events::table.count().get_result(conn)?;
    let rejected = webhook_events::table
        .filter(webhook_events::outcome.eq("rejected"))
        .count()
        .get_result(conn)?;
    Ok((total, rejected))
}
