#![doc = include_str!("../README.md")]

pub mod commands;
pub mod config;
pub mod resync;
pub mod startup;
pub mod telemetry;

pub use config::Settings;
pub use startup::Application;
