//! A fake of Clerk's Backend API, on port 0: the listings and lookups a resync and the
//! read-through use, checked as Clerk checks them (secret key, limit), with scripted failures,
//! hooks that change the instance between two pages, pauses during which a test can deliver
//! webhooks, and a hung mode that never answers.
//!
//! The Backend API client's own tests (crates/backend-api/tests) use it too.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The key the fake instance accepts.
pub const SECRET_KEY: &str = "sk_test_fakeclerkinstancekey";

/// One object of the instance, serialized once.
#[derive(Clone)]
pub struct Listed {
    pub id: String,
    pub json: String,
    /// For a membership: its user's and organization's ids.
    pub user: Option<String>,
    pub organization: Option<String>,
}

/// What the instance holds, each kind in creation order.
#[derive(Default)]
pub struct Store {
    pub users: Vec<Listed>,
    pub organizations: Vec<Listed>,
    pub memberships: Vec<Listed>,
}

impl Store {
    pub fn remove_user(&mut self, id: &str) {
        self.users.retain(|u| u.id != id);
        self.memberships.retain(|m| m.user.as_deref() != Some(id));
    }
}

/// A scripted answer to the next request of a path.
pub enum Fault {
    /// An error status, with `Retry-After` seconds.
    Status(u16, Option<u64>),
    /// The answer comes this late.
    Delay(Duration),
    /// A 200 with this body.
    Body(&'static str),
}

type Hook = Box<dyn FnOnce(&mut Store) + Send>;

/// Where a page starts: at an offset, or after a cursor (`starting_after`, users only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageAt {
    Offset(u64),
    After(String),
}

impl PageAt {
    /// The first page of a listing.
    pub const FIRST: Self = Self::Offset(0);

    /// The page after the object with `id`.
    pub fn after(id: &str) -> Self {
        Self::After(id.to_owned())
    }

    fn of(paging: Option<&Paging>) -> Self {
        match paging.and_then(|p| p.starting_after.clone()) {
            Some(id) => Self::After(id),
            None => Self::Offset(paging.and_then(|p| p.offset).unwrap_or(0)),
        }
    }
}

struct Pause {
    path: String,
    at: PageAt,
    reached: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

#[derive(Default)]
struct State {
    store: Store,
    faults: VecDeque<(String, Fault)>,
    hooks: Vec<(String, PageAt, Hook)>,
    pauses: Vec<Pause>,
    log: Vec<Request>,
    /// Every request is accepted and never answered (a hung instance).
    hung: bool,
}

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The `Clerk-API-Version` the request named.
    pub api_version: Option<String>,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub at: Instant,
}

pub struct FakeClerk {
    state: Arc<Mutex<State>>,
    base: String,
    handle: actix_web::dev::ServerHandle,
}

#[derive(Deserialize)]
struct Paging {
    limit: Option<u64>,
    offset: Option<u64>,
    starting_after: Option<String>,
    order_by: Option<String>,
    user_id: Option<String>,
}

impl FakeClerk {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(answer))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .expect("binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            state,
            base: format!("http://127.0.0.1:{port}/v1"),
            handle,
        }
    }

    /// The base URL, as CLERK_API_URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.lock().store)
    }

    /// The next request to a path starting with `path` gets `fault`.
    pub fn fail_next(&self, path: &str, fault: Fault) {
        self.lock().faults.push_back((path.to_owned(), fault));
    }

    /// Right after the page of `path` at `at` is served, `hook` changes the instance.
    pub fn after_page(
        &self,
        path: &str,
        at: PageAt,
        hook: impl FnOnce(&mut Store) + Send + 'static,
    ) {
        self.lock()
            .hooks
            .push((path.to_owned(), at, Box::new(hook)));
    }

    /// The request for the page of `path` at `at` waits until the returned sender fires; the
    /// returned receiver fires when it has arrived.
    pub fn pause_before(
        &self,
        path: &str,
        at: PageAt,
    ) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (reached_tx, reached_rx) = oneshot::channel();
        let (release_tx, release_rx) = oneshot::channel();
        self.lock().pauses.push(Pause {
            path: path.to_owned(),
            at,
            reached: reached_tx,
            release: release_rx,
        });
        (reached_rx, release_tx)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.lock().log.clone()
    }

    /// From now on every request is accepted and never answered.
    pub fn hang(&self) {
        self.lock().hung = true;
    }
}

