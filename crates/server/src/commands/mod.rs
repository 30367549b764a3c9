//! The subcommands other than `serve`, one module each.

pub mod check_config;
pub mod dev;
pub mod duration;
pub mod events;
pub mod healthcheck;
pub mod staff;
