//! `/admin/users`: the user list, a user's page, and the form for its local flags.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use clerk_sync_domain::UserId;
use clerk_sync_persistence::admin::memberships::{
    MembershipFilter, MembershipListRow, MembershipSort,
};
use clerk_sync_persistence::admin::users::{
    FlagsChange, LocalFlags, STAFF_LOCK, UserContact, UserDetail, UserFilter, UserSort,
};
use clerk_sync_persistence::admin::{self, Direction, Page, PageRequest};
use clerk_sync_persistence::users::UserRow;
use clerk_sync_persistence::write_transaction;
use serde::{Deserialize, Serialize};

use super::list::{Column, Header, ListQuery, Pager, SortTable};
use super::memberships::MembershipView;
use super::page::{JsonField, Layout, Section, clerk_time, count, html, pretty_json, timestamp};
use super::query::{PageQuery, lenient, read_form};
use super::{AdminError, Staff};
use crate::AppState;
use crate::db::run_db;

const PATH: &str = "/admin/users";
/// Memberships shown on a user's page; more are a link away.
const INLINE_MEMBERSHIPS: u32 = 100;

/// The user list's filters (its query string, with [`ListQuery`]'s order and page).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct UserFilters {
    /// `q`: the start of the email, username or external id, or of the Clerk id.
    #[serde(deserialize_with = "lenient::text")]
    q: Option<String>,
    /// `staff`: `yes` or `no`.
    #[serde(
        deserialize_with = "lenient::yes_no",
        serialize_with = "lenient::write_yes_no"
    )]
    staff: Option<bool>,
    /// `active`: `yes` or `no`.
    #[serde(
        deserialize_with = "lenient::yes_no",
        serialize_with = "lenient::write_yes_no"
    )]
    active: Option<bool>,
}

impl UserFilters {
    fn filter(&self) -> UserFilter {
        UserFilter {
            search: self.q.clone(),
            staff: self.staff,
            active: self.active,
        }
    }

    fn is_filtered(&self) -> bool {
        self.q.is_some() || self.staff.is_some() || self.active.is_some()
    }
}

/// The user list's columns and orders.
const SORTS: SortTable<UserSort> = SortTable {
    columns: &[
        Column::sorted("Email", "email", UserSort::Email),
        Column::sorted("First name", "first_name", UserSort::FirstName),
        Column::sorted("Last name", "last_name", UserSort::LastName),
        Column::sorted("Clerk id", "clerk_id", UserSort::ClerkId),
        Column::plain("Staff"),
        Column::plain("Active"),
        Column::sorted("Joined", "joined", UserSort::Joined),
    ],
    default: UserSort::Email,
    direction: Direction::Asc,
};

struct UserListRow {
    href: String,
    email: String,
    username: String,
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
    columns: Vec<Header>,
    rows: Vec<UserListRow>,
    pager: Pager,
}

/// `GET /admin/users`: users, searched by the start of their email, username, external id or
/// Clerk id (`q`),
/// filtered by `staff` and `active` (`yes`/`no`), sorted by `sort` (`email`, `first_name`,
/// `last_name`, `clerk_id`, `joined`) in `dir` order, 50 a `page`.
///
/// # Errors
/// The 401/403 pages without staff access; 503 when the database is down.
pub async fn list_users(
    staff: Staff,
    PageQuery(query): PageQuery<ListQuery<UserFilters>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let sorting = SORTS.sorting(&query);
    let (filter, page_request) = (query.filters.filter(), query.page_request());
    let page = run_db(&state.database, move |conn| {
        admin::users::list(conn, &filter, sorting.sort, sorting.direction, page_request)
    })
    .await?;
    let filters = &query.filters;
    let view = UsersPage {
        layout: Layout::new("Users", Section::Users, &staff),
        q: filters.q.clone().unwrap_or_default(),
        staff: filters.staff.map_or("", yes_no).to_owned(),
        active: filters.active.map_or("", yes_no).to_owned(),
        sort: query.sort.clone().unwrap_or_default(),
        dir: query.dir_text(),
        filtered: filters.is_filtered(),
        columns: SORTS.headers(&query, PATH, sorting),
        pager: Pager::new(&query, PATH, &page),
        rows: page.items.into_iter().map(list_row).collect(),
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
        username: user.username.unwrap_or_default(),
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
    email_addresses: Vec<ContactView>,
    phone_numbers: Vec<ContactView>,
    metadata: Vec<JsonField>,
    clerk_object: String,
    memberships: Vec<MembershipView>,
    memberships_total: String,
    memberships_more: bool,
    memberships_href: String,
}

/// An email address or phone number on a user's page.
struct ContactView {
    value: String,
    clerk_id: String,
    verified: bool,
    is_primary: bool,
}

impl From<UserContact> for ContactView {
    fn from(contact: UserContact) -> Self {
        Self {
            value: contact.value,
            clerk_id: contact.clerk_id,
            verified: contact.verified,
            is_primary: contact.is_primary,
        }
    }
}

const MISSING: AdminError = AdminError::not_found("No user has this id");

fn parse_id(raw: &str) -> Result<i64, AdminError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(MISSING)
}

/// What a user's page says about the last submission of its form, which sets its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notice {
    /// Nothing (the page opened by a link): 200.
    None,
    /// The change was saved (the redirect after the POST says so): 200.
    Saved,
    /// The change was refused, for this reason: 409, the form as it was.
    Refused(&'static str),
}