impl Drop for FakeClerk {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn error(status: u16, code: &str, message: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status).expect("a status");
    HttpResponse::build(status)
        .json(json!({"errors": [{"code": code, "message": message, "long_message": message}]}))
}

async fn answer(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<Mutex<State>>,
) -> HttpResponse {
    let path = request.path().trim_start_matches("/v1").to_owned();
    let query = request.query_string().to_owned();
    let paging = web::Query::<Paging>::from_query(&query)
        .map(web::Query::into_inner)
        .ok();
    let at = PageAt::of(paging.as_ref());
    let hung = state.lock().unwrap_or_else(PoisonError::into_inner).hung;
    if hung {
        return std::future::pending::<HttpResponse>().await;
    }
    let (pause, fault) = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        let pause = state
            .pauses
            .iter()
            .position(|p| p.path == path && p.at == at)
            .map(|i| state.pauses.remove(i));
        let fault = state
            .faults
            .iter()
            .position(|(prefix, _)| path.starts_with(prefix.as_str()))
            .and_then(|i| state.faults.remove(i))
            .map(|(_, fault)| fault);
        (pause, fault)
    };
    if let Some(pause) = pause {
        let _ = pause.reached.send(());
        let _ = pause.release.await;
    }
    let response = match write(&request, &path, &body, &state) {
        Some(response) => response,
        None => respond(&request, &path, paging.as_ref(), fault, &state).await,
    };
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    state.log.push(Request {
        method: request.method().to_string(),
        api_version: request
            .headers()
            .get("clerk-api-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        path: path.clone(),
        query,
        status: response.status().as_u16(),
        at: Instant::now(),
    });
    if response.status().is_success()
        && let Some(i) = state
            .hooks
            .iter()
            .position(|(p, a, _)| *p == path && *a == at)
    {
        let (_, _, hook) = state.hooks.remove(i);
        hook(&mut state.store);
    }
    response
}

