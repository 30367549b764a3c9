//! The naive sync's whole work, next to which deliveries are also measured: the Python/Node
//! recipe that keeps a Clerk id and five columns and runs one `INSERT … ON CONFLICT (clerk_id)
//! DO UPDATE` per delivery, in its own transaction, with the database's default durability
//! (PostgreSQL `synchronous_commit = on`; SQLite `synchronous = FULL`, the server's pragmas).
//! It records no message id, orders nothing by version and logs nothing: what any receiver
//! that commits a delivery before answering pays at least.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::NaiveDateTime;
use clerk_sync_persistence::{DbConnection, SqliteSynchronous};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::upsert::excluded;

use crate::limits::{Limit, Script, limit, sqlite_connection};
use crate::workload::{email, scattered, user_id};

diesel::table! {
    /// The naive sync's table.
    naive_users (clerk_id) {
        /// Clerk's user id.
        clerk_id -> Text,
        /// Primary email.
        email -> Nullable<Text>,
        /// First name.
        first_name -> Nullable<Text>,
        /// Last name.
        last_name -> Nullable<Text>,
        /// Profile image.
        image_url -> Nullable<Text>,
        /// When the row was last written.
        updated_at -> Timestamp,
    }
}

/// The table, as the recipe creates it (the same SQL on both backends).
const CREATE_TABLE: &str = "CREATE TABLE naive_users (clerk_id TEXT PRIMARY KEY, email TEXT, \
     first_name TEXT, last_name TEXT, image_url TEXT, updated_at TIMESTAMP NOT NULL)";

/// Seeds the users the server was seeded with (`workload::user_id`, `workload::email`), so that
/// every upsert updates; `{image}` is the backend's placeholder for the image URL.
const SEED: &str = "WITH RECURSIVE seeded(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seeded \
     WHERE i + 1 < {users}) INSERT INTO naive_users (clerk_id, email, first_name, last_name, \
     image_url, updated_at) SELECT 'user_bench' || i, 'bench' || i || '@example.com', 'Bench', \
     'User ' || i, {image}, CURRENT_TIMESTAMP FROM seeded";

/// One naive delivery for pgbench: the upsert of a random seeded user, alone in its
/// transaction (pgbench runs each statement outside `BEGIN` in autocommit).
const UPSERT_SQL: &str = r#"\set i random(0, :users - 1)
INSERT INTO naive_users (clerk_id, email, first_name, last_name, image_url, updated_at) VALUES ('user_bench' || (:i)::text, 'bench' || (:i)::text || '@example.com', 'Ada', 'Developer', :image, now()) ON CONFLICT (clerk_id) DO UPDATE SET email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name, image_url = excluded.image_url, updated_at = excluded.updated_at;
"#;

/// Creates the naive table in the benchmark's database and seeds `users` users with
/// `image_url`.
///
/// # Errors
/// When the database refuses either.
pub fn create_and_seed(
    conn: &mut DbConnection,
    users: usize,
    image_url: &str,
) -> anyhow::Result<()> {
    conn.batch_execute(CREATE_TABLE)?;
    let seed = |placeholder: &str| {
        SEED.replace("{users}", &users.to_string())
            .replace("{image}", placeholder)
    };
    let seeded = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(seed("$1"))
            .bind::<Text, _>(image_url)
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(seed("?"))
            .bind::<Text, _>(image_url)
            .execute(sqlite)?,
    };
    anyhow::ensure!(seeded == users, "{seeded} of {users} naive users seeded");
    // Its statistics, as the server's tables get theirs after seeding.
    conn.batch_execute("ANALYZE naive_users")?;
    Ok(())
}

/// Writes the pgbench script into `dir`.
///
/// # Errors
/// When it cannot be written.
pub fn write_script(dir: &Path) -> anyhow::Result<Script> {
    let path: PathBuf = dir.join("naive-upsert.sql");
    std::fs::write(&path, UPSERT_SQL)?;
    Ok(Script {
        path,
        protocol: "prepared",
    })
}

