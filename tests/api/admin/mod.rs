//! The admin pages, black-box: access control, lists (search, filters, sorting, pages),
//! detail pages, editing with CSRF, in a real browser, and at scale.

mod access;
mod browser;
mod editing;
mod lists;
mod replay;
mod scale;
mod synced_fields;
mod webdriver;

use clerk_sync_domain::EmailAddress;
use clerk_sync_persistence::admin::users::{STAFF_LOCK, set_staff_by_email};
use clerk_sync_persistence::write_transaction;
use serde_json::{Value, json};

use crate::common::*;

/// The staff user every admin test signs in as.
pub const ADMIN: &str = "user_2AdminAdaLovelace0000";
pub const ADMIN_EMAIL: &str = "ada@example.com";

pub fn user_event(id: &str, email: &str, first: &str, last: &str) -> Value {
    json!({
        "type": "user.created", "object": "event", "timestamp": 1_700_000_100,
        "data": {
            "id": id, "object": "user",
            "email_addresses": [{"id": format!("idn_{id}"), "email_address": email, "object": "email_address",
                                 "verification": {"status": "verified", "strategy": "email_code"}}],
            "primary_email_address_id": format!("idn_{id}"),
            "first_name": first, "last_name": last, "image_url": "https://img.clerk.com/x",
            "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_000_000_i64,
        }
    })
}

pub fn organization_data(id: &str, name: &str) -> Value {
    json!({"id": id, "object": "organization", "name": name, "slug": name.to_lowercase().replace(' ', "-"),
           "image_url": null, "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_000_000_i64})
}

pub fn membership_event(id: &str, user: &str, org: &Value, role: &str) -> Value {
    json!({
        "type": "organizationMembership.created", "object": "event", "timestamp": 1_700_000_100,
        "data": {
            "id": id, "object": "organization_membership", "role": role, "organization": org,
            "public_user_data": {"user_id": user, "first_name": "From", "last_name": "Membership",
                                 "identifier": "someone@example.com", "image_url": null},
            "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_000_000_i64,
        }
    })
}

/// Delivers a signed event and checks it was applied.
pub async fn sync(server: &TestServer, msg_id: &str, event: &Value) {
    let (status, outcome) = server.deliver_json(msg_id, event).await;
    assert_eq!((status, outcome.as_str()), (200, "applied"), "{msg_id}");
}

/// The admin (staff), four more users, two organizations, four memberships, and one rejected
/// delivery.
pub async fn seed(server: &TestServer) {
    let people = [
        (ADMIN, ADMIN_EMAIL, "Ada", "Lovelace"),
        ("user_2BobBrown", "bob@example.com", "Bob", "Brown"),
        ("user_2CarolChen", "carol@acme.test", "Carol", "Chen"),
        ("user_2DaveDavis", "dave@acme.test", "Dave", "Davis"),
        ("user_2EveEvans", "eve@example.com", "Eve", "Evans"),
    ];
    for (id, email, first, last) in people {
        sync(
            server,
            &format!("msg_{id}"),
            &user_event(id, email, first, last),
        )
        .await;
    }
    let acme = organization_data("org_2Acme", "Acme Corp");
    let globex = organization_data("org_2Globex", "Globex");
    for (n, (user, org, role)) in [
        (ADMIN, &acme, "org:admin"),
        ("user_2CarolChen", &acme, "org:member"),
        ("user_2DaveDavis", &acme, "org:billing"),
        ("user_2BobBrown", &globex, "org:admin"),
    ]
    .into_iter()
    .enumerate()
    {
        sync(
            server,
            &format!("msg_mem{n}"),
            &membership_event(&format!("orgmem_{n}"), user, org, role),
        )
        .await;
    }
    let response = server
        .deliver("msg_broken", r#"{"type":"user.created","data":{"id":42}}"#)
        .await;
    assert_eq!(response.status().as_u16(), 400);
    promote(server, ADMIN_EMAIL);
}

pub fn promote(server: &TestServer, email: &str) {
    let email = EmailAddress::parse(email).expect("email");
    let mut conn = server.conn();
    write_transaction(&mut conn, &[STAFF_LOCK], |conn| {
        set_staff_by_email(conn, &email, true, chrono::Utc::now().naive_utc())
    })
    .expect("promotes")
    .expect("the user exists");
}

/// How a request authenticates.
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

pub struct Page {
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

pub async fn get(server: &TestServer, path: &str, auth: Auth<'_>) -> Page {
    let request = server.client.get(server.url(path));
    let request = match auth {
        Auth::None => request,
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Cookie(token) => request.header("cookie", format!("__session={token}")),
    };
    let response = request.send().await.expect("the server answers");
    Page {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.expect("a body"),
    }
}

/// A page as the admin sees it (bearer token).
pub async fn admin_get(server: &TestServer, path: &str) -> Page {
    let token = token_for(ADMIN);
    let page = get(server, path, Auth::Bearer(&token)).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page
}

/// The texts of the links in the first column of a page's table, in order.
pub fn first_column(body: &str) -> Vec<String> {
    let Some(tbody) = body.split("<tbody>").nth(1) else {
        return Vec::new();
    };
    tbody
        .split("<tr>")
        .skip(1)
        .filter(|row| !row.contains("class=\"empty\""))
        .filter_map(|row| {
            let cell = row.split("<td").nth(1)?;
            let text = cell.split("\">").nth(1)?.split('<').next()?;
            Some(text.trim().to_owned())
        })
        .collect()
}

/// The value of a hidden input.
pub fn hidden(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}
