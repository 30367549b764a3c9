//! `/admin/users`: the user list, a user's page, and the form for its local flags.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use clerk_sync_domain::UserId;
use clerk_sync_persistence::admin::memberships::{MembershipFilter, MembershipSort};
use clerk_sync_persistence::admin::users::{
    FlagsChange, LocalFlags, STAFF_LOCK, UserFilter, UserSort,
};
use clerk_sync_persistence::admin::{self, Direction, PageRequest};
use clerk_sync_persistence::users::UserRow;
use clerk_sync_persistence::write_transaction;

use super::list::{Column, Pager, Params, columns};
use super::memberships::MembershipView;
use super::page::{Layout, Section, clerk_time, count, html, timestamp};
use super::{AdminError, Staff, csrf};
use crate::AppState;
use crate::db::run_db;

const PATH: &str = "/admin/users";
/// Memberships shown on a user's page; more are a link away.
const INLINE_MEMBERSHIPS: u32 = 100;

struct UserListRow {
    href: String,
    email: String,
    first_name: String,
    last_name: String,
    clerk_id: String,
    is_staff: bool,
    is_active: bool,
    joined: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    q: String,
    staff: String,
    active: String,
    sort: String,
    dir: String,
    filtered: bool,
    columns: Vec<Column>,
    rows: Vec<UserListRow>,
    pager: Pager,
}

/// `GET /admin/users`: users, searched by the start of their email or Clerk id (`q`),
/// filtered by `staff` and `active` (`yes`/`no`), sorted by `sort` (`email`, `first_name`,
/// `last_name`, `clerk_id`, `joined`) in `dir` order, 50 a `page`.
///
/// # Errors
/// The 401/403 pages without staff access; 503 when the database is down.
pub async fn list_users(
    staff: Staff,
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let params = Params::of(&request);
    let (sorting, sort) = params.sort(
        ("email", UserSort::Email),
        &[
            ("first_name", UserSort::FirstName),
            ("last_name", UserSort::LastName),
            ("clerk_id", UserSort::ClerkId),
            ("joined", UserSort::Joined),
        ],
        Direction::Asc,
    );
    let filter = UserFilter {
        search: params.get("q").map(str::to_owned),
        staff: params.yes_no("staff"),
        active: params.yes_no("active"),
    };
    let page_request = params.page();
    let direction = sorting.direction();
    let query = filter.clone();
    let page = run_db(&state.database, move |conn| {
        admin::users::list(conn, &query, sort, direction, page_request)
    })
    .await?;
    let columns = columns(
        &params,
        PATH,
        sorting,
        &[
            ("Email", "email"),
            ("First name", "first_name"),
            ("Last name", "last_name"),
            ("Clerk id", "clerk_id"),
            ("Staff", ""),
            ("Active", ""),
            ("Joined", "joined"),
        ],
    );
    let pager = Pager::new(&params, PATH, &page);
    let view = UsersPage {
        layout: Layout::new("Users", Section::Users, &staff),
        q: params.text("q"),
        staff: params.yes_no("staff").map_or("", yes_no).to_owned(),
        active: params.yes_no("active").map_or("", yes_no).to_owned(),
        sort: params.text("sort"),
        dir: params.text("dir"),
        filtered: filter.search.is_some() || filter.staff.is_some() || filter.active.is_some(),
        columns,
        rows: page.items.into_iter().map(list_row).collect(),
        pager,
    };
    Ok(html(StatusCode::OK, &view))
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn list_row(user: UserRow) -> UserListRow {
    UserListRow {
        href: format!("{PATH}/{}", user.id),
        email: user.email.unwrap_or_default(),
        first_name: user.first_name.unwrap_or_default(),
        last_name: user.last_name.unwrap_or_default(),
        clerk_id: user.clerk_id.unwrap_or_default(),
        is_staff: user.is_staff,
        is_active: user.is_active,
        joined: timestamp(user.created_at),
    }
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    layout: Layout,
    id: i64,
    action: String,
    csrf_token: String,
    saved: bool,
    problem: String,
    is_staff: bool,
    is_active: bool,
    is_self: bool,
    created_at: String,
    updated_at: String,
    clerk_fields: Vec<(&'static str, String)>,
    memberships: Vec<MembershipView>,
    memberships_total: String,
    memberships_more: bool,
    memberships_href: String,
}

fn parse_id(raw: &str) -> Result<i64, AdminError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AdminError::NotFound("No user has this id"))
}

/// `GET /admin/users/{id}`: a user's Clerk fields (read-only), local flags (a form), and
/// organizations with roles.
///
/// # Errors
/// The 401/403 pages without staff access; 404 for an unknown id; 503 when the database is
/// down.
pub async fn get_user(
    staff: Staff,
    request: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_id(&path)?;
    let saved = Params::of(&request).get("saved").is_some();
    render_user(&staff, &state, id, saved, String::new(), StatusCode::OK).await
}

