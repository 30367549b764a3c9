//! `/admin/memberships`: who belongs to which organization, with which role.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use clerk_sync_domain::{OrganizationId, UserId};
use clerk_sync_persistence::admin::memberships::{
    MembershipFilter, MembershipListRow, MembershipSort,
};
use clerk_sync_persistence::admin::{self, Direction};

use super::list::{Column, Pager, Params, columns};
use super::page::{Layout, Section, html, timestamp};
use super::{AdminError, Staff};
use crate::AppState;
use crate::db::run_db;

const PATH: &str = "/admin/memberships";

/// A membership as the pages show it (the list, and inline on users and organizations).
pub struct MembershipView {
    pub clerk_id: String,
    pub role: String,
    pub joined: String,
    pub user_href: String,
    pub user_label: String,
    pub user_name: String,
    pub user_clerk_id: String,
    pub organization_href: String,
    pub organization_name: String,
    pub organization_clerk_id: String,
}

/// `<option>`s: each value, and whether it is the selected one.
pub fn options<T: Into<String>>(values: Vec<T>, selected: Option<&str>) -> Vec<(String, bool)> {
    values
        .into_iter()
        .map(|value| {
            let value = value.into();
            let is_selected = selected == Some(value.as_str());
            (value, is_selected)
        })
        .collect()
}

impl From<MembershipListRow> for MembershipView {
    fn from(row: MembershipListRow) -> Self {
        let name = [
            row.user_first_name.as_deref(),
            row.user_last_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        Self {
            user_label: row
                .user_email
                .or_else(|| row.user_clerk_id.clone())
                .unwrap_or_else(|| format!("User #{}", row.user_id)),
            user_name: name,
            user_href: format!("/admin/users/{}", row.user_id),
            user_clerk_id: row.user_clerk_id.unwrap_or_default(),
            organization_href: format!("/admin/organizations/{}", row.organization_id),
            organization_name: row.organization_name,
            organization_clerk_id: row.organization_clerk_id,
            clerk_id: row.clerk_id,
            role: row.role,
            joined: timestamp(row.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "memberships.html")]
struct MembershipsPage {
    layout: Layout,
    q: String,
    role: String,
    roles: Vec<(String, bool)>,
    user: String,
    organization: String,
    sort: String,
    dir: String,
    filtered: bool,
    scope_label: String,
    unscoped_href: String,
    columns: Vec<Column>,
    rows: Vec<MembershipView>,
    pager: Pager,
}

/// `GET /admin/memberships`: memberships, searched by the start of the member's email or the
/// organization's name (`q`), filtered by `role`, `user` and `organization` (local ids),
/// sorted by `sort` (`joined`, `role`, `user`, `organization`) in `dir` order, 50 a `page`.
///
/// # Errors
/// The 401/403 pages without staff access; 503 when the database is down.
pub async fn list_memberships(
    staff: Staff,
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let params = Params::of(&request);
    let (sorting, sort) = params.sort(
        ("joined", MembershipSort::Joined),
        &[
            ("role", MembershipSort::Role),
            ("user", MembershipSort::User),
            ("organization", MembershipSort::Organization),
        ],
        Direction::Desc,
    );
    let filter = MembershipFilter {
        search: params.get("q").map(str::to_owned),
        role: params.get("role").map(str::to_owned),
        user: params.id("user").map(UserId),
        organization: params.id("organization").map(OrganizationId),
    };
    let (page_request, direction, query) = (params.page(), sorting.direction(), filter.clone());
    let (page, roles, scope_label) = run_db(&state.database, move |conn| {
        let page = admin::memberships::list(conn, &query, sort, direction, page_request)?;
        let roles = admin::memberships::roles(conn)?;
        let scope = match (query.user, query.organization) {
            (Some(user), _) => admin::users::find(conn, user)?.map(|u| {
                format!(
                    "Memberships of {}",
                    u.email.or(u.clerk_id).unwrap_or_default()
                )
            }),
            (None, Some(org)) => {
                admin::organizations::find(conn, org)?.map(|o| format!("Members of {}", o.name))
            }
            (None, None) => None,
        };
        Ok((page, roles, scope.unwrap_or_default()))
    })
    .await?;
    let columns = columns(
        &params,
        PATH,
        sorting,
        &[
            ("User", "user"),
            ("Organization", "organization"),
            ("Role", "role"),
            ("Membership id", ""),
            ("Joined", "joined"),
        ],
    );
    let pager = Pager::new(&params, PATH, &page);
    let view = MembershipsPage {
        layout: Layout::new("Memberships", Section::Memberships, &staff),
        q: params.text("q"),
        role: params.text("role"),
        roles: options(roles, filter.role.as_deref()),
        user: filter.user.map(|id| id.0.to_string()).unwrap_or_default(),
        organization: filter
            .organization
            .map(|id| id.0.to_string())
            .unwrap_or_default(),
        sort: params.text("sort"),
        dir: params.text("dir"),
        filtered: filter.search.is_some()
            || filter.role.is_some()
            || filter.user.is_some()
            || filter.organization.is_some(),
        scope_label,
        unscoped_href: params.href(PATH, &[("user", None), ("organization", None)]),
        columns,
        rows: page.items.into_iter().map(MembershipView::from).collect(),
        pager,
    };
    Ok(html(StatusCode::OK, &view))
}
