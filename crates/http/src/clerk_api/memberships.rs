//! Organization memberships from the mirror: an organization's
//! (`GET /organizations/{organization_id}/memberships`), a user's
//! (`GET /users/{user_id}/organization_memberships`) and the instance's
//! (`GET /organization_memberships`), each `{"data": [...], "total_count": n}`, newest first
//! unless ordered otherwise.
//!
//! Answered: `limit`, `offset`; `order_by` (`created_at`, and the member's `email_address`,
//! `username`, `first_name`, `last_name`) on the organization's and the instance's lists;
//! `role` on the organization's. The member filters of the organization's list (`user_id`,
//! `email_address`, `query`, …) and the `phone_number` order are handed over. An unknown
//! organization or user has no memberships (Clerk documents no 404 for these lists).
//! Each membership carries its organization as the mirror holds it now.

use actix_web::{HttpRequest, HttpResponse, web};
use clerk_sync_persistence::admin::Direction;
use clerk_sync_persistence::clerk_objects::{
    self, MembershipObject, MembershipOrderKey, MembershipScope,
};
use serde_json::{Value, json};

use super::organizations::{MembersCount, organization_json};
use super::params::QueryParams;
use super::{ClerkApiError, HandOver, hand_over};
use crate::{ApiError, AppState, run_db};

fn order_key(field: &str) -> Option<MembershipOrderKey> {
    Some(match field {
        "created_at" => MembershipOrderKey::CreatedAt,
        "email_address" => MembershipOrderKey::EmailAddress,
        "username" => MembershipOrderKey::Username,
        "first_name" => MembershipOrderKey::FirstName,
        "last_name" => MembershipOrderKey::LastName,
        _ => return None,
    })
}

const NEWEST_FIRST: (MembershipOrderKey, Direction) =
    (MembershipOrderKey::CreatedAt, Direction::Desc);

/// A membership list as asked for.
struct MembershipList {
    roles: Vec<String>,
    order: (MembershipOrderKey, Direction),
    offset: i64,
    limit: i64,
}

impl MembershipList {
    /// Reads `answered` parameters (`limit` and `offset` always; `order_by`, `role` when
    /// listed).
    fn from_query(params: &QueryParams, answered: &[&str]) -> Result<Self, HandOver> {
        let mut names = vec!["limit", "offset"];
        names.extend_from_slice(answered);
        params.only(&names)?;
        Ok(Self {
            roles: params.values("role")?,
            order: params.order(order_key, NEWEST_FIRST)?,
            offset: params.offset()?,
            limit: params.limit()?,
        })
    }
}

/// The membership object with its organization and its member's names, image and username
/// as the mirror holds them now.
fn membership_json(membership: &MembershipObject) -> Result<Value, ApiError> {
    let mut object: Value = serde_json::from_str(&membership.object.0)
        .map_err(|err| ApiError::Internal(Box::new(err)))?;
    let Some(fields) = object.as_object_mut() else {
        return Err(ApiError::Internal(
            "a membership object is not a JSON object".into(),
        ));
    };
    if let Some(organization) = &membership.organization {
        fields.insert(
            "organization".to_owned(),
            organization_json(organization, MembersCount::AsStored)?,
        );
    }
    if let Some(Value::Object(user)) = fields.get_mut("public_user_data") {
        let member = &membership.member;
        user.insert("first_name".to_owned(), json!(member.first_name));
        user.insert("last_name".to_owned(), json!(member.last_name));
        if let Some(image_url) = &member.image_url {
            user.insert("image_url".to_owned(), json!(image_url));
        }
        if member.username.is_some() || user.contains_key("username") {
            user.insert("username".to_owned(), json!(member.username));
        }
    }
    Ok(object)
}

async fn answer(
    request: HttpRequest,
    body: web::Bytes,
    scope: MembershipScope,
    answered: &[&str],
) -> Result<HttpResponse, ClerkApiError> {
    let list = match QueryParams::of(&request)
        .and_then(|params| MembershipList::from_query(&params, answered))
    {
        Ok(list) => list,
        Err(reason) => return Ok(hand_over(&request, body, reason).await),
    };
    let state = AppState::of(&request)?;
    let page = run_db(&state.database, move |conn| {
        clerk_objects::list_memberships(
            conn,
            &scope,
            &list.roles,
            list.order,
            list.offset,
            list.limit,
        )
    })
    .await?;
    let data = page
        .data
        .iter()
        .map(membership_json)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(json!({"data": data, "total_count": page.total_count})))
}

/// `GET /clerk/v1/organizations/{organization_id}/memberships` (`limit`, `offset`,
/// `order_by`, `role`).
///
/// # Errors
/// [`ClerkApiError::Mirror`] when the database cannot be read.
pub(super) async fn list_organization_memberships(
    request: HttpRequest,
    body: web::Bytes,
    path: web::Path<String>,
) -> Result<HttpResponse, ClerkApiError> {
    let scope = MembershipScope::Organization(path.into_inner());
    answer(request, body, scope, &["order_by", "role"]).await
}

/// `GET /clerk/v1/users/{user_id}/organization_memberships` (`limit`, `offset`).
///
/// # Errors
/// [`ClerkApiError::Mirror`] when the database cannot be read.
pub(super) async fn list_user_memberships(
    request: HttpRequest,
    body: web::Bytes,
    path: web::Path<String>,
) -> Result<HttpResponse, ClerkApiError> {
    answer(request, body, MembershipScope::User(path.into_inner()), &[]).await
}

/// `GET /clerk/v1/organization_memberships` (`limit`, `offset`, `order_by`).
///
/// # Errors
/// [`ClerkApiError::Mirror`] when the database cannot be read.
pub(super) async fn list_instance_memberships(
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ClerkApiError> {
    answer(request, body, MembershipScope::Instance, &["order_by"]).await
}
