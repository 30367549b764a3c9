//! Concurrency: many parallel deliveries of one message apply once; two server processes on
//! one database, receiving the same history interleaved, repeated and reordered, end where one
//! process delivering it in order ends; any conflict reaches the sender as a retryable 503.

use std::cell::RefCell;

use clerk_sync_persistence::testing::TestDatabase;
use futures_util::StreamExt;

use super::*;
use crate::common::*;

/// Parallel copies of one delivery in flight at once.
const COPIES: usize = 40;

server_tests!(parallel_deliveries_of_one_message_apply_once);

async fn parallel_deliveries_of_one_message_apply_once(server: TestServer) {
    let body = event_fixture("organizationMembership.created").to_string();
    let answers: Vec<(u16, String)> = futures_util::stream::iter(0..COPIES)
        .map(|_| post(&server.client, &server.base, "msg_parallel", &body))
        .buffer_unordered(COPIES)
        .map(|answer| answer.expect("the server answers"))
        .collect()
        .await;
    let count = |status: u16, outcome: &str| {
        answers
            .iter()
            .filter(|(s, o)| *s == status && o == outcome)
            .count()
    };
    let refused = answers.iter().filter(|(s, _)| *s == 503).count();
    assert_eq!(count(200, "applied"), 1, "{answers:?}");
    assert_eq!(
        count(200, "duplicate") + refused,
        COPIES - 1,
        "only 200 or a retryable 503: {answers:?}"
    );
    // The sender retries what was refused: still nothing applies twice.
    for _ in 0..refused {
        assert_eq!(
            post(&server.client, &server.base, "msg_parallel", &body)
                .await
                .expect("answers"),
            (200, "duplicate".to_owned())
        );
    }
    assert_eq!(
        (
            server.count("users"),
            server.count("organizations"),
            server.count("organization_memberships")
        ),
        (1, 1, 1)
    );
    assert_eq!(server.count("webhook_events"), 1);
    let attempts = {
        use clerk_sync_persistence::schema::webhook_events;
        use diesel::prelude::*;
        let mut conn = server.conn();
        webhook_events::table
            .select(webhook_events::attempts)
            .first::<i32>(&mut *conn)
            .expect("logged")
    };
    assert_eq!(
        usize::try_from(attempts).ok(),
        Some(COPIES + refused),
        "every copy was counted once"
    );
    eprintln!(
        "parallel copies of one message on {:?}: {COPIES} deliveries, {refused} answered 503",
        server.database.backend()
    );
}

/// The history both tests below deliver, and how Svix may deliver it: shuffled, with
/// repetitions, some of them right beside the original so that both are in flight together.
fn load(seed: u64) -> (Clerk, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let clerk = history(&mut rng, 1000);
    let events = clerk.events.len();
    let mut order = schedule(&mut rng, events, events / 3);
    for _ in 0..events / 4 {
        let position = rng.below(order.len());
        order.insert(position, order[position]);
    }
    (clerk, order)
}

async fn two_processes_end_as_one(db: TestDatabase, reference_db: TestDatabase) {
    let (clerk, order) = load(seed(0x5eed_0002));
    let events = &clerk.events;
    let url = db.url_string();
    let first = ServerProcess::start("replica-a", &url).await;
    let second = ServerProcess::start("replica-b", &url).await;
    let bases = [first.base.as_str(), second.base.as_str()];
    let client = reqwest::Client::new();
    let refused = RefCell::new(Vec::new());
    let mut rng = Rng::new(0x5eed_0003);
    let targets: Vec<usize> = order.iter().map(|_| rng.below(2)).collect();
    futures_util::stream::iter(order.iter().zip(&targets))
        .map(|(&index, &target)| {
            let client = &client;
            let refused = &refused;
            async move {
                let body = events[index].to_string();
                let (status, detail) = post(client, bases[target], &message_id(index), &body)
                    .await
                    .expect("the server answers");
                match status {
                    200 => {}
                    503 => refused.borrow_mut().push(index),
                    _ => panic!("message {index}: {status} {detail}"),
                }
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    let refused = refused.into_inner();
    let retried = refused.len();
    let later_refusals = deliver_until_accepted(&client, &bases, events, refused).await;
    let state = mirror_of(&db);
    state.check_invariants().expect("the rules hold");

    // One process, in Clerk's order, each event once.
    let one = ServerProcess::start("single", &reference_db.url_string()).await;
    for (index, event) in events.iter().enumerate() {
        let answer = post(&client, &one.base, &message_id(index), &event.to_string())
            .await
            .expect("the server answers");
        assert_eq!(answer.0, 200, "message {index}: {answer:?}");
    }
    let reference = mirror_of(&reference_db);
    assert_eq!(
        reference,
        clerk.final_state(),
        "in order, the mirror equals Clerk"
    );
    assert_eq!(state, reference, "two processes end where one does");
    eprintln!(
        "two processes on {:?}: {} events, {} deliveries ({} to each on average), {retried} answered 503 and were retried ({later_refusals} more 503s)",
        db.url().backend(),
        events.len(),
        order.len(),
        order.len() / 2,
    );
}

#[actix_web::test]
async fn two_processes_on_one_postgres_end_as_one_process() {
    let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") else {
        return;
    };
    let reference = TestDatabase::postgres()
        .expect("a PostgreSQL test database")
        .expect("PostgreSQL is there");
    two_processes_end_as_one(db, reference).await;
}

#[actix_web::test]
async fn two_processes_on_one_sqlite_file_end_as_one_process() {
    let db = TestDatabase::sqlite().expect("a SQLite test database");
    let reference = TestDatabase::sqlite().expect("a SQLite test database");
    two_processes_end_as_one(db, reference).await;
}
