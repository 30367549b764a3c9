//! Running database work from async handlers.

use std::time::Duration;

use clerk_sync_persistence::{Conn, Database, DbConnection, StoreError, UnavailableCause};

use crate::ApiError;

/// The longest a request waits for its database work. A database that stops answering
/// without closing its connections (a hung server, a lost route) would otherwise hold the
/// request forever: Svix gives up on an attempt after about 15 s, so the sender is told 503 well
/// before that. The work itself is not interrupted: should it commit later, the sender's retry
/// finds the message id recorded and is answered `duplicate`, so nothing applies twice.
pub const DATABASE_DEADLINE: Duration = Duration::from_secs(8);

/// Checks out a connection and runs `work` on actix's blocking thread pool, never on an async
/// worker, inside the caller's tracing span. The connection is returned to the pool before the
/// future resolves, so none is ever held across an `.await`.
///
/// # Errors
/// [`ApiError::Unavailable`] when no connection can be had or the database does not answer
/// within [`DATABASE_DEADLINE`], else what `work` returns, mapped.
pub async fn run_db<T, F>(database: &Database, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    run(database, Database::get, work).await
}

/// [`run_db`] for a write transaction that is likely to meet others (a webhook delivery): on
/// SQLite it queues for the writer connection ([`Database::get_writer`]).
///
/// # Errors
/// As [`run_db`].
pub async fn run_db_write<T, F>(database: &Database, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    run(database, Database::get_writer, work).await
}

async fn run<T, F>(
    database: &Database,
    checkout: fn(&Database) -> Result<Conn, StoreError>,
    work: F,
) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let database = database.clone();
    let span = tracing::Span::current();
    let blocking = actix_web::web::block(move || {
        let _entered = span.enter();
        let mut conn = checkout(&database)?;
        work(&mut conn)
    });
    let result = tokio::time::timeout(DATABASE_DEADLINE, blocking)
        .await
        .map_err(|_elapsed| deadline_exceeded())?
        .map_err(|err| ApiError::Internal(Box::new(err)))?;
    Ok(result?)
}

/// The answer to a request whose database work did not finish within [`DATABASE_DEADLINE`].
pub(crate) fn deadline_exceeded() -> ApiError {
    ApiError::Unavailable(StoreError::Unavailable(UnavailableCause::Deadline(
        DATABASE_DEADLINE,
    )))
}
