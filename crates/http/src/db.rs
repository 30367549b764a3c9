//! Running database work from async handlers.

use clerk_sync_persistence::{Database, DbConnection, StoreError};

use crate::ApiError;

/// Checks out a connection and runs `work` on actix's blocking thread pool, never on an async
/// worker, inside the caller's tracing span. The connection is returned to the pool before the
/// future resolves, so none is ever held across an `.await`.
///
/// # Errors
/// [`ApiError::Unavailable`] when no connection can be had, else what `work` returns, mapped.
pub async fn run_db<T, F>(database: &Database, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let database = database.clone();
    let span = tracing::Span::current();
    let result = actix_web::web::block(move || {
        let _entered = span.enter();
        let mut conn = database.get()?;
        work(&mut conn)
    })
    .await
    .map_err(|err| ApiError::Internal(Box::new(err)))?;
    Ok(result?)
}
