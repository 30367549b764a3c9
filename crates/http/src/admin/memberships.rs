//! `/admin/memberships`: who belongs to which organization, with which role.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use clerk_sync_domain::{OrganizationId, UserId};
use clerk_sync_persistence::admin::memberships::{
    MembershipFilter, MembershipListRow, MembershipSort,
};
use clerk_sync_persistence::admin::{self, Direction};
use clerk_sync_persistence::{DbConnection, StoreError};
use serde::{Deserialize, Serialize};

use super::list::{Column, Header, ListQuery, Pager, SortTable};
use super::page::{JsonField, Layout, Section, html, timestamp};
use super::query::{PageQuery, lenient};
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
    /// The permission keys, comma-separated.
    pub permissions: String,
    /// The metadata objects that are not empty, pretty-printed.
    pub metadata: Vec<JsonField>,
}

/// A JSON list of permission keys, as the list shows it: `org:sys_profile:read, …`; text
/// that is not such a list as it is.
fn permission_list(json: &str) -> String {
    serde_json::from_str::<Vec<String>>(json)
        .map_or_else(|_| json.to_owned(), |keys| keys.join(", "))
}

/// The metadata objects worth showing: those that hold something.
fn metadata(fields: [(&'static str, &str); 2]) -> Vec<JsonField> {
    fields
        .into_iter()
        .filter(|(_, json)| {
            serde_json::from_str::<serde_json::Value>(json)
                .map_or(true, |value| value != serde_json::json!({}))
        })
        .map(|(label, json)| JsonField::new(label, json))
        .collect()
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
        let metadata = metadata([
            ("Public metadata", &row.public_metadata.0),
            ("Private metadata", &row.private_metadata.0),
        ]);
        Self {
            permissions: permission_list(&row.permissions.0),
            metadata,
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

/// The membership list's filters (its query string, with [`ListQuery`]'s order and page).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct MembershipFilters {
    /// `q`: the start of the member's email or of the organization's name.
    #[serde(deserialize_with = "lenient::text")]
    q: Option<String>,
    /// `role`: a role key, exactly.
    #[serde(deserialize_with = "lenient::text")]
    role: Option<String>,
    /// `user`: a user's local id.
    #[serde(deserialize_with = "lenient::id")]
    user: Option<i64>,
    /// `organization`: an organization's local id.
    #[serde(deserialize_with = "lenient::id")]
    organization: Option<i64>,
}

impl MembershipFilters {
    fn filter(&self) -> MembershipFilter {
        MembershipFilter {
            search: self.q.clone(),
            role: self.role.clone(),
            user: self.user.map(UserId),
            organization: self.organization.map(OrganizationId),
        }
    }

    fn is_filtered(&self) -> bool {
        self.q.is_some()
            || self.role.is_some()
            || self.user.is_some()
            || self.organization.is_some()
    }
}

/// The membership list's columns and orders.
const SORTS: SortTable<MembershipSort> = SortTable {
    columns: &[
        Column::sorted("User", "user", MembershipSort::User),
        Column::sorted("Organization", "organization", MembershipSort::Organization),
        Column::sorted("Role", "role", MembershipSort::Role),
        Column::plain("Permissions and metadata"),
        Column::plain("Membership id"),
        Column::sorted("Joined", "joined", MembershipSort::Joined),
    ],
    default: MembershipSort::Joined,
    direction: Direction::Desc,
};

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
    columns: Vec<Header>,
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
    PageQuery(query): PageQuery<ListQuery<MembershipFilters>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let sorting = SORTS.sorting(&query);
    let (filter, page_request) = (query.filters.filter(), query.page_request());
    let (page, roles, scope_label) = run_db(&state.database, move |conn| {
        let page =
            admin::memberships::list(conn, &filter, sorting.sort, sorting.direction, page_request)?;
        let roles = admin::memberships::roles(conn)?;
        Ok((page, roles, scope_label(conn, &filter)?))
    })
    .await?;
    let filters = &query.filters;
    let view = MembershipsPage {
        layout: Layout::new("Memberships", Section::Memberships, &staff),
        q: filters.q.clone().unwrap_or_default(),
        role: filters.role.clone().unwrap_or_default(),
        roles: options(roles, filters.role.as_deref()),
        user: filters.user.map(|id| id.to_string()).unwrap_or_default(),
        organization: filters
            .organization
            .map(|id| id.to_string())
            .unwrap_or_default(),
        sort: query.sort.clone().unwrap_or_default(),
        dir: query.dir_text(),
        filtered: filters.is_filtered(),
        scope_label,
        unscoped_href: query.link(PATH, |query| {
            query.filters.user = None;
            query.filters.organization = None;
        }),
        columns: SORTS.headers(&query, PATH, sorting),
        pager: Pager::new(&query, PATH, &page),
        rows: page.items.into_iter().map(MembershipView::from).collect(),
    };
    Ok(html(StatusCode::OK, &view))
}

/// Whose memberships a list scoped to a user or an organization shows, in words; empty for
/// an unscoped list or an id nobody has.
fn scope_label(conn: &mut DbConnection, filter: &MembershipFilter) -> Result<String, StoreError> {
    let label = match (filter.user, filter.organization) {
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
    Ok(label.unwrap_or_default())
}
