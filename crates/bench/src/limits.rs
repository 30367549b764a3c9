//! The database's own limit for what one request does, at the same concurrency: pgbench
//! running the same SQL for PostgreSQL, and for SQLite a bare loop calling the same persistence
//! functions (hence the same statements, prepared once per connection) on connections prepared
//! as the server prepares them, without HTTP, signatures, tokens, pooling or async.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clerk_sync_domain::{ClerkEvent, ClerkUserId, EventEnvelope, Outcome};
use clerk_sync_persistence::admin::Direction;
use clerk_sync_persistence::clerk_objects::{self, PageStart, UserFilter, UserOrderKey};
use clerk_sync_persistence::{
    ConnectionManager, DatabaseUrl, DbConnection, Delivery, PostgresOptions, SqliteOptions,
    SqliteSynchronous, process_delivery, users,
};

use crate::workload::{Deliveries, scattered, user_id};

/// A limit measurement.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limit {
    /// Transactions (or queries) per second.
    pub rate: f64,
}

/// The SQL of `GET /api/v1/auth/me/` for one caller (`users::find_by_clerk_id`: the columns
/// the model's user holds), as the server sends it for a lone lookup (captured with
/// `log_statement = 'all'`). Lookups made together are read in one `= ANY` query instead; the
/// limit is what PostgreSQL does for each request's own select.
const ME_SQL: &str = r#"\set i random(0, :users - 1)
SELECT "users"."id", "users"."clerk_id", "users"."email", "users"."first_name", "users"."last_name", "users"."image_url", "users"."is_staff", "users"."is_active", "users"."banned", "users"."username", "users"."phone_number", "users"."public_metadata", "users"."unsafe_metadata" FROM "users" WHERE ("users"."clerk_id" = 'user_bench' || (:i)::text) LIMIT 1;
"#;

/// The transaction of one `user.updated` delivery (`process_delivery`, a batch of one),
/// statement for statement as the server sends it (captured with `log_statement = 'all'` during
/// this benchmark's delivery run): generic plans (sent with the server's BEGIN), the advisory
/// locks of its keys, the message-id lookup, the
/// preloads of the sync rules (the user's addresses and numbers among them), the user's update
/// with every mirrored column (its `clerk_object`, `:object`, the user as the delivery carries
/// it; its addresses are as stored, so they are not rewritten), the webhook log entry, then the
/// commit. (pgbench reads `:name` inside string literals as a variable, hence `chr(58)` for
/// the colons of the lock keys.)
const DELIVERY_SQL: &str = r#"\set i random(0, :users - 1)
\set n random(1, 9000000000000000)
BEGIN;
SET LOCAL plan_cache_mode = force_generic_plan;
SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(ARRAY['email' || chr(58) || 'bench' || (:i)::text || '@example.com', 'msg' || chr(58) || 'msg_pgbench_' || (:client_id)::text || '_' || (:n)::text, 'user_bench' || (:i)::text]::text[]) AS key;
SELECT "webhook_events"."outcome" FROM "webhook_events" WHERE ("webhook_events"."svix_id" = 'msg_pgbench_' || (:client_id)::text || '_' || (:n)::text) LIMIT 1;
SELECT "tombstones"."clerk_id" FROM "tombstones" WHERE ("tombstones"."clerk_id" = ANY(ARRAY['user_bench' || (:i)::text]));
SELECT "users"."id", "users"."clerk_id", "users"."clerk_updated_at" FROM "users" WHERE ("users"."clerk_id" = ANY(ARRAY['user_bench' || (:i)::text])) \gset u_
SELECT "user_email_addresses"."user_id", "user_email_addresses"."clerk_id", "user_email_addresses"."email_address", "user_email_addresses"."verified", "user_email_addresses"."is_primary" FROM "user_email_addresses" WHERE ("user_email_addresses"."user_id" = ANY(ARRAY[:u_id]::bigint[]));
SELECT "user_phone_numbers"."user_id", "user_phone_numbers"."clerk_id", "user_phone_numbers"."phone_number", "user_phone_numbers"."verified", "user_phone_numbers"."is_primary" FROM "user_phone_numbers" WHERE ("user_phone_numbers"."user_id" = ANY(ARRAY[:u_id]::bigint[]));
SELECT "users"."email", "users"."id", "users"."clerk_id", "users"."clerk_updated_at" FROM "users" WHERE ("users"."email" = ANY(ARRAY['bench' || (:i)::text || '@example.com']));
UPDATE "users" SET "clerk_id" = 'user_bench' || (:i)::text, "email" = 'bench' || (:i)::text || '@example.com', "first_name" = 'Bench', "last_name" = 'User ' || (:i)::text, "image_url" = :image, "external_id" = NULL, "banned" = false, "username" = NULL, "phone_number" = NULL, "public_metadata" = '{}', "private_metadata" = '{}', "unsafe_metadata" = '{}', "locked" = false, "two_factor_enabled" = false, "last_sign_in_at" = NULL, "last_active_at" = :n, "clerk_created_at" = :n, "clerk_object" = :object, "clerk_updated_at" = :n, "updated_at" = now() WHERE (("users"."id" = :u_id) AND (("users"."clerk_id" IS NULL) OR ("users"."clerk_id" = 'user_bench' || (:i)::text)));
INSERT INTO "webhook_events" ("svix_id", "event_type", "clerk_object_id", "outcome", "error", "payload", "attempts", "received_at", "last_received_at") VALUES ('msg_pgbench_' || (:client_id)::text || '_' || (:n)::text, 'user.updated', 'user_bench' || (:i)::text, 'applied', NULL, :payload, 1, now(), now());
COMMIT;
"#;

