#![doc = include_str!("../README.md")]

pub mod admin;
mod changes;
pub mod clerk_objects;
mod connection;
mod database;
mod error;
mod insert_buffer;
mod json_column;
mod lock_key;
pub mod memberships;
pub mod organizations;
mod postgres_schema;
mod prepared;
pub mod replay;
pub mod resync;
mod row_cache;
pub mod schema;
mod sync;
#[cfg(feature = "testing")]
pub mod testing;
mod tombstones;
mod transaction;
pub mod users;
pub mod webhook_events;

pub use changes::Change;
pub use connection::{
    Backend, ConnectionManager, DatabaseUrl, DbConnection, SqliteOptions, SqliteSynchronous,
};
pub use database::{
    Conn, Database, PoolOptions, PoolState, migrate, ping, revert_after, revert_all,
};
pub use error::{CorruptValue, SchemaProblem, StoreError, UnavailableCause, UrlProblem};
pub use json_column::JsonText;
pub use lock_key::LockKey;
pub use postgres_schema::{PostgresOptions, PostgresSchema};
pub use sync::{
    BatchedDelivery, DeliveryWork, apply, apply_event, process_alone, process_deliveries,
    process_delivery, record_rejection,
};
pub use transaction::{WriteMode, write_transaction, write_transaction_in};
pub use webhook_events::Delivery;
