//! The connection pool and the embedded migrations.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{NopErrorHandler, Pool, PooledConnection};
use diesel::{PgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::ensure_parent_dir;
use crate::{
    Backend, ConnectionManager, DatabaseUrl, DbConnection, PostgresOptions, PostgresSchema,
    SqliteOptions, StoreError, UnavailableCause,
};

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
    /// How PostgreSQL connections are prepared: the schema they work in.
    pub postgres: PostgresOptions,
    /// Connections kept open and idle, reopened in the background when they are taken. The
    /// server keeps 1 so that a request rarely waits for a connect; a command that exits when
    /// its work is done keeps 0, since a background connect still under way when the process
    /// exits can crash it (libpq's connect racing the exit handlers).
    pub min_idle: u32,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            connection_timeout: Duration::from_secs(3),
            sqlite: SqliteOptions::default(),
            postgres: PostgresOptions::default(),
            min_idle: 1,
        }
    }
}

impl PoolOptions {
    /// These options for a command that exits when its work is done: no connection kept
    /// idle (see [`PoolOptions::min_idle`]).
    #[must_use]
    pub fn for_command(&self) -> Self {
        Self {
            min_idle: 0,
            ..self.clone()
        }
    }

    /// A manager that opens connections to `url` prepared as these options say.
    fn manager(&self, url: &DatabaseUrl) -> ConnectionManager {
        ConnectionManager::new(url.clone(), self.sqlite.clone(), self.postgres.clone())
    }
}

/// A pooled connection.
pub type Conn = PooledConnection<ConnectionManager>;

/// A pool of connections to the mirror's database, migrated to the schema this build knows.
#[derive(Clone, Debug)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    /// SQLite only: the single connection webhook deliveries write through (see
    /// [`Database::get_writer`]).
    writer: Option<Pool<ConnectionManager>>,
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
    /// A SQLite file (and its directory) is created when missing; on PostgreSQL, the schema
    /// of [`PostgresOptions::schema`], and every connection of the pool works in it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be opened,
    /// [`StoreError::Migration`] when a migration fails.
    pub fn connect(url: &DatabaseUrl, options: &PoolOptions) -> Result<Self, StoreError> {
        drop(Self::open_connection(url, options)?);
        let manager = options.manager(url);
        let pool = |size: u32, manager: ConnectionManager| {
            Pool::builder()
                .max_size(size)
                .min_idle(Some(options.min_idle.min(size)))
                .connection_timeout(options.connection_timeout)
                // No `SELECT 1` before every checkout (a round trip per request on
                // PostgreSQL): a connection that failed is marked broken by diesel and
                // discarded when it returns to the pool, and the request that met the failure
                // answers 503 (a webhook is then retried by its sender).
                .test_on_check_out(false)
                .error_handler(Box::new(NopErrorHandler))
                .build_unchecked(manager)
        };
        let writer = match url {
            DatabaseUrl::Sqlite(_) => Some(pool(1, options.manager(url))),
            DatabaseUrl::Postgres(_) => None,
        };
        Ok(Self {
            pool: pool(options.max_size, manager),
            writer,
            backend: url.backend(),
        })
    }

    /// Opens one connection, outside any pool, after applying pending migrations as
    /// [`Database::connect`] does: for a command that needs no more than one connection.
    ///
    /// # Errors
    /// As [`Database::connect`].
    pub fn open_connection(
        url: &DatabaseUrl,
        options: &PoolOptions,
    ) -> Result<DbConnection, StoreError> {
        if let DatabaseUrl::Sqlite(path) = url {
            ensure_parent_dir(path)?;
        }
        let mut conn = options.manager(url).open()?;
        migrate_in(&mut conn, options.postgres.schema.as_ref())?;
        Ok(conn)
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
            .map_err(|err| StoreError::from(UnavailableCause::from(err)))
    }

    /// Checks out a connection for a write transaction that is likely to meet others (webhook
    /// deliveries arrive in bursts).
    ///
    /// SQLite admits one writer at a time. Writers on separate connections find out with
    /// `SQLITE_BUSY` and poll the lock in SQLite's busy handler, which sleeps 1, 2, 5, 10 … ms
    /// between attempts: under a burst most of the time goes to sleeping. Here they queue for
    /// one dedicated connection instead, and each is woken as soon as the previous one commits.
    /// (Other writers, such as the admin pages, still meet them at the database's own lock.)
    /// PostgreSQL runs writers concurrently: this is [`Database::get`] there.
    ///
    /// # Errors
    /// As [`Database::get`].
    pub fn get_writer(&self) -> Result<Conn, StoreError> {
        self.writer
            .as_ref()
            .unwrap_or(&self.pool)
            .get()
            .map_err(|err| StoreError::from(UnavailableCause::from(err)))
    }

    /// Whether the database answers a trivial query.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not.
    pub fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.get()?;
        conn.batch_execute("SELECT 1")
            .map_err(|err| StoreError::from(UnavailableCause::from(err)))
    }

    /// The most connections this database's pools open together (on SQLite, the pool and the
    /// writer connection): more threads waiting on the database than this only wait for each
    /// other.
    pub fn max_connections(&self) -> u32 {
        self.pool.max_size() + self.writer.as_ref().map_or(0, Pool::max_size)
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
        .map_err(|err| StoreError::from(UnavailableCause::from(err)))
}