/// The SQL of `GET /clerk/v1/users/{user_id}` (`clerk_objects::find_user`), as the server
/// sends it (captured with `log_statement = 'all'`).
const CLERK_USER_SQL: &str = r#"\set i random(0, :users - 1)
SELECT "users"."clerk_object" FROM "users" WHERE ("users"."clerk_id" = 'user_bench' || (:i)::text) LIMIT 1;
"#;

/// The SQL of `GET /clerk/v1/users?email_address=…` (`clerk_objects::list_users` with one
/// address, the default order `-created_at` and limit 10), as the server sends it (captured
/// with `log_statement = 'all'`). diesel does not cache this statement (its `ORDER BY` is SQL
/// text), so the server parses and plans it on every request, as an unnamed statement: pgbench
/// runs it with the extended protocol, which does the same.
const CLERK_USERS_BY_EMAIL_SQL: &str = r#"\set i random(0, :users - 1)
SELECT "users"."clerk_object" FROM "users" WHERE (("users"."clerk_object" IS NOT NULL) AND ("users"."id" = ANY(SELECT "user_email_addresses"."user_id" FROM "user_email_addresses" WHERE ("user_email_addresses"."email_address" = ANY(ARRAY['bench' || (:i)::text || '@example.com']))))) ORDER BY users.clerk_created_at DESC, users.id DESC LIMIT 10 OFFSET 0;
"#;

/// A pgbench script and the protocol the server's statements use: `prepared` for those diesel
/// caches per connection, `extended` (parsed and planned each time) for the others.
pub struct Script {
    /// The script file.
    pub path: PathBuf,
    /// pgbench's `--protocol`.
    pub protocol: &'static str,
}

/// The pgbench scripts, one per workload with a database part.
pub struct Scripts {
    /// `GET /api/v1/auth/me/` and `GET /api/v1/auth/verify`.
    pub me: Script,
    /// A `user.updated` delivery.
    pub delivery: Script,
    /// `GET /clerk/v1/users/{user_id}`.
    pub clerk_user: Script,
    /// `GET /clerk/v1/users?email_address=…`.
    pub clerk_users_by_email: Script,
}

