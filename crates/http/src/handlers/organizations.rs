//! Organizations, as their members see them.

use actix_web::web;
use clerk_sync_domain::Member;
use clerk_sync_persistence::memberships;
use serde::Serialize;

use crate::auth::OrganizationMember;
use crate::db::run_db;
use crate::{ApiError, AppState};

/// One member, as `GET /api/v1/organizations/{org_id}/members/` lists them.
#[derive(Debug, Serialize)]
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
