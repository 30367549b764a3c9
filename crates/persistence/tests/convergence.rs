//! The convergence property, on both backends: for random histories of Clerk objects, the
//! events Clerk would send, delivered in any order and with any repetition, leave the mirror
//! equal to the one in-order delivery leaves, and that one equal to Clerk's final state.
//!
//! A history is a list of operations on a small model of a Clerk instance (few users, emails
//! and organizations, so that operations collide: emails move and swap between users,
//! memberships are deleted and re-created for the same pair, deletions race updates). Each
//! operation emits the events Clerk would send for it, with the payload shapes of
//! `crates/domain/tests/fixtures/events` and consistent `updated_at` and envelope timestamps.
//! Events go through `process_deliveries`, as the webhook handler's writers apply them: one
//! per transaction, and (a second property) in batches of random sizes, each batch one
//! transaction, with the same outcomes and the same mirror.
//!
//! `CONVERGENCE_CASES` sets the number of cases per backend (default 300); failures shrink to
//! a minimal history and schedule, and their seeds are kept in `proptest-regressions/`.

#[expect(
    dead_code,
    reason = "the helpers are shared with the sync tests, which use the rest"
)]
mod common;
mod model;

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use clerk_sync_domain::Outcome;
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{
    Database, DatabaseUrl, DbConnection, PoolOptions, SqliteOptions, SqliteSynchronous,
    backend_tests,
};
use common::{deliver, deliver_batch};
use diesel::RunQueryDsl;
use model::{Clerk, EMAILS, Mirror, Op, dump};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::Value;

fn op() -> impl Strategy<Value = Op> {
    let small = || 0u8..8;
    prop_oneof![
        3 => (proptest::option::weighted(0.8, 0..EMAILS), small())
            .prop_map(|(email, name)| Op::CreateUser { email, name }),
        1 => (small(), small()).prop_map(|(user, name)| Op::RenameUser { user, name }),
        2 => (small(), proptest::option::weighted(0.85, 0..EMAILS), any::<bool>())
            .prop_map(|(user, email, drop_old)| Op::ChangePrimaryEmail { user, email, drop_old }),
        1 => (small(), 0..EMAILS).prop_map(|(user, email)| Op::AddUnverifiedPrimary { user, email }),
        1 => small().prop_map(|user| Op::VerifyPrimary { user }),
        1 => (small(), small()).prop_map(|(a, b)| Op::SwapEmails { a, b }),
        1 => (small(), any::<bool>())
            .prop_map(|(user, notify_memberships)| Op::DeleteUser { user, notify_memberships }),
        2 => small().prop_map(|name| Op::CreateOrg { name }),
        1 => (small(), small()).prop_map(|(org, name)| Op::RenameOrg { org, name }),
        1 => (small(), any::<bool>())
            .prop_map(|(org, notify_memberships)| Op::DeleteOrg { org, notify_memberships }),
        3 => (small(), small(), 0..3u8).prop_map(|(user, org, role)| Op::Join { user, org, role }),
        2 => (small(), small(), 0..3u8)
            .prop_map(|(user, org, role)| Op::ChangeRole { user, org, role }),
        2 => (small(), small()).prop_map(|(user, org)| Op::Leave { user, org }),
    ]
}

/// A history, and how its events are delivered: ordered by `keys` (event `i` by
/// `keys[i % len]`, ties in Clerk's order), with the `repeats` (event, position) inserted. Both
/// are independent of the history's length, so that a failure shrinks to a short history
/// and to a schedule close to Clerk's order.
#[derive(Clone, Debug)]
struct Case {
    ops: Vec<Op>,
    keys: Vec<u8>,
    repeats: Vec<(u8, u8)>,
}

impl Case {
    fn schedule(&self, events: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..events).collect();
        order.sort_by_key(|&i| (self.keys[i % self.keys.len()], i));
        for &(event, position) in &self.repeats {
            if events > 0 {
                let position = usize::from(position) % (order.len() + 1);
                order.insert(position, usize::from(event) % events);
            }
        }
        order
    }
}

fn case() -> impl Strategy<Value = Case> {
    // Most objects are created first, so that the operations after them mostly apply; both
    // parts shrink.
    let creations = prop_oneof![
        (proptest::option::weighted(0.8, 0..EMAILS), 0u8..8)
            .prop_map(|(email, name)| Op::CreateUser { email, name }),
        (0u8..8).prop_map(|name| Op::CreateOrg { name }),
    ];
    (
        proptest::collection::vec(creations, 0..8),
        proptest::collection::vec(op(), 1..64),
        proptest::collection::vec(any::<u8>(), 61),
        proptest::collection::vec((any::<u8>(), any::<u8>()), 0..24),
    )
        .prop_map(|(mut ops, more, keys, repeats)| {
            ops.extend(more);
            Case { ops, keys, repeats }
        })
}

fn reset(conn: &mut DbConnection) {
    for table in [
        "organization_memberships",
        "users",
        "organizations",
        "webhook_events",
        "tombstones",
    ] {
        diesel::sql_query(format!("DELETE FROM {table}"))
            .execute(conn)
            .unwrap_or_else(|err| panic!("cannot empty {table}: {err}"));
    }
}

