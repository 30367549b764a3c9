//! `/admin/webhook-events`: the webhook log, one delivery with its payload, and the button
//! that replays a rejected one.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use clerk_sync_domain::{HANDLED_EVENT_TYPES, Outcome};
use clerk_sync_persistence::WriteMode;
use clerk_sync_persistence::admin::webhook_events::{WebhookEventFilter, WebhookEventListRow};
use clerk_sync_persistence::admin::{self, Direction};
use clerk_sync_persistence::replay::{ReplayEffect, replay_event};
use serde::{Deserialize, Serialize};

use super::list::{Column, Header, ListQuery, Pager, SortTable};
use super::memberships::options;
use super::page::{Layout, Section, html, pretty_json, timestamp};
use super::query::{PageQuery, lenient, read_form};
use super::{AdminError, Staff};
use crate::AppState;
use crate::db::run_db;

const PATH: &str = "/admin/webhook-events";

/// The webhook log's filters (its query string, with [`ListQuery`]'s order and page).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EventFilters {
    /// `q`: a Svix message id or a Clerk object id, exactly.
    #[serde(deserialize_with = "lenient::text")]
    q: Option<String>,
    /// `type`: an event type, exactly.
    #[serde(rename = "type", deserialize_with = "lenient::text")]
    event_type: Option<String>,
    /// `outcome`: an outcome's name.
    #[serde(deserialize_with = "lenient::text")]
    outcome: Option<String>,
}

impl EventFilters {
    fn filter(&self) -> WebhookEventFilter {
        WebhookEventFilter {
            search: self.q.clone(),
            event_type: self.event_type.clone(),
            outcome: self.outcome.clone(),
        }
    }

    fn is_filtered(&self) -> bool {
        self.q.is_some() || self.event_type.is_some() || self.outcome.is_some()
    }
}

/// The webhook log's columns: it sorts only by when entries were received.
const SORTS: SortTable<()> = SortTable {
    columns: &[
        Column::sorted("Received", "received", ()),
        Column::plain("Type"),
        Column::plain("Object"),
        Column::plain("Outcome"),
        Column::plain("Attempts"),
        Column::plain("Svix message id"),
    ],
    default: (),
    direction: Direction::Desc,
};

struct EventListRow {
    href: String,
    received_at: String,
    event_type: String,
    clerk_object_id: String,
    outcome: String,
    attempts: i32,
    svix_id: String,
}

impl From<WebhookEventListRow> for EventListRow {
    fn from(row: WebhookEventListRow) -> Self {
        Self {
            href: format!("{PATH}/{}", row.id),
            received_at: timestamp(row.received_at),
            event_type: row.event_type,
            clerk_object_id: row.clerk_object_id.unwrap_or_default(),
            outcome: row.outcome,
            attempts: row.attempts,
            svix_id: row.svix_id,
        }
    }
}

#[derive(Template)]
#[template(path = "webhook_events.html")]
struct EventsPage {
    layout: Layout,
    q: String,
    event_type: String,
    event_types: [&'static str; 9],
    outcome: String,
    outcomes: Vec<(String, bool)>,
    dir: String,
    filtered: bool,
    columns: Vec<Header>,
    rows: Vec<EventListRow>,
    pager: Pager,
}

/// `GET /admin/webhook-events`: the webhook log, newest first (`dir=asc`: oldest first),
/// filtered by `type` and `outcome`, or looked up by Svix message id or Clerk object id
/// (`q`, exact), 50 a `page`.
///
/// # Errors
/// The 401/403 pages without staff access; 503 when the database is down.
pub async fn list_webhook_events(
    staff: Staff,
    PageQuery(query): PageQuery<ListQuery<EventFilters>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let sorting = SORTS.sorting(&query);
    let (filter, page_request) = (query.filters.filter(), query.page_request());
    let page = run_db(&state.database, move |conn| {
        admin::webhook_events::list(conn, &filter, sorting.direction, page_request)
    })
    .await?;
    let filters = &query.filters;
    let view = EventsPage {
        layout: Layout::new("Webhook events", Section::WebhookEvents, &staff),
        q: filters.q.clone().unwrap_or_default(),
        event_type: filters.event_type.clone().unwrap_or_default(),
        event_types: HANDLED_EVENT_TYPES,
        outcome: filters.outcome.clone().unwrap_or_default(),
        outcomes: options(
            Outcome::ALL.iter().map(|o| o.as_str()).collect(),
            filters.outcome.as_deref(),
        ),
        dir: query.dir_text(),
        filtered: filters.is_filtered(),
        columns: SORTS.headers(&query, PATH, sorting),
        pager: Pager::new(&query, PATH, &page),
        rows: page.items.into_iter().map(EventListRow::from).collect(),
    };
    Ok(html(StatusCode::OK, &view))
}

#[derive(Template)]
#[template(path = "webhook_event.html")]
struct EventPage {
    layout: Layout,
    event_type: String,
    outcome: String,
    error: String,
    clerk_object_id: String,
    object_href: String,
    fields: Vec<(&'static str, String)>,
    payload: String,
    /// What the last replay did, when the page is shown after one.
    replay_notice: String,
    replay_notice_ok: bool,
    /// The replay form, for a rejected event whose payload is kept.
    can_replay: bool,
    replay_action: String,
    csrf_token: String,
}

/// Where the object an event names can be found in the mirror (a search by its id).
fn object_href(clerk_object_id: &str) -> String {
    let list = if clerk_object_id.starts_with("user_") {
        "/admin/users"
    } else if clerk_object_id.starts_with("org_") {
        "/admin/organizations"
    } else {
        return String::new();
    };
    let query = serde_urlencoded::to_string([("q", clerk_object_id)]).unwrap_or_default();
    format!("{list}?{query}")
}

/// `GET /admin/webhook-events/{id}`: one delivery: its type, object, outcome, error,
/// attempts and times, and its payload pretty-printed.
///
/// # Errors
/// The 401/403 pages without staff access; 404 for an unknown id; 503 when the database is
/// down.
pub async fn get_webhook_event(
    staff: Staff,
    PageQuery(query): PageQuery<EventPageQuery>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_id(&path)?;
    let event = run_db(&state.database, move |conn| {
        admin::webhook_events::find(conn, id)
    })
    .await?
    .ok_or(MISSING)?;
    let (replay_notice, replay_notice_ok) =
        replay_notice(query.replayed.as_deref(), &event.outcome);
    let can_replay = event.outcome == Outcome::Rejected.as_str() && event.payload.is_some();
    let clerk_object_id = event.clerk_object_id.unwrap_or_default();
    let view = EventPage {
        layout: Layout::new(
            format!("Webhook event {}", event.svix_id),
            Section::WebhookEvents,
            &staff,
        ),
        object_href: object_href(&clerk_object_id),
        fields: vec![
            ("Svix message id", event.svix_id),
            ("Event type", event.event_type.clone()),
            ("Clerk object id", clerk_object_id.clone()),
            ("Outcome", event.outcome.clone()),
            ("Deliveries seen", event.attempts.to_string()),
            ("First received", timestamp(event.received_at)),
            ("Last received", timestamp(event.last_received_at)),
        ],
        clerk_object_id,
        event_type: event.event_type,
        outcome: event.outcome,
        error: event.error.unwrap_or_default(),
        payload: event
            .payload
            .as_deref()
            .map(pretty_json)
            .unwrap_or_default(),
        replay_notice,
        replay_notice_ok,
        can_replay,
        replay_action: format!("{PATH}/{id}/replay"),
        csrf_token: staff.form_token(&state.admin_csrf_key),
    };
    Ok(html(StatusCode::OK, &view))
}

const MISSING: AdminError = AdminError::not_found("No webhook event has this id");

fn parse_id(raw: &str) -> Result<i64, AdminError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(MISSING)
}

/// The `replayed` query parameter the replay's redirect carries: what the replay did.
const REPLAYED: &str = "replayed";

/// The query string of an event's page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventPageQuery {
    /// [`REPLAYED`], after a replay.
    #[serde(deserialize_with = "lenient::text")]
    replayed: Option<String>,
}

