//! Forward auth: a reverse proxy (nginx `auth_request`, Traefik `forwardAuth`, Caddy
//! `forward_auth`, Envoy `ext_authz`) asks clerk-sync about each request and passes the
//! verified identity on to its upstream as `X-Clerk-*` / `X-User-*` headers.
//!
//! The mirror row is read on every call, not only when a requirement needs it: Clerk keeps a
//! banned user's session tokens valid until they expire, and an account staff made inactive
//! has no Clerk-side state at all, so without the row a disabled account would pass. The
//! read is one lookup by an indexed, unique column; the same row fills the `X-User-*` headers.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use clerk_sync_domain::User;
use serde::Deserialize;

use crate::auth::{Session, usable};
use crate::error::ErrorDetail;
use crate::read_through::{Unsynced, caller_with_read_through};
use crate::{ApiError, AppState};

/// What a proxy location may require beyond a valid session, as query parameters of
/// `/api/v1/auth/verify`. Unknown parameters are refused (400), so a misspelt requirement
/// never silently lets everyone through.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Requirements {
    /// `1`: the user must be in the mirror (synced by a webhook, or read through from Clerk's
    /// Backend API when `CLERK_SECRET_KEY` is set), else 403.
    #[serde(default, deserialize_with = "flag")]
    #[param(value_type = Option<Flag>, inline, example = "1")]
    pub synced: bool,
    /// `1`: the user must be staff in the mirror (read through like `synced`), else 403.
    #[serde(default, deserialize_with = "flag")]
    #[param(value_type = Option<Flag>, inline, example = "1")]
    pub staff: bool,
    /// The role the session's active organization must give the user (`org:admin`), else 403.
    #[param(example = "org:admin")]
    pub role: Option<String>,
    /// A permission the session's active organization must give the user
    /// (`org:billing:manage`), else 403.
    #[param(example = "org:billing:manage")]
    pub permission: Option<String>,
}

/// The values of a flag requirement, for the document (parsed by [`flag`]).
#[derive(utoipa::ToSchema)]
pub enum Flag {
    /// Required.
    #[serde(rename = "1")]
    One,
    /// Not required.
    #[serde(rename = "0")]
    Zero,
    /// Required.
    #[serde(rename = "true")]
    True,
    /// Not required.
    #[serde(rename = "false")]
    False,
}

/// `1`/`true` or `0`/`false`; anything else is refused rather than guessed.
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let text = String::deserialize(deserializer)?;
    match text.as_str() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(serde::de::Error::custom("expected 1 or 0")),
    }
}

impl Requirements {
    /// Whether a requirement needs the caller's row: only then is a user the mirror lacks
    /// read through from Clerk, so that the plain check never waits for Clerk.
    pub fn needs_user(&self) -> bool {
        self.synced || self.staff
    }

    /// Parses the query string.
    ///
    /// # Errors
    /// [`ApiError::BadRequest`] naming what is wrong: an unknown parameter, a flag other than
    /// `1`/`0`.
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(query).map_err(|err| {
            ApiError::BadRequest(format!(
                "Invalid forward auth requirements ({err}): use synced=1, staff=1, role=<role key> or permission=<permission key>"
            ))
        })
    }
}

/// The identity headers of an answer, in order.
#[derive(Debug, Default)]
pub struct IdentityHeaders(Vec<(HeaderName, HeaderValue)>);

impl IdentityHeaders {
    /// The headers for a verified session and, when synced, its user.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] when a value the token states (the session id, the active
    /// organization's id, role or permissions) cannot be carried in a header as it is: a
    /// control character (CR, LF), a non-ASCII byte, or a comma inside one permission. A
    /// token Clerk issued never has one, and passing on a changed value could change whom
    /// the upstream trusts.
    pub fn of(session: &Session, user: Option<&User>) -> Result<Self, ApiError> {
        let mut headers = Self::default();
        headers.push_claim("x-clerk-user-id", "sub", session.user_id().as_str())?;
        if let Some(sid) = session.session_id() {
            headers.push_claim("x-clerk-session-id", "sid", sid)?;
        }
        if let Some(org) = session.active_organization() {
            headers.push_claim("x-clerk-org-id", "org_id", org.id.as_str())?;
            // The slug only describes; one that cannot be carried is left out.
            if let Some(slug) = org.slug.as_deref() {
                headers.push_optional("x-clerk-org-slug", slug);
            }
            headers.push_claim("x-clerk-org-role", "org_role", org.role.as_str())?;
            if org.permissions.iter().any(|p| p.contains(',')) {
                return Err(unusable("org_permissions"));
            }
            headers.push_claim(
                "x-clerk-org-permissions",
                "org_permissions",
                &org.permissions.join(","),
            )?;
        }
        if let Some(user) = user {
            headers.push_optional("x-user-id", &user.id.0.to_string());
            if let Some(email) = &user.email {
                headers.push_optional("x-user-email", email.as_str());
            }
            headers.push_optional(
                "x-user-is-staff",
                if user.is_staff { "true" } else { "false" },
            );
        }
        Ok(headers)
    }