async fn respond(
    request: &HttpRequest,
    path: &str,
    paging: Option<&Paging>,
    fault: Option<Fault>,
    state: &Mutex<State>,
) -> HttpResponse {
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {SECRET_KEY}"));
    if !authorized {
        return error(401, "authentication_invalid", "Unauthorized request");
    }
    match fault {
        Some(Fault::Status(status, retry_after)) => {
            let mut response = error(status, "scripted", "A scripted failure");
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from(seconds),
                );
            }
            return response;
        }
        Some(Fault::Delay(delay)) => actix_web::rt::time::sleep(delay).await,
        Some(Fault::Body(body)) => return json_body(body.to_owned()),
        None => {}
    }
    let limit = paging.and_then(|p| p.limit).unwrap_or(10);
    let offset = usize::try_from(paging.and_then(|p| p.offset).unwrap_or(0)).expect("an offset");
    if !(1..=500).contains(&limit) {
        return error(422, "form_param_value_invalid", "limit must be 1 to 500");
    }
    let limit = usize::try_from(limit).expect("a limit");
    let state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let store = &state.store;
    let page = |objects: &[Listed]| -> String {
        let end = objects.len().min(offset.saturating_add(limit));
        let slice = objects.get(offset.min(end)..end).unwrap_or_default();
        let items: Vec<&str> = slice.iter().map(|o| o.json.as_str()).collect();
        format!("[{}]", items.join(","))
    };
    let paginated = |objects: &[Listed]| -> HttpResponse {
        json_body(format!(
            "{{\"data\":{},\"total_count\":{}}}",
            page(objects),
            objects.len()
        ))
    };
    let listing = |objects: &[Listed]| -> HttpResponse {
        if paging.and_then(|p| p.order_by.as_deref()) != Some("+created_at") {
            return error(
                422,
                "test_expectation",
                "the resync must list in creation order",
            );
        }
        paginated(objects)
    };
    let find = |objects: &[Listed], id: &str| -> HttpResponse {
        objects.iter().find(|o| o.id == id).map_or_else(
            || error(404, "resource_not_found", "not found"),
            |o| json_body(o.json.clone()),
        )
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["users"] => {
            if paging.and_then(|p| p.order_by.as_deref()) != Some("+created_at") {
                return error(
                    422,
                    "test_expectation",
                    "the resync must list in creation order",
                );
            }
            if paging.and_then(|p| p.offset).is_some() {
                return error(
                    422,
                    "test_expectation",
                    "the resync must page users with starting_after, not offset",
                );
            }
            // As Clerk documents it: the users created after the cursor's user.
            let start = match paging.and_then(|p| p.starting_after.as_deref()) {
                None => 0,
                Some(cursor) => match store.users.iter().position(|u| u.id == cursor) {
                    Some(i) => i + 1,
                    None => {
                        return error(
                            422,
                            "form_param_value_invalid",
                            "starting_after names no user",
                        );
                    }
                },
            };
            let end = store.users.len().min(start.saturating_add(limit));
            let items: Vec<&str> = store.users[start.min(end)..end]
                .iter()
                .map(|o| o.json.as_str())
                .collect();
            json_body(format!("[{}]", items.join(",")))
        }
        ["users", "count"] => json_body(
            json!({"object": "total_count", "total_count": store.users.len()}).to_string(),
        ),
        ["users", id] => find(&store.users, id),
        ["users", id, "organization_memberships"] => {
            let members: Vec<Listed> = store
                .memberships
                .iter()
                .filter(|m| m.user.as_deref() == Some(*id))
                .cloned()
                .collect();
            paginated(&members)
        }
        ["organizations"] => listing(&store.organizations),
        ["organizations", id] => find(&store.organizations, id),
        ["organizations", id, "memberships"] => {
            if !store.organizations.iter().any(|o| o.id == *id) {
                return error(404, "resource_not_found", "not found");
            }
            let user = paging.and_then(|p| p.user_id.clone());
            let members: Vec<Listed> = store
                .memberships
                .iter()
                .filter(|m| m.organization.as_deref() == Some(*id))
                .filter(|m| user.is_none() || m.user == user)
                .cloned()
                .collect();
            paginated(&members)
        }
        ["organization_memberships"] => listing(&store.memberships),
        _ => error(404, "resource_not_found", "no such route in the fake"),
    }
}

/// The writes the pass-through tests make, as Clerk answers them: `PATCH /users/{id}` sets the
/// fields sent, `PATCH /users/{id}/metadata` merges the metadata sent into the user's (deeply,
/// as Clerk does), each answering the user with a newer `updated_at`; `DELETE /users/{id}`
/// answers a `deleted_object`. `None` for every other request.
fn write(
    request: &HttpRequest,
    path: &str,
    body: &[u8],
    state: &Mutex<State>,
) -> Option<HttpResponse> {
    let method = request.method().as_str();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (id, metadata) = match (method, segments.as_slice()) {
        ("PATCH", ["users", id]) => (*id, false),
        ("PATCH", ["users", id, "metadata"]) => (*id, true),
        ("DELETE", ["users", id]) => {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            state.store.remove_user(id);
            return Some(json_body(
                json!({"object": "deleted_object", "id": id, "deleted": true}).to_string(),
            ));
        }
        _ => return None,
    };
    if request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {SECRET_KEY}"))
    {
        return Some(error(401, "authentication_invalid", "Unauthorized request"));
    }
    let Ok(changes) = serde_json::from_slice::<Value>(body) else {
        return Some(error(
            400,
            "form_param_format_invalid",
            "the body is not JSON",
        ));
    };
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(user) = state.store.users.iter_mut().find(|u| u.id == id) else {
        return Some(error(404, "resource_not_found", "not found"));
    };
    let mut object: Value = serde_json::from_str(&user.json).expect("stored JSON");
    for (key, value) in changes.as_object().into_iter().flatten() {
        if metadata {
            merge(&mut object[key], value);
        } else {
            object[key] = value.clone();
        }
    }
    let updated_at = object["updated_at"].as_i64().unwrap_or(0) + 1_000;
    object["updated_at"] = json!(updated_at);
    user.json = object.to_string();
    Some(json_body(user.json.clone()))
}

