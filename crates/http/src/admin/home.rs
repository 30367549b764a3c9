//! `GET /admin`: the overview, with counts and a user search box.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use clerk_sync_persistence::admin;

use super::page::{Layout, Section, count, html};
use super::{AdminError, Staff};
use crate::AppState;
use crate::db::run_db;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    layout: Layout,
    users: String,
    staff: String,
    organizations: String,
    memberships: String,
    events: String,
    rejected: String,
    rejected_any: bool,
    rejected_one: bool,
}

/// `GET /admin`: how many users, organizations, memberships and webhook events the mirror
/// holds, with links to each list.
///
/// # Errors
/// The 401/403 pages without staff access; 503 when the database is down.
pub async fn get_dashboard(
    staff: Staff,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let (users, organizations, memberships, (events, rejected)) = run_db(&state.database, |conn| {
        Ok((
            admin::users::counts(conn)?,
            admin::organizations::count(conn)?,
            admin::memberships::count(conn)?,
            admin::webhook_events::counts(conn)?,
        ))
    })
    .await?;
    let page = Dashboard {
        layout: Layout::new("Overview", Section::Home, &staff),
        users: count(users.total),
        staff: count(users.staff),
        organizations: count(organizations),
        memberships: count(memberships),
        events: count(events),
        rejected: count(rejected),
        rejected_any: rejected > 0,
        rejected_one: rejected == 1,
    };
    Ok(html(StatusCode::OK, &page))
}