/// One naive delivery on SQLite: the upsert of a user, in its own (implicit) transaction.
///
/// # Errors
/// When the database fails.
pub fn upsert(
    conn: &mut SqliteConnection,
    clerk_id: &str,
    address: &str,
    image_url: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(naive_users::table)
        .values((
            naive_users::clerk_id.eq(clerk_id),
            naive_users::email.eq(address),
            naive_users::first_name.eq("Ada"),
            naive_users::last_name.eq("Developer"),
            naive_users::image_url.eq(image_url),
            naive_users::updated_at.eq(now),
        ))
        .on_conflict(naive_users::clerk_id)
        .do_update()
        .set((
            naive_users::email.eq(excluded(naive_users::email)),
            naive_users::first_name.eq(excluded(naive_users::first_name)),
            naive_users::last_name.eq(excluded(naive_users::last_name)),
            naive_users::image_url.eq(excluded(naive_users::image_url)),
            naive_users::updated_at.eq(excluded(naive_users::updated_at)),
        ))
        .execute(conn)
}

/// [`upsert`] of seeded users in a scattered order, in a loop on one connection opened with
/// the server's pragmas (SQLite admits one writer at a time), for `duration`.
///
/// # Errors
/// When the database fails or an upsert writes no row.
pub fn sqlite_upserts(
    path: &Path,
    synchronous: SqliteSynchronous,
    users: usize,
    image_url: &str,
    duration: Duration,
) -> anyhow::Result<Limit> {
    let DbConnection::Sqlite(mut conn) = sqlite_connection(path, synchronous)? else {
        bail!("{} did not open as SQLite", path.display());
    };
    let people: Vec<(String, String)> = (0..users).map(|i| (user_id(i), email(i))).collect();
    let started = Instant::now();
    let mut done = 0_u64;
    while started.elapsed() < duration {
        let (clerk_id, address) = &people[scattered(done, users)];
        let now = chrono::Utc::now().naive_utc();
        let written = upsert(&mut conn, clerk_id, address, image_url, now)?;
        anyhow::ensure!(written == 1, "an upsert wrote {written} rows");
        done += 1;
    }
    Ok(limit(done, started.elapsed()))
}

#[cfg(test)]
mod tests {
    use clerk_sync_persistence::testing::TestDatabase;
    use clerk_sync_persistence::{ConnectionManager, PostgresOptions, SqliteOptions};

    use super::*;
    use crate::limits;

