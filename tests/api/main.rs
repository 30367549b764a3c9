//! Black-box tests: the real clerk-sync server on port 0, spoken to over HTTP, on SQLite and
//! on PostgreSQL.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

mod common;

mod account_trust;
mod admin;
mod attacks;
mod auth;
mod bad_input;
mod binary;
mod clerk_api;
mod commands;
mod database_schema;
mod docs;
mod forward_auth;
mod headers;
mod jwks;
mod jwks_server;
mod limits;
mod ops;
mod organizations;
mod read_through;
mod readme;
mod reliability;
mod replay;
mod resync;
mod server;
mod webhooks;
