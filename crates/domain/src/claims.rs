//! Clerk session token claims, both formats, read into one [`AuthContext`].
//!
//! Version 1 names the active organization in flat claims (`org_id`, `org_role`, `org_slug`,
//! `org_permissions`). Version 2 (`"v": 2`, Clerk's default since April 2025) packs it into the
//! compact `o` claim: `id`, `slg`, `rol` (the role key without its `org:` prefix), `per` (the
//! permission names, comma-separated) and `fpm` (the feature-permission map, see
//! [`feature_permissions`]). Both read into the same [`ActiveOrganization`], with roles and
//! permissions spelled as version 1 spells them (`org:admin`, `org:dashboard:read`).
//!
//! Only the meaning of the claims lives here; signatures, expiry and the other checks that need
//! a key or a clock are the HTTP edge's.

mod permissions;

use serde::Deserialize;

pub use permissions::feature_permissions;

use crate::{ClerkOrgId, ClerkUserId, DomainError, Role};

/// The claims of a Clerk session token this crate reads; any others are ignored. Deserialize
/// them from a token whose signature and times were checked (with any JWT library).
///
/// ```
/// use clerk_sync_domain::SessionTokenClaims;
///
/// let claims: SessionTokenClaims = serde_json::from_str(r#"{"sub":"user_1","sid":"sess_1","exp":1}"#)?;
/// assert_eq!(claims.sub.as_deref(), Some("user_1"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct SessionTokenClaims {
    /// The signed-in user.
    pub sub: Option<String>,
    /// The session.
    pub sid: Option<String>,
    /// The session status (`active`, `pending`); absent in version 1.
    pub sts: Option<String>,
    /// The claims format; absent in version 1.
    pub v: Option<u32>,
    /// The origin the token was issued to (authorized party).
    pub azp: Option<String>,
    /// When the token was issued, in Unix seconds.
    pub iat: Option<f64>,
    /// Version 2: the features enabled, each `scope:key` (`o`, `u` or both).
    pub fea: Option<String>,
    /// Version 2: the active organization.
    pub o: Option<OrganizationClaim>,
    /// Version 1: the active organization's id.
    pub org_id: Option<String>,
    /// Version 1: the caller's role in it.
    pub org_role: Option<String>,
    /// Version 1: its slug.
    pub org_slug: Option<String>,
    /// Version 1: the caller's permissions in it.
    pub org_permissions: Option<Vec<String>>,
}

/// The version 2 `o` claim.
///
/// ```
/// use clerk_sync_domain::OrganizationClaim;
///
/// let o: OrganizationClaim = serde_json::from_str(r#"{"id":"org_1","rol":"admin","slg":"acme"}"#)?;
/// assert_eq!(o.rol.as_deref(), Some("admin"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct OrganizationClaim {
    /// The organization's id.
    pub id: Option<String>,
    /// The role key, without its `org:` prefix.
    pub rol: Option<String>,
    /// The slug.
    pub slg: Option<String>,
    /// Permission names, comma-separated.
    pub per: Option<String>,
    /// The feature-permission map: one bitmask per organization feature, comma-separated.
    pub fpm: Option<String>,
}

/// Where a session stands, from the `sts` claim.
///
/// ```
/// use clerk_sync_domain::{AuthContext, SessionStatus, SessionTokenClaims};
///
/// let claims = SessionTokenClaims { sub: Some("user_1".into()), sts: Some("pending".into()), v: Some(2), ..Default::default() };
/// assert_eq!(AuthContext::from_claims(&claims)?.status, SessionStatus::Pending);
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionStatus {
    /// Signed in (also every version 1 token, which has no `sts`).
    Active,
    /// Signed in but with a task left (such as choosing an organization); Clerk's SDKs treat
    /// it as signed out unless told otherwise.
    Pending,
    /// A status this crate does not know yet; treated as signed in, as Clerk's SDKs do.
    Other(String),
}

/// The organization a session has active, with the caller's role and permissions in it.
///
/// ```
/// use clerk_sync_domain::{AuthContext, SessionTokenClaims};
///
/// let claims: SessionTokenClaims = serde_json::from_str(
///     r#"{"sub":"user_1","org_id":"org_1","org_role":"org:admin","org_permissions":["org:sys_memberships:manage"]}"#,
/// )?;
/// let active = AuthContext::from_claims(&claims)?.active_organization;
/// assert!(active.is_some_and(|org| org.role.is_admin() && org.permissions.len() == 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveOrganization {
    /// The organization.
    pub id: ClerkOrgId,
    /// Its slug, when it has one.
    pub slug: Option<String>,
    /// The caller's role, with its `org:` prefix.
    pub role: Role,
    /// The caller's permissions, `org:<feature>:<permission>`.
    pub permissions: Vec<String>,
}

