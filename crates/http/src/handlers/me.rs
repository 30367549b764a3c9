//! The caller's own user and organizations.

use actix_web::web;
use clerk_sync_domain::{ActiveOrganization, Affiliation, RawJson, User};
use clerk_sync_persistence::{memberships, users};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::auth::{Session, usable};
use crate::error::ErrorDetail;
use crate::read_through::{caller_with_read_through, with_read_through};
use crate::{ApiError, AppState};

/// The caller, as `GET /api/v1/auth/me/` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    /// Local id.
    pub id: i64,
    /// Clerk user id.
    pub clerk_id: Option<String>,
    /// Primary email; `null` for users without one.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Profile image.
    pub image_url: Option<String>,
    /// May use the admin pages.
    pub is_staff: bool,
    /// May use the application: always `true` here, since a disabled account (inactive, or
    /// banned by Clerk) is answered 403 instead.
    pub is_active: bool,
    /// Username; `null` when the instance does not use usernames or none is set.
    pub username: Option<String>,
    /// Primary phone number (E.164), verified or not; `null` for users without one.
    pub phone_number: Option<String>,
    /// Clerk's `public_metadata`, as the application stored it through Clerk (`{}` when unset).
    #[schema(value_type = Object)]
    pub public_metadata: Box<RawValue>,
    /// Clerk's `unsafe_metadata`, which the user's own front end may write: never trust it
    /// for decisions (`{}` when unset). `private_metadata` is never answered.
    #[schema(value_type = Object)]
    pub unsafe_metadata: Box<RawValue>,
    /// The organization the session has active, as the token states it; `null` when none.
    pub active_organization: Option<ActiveOrganizationResponse>,
}

/// The session's active organization, as `GET /api/v1/auth/me/` reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveOrganizationResponse {
    /// Clerk organization id.
    pub id: String,
    /// URL slug.
    pub slug: Option<String>,
    /// The caller's role in it (`org:admin`, `org:member`, or a custom role).
    pub role: String,
    /// The caller's permissions in it, `org:<feature>:<permission>`.
    pub permissions: Vec<String>,
}

impl From<&ActiveOrganization> for ActiveOrganizationResponse {
    fn from(org: &ActiveOrganization) -> Self {
        Self {
            id: org.id.to_string(),
            slug: org.slug.clone(),
            role: org.role.to_string(),
            permissions: org.permissions.clone(),
        }
    }
}

impl From<User> for MeResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            clerk_id: user.clerk_id.map(|id| id.to_string()),
            email: user.email.map(|email| email.to_string()),
            first_name: user.first_name,
            last_name: user.last_name,
            image_url: user.image_url,
            is_staff: user.is_staff,
            is_active: user.is_active,
            username: user.username,
            phone_number: user.phone_number,
            public_metadata: raw(user.public_metadata),
            unsafe_metadata: raw(user.unsafe_metadata),
            active_organization: None,
        }
    }
}

/// JSON the mirror holds, answered as it is (`RawJson` is valid JSON: this cannot fail).
pub(crate) fn raw(json: RawJson) -> Box<RawValue> {
    RawValue::from_string(json.into_string()).unwrap_or_default()
}

/// One of the caller's organizations, as `GET /api/v1/auth/me/organizations/` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyOrganization {
    /// Local id.
    pub id: i64,
    /// Clerk organization id.
    pub clerk_id: String,
    /// Display name.
    pub name: String,
    /// URL slug.
    pub slug: Option<String>,
    /// The caller's role in it.
    pub role: String,
}

impl From<Affiliation> for MyOrganization {
    fn from(affiliation: Affiliation) -> Self {
        let org = affiliation.organization;
        Self {
            id: org.id.0,
            clerk_id: org.clerk_id.to_string(),
            name: org.name,
            slug: org.slug,
            role: affiliation.role.to_string(),
        }
    }
}

/// `GET /api/v1/auth/me/`: the synced user behind the session token, and the organization
/// the session has active.
///
/// # Errors
/// 401 without a valid token; 403 when the account is disabled; 404 when the user is not
/// synced (yet) and the read-through (when configured) did not bring it.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me/",
    tag = "me",
    summary = "The caller",
    description = "The synced user behind the session token, and the organization the session has active (as the token states it). A user the mirror lacks (the webhook has not arrived yet, as right after sign-up) is read through from Clerk's Backend API when `CLERK_SECRET_KEY` is set: the user and their memberships are fetched once (concurrent requests share the fetch), written through the rules of resync, and answered from the mirror.",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The caller's user", body = MeResponse),
        (status = 401, description = "No valid session token; the detail says why", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "The account is disabled (made inactive by staff, or banned by Clerk): `This account is disabled`", body = ErrorDetail),
        (status = 404, description = "The user is not in the mirror: `User not found`. With `CLERK_SECRET_KEY` set, a user the mirror lacks (and has not seen deleted) is first fetched from Clerk's Backend API (read-through, at most about 2 s); `User not found` then means Clerk has no such user, and `User not synced yet: …` that Clerk could not be asked just now (try again in a few seconds)", body = ErrorDetail),
        (status = 503, description = "Session token verification is not configured, or the database is unavailable", body = ErrorDetail),
    ),
)]
pub async fn get_me(
    session: Session,
    state: web::Data<AppState>,
) -> Result<web::Json<MeResponse>, ApiError> {
    let lookup = caller_with_read_through(&state, session.user_id(), Option::is_some).await?;
    let mut me = MeResponse::from(usable(lookup.required()?)?);
    me.active_organization = session
        .active_organization()
        .map(ActiveOrganizationResponse::from);
    Ok(web::Json(me))
}

/// `GET /api/v1/auth/me/organizations/`: the caller's organizations with their role in each.
///
/// # Errors
/// 401 without a valid token; 403 when the account is disabled; 404 when the user is not
/// synced (yet) and the read-through (when configured) did not bring it.
#[utoipa::path(
    get,
    path = "/api/v1/auth/me/organizations/",
    tag = "me",
    summary = "The caller's organizations",
    description = "The organizations the caller is a member of, as the mirror holds them, with the caller's role in each.",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The caller's organizations", body = [MyOrganization]),
        (status = 401, description = "No valid session token; the detail says why", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "The account is disabled (made inactive by staff, or banned by Clerk): `This account is disabled`", body = ErrorDetail),
        (status = 404, description = "The user is not in the mirror: `User not found`. With `CLERK_SECRET_KEY` set, a user the mirror lacks (and has not seen deleted) is first fetched from Clerk's Backend API (read-through, at most about 2 s); `User not found` then means Clerk has no such user, and `User not synced yet: …` that Clerk could not be asked just now (try again in a few seconds)", body = ErrorDetail),
        (status = 503, description = "Session token verification is not configured, or the database is unavailable", body = ErrorDetail),
    ),
)]
pub async fn list_my_organizations(
    session: Session,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<MyOrganization>>, ApiError> {
    let clerk_id = session.user_id().clone();
    let lookup = with_read_through(
        &state,
        session.user_id(),
        move |conn| {
            let Some(user) = users::find_by_clerk_id(conn, &clerk_id)? else {
                return Ok(None);
            };
            let affiliations = memberships::affiliations_of(conn, user.id)?;
            Ok(Some((user, affiliations)))
        },
        Option::is_some,
    )
    .await?;
    let (user, affiliations) = lookup.required()?;
    usable(user)?;
    Ok(web::Json(
        affiliations.into_iter().map(MyOrganization::from).collect(),
    ))
}