/// The user page's query string.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserPageQuery {
    /// Set by the redirect after a saved change.
    #[serde(deserialize_with = "lenient::text")]
    saved: Option<String>,
}

/// `GET /admin/users/{id}`: a user's Clerk fields, addresses, numbers and metadata
/// (read-only, metadata pretty-printed), local flags (a form), and organizations with roles.
///
/// # Errors
/// The 401/403 pages without staff access; 404 for an unknown id; 503 when the database is
/// down.
pub async fn get_user(
    staff: Staff,
    PageQuery(query): PageQuery<UserPageQuery>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AdminError> {
    let id = parse_id(&path)?;
    let notice = if query.saved.is_some() {
        Notice::Saved
    } else {
        Notice::None
    };
    render_user(&staff, &state, id, notice).await
}

/// The page of user `id`, as `staff` sees it, with `notice`.
async fn render_user(
    staff: &Staff,
    state: &AppState,
    id: i64,
    notice: Notice,
) -> Result<HttpResponse, AdminError> {
    let (user, memberships) = run_db(&state.database, move |conn| {
        let Some(user) = admin::users::detail(conn, UserId(id))? else {
            return Ok(None);
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
        Ok(Some((user, memberships)))
    })
    .await?
    .ok_or(MISSING)?;
    let csrf_token = staff.form_token(&state.admin_csrf_key);
    let (status, saved, problem) = match notice {
        Notice::None => (StatusCode::OK, false, ""),
        Notice::Saved => (StatusCode::OK, true, ""),
        Notice::Refused(problem) => (StatusCode::CONFLICT, false, problem),
    };
    let view = UserPage {
        saved,
        problem: problem.to_owned(),
        ..user_page(staff, csrf_token, user, memberships)
    };
    Ok(html(status, &view))
}

/// A user's page, without a notice.
fn user_page(
    staff: &Staff,
    csrf_token: String,
    detail: UserDetail,
    memberships: Page<MembershipListRow>,
) -> UserPage {
    let UserDetail {
        user,
        email_addresses,
        phone_numbers,
        clerk_object,
    } = detail;
    let memberships_total = memberships.total;
    UserPage {
        layout: Layout::new(display_name(&user), Section::Users, staff),
        id: user.id,
        action: format!("{PATH}/{}", user.id),
        csrf_token,
        saved: false,
        problem: String::new(),
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
        email_addresses: email_addresses.into_iter().map(ContactView::from).collect(),
        phone_numbers: phone_numbers.into_iter().map(ContactView::from).collect(),
        metadata: vec![
            JsonField::new("Public metadata", &user.public_metadata.0),
            JsonField::new("Private metadata", &user.private_metadata.0),
            JsonField::new("Unsafe metadata", &user.unsafe_metadata.0),
        ],
        clerk_object: clerk_object.map(|o| pretty_json(&o.0)).unwrap_or_default(),
        clerk_fields: clerk_fields(user),
    }
}

/// The fields Clerk owns, in the order the page lists them.
fn clerk_fields(user: UserRow) -> Vec<(&'static str, String)> {
    vec![
        ("Clerk id", user.clerk_id.unwrap_or_default()),
        ("Email", user.email.unwrap_or_default()),
        ("Username", user.username.unwrap_or_default()),
        ("External id", user.external_id.unwrap_or_default()),
        ("Phone number", user.phone_number.unwrap_or_default()),
        ("First name", user.first_name.unwrap_or_default()),
        ("Last name", user.last_name.unwrap_or_default()),
        ("Image URL", user.image_url.unwrap_or_default()),
        ("Banned", yes_no(user.banned).to_owned()),
        ("Locked", yes_no(user.locked).to_owned()),
        ("Two-factor", yes_no(user.two_factor_enabled).to_owned()),
        ("Last sign-in", clerk_time(user.last_sign_in_at)),
        ("Last active", clerk_time(user.last_active_at)),
        ("Created in Clerk", clerk_time(user.clerk_created_at)),
        ("Clerk version", clerk_time(user.clerk_updated_at)),
    ]
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

/// The form of a user's page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FlagsForm {
    /// The page's CSRF token (the hidden field every admin form carries).
    #[serde(deserialize_with = "lenient::raw")]
    csrf_token: Option<String>,
    #[serde(deserialize_with = "lenient::present")]
    is_staff: bool,
    #[serde(deserialize_with = "lenient::present")]
    is_active: bool,
    /// "I understand" under a change that removes the user's own access.
    #[serde(deserialize_with = "lenient::present")]
    confirm_lockout: bool,
}

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
    let form: FlagsForm = read_form(&body);
    staff.verify_form(&request, &state.admin_csrf_key, form.csrf_token.as_deref())?;
    let flags = LocalFlags {
        is_staff: form.is_staff,
        is_active: form.is_active,
    };
    if staff.user.id.0 == id && !flags.admits() && !form.confirm_lockout {
        return render_user(&staff, &state, id, Notice::Refused(SELF_LOCKOUT)).await;
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
        FlagsChange::NotFound => Err(MISSING),
        FlagsChange::LastStaff => {
            render_user(&staff, &state, id, Notice::Refused(LAST_STAFF)).await
        }
    }
}
