//! The connection pool and the embedded migrations.

use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{NopErrorHandler, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::ensure_parent_dir;
use crate::{Backend, ConnectionManager, DatabaseUrl, DbConnection, SqliteOptions, StoreError};

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// An arbitrary, fixed advisory lock id: replicas starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x636c_6572_6b73_796e; // "clerksyn"

/// Pool settings.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long a request waits for a connection before it is told the database is
    /// unavailable. Short, so that an outage answers 503 promptly instead of hanging.
    pub connection_timeout: Duration,
    /// How SQLite connections are prepared.
    pub sqlite: SqliteOptions,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connection_timeout: Duration::from_secs(3),
            sqlite: SqliteOptions::default(),
        }
    }
}

/// A pooled connection.
pub type Conn = PooledConnection<ConnectionManager>;

/// A pool of connections to the mirror's database, migrated to the schema this build knows.
#[derive(Clone, Debug)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    backend: Backend,
}

/// Connections in use and idle, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open.
    pub connections: u32,
    /// Connections open and not checked out.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max_size: u32,
}

impl Database {
    /// Opens the database, applies pending migrations, then builds the pool.
    ///
    /// A SQLite file (and its directory) is created when missing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be opened,
    /// [`StoreError::Migration`] when a migration fails.
    pub fn connect(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StoreError> {
        if let DatabaseUrl::Sqlite(path) = url {
            ensure_parent_dir(path)?;
        }
        let manager = ConnectionManager::new(url.clone(), options.sqlite.clone());
        let mut conn = manager.open()?;
        migrate(&mut conn)?;
        drop(conn);
        let pool = Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(1))
            .connection_timeout(options.connection_timeout)
            .error_handler(Box::new(NopErrorHandler))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            backend: url.backend(),
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks out a connection.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection frees up or opens within the pool's
    /// connection timeout.
    pub fn get(&self) -> Result<Conn, StoreError> {
        self.pool
            .get()
            .map_err(|err| StoreError::Unavailable(err.to_string()))
    }

    /// Whether the database answers a trivial query.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not.
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.get()?;
        conn.batch_execute("SELECT 1")
            .map_err(|err| StoreError::Unavailable(err.to_string()))
    }

    /// Connections in use and idle.
    pub fn state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            connections: state.connections,
            idle: state.idle_connections,
            max_size: self.pool.max_size(),
        }
    }
}

/// Whether the database answers a trivial query.
///
/// # Errors
/// [`StoreError::Unavailable`] when it does not.
pub fn ping(conn: &mut DbConnection) -> Result<(), StoreError> {
    conn.batch_execute("SELECT 1")
        .map_err(|err| StoreError::Unavailable(err.to_string()))
}

/// Applies every pending migration of the connection's backend.
///
/// # Errors
/// [`StoreError::Migration`] when one fails; the failed migration is rolled back.
pub fn migrate(conn: &mut DbConnection) -> Result<(), StoreError> {
    let failed =
        |err: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(err.to_string());
    match conn {
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(drop)
            .map_err(failed),
        DbConnection::Postgres(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(drop)
                .map_err(failed);
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .execute(pg)?;
            result
        }
    }
}

/// Reverts every applied migration (for tests of the `down.sql` files).
///
/// # Errors
/// [`StoreError::Migration`] when one fails.
pub fn revert_all(conn: &mut DbConnection) -> Result<(), StoreError> {
    let failed =
        |err: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(err.to_string());
    match conn {
        DbConnection::Sqlite(sqlite) => sqlite
            .revert_all_migrations(SQLITE_MIGRATIONS)
            .map(drop)
            .map_err(failed),
        DbConnection::Postgres(pg) => pg
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(drop)
            .map_err(failed),
    }
}
