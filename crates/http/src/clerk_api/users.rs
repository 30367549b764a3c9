//! `GET /users`, `GET /users/count` and `GET /users/{user_id}` from the mirror.
//!
//! Answered filters: `email_address` (any of the user's addresses, verified or not),
//! `phone_number` (any of the user's numbers), `username`, `external_id`, `user_id` and
//! `organization_id` (each id with an optional `+`/`-`); orders by `created_at`,
//! `updated_at`, `email_address` (the primary address), `username`, `first_name`,
//! `last_name`; `limit`, `offset`, and `starting_after` (with the `created_at` order and no
//! offset, as Clerk requires). `query` and the other filters are handed over: `query` is a
//! partial match over fields the mirror does not index for it (web3 wallets among them), and
//! the mirror cannot repeat Clerk's matching exactly.

use actix_web::{HttpRequest, HttpResponse, web};
use clerk_sync_persistence::JsonText;
use clerk_sync_persistence::admin::Direction;
use clerk_sync_persistence::clerk_objects::{self, PageStart, UserFilter, UserOrderKey};

use super::params::QueryParams;
use super::{ClerkApiError, HandOver, hand_over};
use crate::{AppState, run_db};

const FILTERS: [&str; 6] = [
    "email_address",
    "phone_number",
    "external_id",
    "username",
    "user_id",
    "organization_id",
];

fn filter(params: &QueryParams) -> Result<UserFilter, HandOver> {
    Ok(UserFilter {
        email_addresses: params.values("email_address")?,
        phone_numbers: params.values("phone_number")?,
        usernames: params.values("username")?,
        external_ids: params.signed_ids("external_id")?,
        user_ids: params.signed_ids("user_id")?,
        organization_ids: params.signed_ids("organization_id")?,
    })
}

fn order_key(field: &str) -> Option<UserOrderKey> {
    Some(match field {
        "created_at" => UserOrderKey::CreatedAt,
        "updated_at" => UserOrderKey::UpdatedAt,
        "email_address" => UserOrderKey::EmailAddress,
        "username" => UserOrderKey::Username,
        "first_name" => UserOrderKey::FirstName,
        "last_name" => UserOrderKey::LastName,
        _ => return None,
    })
}

/// A user list as asked for, before the cursor is looked up.
struct UserList {
    filter: UserFilter,
    order: (UserOrderKey, Direction),
    offset: i64,
    starting_after: Option<String>,
    limit: i64,
}

impl UserList {
    fn from_query(params: &QueryParams) -> Result<Self, HandOver> {
        let mut answered = FILTERS.to_vec();
        answered.extend(["limit", "offset", "order_by", "starting_after"]);
        params.only(&answered)?;
        let order = params.order(order_key, (UserOrderKey::CreatedAt, Direction::Desc))?;
        let offset = params.offset()?;
        let starting_after = params.first("starting_after").map(str::to_owned);
        // Clerk refuses a cursor with another order or an offset (422); Clerk says so best.
        if starting_after.is_some() && (order.0 != UserOrderKey::CreatedAt || offset != 0) {
            return Err(HandOver::ParameterValue("starting_after".to_owned()));
        }
        Ok(Self {
            filter: filter(params)?,
            order,
            offset,
            starting_after,
            limit: params.limit()?,
        })
    }
}

/// A JSON array of stored objects, as they are.
fn json_array(objects: &[JsonText]) -> HttpResponse {
    let mut body = String::with_capacity(objects.iter().map(|o| o.0.len() + 1).sum::<usize>() + 2);
    body.push('[');
    for (index, object) in objects.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(&object.0);
    }
    body.push(']');
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// `GET /clerk/v1/users`: a bare array of Clerk user objects (Clerk's `User.List`).
///
/// # Errors
/// [`ClerkApiError::Mirror`] when the database cannot be read.
pub(super) async fn list_users(
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ClerkApiError> {
    let list = match QueryParams::of(&request).and_then(|params| UserList::from_query(&params)) {
        Ok(list) => list,
        Err(reason) => return Ok(hand_over(&request, body, reason).await),
    };
    let state = AppState::of(&request)?;
    let page = run_db(&state.database, move |conn| {
        let start = match &list.starting_after {
            None => PageStart::Offset(list.offset),
            Some(user) => match clerk_objects::user_cursor(conn, user)? {
                Some(cursor) => PageStart::After(cursor),
                None => return Ok(None),
            },
        };
        clerk_objects::list_users(conn, &list.filter, list.order, start, list.limit).map(Some)
    })
    .await?;
    match page {
        Some(users) => Ok(json_array(&users)),
        // A cursor the mirror does not hold (deleted since, or not synced yet).
        None => {
            let reason = HandOver::ParameterValue("starting_after".to_owned());
            Ok(hand_over(&request, body, reason).await)
        }
    }
}

/// `GET /clerk/v1/users/count`: `{"object": "total_count", "total_count": n}`.
///
/// # Errors
/// [`ClerkApiError::Mirror`] when the database cannot be read.
pub(super) async fn count_users(
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ClerkApiError> {
    let filter = match QueryParams::of(&request).and_then(|params| {
        params.only(&FILTERS)?;
        filter(&params)
    }) {
        Ok(filter) => filter,
        Err(reason) => return Ok(hand_over(&request, body, reason).await),
    };
    let state = AppState::of(&request)?;
    let total_count = run_db(&state.database, move |conn| {
        clerk_objects::count_users(conn, &filter)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({"object": "total_count", "total_count": total_count})))
}

/// `GET /clerk/v1/users/{user_id}`: the Clerk user object; 404 `resource_not_found` when the
/// mirror does not hold it (as of the last webhook or resync).
///
/// # Errors
/// [`ClerkApiError::NotFound`]; [`ClerkApiError::Mirror`] when the database cannot be read.
pub(super) async fn get_user(
    request: HttpRequest,
    body: web::Bytes,
    path: web::Path<String>,
) -> Result<HttpResponse, ClerkApiError> {
    if let Err(reason) = QueryParams::of(&request).and_then(|params| params.only(&[])) {
        return Ok(hand_over(&request, body, reason).await);
    }
    let state = AppState::of(&request)?;
    let user_id = path.into_inner();
    let user = run_db(&state.database, move |conn| {
        clerk_objects::find_user(conn, &user_id)
    })
    .await?;
    let user = user.ok_or(ClerkApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(user.0))
}