/// Who a verified session token speaks for.
///
/// ```
/// use clerk_sync_domain::{AuthContext, SessionStatus, SessionTokenClaims};
///
/// let claims = SessionTokenClaims { sub: Some("user_1".into()), sid: Some("sess_1".into()), ..Default::default() };
/// let auth = AuthContext::from_claims(&claims)?;
/// assert_eq!(auth.user_id.as_str(), "user_1");
/// assert_eq!((auth.status, auth.active_organization), (SessionStatus::Active, None));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthContext {
    /// The signed-in user.
    pub user_id: ClerkUserId,
    /// The session, when the token names it.
    pub session_id: Option<String>,
    /// The session's status.
    pub status: SessionStatus,
    /// The organization the session has active, if any.
    pub active_organization: Option<ActiveOrganization>,
}

fn invalid(claim: &'static str, expected: &'static str) -> DomainError {
    DomainError::InvalidClaim { claim, expected }
}

impl AuthContext {
    /// Reads the claims of a verified token, in either format.
    ///
    /// # Errors
    /// [`DomainError::InvalidClaim`] naming the claim: no `sub` or one that is not a user id, an
    /// unknown `v`, an organization claim without id or role, or a feature-permission map that
    /// does not fit its features and permissions.
    ///
    /// ```
    /// use clerk_sync_domain::{AuthContext, DomainError, SessionTokenClaims};
    ///
    /// // Version 2: the `o` claim, its role without the `org:` prefix.
    /// let claims: SessionTokenClaims = serde_json::from_str(
    ///     r#"{"v":2,"sub":"user_1","fea":"o:dashboard","o":{"id":"org_1","rol":"admin","per":"read","fpm":"1"}}"#,
    /// )?;
    /// let org = AuthContext::from_claims(&claims)?.active_organization;
    /// assert_eq!(org.map(|o| o.permissions), Some(vec!["org:dashboard:read".to_owned()]));
    ///
    /// let unknown_version = SessionTokenClaims { sub: Some("user_1".into()), v: Some(3), ..Default::default() };
    /// assert!(matches!(AuthContext::from_claims(&unknown_version), Err(DomainError::InvalidClaim { claim: "v", .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_claims(claims: &SessionTokenClaims) -> Result<Self, DomainError> {
        let sub = claims
            .sub
            .as_deref()
            .ok_or_else(|| invalid("sub", "the id of the signed-in user"))?;
        let user_id = ClerkUserId::parse(sub).map_err(|_| invalid("sub", "a Clerk user id"))?;
        let active_organization = match claims.v {
            None | Some(1) => organization_v1(claims)?,
            Some(2) => claims
                .o
                .as_ref()
                .map(|o| organization_v2(o, claims))
                .transpose()?,
            Some(_) => return Err(invalid("v", "session token version 1 or 2")),
        };
        let status = match claims.sts.as_deref() {
            None | Some("active") => SessionStatus::Active,
            Some("pending") => SessionStatus::Pending,
            Some(other) => SessionStatus::Other(other.to_owned()),
        };
        Ok(Self {
            user_id,
            session_id: claims.sid.clone(),
            status,
            active_organization,
        })
    }
}

fn organization_v1(claims: &SessionTokenClaims) -> Result<Option<ActiveOrganization>, DomainError> {
    let Some(id) = claims.org_id.as_deref() else {
        return Ok(None);
    };
    let id = ClerkOrgId::parse(id).map_err(|_| invalid("org_id", "a Clerk organization id"))?;
    let role = claims
        .org_role
        .as_deref()
        .ok_or_else(|| invalid("org_role", "the role in the active organization"))
        .and_then(|role| Role::parse(role).map_err(|_| invalid("org_role", "a role key")))?;
    Ok(Some(ActiveOrganization {
        id,
        slug: claims.org_slug.clone(),
        role,
        permissions: claims.org_permissions.clone().unwrap_or_default(),
    }))
}

fn organization_v2(
    o: &OrganizationClaim,
    claims: &SessionTokenClaims,
) -> Result<ActiveOrganization, DomainError> {
    let id =
        o.id.as_deref()
            .ok_or_else(|| invalid("o.id", "the active organization's id"))?;
    let id = ClerkOrgId::parse(id).map_err(|_| invalid("o.id", "a Clerk organization id"))?;
    let role = o
        .rol
        .as_deref()
        .ok_or_else(|| invalid("o.rol", "the role in the active organization"))?;
    // Clerk writes the key without its prefix; one written with it is taken as it is.
    let role = if role.starts_with("org:") {
        Role::parse(role)
    } else {
        Role::parse(&format!("org:{role}"))
    }
    .map_err(|_| invalid("o.rol", "a role key"))?;
    let permissions = match (claims.fea.as_deref(), o.per.as_deref(), o.fpm.as_deref()) {
        (Some(fea), Some(per), Some(fpm)) => feature_permissions(fea, per, fpm)?,
        _ => Vec::new(),
    };
    Ok(ActiveOrganization {
        id,
        slug: o.slg.clone(),
        role,
        permissions,
    })
}
