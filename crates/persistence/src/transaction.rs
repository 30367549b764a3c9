//! Write transactions that serialize conflicting writers in the database itself.
//!
//! SQLite: `BEGIN IMMEDIATE` takes the database's single write lock up front, so a transaction
//! never reads a state that another writer changes before it commits.
//!
//! PostgreSQL (read committed): before any read, the transaction takes a transaction-scoped
//! advisory lock per [`LockKey`] it names (a Clerk object id, an email, a message id), in
//! sorted order. Writers that touch the same object therefore run one after the other, whichever
//! replica they run on; writers of unrelated objects run in parallel. The locks are released by
//! the commit or rollback, never by the process, so a crash cannot leave one held.
//!
//! Conflicts that slip past the locks (a unique violation raced by another writer, a deadlock
//! broken by PostgreSQL, SQLite's busy timeout) roll back and the whole transaction runs again,
//! a few times, before the error is returned.

use std::time::Duration;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

use crate::prepared::{ArrayBind, Prepared};
use crate::{DbConnection, LockKey, StoreError};

/// How a write transaction begins on PostgreSQL: see [`begin`].
const BEGIN_POSTGRES: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";

/// How many times a conflicting transaction runs before its error is returned.
const ATTEMPTS: u32 = 5;

/// What becomes of a write transaction whose work succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Commit it.
    Commit,
    /// Roll it back: the work ran against the real data, under the same locks, and reported
    /// what it would change, but nothing is kept (a dry run).
    DryRun,
}

/// Runs `work` in a write transaction holding `lock_keys`, retrying on conflicts.
///
/// `work` may run more than once, so it must not have effects outside the transaction.
///
/// # Errors
/// The error of the last attempt: [`StoreError::Unavailable`] when the database is down, a
/// conflict still unresolved after the last attempt, or the error `work` returned.
pub fn write_transaction<T>(
    conn: &mut DbConnection,
    lock_keys: &[LockKey],
    work: impl FnMut(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    write_transaction_in(WriteMode::Commit, conn, lock_keys, work)
}

/// [`write_transaction`], rolled back at the end instead of committed for
/// [`WriteMode::DryRun`].
///
/// # Errors
/// As [`write_transaction`].
pub fn write_transaction_in<T>(
    mode: WriteMode,
    conn: &mut DbConnection,
    lock_keys: &[LockKey],
    mut work: impl FnMut(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut keys: Vec<&str> = lock_keys.iter().map(LockKey::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut attempt = 1;
    loop {
        match run_once(mode, conn, &keys, &mut work) {
            Err(err) if err.is_conflict() && attempt < ATTEMPTS => {
                tracing::debug!(attempt, "write transaction conflicted; running it again");
                std::thread::sleep(Duration::from_millis(u64::from(attempt * attempt) * 5));
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn run_once<T>(
    mode: WriteMode,
    conn: &mut DbConnection,
    keys: &[&str],
    work: &mut impl FnMut(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    begin(conn, keys)?;
    match work(conn) {
        Ok(value) if mode == WriteMode::Commit => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) =
                <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::warn!(error = %rollback, "rolling back a failed write transaction failed too");
            }
            Err(err)
        }
    }
}

fn begin(conn: &mut DbConnection, keys: &[&str]) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        }
        DbConnection::Postgres(pg) => {
            // Generic plans for the transaction's prepared statements: its reads are lookups
            // of a few keys by `= ANY($1)` on indexed columns, for which PostgreSQL would
            // otherwise plan each execution anew (a custom plan looks cheaper for a short
            // array), most of a batch's planning. In the BEGIN's round trip; the commit ends it.
            AnsiTransactionManager::begin_transaction_sql(pg, BEGIN_POSTGRES)?;
            if keys.is_empty() {
                return Ok(());
            }
            // One statement for all keys (a batch may name thousands). `unnest` yields the
            // keys in array order, which is sorted, so every transaction takes its locks in the
            // same global order and two of them never wait on each other in a cycle.
            let locked = Prepared::new(
                "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(",
                vec![ArrayBind::Text(keys.iter().copied().map(Some).collect())],
                ") AS key",
            )
            .execute(pg);
            if let Err(err) = locked {
                if let Err(rollback) = AnsiTransactionManager::rollback_transaction(pg) {
                    tracing::warn!(error = %rollback, "rolling back after a failed lock failed too");
                }
                return Err(err.into());
            }
        }
    }
    Ok(())
}