async fn render_user(
    staff: &Staff,
    state: &AppState,
    id: i64,
    saved: bool,
    problem: String,
    status: StatusCode,
) -> Result<HttpResponse, AdminError> {
    let (user, memberships) = run_db(&state.database, move |conn| {
        let Some(user) = admin::users::find(conn, UserId(id))? else {
            return Ok((None, None));
        };
        let filter = MembershipFilter {
            user: Some(UserId(id)),
            ..MembershipFilter::default()
        };
        let memberships = admin::memberships::list(
            conn,
            &filter,
            MembershipSort::Organization,
            Direction::Asc,
            PageRequest::new(1, INLINE_MEMBERSHIPS),
        )?;
        Ok((Some(user), Some(memberships)))
    })
    .await?;
    let (Some(user), Some(memberships)) = (user, memberships) else {
        return Err(AdminError::NotFound("No user has this id"));
    };
    let csrf_token = staff
        .session_id
        .as_deref()
        .map(|session_id| state.admin_csrf_key.token(session_id))
        .unwrap_or_default();
    let title = display_name(&user);
    let memberships_total = memberships.total;
    let view = UserPage {
        layout: Layout::new(title, Section::Users, staff),
        id: user.id,
        action: format!("{PATH}/{}", user.id),
        csrf_token,
        saved,
        problem,
        is_staff: user.is_staff,
        is_active: user.is_active,
        is_self: staff.user.id.0 == user.id,
        created_at: timestamp(user.created_at),
        updated_at: timestamp(user.updated_at),
        memberships_more: memberships_total > i64::try_from(memberships.items.len()).unwrap_or(0),
        memberships: memberships
            .items
            .into_iter()
            .map(MembershipView::from)
            .collect(),
        memberships_total: count(memberships_total),
        memberships_href: format!("/admin/memberships?user={}", user.id),
        clerk_fields: vec![
            ("Clerk id", user.clerk_id.unwrap_or_default()),
            ("Email", user.email.unwrap_or_default()),
            ("First name", user.first_name.unwrap_or_default()),
            ("Last name", user.last_name.unwrap_or_default()),
            ("Image URL", user.image_url.unwrap_or_default()),
            ("External id", user.external_id.unwrap_or_default()),
            ("Banned", yes_no(user.banned).to_owned()),
            ("Clerk version", clerk_time(user.clerk_updated_at)),
        ],
    };
    Ok(html(status, &view))
}

fn display_name(user: &UserRow) -> String {
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !name.is_empty() {
        return name;
    }
    user.email
        .clone()
        .or_else(|| user.clerk_id.clone())
        .unwrap_or_else(|| format!("User #{}", user.id))
}

const SELF_LOCKOUT: &str = "This would remove your own access to these pages. Tick \"I understand\" to go ahead, or leave both boxes ticked.";
const LAST_STAFF: &str = "Not saved: this is the last active staff user, and nobody could open these pages any more. Make another user staff first (or use `clerk-sync demote-staff` on the command line).";

/// `POST /admin/users/{id}`: sets `is_staff` and `is_active` (checkboxes) in one transaction.
/// Needs the page's CSRF token. Removing your own access needs `confirm_lockout`; removing
/// the last active staff user is refused. Answers 303 to the user's page on success.
///
/// # Errors
/// The 401/403 pages without staff access; 403 without a valid CSRF token; 404 for an
/// unknown id; 409 (the page again, saying why) for a refused change; 503 when the database
/// is down.
pub async fn update_user(
    staff: Staff,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_id(&path)?;
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    csrf::verify(
        &request,
        &state.admin_csrf_key,
        staff.session_id.as_deref(),
        field(csrf::FIELD),
    )?;
    let flags = LocalFlags {
        is_staff: field("is_staff").is_some(),
        is_active: field("is_active").is_some(),
    };
    let is_self = staff.user.id.0 == id;
    if is_self && !flags.admits() && field("confirm_lockout").is_none() {
        let problem = SELF_LOCKOUT.to_owned();
        return render_user(&staff, &state, id, false, problem, StatusCode::CONFLICT).await;
    }
    let now = chrono::Utc::now().naive_utc();
    let change = run_db(&state.database, move |conn| {
        write_transaction(conn, &[STAFF_LOCK], |conn| {
            admin::users::set_flags(conn, UserId(id), flags, now)
        })
    })
    .await?;
    match change {
        FlagsChange::Saved { before } => {
            tracing::info!(
                user_id = id,
                by_user_id = staff.user.id.0,
                was_staff = before.is_staff,
                was_active = before.is_active,
                is_staff = flags.is_staff,
                is_active = flags.is_active,
                "admin changed a user's local flags"
            );
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("{PATH}/{id}?saved=1")))
                .finish())
        }
        FlagsChange::NotFound => Err(AdminError::NotFound("No user has this id")),
        FlagsChange::LastStaff => {
            let problem = LAST_STAFF.to_owned();
            render_user(&staff, &state, id, false, problem, StatusCode::CONFLICT).await
        }
    }
}