    fn push_claim(
        &mut self,
        name: &'static str,
        claim: &'static str,
        value: &str,
    ) -> Result<(), ApiError> {
        let value = header_value(value).ok_or_else(|| unusable(claim))?;
        self.0.push((HeaderName::from_static(name), value));
        Ok(())
    }

    fn push_optional(&mut self, name: &'static str, value: &str) {
        match header_value(value) {
            Some(value) => self.0.push((HeaderName::from_static(name), value)),
            None => tracing::info!(
                header = name,
                "left out: the value cannot be carried in a header"
            ),
        }
    }

    /// The headers, as (name, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = &(HeaderName, HeaderValue)> {
        self.0.iter()
    }
}

fn unusable(claim: &'static str) -> ApiError {
    ApiError::Unauthorized(format!(
        "Could not validate credentials: the claim {claim} holds characters a header cannot carry"
    ))
}

/// Printable ASCII only (space to `~`), so no CR/LF (header injection) and nothing a proxy
/// might re-encode. An empty value is sent as empty (no permissions).
fn header_value(text: &str) -> Option<HeaderValue> {
    text.bytes()
        .all(|b| (b' '..=b'~').contains(&b))
        .then(|| HeaderValue::from_str(text).ok())
        .flatten()
}

/// Checks the requirements against the session and the mirror's user.
///
/// # Errors
/// [`ApiError::Forbidden`] naming the first requirement that is not met.
pub fn check(
    requirements: &Requirements,
    session: &Session,
    user: Option<&User>,
    unsynced: Option<Unsynced>,
) -> Result<(), ApiError> {
    let forbidden = |detail: String| Err(ApiError::Forbidden(detail));
    if requirements.needs_user() && user.is_none() {
        let detail = match unsynced {
            Some(Unsynced::NotYet) => {
                "This requires a synced account: the user is not synced yet (it could not be fetched from Clerk just now); try again in a few seconds"
            }
            _ => "This requires a synced account: the user is not in the mirror yet",
        };
        return forbidden(detail.to_owned());
    }
    if requirements.staff && !user.is_some_and(|user| user.is_staff) {
        return forbidden("This requires a staff account".to_owned());
    }
    let org = session.active_organization();
    if let Some(role) = &requirements.role
        && org.is_none_or(|org| org.role.as_str() != role)
    {
        return forbidden(format!(
            "This requires the role {role} in the session's active organization"
        ));
    }
    if let Some(permission) = &requirements.permission
        && org.is_none_or(|org| !org.permissions.iter().any(|p| p == permission))
    {
        return forbidden(format!(
            "This requires the permission {permission} in the session's active organization"
        ));
    }
    Ok(())
}