/// Delivers `schedule` (indices into `events`), in transactions of `batch_sizes` deliveries
/// (cycled; `[1]` delivers each alone), and returns the mirror it leaves; checks that the
/// first delivery of each message applies and every repetition is a duplicate.
fn deliver_all(
    conn: &mut DbConnection,
    events: &[Value],
    schedule: &[usize],
    batch_sizes: &[usize],
) -> Result<Mirror, TestCaseError> {
    reset(conn);
    let mut seen = BTreeSet::new();
    let mut rest = schedule;
    for &size in batch_sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, after) = rest.split_at(size.clamp(1, rest.len()));
        rest = after;
        let outcomes = if let [index] = batch {
            vec![deliver(conn, &format!("msg_{index:03}"), &events[*index])]
        } else {
            let bodies: Vec<Value> = batch.iter().map(|&index| events[index].clone()).collect();
            let ids: Vec<String> = batch
                .iter()
                .map(|index| format!("msg_{index:03}"))
                .collect();
            deliver_batch(conn, &ids, &bodies)
        };
        for (&index, outcome) in batch.iter().zip(outcomes) {
            let first = seen.insert(index);
            prop_assert_eq!(
                outcome == Outcome::Duplicate,
                !first,
                "message {} delivered {} gave {}",
                index,
                if first { "first" } else { "again" },
                outcome
            );
        }
    }
    Ok(dump(conn))
}

/// Opens the test database for many fast cases: durability settings off (a crash is not what
/// this test is about; the semantics of a transaction are unchanged).
fn open(db: &TestDatabase) -> Database {
    let url = match db.url() {
        DatabaseUrl::Sqlite(path) => DatabaseUrl::Sqlite(path.clone()),
        DatabaseUrl::Postgres(url) => {
            DatabaseUrl::Postgres(format!("{url}%20-csynchronous_commit%3Doff"))
        }
    };
    let options = PoolOptions {
        max_size: 2,
        sqlite: SqliteOptions {
            synchronous: SqliteSynchronous::Normal,
            ..SqliteOptions::default()
        },
        ..PoolOptions::default()
    };
    Database::connect(&url, &options).unwrap_or_else(|err| panic!("test database: {err}"))
}

fn cases() -> u32 {
    std::env::var("CONVERGENCE_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

/// Checks the property for the cases of `strategy`: each a case and the batch sizes its
/// shuffled schedule is delivered in.
fn check_convergence(
    db: &TestDatabase,
    name: &str,
    strategy: impl Strategy<Value = (Case, Vec<usize>)>,
) {
    let database = open(db);
    let conn = database
        .get()
        .unwrap_or_else(|err| panic!("connection: {err}"));
    // The runner takes a `Fn`; the cases run one after another on this one connection.
    let conn = RefCell::new(conn);
    let config = Config {
        cases: cases(),
        source_file: Some(file!()),
        // Relative to the crate (the working directory of its tests).
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            if name == "batched" {
                "proptest-regressions/convergence-batched.txt"
            } else {
                "proptest-regressions/convergence.txt"
            },
        ))),
        ..Config::default()
    };
    let started = std::time::Instant::now();
    let deliveries = Cell::new(0usize);
    let result = TestRunner::new(config).run(&strategy, |(case, batch_sizes)| {
        let mut guard = conn.borrow_mut();
        let conn: &mut DbConnection = &mut guard;
        let clerk = Clerk::run(&case.ops);
        let in_order: Vec<usize> = (0..clerk.events.len()).collect();
        let reference = deliver_all(conn, &clerk.events, &in_order, &[1])?;
        prop_assert_eq!(
            &reference,
            &clerk.final_state(),
            "in order, the mirror equals Clerk"
        );
        reference
            .check_invariants()
            .map_err(|err| TestCaseError::fail(format!("in order: {err}")))?;
        let schedule = case.schedule(clerk.events.len());
        let shuffled = deliver_all(conn, &clerk.events, &schedule, &batch_sizes)?;
        shuffled
            .check_invariants()
            .map_err(|err| TestCaseError::fail(format!("shuffled: {err}")))?;
        prop_assert_eq!(
            &shuffled,
            &reference,
            "delivered in the order {:?} in batches of {:?}, the mirror differs from in-order delivery",
            schedule,
            batch_sizes
        );
        deliveries.set(deliveries.get() + in_order.len() + schedule.len());
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    eprintln!(
        "convergence ({name}) on {:?}: {} cases, {} deliveries in {:.1?}",
        database.backend(),
        cases(),
        deliveries.get(),
        started.elapsed()
    );
}

backend_tests!(deliveries_in_any_order_converge_to_clerks_state);

fn deliveries_in_any_order_converge_to_clerks_state(db: TestDatabase) {
    check_convergence(&db, "one by one", case().prop_map(|case| (case, vec![1])));
}

backend_tests!(deliveries_in_any_order_and_any_batches_converge_to_clerks_state);

/// Group commit: the shuffled schedule in transactions of 1 to 24 deliveries (a message id may
/// come twice in one), each delivery in a savepoint of its own.
fn deliveries_in_any_order_and_any_batches_converge_to_clerks_state(db: TestDatabase) {
    let strategy = (case(), proptest::collection::vec(1usize..=24, 1..6));
    check_convergence(&db, "batched", strategy);
}
