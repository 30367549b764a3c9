//! The database's own limit for what one request does, at the same concurrency: pgbench
//! running the same SQL for PostgreSQL, and for SQLite a bare loop calling the same persistence
//! functions (hence the same statements, prepared once per connection) on connections prepared
//! as the server prepares them, without HTTP, signatures, tokens, pooling or async.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clerk_sync_domain::{ClerkEvent, ClerkUserId, EventEnvelope, Outcome, UnixMillis};
use clerk_sync_persistence::{
    ConnectionManager, DatabaseUrl, Delivery, PostgresOptions, SqliteOptions, SqliteSynchronous,
    process_delivery, users,
};

use crate::workload::{Deliveries, user_id};

/// A limit measurement.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limit {
    /// Transactions (or queries) per second.
    pub rate: f64,
}

/// The SQL of `GET /api/v1/auth/me/` (`users::find_by_clerk_id`), as the server sends it
/// (captured with `log_statement = 'all'`).
const ME_SQL: &str = r#"\set i random(0, :users - 1)
SELECT "users"."id", "users"."clerk_id", "users"."email", "users"."first_name", "users"."last_name", "users"."image_url", "users"."is_staff", "users"."is_active", "users"."clerk_updated_at", "users"."created_at", "users"."updated_at" FROM "users" WHERE ("users"."clerk_id" = 'user_bench' || (:i)::text) LIMIT 1;
"#;

/// The transaction of one `user.updated` delivery (`process_delivery`), statement for
/// statement as the server sends it (captured with `log_statement = 'all'`): the advisory
/// locks of its keys, the message-id lookup, the reads of the sync rules, the user's update and
/// the webhook log entry, then the commit. (pgbench reads `:name` inside string literals as a
/// variable, hence `chr(58)` for the colons of the lock keys.)
const DELIVERY_SQL: &str = r#"\set i random(0, :users - 1)
\set n random(1, 9000000000000000)
BEGIN;
SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(ARRAY['email' || chr(58) || 'bench' || (:i)::text || '@example.com', 'msg' || chr(58) || 'msg_pgbench_' || (:client_id)::text || '_' || (:n)::text, 'user_bench' || (:i)::text]::text[]) AS key;
SELECT "webhook_events"."outcome" FROM "webhook_events" WHERE ("webhook_events"."svix_id" = 'msg_pgbench_' || (:client_id)::text || '_' || (:n)::text) LIMIT 1;
SELECT EXISTS (SELECT "tombstones"."clerk_id", "tombstones"."kind", "tombstones"."deleted_at", "tombstones"."recorded_at" FROM "tombstones" WHERE ("tombstones"."clerk_id" = 'user_bench' || (:i)::text));
SELECT "users"."id", "users"."clerk_id", "users"."clerk_updated_at" FROM "users" WHERE ("users"."clerk_id" = 'user_bench' || (:i)::text) LIMIT 1 \gset u_
SELECT "users"."id", "users"."clerk_id", "users"."clerk_updated_at" FROM "users" WHERE ("users"."email" = 'bench' || (:i)::text || '@example.com') LIMIT 1;
UPDATE "users" SET "clerk_id" = 'user_bench' || (:i)::text, "email" = 'bench' || (:i)::text || '@example.com', "first_name" = 'Ada', "last_name" = 'Developer', "image_url" = :image, "clerk_updated_at" = :n, "updated_at" = now() WHERE ("users"."id" = :u_id);
INSERT INTO "webhook_events" ("svix_id", "event_type", "clerk_object_id", "outcome", "error", "payload", "attempts", "received_at", "last_received_at") VALUES ('msg_pgbench_' || (:client_id)::text || '_' || (:n)::text, 'user.updated', 'user_bench' || (:i)::text, 'applied', NULL, :payload, 1, now(), now());
COMMIT;
"#;

/// Runs pgbench with `script` at `concurrency` clients for `duration`.
///
/// # Errors
/// When pgbench fails or its report cannot be read.
pub fn pgbench(
    pgbench: &Path,
    url: &str,
    script: &Path,
    variables: &[(&str, String)],
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<Limit> {
    let threads = concurrency.min(std::thread::available_parallelism().map_or(1, usize::from));
    let mut command = Command::new(pgbench);
    command
        .args(["--no-vacuum", "--protocol=prepared", "--file"])
        .arg(script)
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

/// Writes the pgbench scripts into `dir`; returns (me, delivery).
///
/// # Errors
/// When they cannot be written.
pub fn write_scripts(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let me = dir.join("me.sql");
    let delivery = dir.join("delivery.sql");
    std::fs::write(&me, ME_SQL)?;
    std::fs::write(&delivery, DELIVERY_SQL)?;
    Ok((me, delivery))
}

fn sqlite_connection(
    path: &Path,
    synchronous: SqliteSynchronous,
) -> anyhow::Result<clerk_sync_persistence::DbConnection> {
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

/// `users::find_by_clerk_id` in a loop on `threads` connections, for `duration`.
///
/// # Errors
/// When the database fails or a user is missing.
pub fn sqlite_me(
    path: &Path,
    synchronous: SqliteSynchronous,
    users_count: usize,
    threads: usize,
    duration: Duration,
) -> anyhow::Result<Limit> {
    let ids: Vec<ClerkUserId> = (0..users_count)
        .map(|i| ClerkUserId::parse(&user_id(i)))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let deadline = started + duration;
    let counts: Vec<anyhow::Result<u64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let ids = &ids;
                scope.spawn(move || -> anyhow::Result<u64> {
                    let mut conn = sqlite_connection(path, synchronous)?;
                    let mut done = 0_u64;
                    let mut i = thread * 7919;
                    while Instant::now() < deadline {
                        let user = users::find_by_clerk_id(&mut conn, &ids[i % ids.len()])?;
                        ensure!(user.is_some(), "a seeded user is missing");
                        done += 1;
                        i += 1;
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
            // A further round over the users: a new message id and a newer version each.
            id.push('r');
            if let ClerkEvent::UserUpserted(user) = &mut envelope.event {
                user.updated_at = UnixMillis(user.updated_at.0 + 1_000_000_000);
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

fn limit(done: u64, elapsed: Duration) -> Limit {
    Limit {
        rate: done as f64 / elapsed.as_secs_f64().max(1e-9),
    }
}
