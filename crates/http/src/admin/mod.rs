//! The admin pages at `/admin`: server-rendered HTML for staff users, to find and inspect any
//! user, organization, membership or webhook event, and to edit the flags that belong to this
//! mirror rather than to Clerk (`is_staff`, `is_active`).
//!
//! No JavaScript: links and forms only, one stylesheet served from here, templates compiled
//! by askama (which HTML-escapes every value). Access needs a Clerk session token of an
//! active staff user (see [`Staff`]); writes need a CSRF token (see `csrf`).

mod access;
mod assets;
mod csrf;
mod error;
mod home;
mod list;
mod memberships;
mod organizations;
mod page;
mod users;
mod webhook_events;

use actix_web::web;

pub use access::Staff;
pub use error::AdminError;

/// The `/admin` scope, with every admin route.
pub fn scope() -> actix_web::Scope {
    web::scope("/admin")
        .route("", web::get().to(home::get_dashboard))
        .route("/static/admin.css", web::get().to(assets::get_stylesheet))
        .route("/users", web::get().to(users::list_users))
        .route("/users/{id}", web::get().to(users::get_user))
        .route("/users/{id}", web::post().to(users::update_user))
        .route(
            "/organizations",
            web::get().to(organizations::list_organizations),
        )
        .route(
            "/organizations/{id}",
            web::get().to(organizations::get_organization),
        )
        .route("/memberships", web::get().to(memberships::list_memberships))
        .route(
            "/webhook-events",
            web::get().to(webhook_events::list_webhook_events),
        )
        .route(
            "/webhook-events/{id}",
            web::get().to(webhook_events::get_webhook_event),
        )
        .default_service(web::to(error::not_found))
}