/// The answers of both forms of the check, for the document (never built: the handlers
/// answer with [`HttpResponse`] and [`ApiError`]).
#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes the answers in the document only")]
pub(crate) enum VerifyAnswers {
    /// A valid session; the identity is in the headers.
    #[response(status = 200, headers(
        ("X-Clerk-User-Id" = String, description = "The Clerk user id (`sub`)"),
        ("X-Clerk-Session-Id" = String, description = "The Clerk session id (`sid`), when the token has one"),
        ("X-Clerk-Org-Id" = String, description = "The session's active organization, when it has one"),
        ("X-Clerk-Org-Slug" = String, description = "Its slug, when it has one"),
        ("X-Clerk-Org-Role" = String, description = "The user's role in it (`org:admin`)"),
        ("X-Clerk-Org-Permissions" = String, description = "The user's permissions in it, comma-separated (may be empty)"),
        ("X-User-Id" = String, description = "The local user id, when the user is in the mirror"),
        ("X-User-Email" = String, description = "The user's verified primary email, when there is one"),
        ("X-User-Is-Staff" = String, description = "`true` or `false`, when the user is in the mirror"),
    ))]
    Verified,
    /// An unknown requirement, or a flag other than 1 or 0.
    #[response(status = 400)]
    BadRequirement(ErrorDetail<'static>),
    /// No valid session token; the detail says why.
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthorized(ErrorDetail<'static>),
    /// The account is disabled (`This account is disabled`), or a requirement is not met
    /// (the detail names it).
    #[response(status = 403)]
    Forbidden(ErrorDetail<'static>),
    /// Session token verification is not configured, or the database is unavailable.
    #[response(status = 503)]
    Unavailable(ErrorDetail<'static>),
}

/// `/api/v1/auth/verify`, for every method: the session token checked exactly as the API
/// checks it, answered with the identity as headers and an empty body.
///
/// # Errors
/// 400 for unknown requirements; 401 without a valid token; 403 for a disabled account or
/// an unmet requirement; 503 when verification is not configured or the database is down.
#[utoipa::path(
    get,
    path = "/api/v1/auth/verify",
    tag = "forward auth",
    summary = "Forward auth for reverse proxies",
    description = "For nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth` and Envoy `ext_authz`: the session token (Bearer, else the `__session` cookie) is checked exactly as the API checks it. Every method is accepted (proxies send the original one) and any body is ignored. A valid session is answered 200 with an empty body and the identity in headers, which the proxy copies onto the request to its upstream; header values are printable ASCII, never token text, never CR or LF. The mirror's row of the user is read on every call, so that a disabled (inactive or banned) account is refused although its token is still valid; it also fills the `X-User-*` headers.",
    security(("bearer" = []), ("session_cookie" = [])),
    params(Requirements),
    responses(VerifyAnswers),
)]
pub async fn verify_session(
    request: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let requirements = Requirements::parse(request.query_string())?;
    answer(&requirements, &session, &state).await
}

/// The request header that carries the requirements to the Envoy form of the check, in the
/// query syntax of `/api/v1/auth/verify` (`role=org:admin&synced=1`).
pub const REQUIREMENTS_HEADER: &str = "x-clerk-sync-requirements";

/// `/api/v1/auth/verify/envoy…`, for every method: the same check for Envoy's `ext_authz`
/// HTTP service, which appends the original request's path and query to its `path_prefix`.
/// What follows `envoy` is the original request's and is not read; the requirements come
/// from the [`REQUIREMENTS_HEADER`] that the Envoy filter adds.
///
/// # Errors
/// As [`verify_session`].
#[utoipa::path(
    get,
    path = "/api/v1/auth/verify/envoy{original_path}",
    tag = "forward auth",
    summary = "Forward auth for Envoy's ext_authz HTTP service",
    description = "The check of `/api/v1/auth/verify`, in the form Envoy's `ext_authz` HTTP service calls: its `path_prefix` is `/api/v1/auth/verify/envoy` and Envoy appends the original request's path and query, which are not read. The requirements come from the `X-Clerk-Sync-Requirements` header, in the query syntax of `/api/v1/auth/verify` (`role=org:admin&synced=1`), set by the filter's `headers_to_add`. The answers are those of `/api/v1/auth/verify`.",
    security(("bearer" = []), ("session_cookie" = [])),
    params(
        ("original_path" = String, Path, description = "The original request's path and query, appended by Envoy; not read", example = "/api/items"),
        ("X-Clerk-Sync-Requirements" = Option<String>, Header, description = "The requirements, in the query syntax of `/api/v1/auth/verify` (`role=org:admin&synced=1`); the pattern shows one", example = "role=org:admin", nullable = false, pattern = "^((synced|staff)=(1|0)|(role|permission)=org:[a-z0-9_:-]+)?$"),
    ),
    responses(VerifyAnswers),
)]
pub async fn verify_session_for_envoy(
    request: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let requirements = match request.headers().get(REQUIREMENTS_HEADER) {
        None => Requirements::default(),
        Some(value) => Requirements::parse(value.to_str().map_err(|_| {
            ApiError::BadRequest(format!(
                "Invalid forward auth requirements: the {REQUIREMENTS_HEADER} header is not ASCII"
            ))
        })?)?,
    };
    answer(&requirements, &session, &state).await
}

/// The check both forms share: the mirror's row (disabled accounts refused), the
/// requirements, then the identity headers.
async fn answer(
    requirements: &Requirements,
    session: &Session,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    // Without a requirement on the row, a missing row is an answer too: the plain check never
    // waits for Clerk.
    let has_caller: fn(&Option<User>) -> bool = match requirements.needs_user() {
        true => Option::is_some,
        false => |_| true,
    };
    let lookup = caller_with_read_through(state, session.user_id(), has_caller).await?;
    let user = lookup.found.map(usable).transpose()?;
    check(requirements, session, user.as_ref(), lookup.unsynced)?;
    let headers = IdentityHeaders::of(session, user.as_ref())?;
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    for (name, value) in headers.iter() {
        response.insert_header((name.clone(), value.clone()));
    }
    Ok(response.finish())
}
