//! Organizations, as their members see them.

use actix_web::web;
use clerk_sync_domain::Member;
use clerk_sync_persistence::memberships;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::auth::OrganizationMember;
use crate::db::run_db;
use crate::error::ErrorDetail;
use crate::handlers::me::raw;
use crate::{ApiError, AppState};

/// One member, as `GET /api/v1/organizations/{org_id}/members/` lists them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    /// Local user id.
    pub id: i64,
    /// Clerk user id.
    pub clerk_id: Option<String>,
    /// Primary email; `null` for users without one.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Username; `null` when none is set.
    pub username: Option<String>,
    /// Profile image.
    pub image_url: Option<String>,
    /// Clerk's `public_metadata` of the member (`{}` when unset); never private or unsafe
    /// metadata.
    #[schema(value_type = Object)]
    pub public_metadata: Box<RawValue>,
    /// The member's role in the organization.
    pub role: String,
}

impl From<Member> for MemberResponse {
    fn from(member: Member) -> Self {
        let user = member.user;
        Self {
            id: user.id.0,
            clerk_id: user.clerk_id.map(|id| id.to_string()),
            email: user.email.map(|email| email.to_string()),
            first_name: user.first_name,
            last_name: user.last_name,
            username: user.username,
            image_url: user.image_url,
            public_metadata: raw(user.public_metadata),
            role: member.role.to_string(),
        }
    }
}

/// `GET /api/v1/organizations/{org_id}/members/`: the members of an organization the caller
/// belongs to, with their roles.
///
/// # Errors
/// 401 without a valid token; 403 when the caller is not a member; 404 for an organization
/// the mirror does not hold.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{org_id}/members/",
    tag = "organizations",
    summary = "An organization's members",
    description = "The members of an organization, with their roles, for callers who are members of it themselves (by the mirror's memberships, whatever organization the session has active).",
    params(("org_id" = String, Path, description = "Clerk's organization id", example = "org_29w9UHiGbDUHI1LzBnMoJXH8tTo")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The members", body = [MemberResponse]),
        (status = 401, description = "No valid session token; the detail says why", body = ErrorDetail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 403, description = "The caller is not a member (`You are not a member of this organization`; a caller the mirror lacks is first read through from Clerk's Backend API when `CLERK_SECRET_KEY` is set, memberships included), or the caller's account is disabled (`This account is disabled`)", body = ErrorDetail),
        (status = 404, description = "The mirror holds no such organization: `Organization not found`", body = ErrorDetail),
        (status = 503, description = "Session token verification is not configured, or the database is unavailable", body = ErrorDetail),
    ),
)]
pub async fn list_organization_members(
    OrganizationMember(access): OrganizationMember,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<MemberResponse>>, ApiError> {
    let organization = access.organization.id;
    let members = run_db(&state.database, move |conn| {
        memberships::members_of(conn, organization)
    })
    .await?;
    Ok(web::Json(
        members.into_iter().map(MemberResponse::from).collect(),
    ))
}
