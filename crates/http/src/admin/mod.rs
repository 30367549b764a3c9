//! The admin pages at `/admin`: server-rendered HTML for staff users, to find and inspect any
//! user, organization, membership or webhook event, and to edit the flags that belong to this
//! mirror rather than to Clerk (`is_staff`, `is_active`).
//!
//! No JavaScript: links and forms only, one stylesheet served from here, templates compiled
//! by askama (which HTML-escapes every value). Access needs a Clerk session token of an
//! active staff user (see [`Staff`]); writes need the session's CSRF token and must come from
//! the server's own origin (see `csrf`).

mod access;
mod assets;
mod csrf;
mod error;
mod home;
mod list;
mod memberships;
mod organizations;
mod page;
mod query;
mod users;
mod webhook_events;

use actix_web::http::Method;
use actix_web::web;

pub use access::Staff;
pub use csrf::CsrfKey;
pub use error::AdminError;

use crate::routing::{BROWSER_PAGE, Route};

/// Where the admin pages live.
const SCOPE: &str = "/admin";

/// Every admin route, with its full path. None is in the OpenAPI document (see
/// [`BROWSER_PAGE`]).
pub static ROUTES: &[Route] = &[
    Route::undocumented(Method::GET, "/admin", BROWSER_PAGE, || {
        web::to(home::get_dashboard)
    }),
    Route::undocumented(Method::GET, "/admin/static/admin.css", BROWSER_PAGE, || {
        web::to(assets::get_stylesheet)
    }),
    Route::undocumented(Method::GET, "/admin/users", BROWSER_PAGE, || {
        web::to(users::list_users)
    }),
    Route::undocumented(Method::GET, "/admin/users/{id}", BROWSER_PAGE, || {
        web::to(users::get_user)
    }),
    Route::undocumented(Method::POST, "/admin/users/{id}", BROWSER_PAGE, || {
        web::to(users::update_user)
    }),
    Route::undocumented(Method::GET, "/admin/organizations", BROWSER_PAGE, || {
        web::to(organizations::list_organizations)
    }),
    Route::undocumented(
        Method::GET,
        "/admin/organizations/{id}",
        BROWSER_PAGE,
        || web::to(organizations::get_organization),
    ),
    Route::undocumented(Method::GET, "/admin/memberships", BROWSER_PAGE, || {
        web::to(memberships::list_memberships)
    }),
    Route::undocumented(Method::GET, "/admin/webhook-events", BROWSER_PAGE, || {
        web::to(webhook_events::list_webhook_events)
    }),
    Route::undocumented(
        Method::GET,
        "/admin/webhook-events/{id}",
        BROWSER_PAGE,
        || web::to(webhook_events::get_webhook_event),
    ),
    Route::undocumented(
        Method::POST,
        "/admin/webhook-events/{id}/replay",
        BROWSER_PAGE,
        || web::to(webhook_events::replay_webhook_event),
    ),
];

/// The `/admin` scope, with every route of [`ROUTES`]; anything else under it answers the
/// admin 404 page.
pub fn scope() -> actix_web::Scope {
    ROUTES
        .iter()
        .fold(web::scope(SCOPE), |scope, route| {
            let path = route.mounted_path();
            scope.route(path.strip_prefix(SCOPE).unwrap_or(path), route.to_actix())
        })
        .default_service(web::to(error::not_found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_route_is_under_the_scope() {
        for route in ROUTES {
            assert!(
                route.path == SCOPE || route.path.starts_with("/admin/"),
                "{} is mounted under {SCOPE} but does not start with it",
                route.path
            );
            assert!(!route.is_documented(), "{} is an HTML page", route.path);
        }
    }
}
