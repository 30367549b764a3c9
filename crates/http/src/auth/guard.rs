//! Organization-scoped authorization: "a member of organization X", or "with role R in X",
//! by the local mirror's memberships (not by the token's active organization, which only says
//! which organization the caller has selected).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use clerk_sync_domain::{ClerkOrgId, Organization, Role};
use clerk_sync_persistence::{memberships, organizations, users};
use futures_util::future::LocalBoxFuture;

use super::{Session, usable};
use crate::read_through::with_read_through;
use crate::{ApiError, AppState};

const ORGANIZATION_NOT_FOUND: ApiError = ApiError::NotFound("Organization not found");

/// A caller who is a member of an organization, with the role the mirror holds.
#[derive(Clone, Debug)]
pub struct OrganizationAccess {
    /// The caller.
    pub session: Session,
    /// The organization.
    pub organization: Organization,
    /// The caller's role in it.
    pub role: Role,
}

/// Lets the caller through when the mirror holds a membership of theirs in `organization`,
/// with `required_role` (a role key such as `org:admin`) when one is given.
///
/// # Errors
/// 403 when the caller's account is disabled; 404 when the organization is not in the mirror;
/// 403 when the caller is not a member (also a caller whose user is not synced yet, after a
/// read-through when one is configured), or not with the required role; 503 when the
/// database is unavailable.
pub async fn require_membership(
    state: &AppState,
    session: Session,
    organization: ClerkOrgId,
    required_role: Option<&str>,
) -> Result<OrganizationAccess, ApiError> {
    let user = session.user_id().clone();
    // A caller the mirror lacks is read through: their memberships (and the organizations
    // they carry) come with them.
    let lookup = with_read_through(
        state,
        session.user_id(),
        move |conn| {
            let caller = users::find_by_clerk_id(conn, &user)?;
            let Some(org) = organizations::find_by_clerk_id(conn, &organization)? else {
                return Ok((caller, None));
            };
            let role = memberships::role_of(conn, &user, org.id)?;
            Ok((caller, Some((org, role))))
        },
        |(caller, _)| caller.is_some(),
    )
    .await?;
    let (caller, found) = lookup.found;
    caller.map(usable).transpose()?;
    let (organization, role) = found.ok_or(ORGANIZATION_NOT_FOUND)?;
    let role = role.ok_or_else(|| {
        ApiError::Forbidden("You are not a member of this organization".to_owned())
    })?;
    if let Some(required) = required_role
        && role.as_str() != required
    {
        return Err(ApiError::Forbidden(format!(
            "This requires the role {required} in this organization"
        )));
    }
    Ok(OrganizationAccess {
        session,
        organization,
        role,
    })
}

/// Extracts an [`OrganizationAccess`] for the organization of the route's `{org_id}`
/// segment (a Clerk organization id), any role. Routes that need a role call
/// [`require_membership`] with it.
#[derive(Clone, Debug)]
pub struct OrganizationMember(pub OrganizationAccess);

impl FromRequest for OrganizationMember {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = Session::from_request(request, payload);
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let organization = request.match_info().get("org_id").map(ClerkOrgId::parse);
        Box::pin(async move {
            let session = session.await?;
            let state = state.ok_or_else(|| {
                ApiError::Internal("AppState is not registered with the app".into())
            })?;
            // An id that is not an organization id names no organization.
            let organization = organization
                .and_then(Result::ok)
                .ok_or(ORGANIZATION_NOT_FOUND)?;
            require_membership(&state, session, organization, None)
                .await
                .map(Self)
        })
    }
}
