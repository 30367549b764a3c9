//! `/admin/organizations`: the organization list, and an organization with its members.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use clerk_sync_domain::OrganizationId;
use clerk_sync_persistence::admin::memberships::{MembershipFilter, MembershipSort};
use clerk_sync_persistence::admin::organizations::OrganizationSort;
use clerk_sync_persistence::admin::{self, Direction, PageRequest};
use serde::{Deserialize, Serialize};

use super::list::{Column, Header, ListQuery, Pager, SortTable};
use super::memberships::MembershipView;
use super::page::{JsonField, Layout, Section, clerk_time, count, html, timestamp};
use super::query::{PageQuery, lenient};
use super::{AdminError, Staff};
use crate::AppState;
use crate::db::run_db;

const PATH: &str = "/admin/organizations";
/// Members shown on an organization's page; the rest are a link away.
const INLINE_MEMBERS: u32 = 100;

/// The organization list's filter (its query string, with [`ListQuery`]'s order and page).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OrganizationFilters {
    /// `q`: the start of the name, or of the Clerk id.
    #[serde(deserialize_with = "lenient::text")]
    q: Option<String>,
}

/// The organization list's columns and orders.
const SORTS: SortTable<OrganizationSort> = SortTable {
    columns: &[
        Column::sorted("Name", "name", OrganizationSort::Name),
        Column::sorted("Clerk id", "clerk_id", OrganizationSort::ClerkId),
        Column::plain("Slug"),
        Column::plain("Members"),
        Column::sorted("Joined", "joined", OrganizationSort::Joined),
    ],
    default: OrganizationSort::Name,
    direction: Direction::Asc,
};

struct OrganizationListRow {
    href: String,
    name: String,
    clerk_id: String,
    slug: String,
    members: String,
    members_href: String,
    joined: String,
}

#[derive(Template)]
#[template(path = "organizations.html")]
struct OrganizationsPage {
    layout: Layout,
    q: String,
    sort: String,
    dir: String,
    filtered: bool,
    columns: Vec<Header>,
    rows: Vec<OrganizationListRow>,
    pager: Pager,
}

/// `GET /admin/organizations`: organizations, searched by the start of their name or Clerk
/// id (`q`), sorted by `sort` (`name`, `clerk_id`, `joined`) in `dir` order, 50 a `page`,
/// with their member counts.
///
/// # Errors
/// The 401/403 pages without staff access; 503 when the database is down.
pub async fn list_organizations(
    staff: Staff,
    PageQuery(query): PageQuery<ListQuery<OrganizationFilters>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let sorting = SORTS.sorting(&query);
    let (search, page_request) = (query.filters.q.clone(), query.page_request());
    let (page, counts) = run_db(&state.database, move |conn| {
        let page = admin::organizations::list(
            conn,
            search.as_deref(),
            sorting.sort,
            sorting.direction,
            page_request,
        )?;
        let ids: Vec<OrganizationId> = page.items.iter().map(|o| OrganizationId(o.id)).collect();
        let counts = admin::organizations::member_counts(conn, &ids)?;
        Ok((page, counts))
    })
    .await?;
    let pager = Pager::new(&query, PATH, &page);
    let rows = page
        .items
        .into_iter()
        .map(|org| OrganizationListRow {
            href: format!("{PATH}/{}", org.id),
            members: count(counts.get(&OrganizationId(org.id)).copied().unwrap_or(0)),
            members_href: format!("/admin/memberships?organization={}", org.id),
            name: org.name,
            clerk_id: org.clerk_id,
            slug: org.slug.unwrap_or_default(),
            joined: timestamp(org.created_at),
        })
        .collect();
    let view = OrganizationsPage {
        layout: Layout::new("Organizations", Section::Organizations, &staff),
        q: query.filters.q.clone().unwrap_or_default(),
        sort: query.sort.clone().unwrap_or_default(),
        dir: query.dir_text(),
        filtered: query.filters.q.is_some(),
        columns: SORTS.headers(&query, PATH, sorting),
        rows,
        pager,
    };
    Ok(html(StatusCode::OK, &view))
}

#[derive(Template)]
#[template(path = "organization.html")]
struct OrganizationPage {
    layout: Layout,
    clerk_fields: Vec<(&'static str, String)>,
    created_by_href: String,
    metadata: Vec<JsonField>,
    members: Vec<MembershipView>,
    members_total: String,
    members_shown: usize,
    members_more: bool,
    members_href: String,
}

/// `GET /admin/organizations/{id}`: an organization's Clerk fields (metadata pretty-printed,
/// read-only) and its members inline
/// (the first 100 by email, with a link to all of them).
///
/// # Errors
/// The 401/403 pages without staff access; 404 for an unknown id; 503 when the database is
/// down.
pub async fn get_organization(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    const MISSING: AdminError = AdminError::not_found("No organization has this id");
    let id = path
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(MISSING)?;
    let found = run_db(&state.database, move |conn| {
        let Some(org) = admin::organizations::find(conn, OrganizationId(id))? else {
            return Ok(None);
        };
        let filter = MembershipFilter {
            organization: Some(OrganizationId(id)),
            ..MembershipFilter::default()
        };
        let members = admin::memberships::list(
            conn,
            &filter,
            MembershipSort::User,
            Direction::Asc,
            PageRequest::new(1, INLINE_MEMBERS),
        )?;
        Ok(Some((org, members)))
    })
    .await?;
    let (org, members) = found.ok_or(MISSING)?;
    let members_shown = members.items.len();
    let view = OrganizationPage {
        layout: Layout::new(org.name.clone(), Section::Organizations, &staff),
        members_total: count(members.total),
        members_more: members.total > i64::try_from(members_shown).unwrap_or(0),
        members_shown,
        members_href: format!("/admin/memberships?organization={id}&sort=user&dir=asc"),
        members: members
            .items
            .into_iter()
            .map(MembershipView::from)
            .collect(),
        created_by_href: org
            .created_by
            .as_deref()
            .map(|clerk_id| {
                let query = serde_urlencoded::to_string([("q", clerk_id)]).unwrap_or_default();
                format!("/admin/users?{query}")
            })
            .unwrap_or_default(),
        metadata: vec![
            JsonField::new("Public metadata", &org.public_metadata.0),
            JsonField::new("Private metadata", &org.private_metadata.0),
        ],
        clerk_fields: vec![
            ("Clerk id", org.clerk_id),
            ("Name", org.name),
            ("Slug", org.slug.unwrap_or_default()),
            ("Image URL", org.image_url.unwrap_or_default()),
            ("Members", count(org.members_count)),
            (
                "Max. memberships",
                org.max_allowed_memberships
                    .map_or_else(|| "no limit".to_owned(), count),
            ),
            ("Created by", org.created_by.unwrap_or_default()),
            ("Created in Clerk", clerk_time(org.clerk_created_at)),
            ("Clerk version", clerk_time(Some(org.clerk_updated_at))),
            ("First synced", timestamp(org.created_at)),
            ("Last changed", timestamp(org.updated_at)),
        ],
    };
    Ok(html(StatusCode::OK, &view))
}
