//! Test databases: a temporary SQLite file, or a PostgreSQL schema of its own, per test (or,
//! for tests of a configured schema, a PostgreSQL database of its own); all removed on `Drop`.
//!
//! PostgreSQL is found at `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached, PostgreSQL tests
//! are skipped with a notice on the terminal, unless `CLERK_SYNC_REQUIRE_POSTGRES=1` (as CI
//! sets it) makes that a failure.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::{Database, DatabaseUrl, PoolOptions, PostgresOptions, PostgresSchema, StoreError};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const SCHEMA_PREFIX: &str = "cs_test_";
const DATABASE_PREFIX: &str = "cs_testdb_";
/// Schemas left behind by killed test runs are dropped once they are this old.
const LEFTOVER_AGE_SECS: u64 = 3600;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: DatabaseUrl,
    /// The configured schema, for a database of its own.
    postgres: PostgresOptions,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Directory(PathBuf),
    Schema { admin_url: String, schema: String },
    Database { admin_url: String, name: String },
}

fn unique_suffix() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{secs}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestDatabase {
    /// A new SQLite file in a fresh temporary directory.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn sqlite() -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("clerk-sync-test-{}", unique_suffix()));
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        Ok(Self {
            url: DatabaseUrl::Sqlite(dir.join("mirror.sqlite3")),
            postgres: PostgresOptions::default(),
            cleanup: Cleanup::Directory(dir),
        })
    }

    /// A new, empty schema in the test PostgreSQL server; `Ok(None)` when no server can be
    /// reached and PostgreSQL is not required.
    ///
    /// # Errors
    /// When PostgreSQL is required but unreachable, or the schema cannot be created.
    pub fn postgres() -> Result<Option<Self>, String> {
        let Some((admin_url, mut admin)) = admin_connection()? else {
            return Ok(None);
        };
        let schema = format!("{SCHEMA_PREFIX}{}", unique_suffix());
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .map_err(|err| format!("cannot create schema {schema}: {err}"))?;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
        Ok(Some(Self {
            url: DatabaseUrl::Postgres(url),
            postgres: PostgresOptions::default(),
            cleanup: Cleanup::Schema { admin_url, schema },
        }))
    }

    /// A new, empty PostgreSQL database, whose mirror is configured to live in `schema`
    /// (not created: the migrations create it); `Ok(None)` as for [`TestDatabase::postgres`].
    /// Its URL sets no `search_path`: a connection made without the schema sees `public`.
    ///
    /// # Errors
    /// As [`TestDatabase::postgres`], and when `schema` is not a valid schema name.
    pub fn postgres_database(schema: &str) -> Result<Option<Self>, String> {
        let schema = PostgresSchema::parse(schema).map_err(|err| format!("{schema}: {err}"))?;
        let Some((admin_url, mut admin)) = admin_connection()? else {
            return Ok(None);
        };
        let name = format!("{DATABASE_PREFIX}{}", unique_suffix());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|err| format!("cannot create database {name}: {err}"))?;
        Ok(Some(Self {
            url: DatabaseUrl::Postgres(database_in(&admin_url, &name)),
            postgres: PostgresOptions {
                schema: Some(schema),
            },
            cleanup: Cleanup::Database { admin_url, name },
        }))
    }

    /// The schema the mirror is configured to live in, for a database of its own.
    pub fn schema(&self) -> Option<&PostgresSchema> {
        self.postgres.schema.as_ref()
    }

    /// The pool options that reach this database's mirror (its schema, when configured).
    pub fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            postgres: self.postgres.clone(),
            ..PoolOptions::default()
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The URL as `DATABASE_URL` would hold it.
    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    /// Opens and migrates the database.
    ///
    /// # Errors
    /// As [`Database::connect`].
    pub fn connect(&self) -> Result<Database, StoreError> {
        Database::connect(&self.url, &self.pool_options())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ignored = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { admin_url, schema } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ignored =
                        admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ignored = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

/// A connection to the test server's admin database and its URL; `Ok(None)` when no server
/// can be reached and PostgreSQL is not required. Sweeps leftovers once per process.
fn admin_connection() -> Result<Option<(String, PgConnection)>, String> {
    let admin_url =
        std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let mut admin = match PgConnection::establish(&admin_url) {
        Ok(conn) => conn,
        Err(err) if std::env::var("CLERK_SYNC_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            return Err(format!(
                "PostgreSQL is required (CLERK_SYNC_REQUIRE_POSTGRES=1) but unreachable: {err}"
            ));
        }
        Err(err) => {
            announce_skip(&err.to_string());
            return Ok(None);
        }
    };
    static SWEEP: Once = Once::new();
    SWEEP.call_once(|| sweep_leftovers(&mut admin));
    Ok(Some((admin_url, admin)))
}

/// `url` with its database (the path) replaced by `name`, its query kept.
fn database_in(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |start| &tail[start..]);
    format!("{scheme}://{authority}/{name}{query}")
}

/// Drops schemas and databases of test runs that were killed before their `Drop` ran.
fn sweep_leftovers(admin: &mut PgConnection) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let leftovers = [
        (
            "pg_namespace",
            "nspname",
            SCHEMA_PREFIX,
            "DROP SCHEMA IF EXISTS {} CASCADE",
        ),
        (
            "pg_database",
            "datname",
            DATABASE_PREFIX,
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        ),
    ];
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (catalog, column, prefix, drop) in leftovers {
        let query =
            format!("SELECT {column} AS name FROM {catalog} WHERE {column} LIKE '{prefix}%'");
        let Ok(names) = diesel::sql_query(query).load::<Name>(admin) else {
            continue;
        };
        for Name { name } in names {
            let created = name
                .trim_start_matches(prefix)
                .split('_')
                .next()
                .and_then(|s| s.parse::<u64>().ok());
            if created.is_some_and(|created| created + LEFTOVER_AGE_SECS < now) {
                let _ignored = admin.batch_execute(&drop.replace("{}", &name));
            }
        }
    }
}

/// Says once per test binary, on the terminal (past the test harness's output capture), that
/// PostgreSQL tests are being skipped.
fn announce_skip(reason: &str) {
    static ANNOUNCE: Once = Once::new();
    ANNOUNCE.call_once(|| {
        let _ignored = writeln!(
            std::io::stderr(),
            "\nNOTE: PostgreSQL tests SKIPPED: no server at TEST_DATABASE_URL ({reason}). \
             Set CLERK_SYNC_REQUIRE_POSTGRES=1 to make this an error.\n"
        );
    });
}

/// Runs each named function as two tests, one on SQLite and one on PostgreSQL: a module per
/// function, with the tests `sqlite` and `postgres`. The functions are plain items, so rustfmt
/// and the compiler read them like any other code.
///
/// ```ignore
/// backend_tests!(stores_a_user);
///
/// fn stores_a_user(db: TestDatabase) {
///     let database = db.connect().unwrap();
///     …
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(
                        $crate::testing::TestDatabase::sqlite().expect("a SQLite test database"),
                    );
                }

                #[test]
                fn postgres() {
                    if let Some(db) = $crate::testing::TestDatabase::postgres()
                        .expect("a PostgreSQL test database")
                    {
                        super::$name(db);
                    }
                }
            }
        )*
    };
}