/// Clerk's metadata merge: objects merge key by key, `null` removes a key, anything else
/// replaces.
fn merge(target: &mut Value, changes: &Value) {
    match (target.as_object_mut(), changes.as_object()) {
        (Some(target), Some(changes)) => {
            for (key, value) in changes {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        _ => *target = changes.clone(),
    }
}

fn json_body(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// A Clerk user object, as the Backend API lists it.
pub fn user(id: &str, email: Option<&str>, first_name: &str, updated_at: i64) -> Listed {
    let emails: Vec<Value> = email
        .iter()
        .map(|e| json!({"id": format!("idn_{id}"), "object": "email_address", "email_address": e,
                        "verification": {"status": "verified", "strategy": "email_code"}, "linked_to": []}))
        .collect();
    let json = json!({
        "id": id, "object": "user", "username": null, "first_name": first_name, "last_name": "Listed",
        "image_url": format!("https://img.clerk.com/{id}"), "has_image": false,
        "primary_email_address_id": email.map(|_| format!("idn_{id}")), "primary_phone_number_id": null,
        "email_addresses": emails, "phone_numbers": [], "web3_wallets": [], "external_accounts": [],
        "public_metadata": {}, "private_metadata": {}, "unsafe_metadata": {},
        "password_enabled": true, "two_factor_enabled": false, "banned": false, "locked": false,
        "last_sign_in_at": updated_at, "created_at": 1_700_000_000_000_i64, "updated_at": updated_at,
    });
    Listed {
        id: id.to_owned(),
        json: json.to_string(),
        user: None,
        organization: None,
    }
}

pub fn organization_json(id: &str, name: &str, updated_at: i64) -> Value {
    json!({"id": id, "object": "organization", "name": name, "slug": name.to_lowercase().replace(' ', "-"),
           "image_url": format!("https://img.clerk.com/{id}"), "has_image": false, "members_count": 2,
           "max_allowed_memberships": 5, "admin_delete_enabled": true, "public_metadata": {},
           "private_metadata": {}, "created_by": "user_creator", "created_at": 1_700_000_000_000_i64,
           "updated_at": updated_at})
}

/// A Clerk organization object.
pub fn organization(id: &str, name: &str, updated_at: i64) -> Listed {
    Listed {
        id: id.to_owned(),
        json: organization_json(id, name, updated_at).to_string(),
        user: None,
        organization: None,
    }
}

/// A Clerk organization membership object, with the organization and member data it carries.
pub fn membership(
    id: &str,
    user_id: &str,
    organization: &Value,
    role: &str,
    updated_at: i64,
) -> Listed {
    let json = json!({
        "id": id, "object": "organization_membership", "role": role, "role_name": "Member",
        "permissions": ["org:sys_memberships:read"], "public_metadata": {}, "private_metadata": {},
        "organization": organization,
        "public_user_data": {"user_id": user_id, "first_name": "Member", "last_name": "Data",
                             "image_url": "https://img.clerk.com/m", "has_image": false,
                             "identifier": "member@example.com"},
        "created_at": 1_700_000_000_000_i64, "updated_at": updated_at,
    });
    Listed {
        id: id.to_owned(),
        json: json.to_string(),
        user: Some(user_id.to_owned()),
        organization: organization["id"].as_str().map(str::to_owned),
    }
}
