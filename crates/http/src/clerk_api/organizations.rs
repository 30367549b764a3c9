//! `GET /organizations` and `GET /organizations/{organization_id or slug}` from the mirror.
//!
//! Answered: `limit`, `offset`, `order_by` (`created_at`, `name`, `members_count`),
//! `include_members_count`, `organization_id` and `user_id` (each id with an optional
//! `+`/`-`), and `include_missing_member_with_elevated_permissions=false`. `query` (a partial
//! match of names and slugs) is handed over, as is the flag set to true.

use actix_web::{HttpRequest, HttpResponse, web};
use clerk_sync_persistence::admin::Direction;
use clerk_sync_persistence::clerk_objects::{
    self, OrganizationFilter, OrganizationObject, OrganizationOrderKey,
};
use serde_json::{Value, json};

use super::params::QueryParams;
use super::{ClerkApiError, HandOver, hand_over};
use crate::{ApiError, AppState, run_db};

/// What `members_count` an answered organization carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MembersCount {
    /// The mirror's count (asked for with `include_members_count`).
    Included,
    /// None: Clerk leaves it out unless asked.
    Left,
    /// The mirror's count where the object has the field, else none (organizations inside
    /// memberships).
    AsStored,
}

/// An organization's Clerk object with `members_count` as `members` says.
///
/// # Errors
/// [`ApiError::Internal`] when the stored object is not a JSON object.
pub(super) fn organization_json(
    organization: &OrganizationObject,
    members: MembersCount,
) -> Result<Value, ApiError> {
    let mut object: serde_json::Map<String, Value> =
        serde_json::from_str(&organization.object.0)
            .map_err(|err| ApiError::Internal(Box::new(err)))?;
    let count = json!(organization.members_count);
    match members {
        MembersCount::Included => {
            object.insert("members_count".to_owned(), count);
        }
        MembersCount::Left => {
            object.remove("members_count");
        }
        MembersCount::AsStored => {
            if let Some(stored) = object.get_mut("members_count") {
                *stored = count;
            }
        }
    }
    Ok(Value::Object(object))
}

fn order_key(field: &str) -> Option<OrganizationOrderKey> {
    Some(match field {
        "created_at" => OrganizationOrderKey::CreatedAt,
        "name" => OrganizationOrderKey::Name,
        "members_count" => OrganizationOrderKey::MembersCount,
        _ => return None,
    })
}

const ELEVATED: &str = "include_missing_member_with_elevated_permissions";

/// Whether the organizations answered carry their members count; hands over the flag the
/// mirror cannot answer.
fn members_count_flag(params: &QueryParams) -> Result<MembersCount, HandOver> {
    if params.flag(ELEVATED)? {
        return Err(HandOver::ParameterValue(ELEVATED.to_owned()));
    }
    Ok(if params.flag("include_members_count")? {
        MembersCount::Included
    } else {
        MembersCount::Left
    })
}

struct OrganizationList {
    filter: OrganizationFilter,
    order: (OrganizationOrderKey, Direction),
    members: MembersCount,
    offset: i64,
    limit: i64,
}

impl OrganizationList {
    fn from_query(params: &QueryParams) -> Result<Self, HandOver> {
        params.only(&[
            "limit",
            "offset",
            "order_by",
            "include_members_count",
            ELEVATED,
            "organization_id",
            "user_id",
        ])?;
        Ok(Self {
            filter: OrganizationFilter {
                organization_ids: params.signed_ids("organization_id")?,
                user_ids: params.signed_ids("user_id")?,
            },
            order: params.order(
                order_key,
                (OrganizationOrderKey::CreatedAt, Direction::Desc),
            )?,
            members: members_count_flag(params)?,
            offset: params.offset()?,
            limit: params.limit()?,
        })
    }
}

/// `GET /clerk/v1/organizations`: `{"data": [...], "total_count": n}`.
///
/// # Errors
/// [`ClerkApiError::Mirror`] when the database cannot be read.
pub(super) async fn list_organizations(
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ClerkApiError> {
    let list =
        match QueryParams::of(&request).and_then(|params| OrganizationList::from_query(&params)) {
            Ok(list) => list,
            Err(reason) => return Ok(hand_over(&request, body, reason).await),
        };
    let state = AppState::of(&request)?;
    let members = list.members;
    let page = run_db(&state.database, move |conn| {
        clerk_objects::list_organizations(conn, &list.filter, list.order, list.offset, list.limit)
    })
    .await?;
    let data = page
        .data
        .iter()
        .map(|organization| organization_json(organization, members))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(json!({"data": data, "total_count": page.total_count})))
}

/// `GET /clerk/v1/organizations/{organization_id}`, by Clerk id or slug; 404
/// `resource_not_found` when the mirror does not hold it.
///
/// # Errors
/// [`ClerkApiError::NotFound`]; [`ClerkApiError::Mirror`] when the database cannot be read.
pub(super) async fn get_organization(
    request: HttpRequest,
    body: web::Bytes,
    path: web::Path<String>,
) -> Result<HttpResponse, ClerkApiError> {
    let members = match QueryParams::of(&request).and_then(|params| {
        params.only(&["include_members_count", ELEVATED])?;
        members_count_flag(&params)
    }) {
        Ok(members) => members,
        Err(reason) => return Ok(hand_over(&request, body, reason).await),
    };
    let state = AppState::of(&request)?;
    let id_or_slug = path.into_inner();
    let found = run_db(&state.database, move |conn| {
        clerk_objects::find_organization(conn, &id_or_slug)
    })
    .await?;
    let organization = found.ok_or(ClerkApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(organization_json(&organization, members)?))
}
