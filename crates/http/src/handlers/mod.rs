//! Request handlers, one file per resource.

pub mod forward_auth;
pub mod health;
pub mod me;
pub mod organizations;
pub mod webhooks;
