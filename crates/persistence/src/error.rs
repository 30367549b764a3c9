//! The persistence crate's error type.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `DATABASE_URL` cannot be used; the message says what form it must take.
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
    /// The database cannot be reached, or no connection freed up in time. Callers answer
    /// "retry later" (HTTP 503).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A row holds a value the model rejects (written by something other than clerk-sync).
    #[error("stored data does not fit the model: {0}")]
    Corrupt(String),
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A local account was linked to another Clerk user by a concurrent transaction between
    /// this transaction's read and its write; running the transaction again sees the link.
    #[error("the account was linked concurrently")]
    LinkRaced,
    /// Any other database failure.
    #[error("database error")]
    Database(#[source] DieselError),
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            other => Self::Database(other),
        }
    }
}

impl From<clerk_sync_domain::DomainError> for StoreError {
    fn from(err: clerk_sync_domain::DomainError) -> Self {
        Self::Corrupt(err.to_string())
    }
}

impl StoreError {
    /// Whether running the same transaction again may succeed: conflicts between concurrent
    /// writers (serialization failures, deadlocks, unique violations raced by another replica,
    /// SQLite's busy lock), as opposed to failures that would repeat.
    pub fn is_conflict(&self) -> bool {
        if matches!(self, Self::LinkRaced) {
            return true;
        }
        let Self::Database(DieselError::DatabaseError(kind, info)) = self else {
            return false;
        };
        match kind {
            DatabaseErrorKind::SerializationFailure | DatabaseErrorKind::UniqueViolation => true,
            _ => {
                let message = info.message();
                message.contains("deadlock detected") || message.contains("database is locked")
            }
        }
    }
}