/// Runs pgbench with `script` at `concurrency` clients for `duration`.
///
/// # Errors
/// When pgbench fails or its report cannot be read.
pub fn pgbench(
    pgbench: &Path,
    url: &str,
    script: &Script,
    variables: &[(&str, String)],
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Limit> {
    let threads = concurrency.min(std::thread::available_parallelism().map_or(1, usize::from));
    let mut command = Command::new(pgbench);
    command
        .arg("--no-vacuum")
        .arg(format!("--protocol={}", script.protocol))
        .arg("--file")
        .arg(&script.path)
        .arg(format!("--client={concurrency}"))
        .arg(format!("--jobs={threads}"))
        .arg(format!("--time={}", duration.as_secs().max(1)));
    for (name, value) in variables {
        command.arg(format!("--define={name}={value}"));
    }
    let output = command
        .arg(url)
        .output()
        .with_context(|| format!("cannot run {}", pgbench.display()))?;
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}{}",
            report,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let value = |prefix: &str| {
        report
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse::<f64>().ok())
    };
    let failed = value("number of failed transactions: ").unwrap_or(0.0);
    ensure!(
        failed == 0.0,
        "pgbench reports failed transactions: {report}"
    );
    Ok(Limit {
        rate: value("tps = ").context("no tps in pgbench's report")?,
    })
}

/// Writes the pgbench scripts into `dir`.
///
/// # Errors
/// When they cannot be written.
pub fn write_scripts(dir: &Path) -> anyhow::Result<Scripts> {
    let write = |name: &str, sql: &str, protocol| -> anyhow::Result<Script> {
        let path = dir.join(name);
        std::fs::write(&path, sql)?;
        Ok(Script { path, protocol })
    };
    Ok(Scripts {
        me: write("me.sql", ME_SQL, "prepared")?,
        delivery: write("delivery.sql", DELIVERY_SQL, "prepared")?,
        clerk_user: write("clerk-user.sql", CLERK_USER_SQL, "prepared")?,
        clerk_users_by_email: write(
            "clerk-users-by-email.sql",
            CLERK_USERS_BY_EMAIL_SQL,
            "extended",
        )?,
    })
}

/// A SQLite connection opened as the server opens its own (its pragmas).
///
/// # Errors
/// When it cannot be opened.
pub fn sqlite_connection(
    path: &Path,
    synchronous: SqliteSynchronous,
) -> anyhow::Result<DbConnection> {
    let manager = ConnectionManager::new(
        DatabaseUrl::Sqlite(path.to_owned()),
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            synchronous,
        },
        PostgresOptions::default(),
    );
    Ok(manager.open()?)
}

/// What one request reads, by the index of the seeded user it is about.
pub type Read<'a> = dyn Fn(&mut DbConnection, usize) -> anyhow::Result<()> + Sync + 'a;

/// The Clerk ids of `users` seeded users, parsed before any clock starts.
///
/// # Errors
/// When one does not parse.
pub fn seeded_ids(users: usize) -> anyhow::Result<Vec<ClerkUserId>> {
    Ok((0..users)
        .map(|i| ClerkUserId::parse(&user_id(i)))
        .collect::<Result<_, _>>()?)
}

/// `users::find_by_clerk_id` (`GET /api/v1/auth/me/`).
///
/// # Errors
/// When the database fails or the user is missing.
pub fn me(conn: &mut DbConnection, id: &ClerkUserId) -> anyhow::Result<()> {
    ensure!(
        users::find_by_clerk_id(conn, id)?.is_some(),
        "a seeded user is missing"
    );
    Ok(())
}

/// `clerk_objects::find_user` (`GET /clerk/v1/users/{user_id}`).
///
/// # Errors
/// When the database fails or the user's object is missing.
pub fn clerk_user(conn: &mut DbConnection, id: &ClerkUserId) -> anyhow::Result<()> {
    ensure!(
        clerk_objects::find_user(conn, id.as_str())?.is_some(),
        "a seeded user's Clerk object is missing"
    );
    Ok(())
}

/// `clerk_objects::list_users` filtered by a seeded user's address, in the order and with the
/// limit the server uses when none is asked for (`-created_at`, 10), as
/// `GET /clerk/v1/users?email_address=…` runs it.
///
/// # Errors
/// When the database fails or the list is not that one user.
pub fn clerk_users_by_email(conn: &mut DbConnection, address: &str) -> anyhow::Result<()> {
    let filter = UserFilter {
        email_addresses: vec![address.to_owned()],
        ..UserFilter::default()
    };
    let found = clerk_objects::list_users(
        conn,
        &filter,
        (UserOrderKey::CreatedAt, Direction::Desc),
        PageStart::Offset(0),
        10,
    )?;
    ensure!(found.len() == 1, "{} users hold one address", found.len());
    Ok(())
}