/// The replay button's form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReplayForm {
    /// The page's CSRF token (the hidden field every admin form carries).
    #[serde(deserialize_with = "lenient::raw")]
    csrf_token: Option<String>,
}

/// The notice after a replay (`replayed` as the redirect set it, `outcome` the event's now),
/// and whether it is good news.
fn replay_notice(replayed: Option<&str>, outcome: &str) -> (String, bool) {
    match replayed {
        None => (String::new(), false),
        Some("not-rejected") => (
            format!("Not replayed: this delivery is {outcome}, not rejected (any more)."),
            true,
        ),
        Some("no-payload") => (
            "Not replayed: its payload is no longer kept.".to_owned(),
            false,
        ),
        Some(_) if outcome == Outcome::Rejected.as_str() => (
            "Replayed: it still cannot be applied; the error below is today's reason.".to_owned(),
            false,
        ),
        Some(_) => (format!("Replayed: the delivery is now {outcome}."), true),
    }
}

/// `POST /admin/webhook-events/{id}/replay`: processes a rejected delivery's kept payload
/// again, through the webhook's exactly-once path (as `clerk-sync events replay --id` does),
/// then answers 303 to the event's page, which shows what it became. Needs the page's CSRF
/// token; an event that is not rejected is left alone.
///
/// # Errors
/// The 401/403 pages without staff access; 403 without a valid CSRF token; 404 for an
/// unknown id; 503 when the database is down.
pub async fn replay_webhook_event(
    staff: Staff,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_id(&path)?;
    let form: ReplayForm = read_form(&body);
    staff.verify_form(&request, &state.admin_csrf_key, form.csrf_token.as_deref())?;
    let now = chrono::Utc::now().naive_utc();
    let replayed = run_db(&state.database, move |conn| {
        replay_event(conn, id, WriteMode::Commit, now)
    })
    .await?
    .ok_or(MISSING)?;
    let result = match &replayed.effect {
        ReplayEffect::Became(outcome) => outcome.as_str(),
        ReplayEffect::StillRejected(_) => Outcome::Rejected.as_str(),
        ReplayEffect::NotRejected => "not-rejected",
        ReplayEffect::NoPayload => "no-payload",
    };
    tracing::info!(
        webhook_event_id = id,
        svix_id = %replayed.svix_id,
        event_type = %replayed.event_type,
        before = %replayed.before,
        result,
        by_user_id = staff.user.id.0,
        "admin replayed a webhook event"
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{PATH}/{id}?{REPLAYED}={result}")))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_link_to_a_search_for_them() {
        assert_eq!(object_href("user_2Vp"), "/admin/users?q=user_2Vp");
        assert_eq!(object_href("org_1"), "/admin/organizations?q=org_1");
        assert_eq!(object_href("orgmem_1"), "");
    }

    #[test]
    fn the_notice_after_a_replay_says_what_it_became() {
        assert_eq!(replay_notice(None, "applied"), (String::new(), false));
        assert_eq!(
            replay_notice(Some("applied"), "applied"),
            ("Replayed: the delivery is now applied.".to_owned(), true)
        );
        assert!(!replay_notice(Some("rejected"), "rejected").1);
        assert!(
            replay_notice(Some("not-rejected"), "stale")
                .0
                .contains("stale")
        );
    }
}
