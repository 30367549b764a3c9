//! Connections: one connection type over SQLite and PostgreSQL, chosen by the URL's scheme,
//! and the r2d2 manager that opens and prepares them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};

use crate::{PostgresOptions, StoreError, UnavailableCause, UrlProblem};

/// A connection to either backend. Queries written once against it run on both; where SQL
/// differs (upserts, locking, transaction start), code matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL, for production and replicas sharing one database.
    Postgres(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

/// Which backend a URL selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// A parsed `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://relative/path`, `sqlite:///absolute/path`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, handed to libpq as is.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a database URL.
    ///
    /// # Errors
    /// [`StoreError::InvalidUrl`] for an unknown scheme, an empty SQLite path, or an in-memory
    /// SQLite database (each pooled connection would see its own, empty database).
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            let scheme = url.split_once(':').map_or("(none)", |(scheme, _)| scheme);
            return Err(UrlProblem::UnsupportedScheme {
                scheme: scheme.to_owned(),
            }
            .into());
        };
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        if path.is_empty() || path.contains(":memory:") || path.starts_with("file::memory") {
            return Err(UrlProblem::NoSqliteFile.into());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// The backend the URL selects.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL with any password replaced by `***`, fit for logs and error messages.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact_password(url),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "postgres://***".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let tail = if tail.contains("password=") {
        "/***"
    } else {
        tail
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            let password = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{password}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// How SQLite connections are prepared.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// How long a writer waits for the write lock before giving up.
    pub busy_timeout: Duration,
    /// `PRAGMA synchronous`: `FULL` (the default) makes every commit durable against power
    /// loss; `NORMAL` keeps commits durable against a crash of the process only.
    pub synchronous: SqliteSynchronous,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            synchronous: SqliteSynchronous::Full,
        }
    }
}

/// SQLite's durability setting in WAL mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqliteSynchronous {
    /// Sync the WAL on every commit.
    Full,
    /// Sync at checkpoints only.
    Normal,
}

/// Opens connections for the pool and prepares each one.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    sqlite: SqliteOptions,
    postgres: PostgresOptions,
}

impl ConnectionManager {
    /// A manager for the given database; each backend's connections are prepared as its
    /// options say (the other backend's are not used).
    pub fn new(url: DatabaseUrl, sqlite: SqliteOptions, postgres: PostgresOptions) -> Self {
        Self {
            url,
            sqlite,
            postgres,
        }
    }

    /// Opens one connection, outside any pool (migrations, command-line tools).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached or opened.
    pub fn open(&self) -> Result<DbConnection, StoreError> {
        self.connect_inner()
            .map_err(|err| StoreError::from(UnavailableCause::from(err)))
    }

    fn connect_inner(&self) -> Result<DbConnection, ConnectionError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                if let Some(statement) = self.postgres.setup_statement() {
                    conn.batch_execute(&statement)
                        .map_err(ConnectionError::CouldntSetupConfiguration)?;
                }
                Ok(DbConnection::Postgres(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                conn.batch_execute(&sqlite_pragmas(&self.sqlite))
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// The pragmas every SQLite connection gets: foreign keys (off by default in SQLite), a busy
/// timeout so writers queue instead of failing, and WAL so readers never block the writer.
fn sqlite_pragmas(options: &SqliteOptions) -> String {
    let synchronous = match options.synchronous {
        SqliteSynchronous::Full => "FULL",
        SqliteSynchronous::Normal => "NORMAL",
    };
    format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON;",
        options.busy_timeout.as_millis()
    )
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.connect_inner().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        match conn {
            DbConnection::Postgres(pg) => r2d2::R2D2Connection::is_broken(pg),
            DbConnection::Sqlite(sqlite) => r2d2::R2D2Connection::is_broken(sqlite),
        }
    }
}

/// Creates the directory a SQLite file lives in, so a fresh checkout starts without set-up.
pub(crate) fn ensure_parent_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| {
                StoreError::from(UnavailableCause::CreateDir {
                    dir: dir.to_owned(),
                    source,
                })
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_paths() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").ok(),
            Some(DatabaseUrl::Sqlite("data/x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/x.db").ok(),
            Some(DatabaseUrl::Sqlite("/var/lib/x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:x.db").ok(),
            Some(DatabaseUrl::Sqlite("x.db".into()))
        );
    }

    #[test]
    fn rejects_memory_empty_and_unknown_schemes() {
        for url in [
            "sqlite://",
            "sqlite://:memory:",
            "sqlite::memory:",
            "mysql://root@localhost/x",
            "data/x.db",
        ] {
            assert!(
                matches!(DatabaseUrl::parse(url), Err(StoreError::InvalidUrl(_))),
                "{url}"
            );
        }
    }

    #[test]
    fn unknown_scheme_errors_do_not_echo_the_url() {
        let Err(StoreError::InvalidUrl(problem)) = DatabaseUrl::parse("mysql://root:hunter2@db/x")
        else {
            panic!("mysql:// is not a supported scheme");
        };
        assert_eq!(
            problem,
            UrlProblem::UnsupportedScheme {
                scheme: "mysql".to_owned()
            }
        );
        let err = problem.to_string();
        assert!(err.contains("`mysql`") && !err.contains("hunter2"), "{err}");
    }

    #[test]
    fn redacts_postgres_passwords() {
        let redact = |url: &str| {
            DatabaseUrl::parse(url)
                .map(|u| u.redacted())
                .unwrap_or_default()
        };
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/clerk"),
            "postgres://app:***@db:5432/clerk"
        );
        assert_eq!(
            redact("postgresql://app@db/clerk"),
            "postgresql://app@db/clerk"
        );
        assert_eq!(
            redact("postgres://db/clerk?user=a&password=s3cret"),
            "postgres://db/***"
        );
        assert_eq!(redact("postgres://a:b:c@db/x"), "postgres://a:***@db/x");
    }
}
