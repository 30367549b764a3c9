//! The persistence crate's error type.
//!
//! Every variant that stems from another error carries it as its `source`, typed, and leaves
//! it out of its own message: a log or `{:#}` walks the chain and prints each cause once.

use std::path::PathBuf;
use std::time::Duration;

use clerk_sync_domain::{DomainError, UnknownOutcome};
use diesel::ConnectionError;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `DATABASE_URL` cannot be used; the problem says what form it must take.
    #[error("invalid DATABASE_URL")]
    InvalidUrl(#[source] UrlProblem),
    /// A PostgreSQL schema name cannot be used; the problem says which rule it breaks.
    #[error("invalid PostgreSQL schema name")]
    InvalidSchema(#[source] SchemaProblem),
    /// The database cannot be reached, or no connection freed up in time. Callers answer
    /// "retry later" (HTTP 503).
    #[error("the database is unavailable")]
    Unavailable(#[source] UnavailableCause),
    /// A row holds a value the model rejects (written by something other than clerk-sync).
    #[error("stored data does not fit the model")]
    Corrupt(#[source] CorruptValue),
    /// Applying (or reverting) the embedded migrations failed.
    #[error("database migration failed")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A local account was linked to another Clerk user by a concurrent transaction between
    /// this transaction's read and its write; running the transaction again sees the link.
    #[error("the account was linked concurrently")]
    LinkRaced,
    /// Any other database failure.
    #[error("database error")]
    Database(#[source] DieselError),
}

/// What is wrong with a `DATABASE_URL`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlProblem {
    /// Neither `sqlite:` nor `postgres:` / `postgresql:`.
    #[error(
        "unsupported scheme `{scheme}`: use sqlite://PATH (relative), sqlite:///ABSOLUTE/PATH or postgres://USER@HOST/DB"
    )]
    UnsupportedScheme {
        /// The scheme given, or `(none)`.
        scheme: String,
    },
    /// A SQLite URL without a file: empty, or an in-memory database.
    #[error(
        "a SQLite URL needs a file path, e.g. sqlite://data/clerk-sync.sqlite3 (in-memory databases are not shared between connections)"
    )]
    NoSqliteFile,
}

/// What is wrong with a PostgreSQL schema name (see `PostgresSchema`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchemaProblem {
    /// Empty, or longer than PostgreSQL keeps.
    #[error("a schema name has 1 to 63 characters")]
    Length,
    /// A character outside the allowed set.
    #[error("`{character}` is not allowed: use ASCII letters, digits, `_` and `-`")]
    Character {
        /// The first character not allowed.
        character: char,
    },
    /// One of PostgreSQL's own names.
    #[error("names starting with `pg_`, and `information_schema`, are PostgreSQL's own")]
    Reserved,
}

/// Why the database is unavailable.
#[derive(Debug, thiserror::Error)]
pub enum UnavailableCause {
    /// No pooled connection freed up or opened within the pool's timeout.
    #[error(transparent)]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A connection could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectionError),
    /// The connection failed under a query (closed, or it did not answer a ping).
    #[error(transparent)]
    Connection(#[from] DieselError),
    /// The directory of the SQLite file does not exist and cannot be created.
    #[error("cannot create the directory {} for the SQLite database", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// Why it cannot be created.
        #[source]
        source: std::io::Error,
    },
    /// The transaction that held this delivery, with others, failed as a whole (it could not
    /// begin, take its locks or commit): the cause is that transaction's error.
    #[error("the transaction of its batch failed")]
    Batch(#[source] std::sync::Arc<StoreError>),
    /// The work did not finish within the caller's deadline.
    #[error("the database did not answer within {} s", .0.as_secs())]
    Deadline(Duration),
}

/// A stored value the model rejects.
#[derive(Debug, thiserror::Error)]
pub enum CorruptValue {
    /// A value the domain types refuse (an id, an email address, a role, …).
    #[error(transparent)]
    Value(#[from] DomainError),
    /// A webhook log outcome that is not one of the known names.
    #[error(transparent)]
    Outcome(#[from] UnknownOutcome),
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                Self::Unavailable(UnavailableCause::Connection(err))
            }
            other => Self::Database(other),
        }
    }
}

impl From<UnavailableCause> for StoreError {
    fn from(err: UnavailableCause) -> Self {
        Self::Unavailable(err)
    }
}

impl From<UrlProblem> for StoreError {
    fn from(err: UrlProblem) -> Self {
        Self::InvalidUrl(err)
    }
}

impl From<SchemaProblem> for StoreError {
    fn from(err: SchemaProblem) -> Self {
        Self::InvalidSchema(err)
    }
}

impl From<DomainError> for StoreError {
    fn from(err: DomainError) -> Self {
        Self::Corrupt(CorruptValue::Value(err))
    }
}

impl From<UnknownOutcome> for StoreError {
    fn from(err: UnknownOutcome) -> Self {
        Self::Corrupt(CorruptValue::Outcome(err))
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

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    /// The messages of an error and its causes, outermost first.
    fn chain(err: &(dyn Error + 'static)) -> Vec<String> {
        std::iter::successors(Some(err), |&err| err.source())
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn causes_are_sources_and_each_message_says_one_thing() {
        let unavailable = StoreError::from(UnavailableCause::Deadline(Duration::from_secs(5)));
        assert_eq!(
            chain(&unavailable),
            [
                "the database is unavailable",
                "the database did not answer within 5 s"
            ]
        );
        let corrupt = StoreError::from(UnknownOutcome);
        assert!(matches!(
            corrupt,
            StoreError::Corrupt(CorruptValue::Outcome(_))
        ));
        assert_eq!(chain(&corrupt).len(), 2, "{:?}", chain(&corrupt));
        assert!(chain(&corrupt)[1].starts_with("unknown outcome"));
        let dir = StoreError::from(UnavailableCause::CreateDir {
            dir: PathBuf::from("/nope"),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        });
        assert_eq!(chain(&dir).len(), 3, "{:?}", chain(&dir));
    }

    #[test]
    fn a_closed_connection_is_unavailable_and_other_failures_are_not() {
        let closed = DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection".to_owned()),
        );
        assert!(matches!(
            StoreError::from(closed),
            StoreError::Unavailable(UnavailableCause::Connection(_))
        ));
        assert!(matches!(
            StoreError::from(DieselError::NotFound),
            StoreError::Database(DieselError::NotFound)
        ));
    }
}