/// `read` in a loop on `threads` connections, for `duration`, about seeded users in a
/// scattered order (each thread its own part of the sequence).
///
/// # Errors
/// When the database or a read fails.
pub fn sqlite_reads(
    path: &Path,
    synchronous: SqliteSynchronous,
    users_count: usize,
    threads: usize,
    duration: Duration,
    read: &Read<'_>,
) -> anyhow::Result<Limit> {
    let started = Instant::now();
    let deadline = started + duration;
    let counts: Vec<anyhow::Result<u64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || -> anyhow::Result<u64> {
                    let mut conn = sqlite_connection(path, synchronous)?;
                    let mut done = 0_u64;
                    let first = (thread as u64) << 32;
                    while Instant::now() < deadline {
                        read(&mut conn, scattered(first + done, users_count))?;
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a loop thread panicked")))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut done = 0;
    for count in counts {
        done += count?;
    }
    Ok(limit(done, elapsed))
}

/// `process_delivery` of `user.updated` deliveries in a loop on one connection (SQLite has one
/// writer at a time), for `duration`. The envelopes are parsed before the clock starts.
///
/// # Errors
/// When the database fails or a delivery is not applied.
pub fn sqlite_deliveries(
    path: &Path,
    synchronous: SqliteSynchronous,
    deliveries: &Deliveries,
    duration: Duration,
) -> anyhow::Result<Limit> {
    let mut conn = sqlite_connection(path, synchronous)?;
    let mut prepared = Vec::with_capacity(deliveries.users());
    for _ in 0..deliveries.users() {
        let (id, _, body) = deliveries.next();
        let envelope = EventEnvelope::parse(body.as_bytes())?;
        prepared.push((id, body, envelope));
    }
    let rounds_start = prepared.len() as u64;
    let started = Instant::now();
    let mut done = 0_u64;
    while started.elapsed() < duration {
        let index = usize::try_from(done).unwrap_or(0) % prepared.len();
        let (id, body, envelope) = &mut prepared[index];
        if done >= rounds_start {
            // A further round over the users: the sequence's next message id and version, so
            // that each is newer than any before, in this run or an earlier one.
            let (next_id, version) = deliveries.claim();
            *id = next_id;
            if let ClerkEvent::UserUpserted(user) = &mut envelope.event {
                user.updated_at = version;
            }
        }
        let delivery = Delivery {
            svix_id: id,
            event_type: &envelope.event_type,
            clerk_object_id: envelope.event.object_id(),
            payload: body,
            received_at: chrono_now(),
        };
        let outcome = process_delivery(&mut conn, &delivery, envelope)?;
        ensure!(
            outcome == Outcome::Applied,
            "a delivery was {outcome}, not applied"
        );
        done += 1;
    }
    Ok(limit(done, started.elapsed()))
}

fn chrono_now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// `done` in `elapsed`, as a rate.
pub fn limit(done: u64, elapsed: Duration) -> Limit {
    Limit {
        rate: done as f64 / elapsed.as_secs_f64().max(1e-9),
    }
}

#[cfg(test)]
mod tests {
    use clerk_sync_persistence::{Database, PoolOptions};

    use super::*;

    #[test]
    fn a_loop_run_again_still_applies_every_delivery() -> anyhow::Result<()> {
        let path = std::env::temp_dir().join(format!(
            "clerk-sync-bench-test-{}-loop.sqlite3",
            std::process::id()
        ));
        drop(std::fs::remove_file(&path));
        drop(Database::open_connection(
            &DatabaseUrl::Sqlite(path.clone()),
            &PoolOptions::default(),
        )?);
        // Three users: each run goes round them many times, as `--repeat` runs it again.
        let deliveries = Deliveries::new(3)?;
        deliveries.switch_to_updates();
        for run in 0..2 {
            let limit = sqlite_deliveries(
                &path,
                SqliteSynchronous::Normal,
                &deliveries,
                Duration::from_millis(100),
            )
            .map_err(|err| err.context(format!("run {run}")))?;
            assert!(limit.rate > 0.0);
        }
        drop(std::fs::remove_file(&path));
        Ok(())
    }
}