/// Applies every pending migration of the connection's backend, in the schema its
/// `search_path` names first (on PostgreSQL; see [`Database::connect`], which also creates a
/// configured schema).
///
/// # Errors
/// [`StoreError::Migration`] when one fails; the failed migration is rolled back.
pub fn migrate(conn: &mut DbConnection) -> Result<(), StoreError> {
    migrate_in(conn, None)
}

/// Applies every pending migration; on PostgreSQL, first creates `schema` when it is given
/// and missing. The connection's `search_path` must name it (see [`PostgresOptions`]).
fn migrate_in(conn: &mut DbConnection, schema: Option<&PostgresSchema>) -> Result<(), StoreError> {
    let failed = StoreError::Migration;
    match conn {
        DbConnection::Sqlite(sqlite) => sqlite
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(drop)
            .map_err(failed),
        DbConnection::Postgres(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(pg)?;
            // Under the lock: replicas starting together would race on `CREATE SCHEMA`
            // (`IF NOT EXISTS` does not stop two creators from colliding).
            let result = schema
                .map_or(Ok(()), |schema| create_schema(pg, schema))
                .and_then(|()| {
                    pg.run_pending_migrations(POSTGRES_MIGRATIONS)
                        .map(drop)
                        .map_err(failed)
                });
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .execute(pg)?;
            result
        }
    }
}

/// Creates the schema unless it exists. Looked up first: `CREATE SCHEMA IF NOT EXISTS` asks
/// for the `CREATE` privilege on the database even when the schema exists, and a role that
/// was given a schema of its own by an administrator need not have it.
fn create_schema(pg: &mut PgConnection, schema: &PostgresSchema) -> Result<(), StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let found =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found")
            .bind::<diesel::sql_types::Text, _>(schema.as_str())
            .get_result::<Found>(pg)?;
    if !found.found {
        diesel::sql_query(format!("CREATE SCHEMA IF NOT EXISTS {}", schema.quoted()))
            .execute(pg)?;
    }
    Ok(())
}

/// Reverts every applied migration (for tests of the `down.sql` files).
///
/// # Errors
/// [`StoreError::Migration`] when one fails.
pub fn revert_all(conn: &mut DbConnection) -> Result<(), StoreError> {
    let failed = StoreError::Migration;
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

/// Reverts every migration applied after the one named `version` (its folder's date, e.g.
/// `2026-12-01-000000`), for tests of a migration on existing data.
///
/// # Errors
/// [`StoreError::Migration`] when one fails.
pub fn revert_after(conn: &mut DbConnection, version: &str) -> Result<(), StoreError> {
    let version: String = version.chars().filter(char::is_ascii_digit).collect();
    let failed = StoreError::Migration;
    loop {
        let latest = match conn {
            DbConnection::Sqlite(sqlite) => sqlite.applied_migrations(),
            DbConnection::Postgres(pg) => pg.applied_migrations(),
        }
        .map_err(failed)?
        .into_iter()
        .map(|applied| {
            let applied = applied.to_string();
            applied
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .max();
        if latest.is_none_or(|latest| latest <= version) {
            return Ok(());
        }
        match conn {
            DbConnection::Sqlite(sqlite) => sqlite.revert_last_migration(SQLITE_MIGRATIONS),
            DbConnection::Postgres(pg) => pg.revert_last_migration(POSTGRES_MIGRATIONS),
        }
        .map(drop)
        .map_err(failed)?;
    }
}
