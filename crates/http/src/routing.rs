//! Every route the server mounts, in one table: [`crate::routes`] mounts [`ROUTES`] (and
//! [`crate::admin::scope`] mounts [`crate::admin::ROUTES`]), and the tests compare the tables
//! with the OpenAPI document. A route is therefore either described by `/openapi.json` or listed
//! here as deliberately left out of it, with the reason.
//!
//! One prefix is outside these tables, and so outside the document and its route-coverage
//! tests: [`crate::clerk_api::PREFIX`] (`/clerk/v1`), mounted by [`crate::clerk_api::scope`].
//! It is Clerk's Backend API, with Clerk's paths, shapes and errors, documented by Clerk's own
//! specification; describing it again here would put a second, drifting copy of Clerk's
//! contract in clerk-sync's document (and have the conformance run fuzz Clerk's API).

use actix_web::http::Method;
use actix_web::web;

use crate::handlers::{forward_auth, health, me, organizations, webhooks};
use crate::{docs, metrics, openapi};

/// One mounted route.
#[derive(Debug)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path as clients write it and `/openapi.json` lists it, with `{name}` parameters.
    /// API routes carry the trailing slash of the Python recipe's routes; the server answers
    /// with or without it (see [`Route::mounted_path`]).
    pub path: &'static str,
    /// Whether `/openapi.json` describes the route.
    pub listing: Listing,
    /// Whether every method reaches the handler (forward auth: proxies send the original
    /// request's method), `method` being the one the document describes.
    pub any_method: bool,
    /// The actix pattern, when it differs from `path` (a parameter that takes the rest of
    /// the path, slashes included).
    pattern: Option<&'static str>,
    handler: fn() -> actix_web::Route,
}

/// Whether the OpenAPI document describes a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Described by `/openapi.json`.
    Documented,
    /// Left out of it on purpose; the text says why.
    Undocumented(&'static str),
}

/// Why the browser pages are not in the document: they answer HTML for people (the admin pages
/// need a staff session and, for changes, a CSRF token from a form), not a contract for API
/// clients, and listing them would invite clients to depend on markup.
pub const BROWSER_PAGE: &str = "an HTML page for people, not part of the API";

impl Route {
    /// A route that `/openapi.json` describes.
    pub const fn documented(
        method: Method,
        path: &'static str,
        handler: fn() -> actix_web::Route,
    ) -> Self {
        Self {
            method,
            path,
            listing: Listing::Documented,
            any_method: false,
            pattern: None,
            handler,
        }
    }

    /// A route that `/openapi.json` describes with `method`, answered for every method.
    pub const fn documented_any_method(
        method: Method,
        path: &'static str,
        handler: fn() -> actix_web::Route,
    ) -> Self {
        let mut route = Self::documented(method, path, handler);
        route.any_method = true;
        route
    }

    /// Like [`Route::documented_any_method`], mounted under the actix `pattern`: `path` ends
    /// in a parameter that takes the rest of the path, slashes included.
    pub const fn documented_any_method_with_rest(
        method: Method,
        path: &'static str,
        pattern: &'static str,
        handler: fn() -> actix_web::Route,
    ) -> Self {
        let mut route = Self::documented_any_method(method, path, handler);
        route.pattern = Some(pattern);
        route
    }

    /// A route left out of `/openapi.json`, for the reason given.
    pub const fn undocumented(
        method: Method,
        path: &'static str,
        why: &'static str,
        handler: fn() -> actix_web::Route,
    ) -> Self {
        Self {
            method,
            path,
            listing: Listing::Undocumented(why),
            any_method: false,
            pattern: None,
            handler,
        }
    }

    /// The path the route is registered under: without a trailing slash, since the server
    /// trims it from every request (`NormalizePath`) before routing.
    pub fn mounted_path(&self) -> &'static str {
        if let Some(pattern) = self.pattern {
            return pattern;
        }
        self.path.strip_suffix('/').unwrap_or(self.path)
    }

    /// The actix route: the handler, for this method only (or for all, see
    /// [`Route::any_method`]).
    pub fn to_actix(&self) -> actix_web::Route {
        if self.any_method {
            (self.handler)()
        } else {
            (self.handler)().method(self.method.clone())
        }
    }

    /// Whether `/openapi.json` describes the route.
    pub fn is_documented(&self) -> bool {
        self.listing == Listing::Documented
    }
}

/// The routes outside `/admin`.
pub static ROUTES: &[Route] = &[
    Route::documented(Method::GET, "/api/v1/health", || {
        web::to(health::get_health)
    }),
    Route::documented(Method::GET, "/api/v1/ready", || web::to(health::get_ready)),
    Route::documented(Method::POST, "/api/v1/auth/clerk_webhook/", || {
        web::to(webhooks::receive_clerk_webhook)
    }),
    Route::documented(Method::GET, "/api/v1/auth/me/", || web::to(me::get_me)),
    Route::documented(Method::GET, "/api/v1/auth/me/organizations/", || {
        web::to(me::list_my_organizations)
    }),
    Route::documented_any_method(Method::GET, "/api/v1/auth/verify", || {
        web::to(forward_auth::verify_session)
    }),
    Route::documented_any_method_with_rest(
        Method::GET,
        "/api/v1/auth/verify/envoy{original_path}",
        "/api/v1/auth/verify/envoy{original_path:.*}",
        || web::to(forward_auth::verify_session_for_envoy),
    ),
    Route::documented(
        Method::GET,
        "/api/v1/organizations/{org_id}/members/",
        || web::to(organizations::list_organization_members),
    ),
    Route::documented(Method::GET, "/metrics", || web::to(metrics::get_metrics)),
    Route::documented(Method::GET, "/openapi.json", || {
        web::to(openapi::get_openapi)
    }),
    Route::undocumented(Method::GET, "/docs", BROWSER_PAGE, || {
        web::to(docs::get_docs)
    }),
    Route::undocumented(Method::GET, "/docs/assets/{file}", BROWSER_PAGE, || {
        web::to(docs::get_docs_asset)
    }),
];

/// Every route the server mounts: [`ROUTES`], then the admin pages.
pub fn all() -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().chain(crate::admin::ROUTES)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn no_route_is_mounted_twice() {
        let mut seen = BTreeSet::new();
        for route in all() {
            assert!(
                seen.insert((route.method.as_str(), route.mounted_path())),
                "{} {} is in the route tables twice",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn the_mounted_path_drops_only_a_trailing_slash() {
        let route = ROUTES
            .iter()
            .find(|route| route.path == "/api/v1/auth/me/")
            .expect("the /me route");
        assert_eq!(route.mounted_path(), "/api/v1/auth/me");
        let health = ROUTES.first().expect("a route");
        assert_eq!(health.mounted_path(), "/api/v1/health");
    }
}