    fn temp_file(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "clerk-sync-bench-test-{}-{name}.sqlite3",
            std::process::id()
        ));
        drop(std::fs::remove_file(&path));
        path
    }

    fn row(conn: &mut SqliteConnection, clerk_id: &str) -> (Option<String>, Option<String>) {
        naive_users::table
            .filter(naive_users::clerk_id.eq(clerk_id))
            .select((naive_users::email, naive_users::first_name))
            .first(conn)
            .unwrap_or_default()
    }

    #[test]
    fn seeds_the_benchmarks_users_and_the_loop_updates_them_in_place() -> anyhow::Result<()> {
        let path = temp_file("naive");
        let mut conn = sqlite_connection(&path, SqliteSynchronous::Full)?;
        create_and_seed(&mut conn, 50, "https://img.example/a'b.png")?;
        let DbConnection::Sqlite(sqlite) = &mut conn else {
            bail!("not SQLite");
        };
        assert_eq!(
            row(sqlite, &user_id(49)),
            (Some(email(49)), Some("Bench".to_owned())),
            "seeded as the server's users"
        );
        let limit = sqlite_upserts(
            &path,
            SqliteSynchronous::Normal,
            50,
            "https://img.example/c.png",
            Duration::from_millis(200),
        )?;
        assert!(limit.rate > 0.0);
        let count: i64 = naive_users::table.count().get_result(sqlite)?;
        assert_eq!(count, 50, "upserts update the seeded users, never insert");
        let updated: i64 = naive_users::table
            .filter(naive_users::first_name.eq("Ada"))
            .count()
            .get_result(sqlite)?;
        assert!(updated > 0, "the loop changed no row");
        drop(std::fs::remove_file(&path));
        Ok(())
    }

    #[test]
    fn an_upsert_inserts_a_user_it_does_not_know() -> anyhow::Result<()> {
        let path = temp_file("insert");
        let mut conn = sqlite_connection(&path, SqliteSynchronous::Normal)?;
        create_and_seed(&mut conn, 1, "x")?;
        let DbConnection::Sqlite(sqlite) = &mut conn else {
            bail!("not SQLite");
        };
        let now = chrono::Utc::now().naive_utc();
        assert_eq!(upsert(sqlite, "user_new", "new@example.com", "x", now)?, 1);
        assert_eq!(
            row(sqlite, "user_new"),
            (Some("new@example.com".to_owned()), Some("Ada".to_owned()))
        );
        drop(std::fs::remove_file(&path));
        Ok(())
    }

    /// pgbench on the `PATH`, else Debian's.
    fn pgbench_binary() -> Option<PathBuf> {
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("pgbench"))
                .find(|path| path.is_file())
        });
        on_path.or_else(|| {
            std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .filter_map(Result::ok)
                .map(|version| version.path().join("bin/pgbench"))
                .find(|path| path.is_file())
        })
    }

    #[test]
    fn pgbench_runs_the_script_as_updates_of_the_seeded_users() -> anyhow::Result<()> {
        let Some(database) = TestDatabase::postgres().map_err(anyhow::Error::msg)? else {
            return Ok(());
        };
        let Some(pgbench) = pgbench_binary() else {
            eprintln!("pgbench is not installed: the naive script's PostgreSQL test is skipped");
            return Ok(());
        };
        let mut conn = ConnectionManager::new(
            database.url().clone(),
            SqliteOptions::default(),
            PostgresOptions::default(),
        )
        .open()?;
        create_and_seed(&mut conn, 20, "https://img.example/a'b.png")?;
        let dir = temp_file("pgbench-dir");
        std::fs::create_dir_all(&dir)?;
        let script = write_script(&dir)?;
        let variables = [
            ("users", "20".to_owned()),
            ("image", "https://img.example/c.png".to_owned()),
        ];
        let url = database.url_string();
        let limit = limits::pgbench(&pgbench, &url, &script, &variables, 2, Duration::ZERO);
        drop(std::fs::remove_dir_all(&dir));
        assert!(limit?.rate > 0.0);
        let DbConnection::Postgres(pg) = &mut conn else {
            bail!("not PostgreSQL");
        };
        let count: i64 = naive_users::table.count().get_result(pg)?;
        assert_eq!(count, 20, "upserts update the seeded users, never insert");
        let updated: i64 = naive_users::table
            .filter(naive_users::image_url.eq("https://img.example/c.png"))
            .count()
            .get_result(pg)?;
        assert!(updated > 0, "pgbench changed no row");
        Ok(())
    }

    #[test]
    fn the_pgbench_script_upserts_by_clerk_id_alone_in_its_transaction() {
        let statements: Vec<&str> = UPSERT_SQL
            .lines()
            .filter(|line| !line.starts_with('\\') && !line.is_empty())
            .collect();
        assert_eq!(statements.len(), 1, "one statement per transaction");
        let upsert = statements[0];
        assert!(upsert.starts_with("INSERT INTO naive_users "));
        assert!(upsert.contains(" ON CONFLICT (clerk_id) DO UPDATE SET "));
        assert!(!upsert.to_uppercase().contains("BEGIN"));
        // The ids and addresses it writes are those of the seeded users.
        assert!(upsert.contains("'user_bench' || (:i)::text") && user_id(7) == "user_bench7");
        assert!(UPSERT_SQL.starts_with("\\set i random(0, :users - 1)\n"));
    }
}
