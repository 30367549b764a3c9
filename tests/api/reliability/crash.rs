//! Crash: `kill -9` of the server in the middle of a load of signed deliveries. After a
//! restart, every delivery that got no 2xx is delivered again (as Svix retries): nothing that
//! got a 2xx is missing, nothing is applied twice, and the mirror equals Clerk's state. Once
//! with 8 deliveries in flight, and once with 64, so that the kill meets batches of deliveries
//! being gathered and written in one transaction (group commit).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use clerk_sync_persistence::schema::webhook_events;
use clerk_sync_persistence::testing::TestDatabase;
use diesel::prelude::*;
use futures_util::StreamExt;

use super::*;

/// The webhook log: message id → recorded outcome.
fn logged(db: &TestDatabase) -> BTreeMap<String, String> {
    let database = open(db.url());
    let mut conn = database.get().expect("a connection");
    webhook_events::table
        .select((webhook_events::svix_id, webhook_events::outcome))
        .load::<(String, String)>(&mut *conn)
        .expect("the webhook log")
        .into_iter()
        .collect()
}

/// The deliveries per transaction the server has written so far (`sum / count` of its batch
/// size histogram): `(transactions, deliveries)`.
async fn batches_written(client: &reqwest::Client, base: &str) -> (f64, f64) {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the metrics")
        .text()
        .await
        .expect("the metrics text");
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} in the metrics:\n{text}"))
    };
    (
        value("clerk_sync_webhook_batch_size_count "),
        value("clerk_sync_webhook_batch_size_sum "),
    )
}

/// Loads the server with `in_flight` deliveries at once and kills it once 40 % of them are
/// answered; with `batched`, checks that transactions held several deliveries before the kill.
async fn kill_mid_load(db: TestDatabase, in_flight: usize, batched: bool) {
    let mut rng = Rng::new(seed(0x5eed_0004));
    let clerk = history(&mut rng, 1000);
    let events = &clerk.events;
    let order = schedule(&mut rng, events.len(), events.len() / 4);
    let url = db.url_string();
    let mut server = ServerProcess::start("crash", &url).await;
    let base = server.base.clone();
    let client = reqwest::Client::new();

    // The load; the server is killed once 40 % of it has been answered.
    let threshold = order.len() * 2 / 5;
    let answered = Cell::new(0usize);
    let answers: RefCell<Vec<Option<(u16, String)>>> = RefCell::new(vec![None; order.len()]);
    let load = futures_util::stream::iter(order.iter().enumerate())
        .map(|(position, &index)| {
            let (client, base, answered, answers) = (&client, &base, &answered, &answers);
            async move {
                let body = events[index].to_string();
                if let Ok(answer) = post(client, base, &message_id(index), &body).await {
                    answered.set(answered.get() + 1);
                    answers.borrow_mut()[position] = Some(answer);
                }
            }
        })
        .buffer_unordered(in_flight)
        .collect::<Vec<()>>();
    let killer = async {
        while answered.get() < threshold {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let (transactions, deliveries) = batches_written(&client, &base).await;
        server.kill();
        if batched {
            assert!(
                deliveries > transactions,
                "{in_flight} deliveries in flight were written in batches: {deliveries} in {transactions} transactions"
            );
        }
        (transactions, deliveries)
    };
    let (_, (transactions, deliveries)) = futures_util::future::join(load, killer).await;
    let answers = answers.into_inner();
    let accepted: Vec<usize> = (0..order.len())
        .filter(|&p| {
            answers[p]
                .as_ref()
                .is_some_and(|(status, _)| *status == 200)
        })
        .collect();
    assert!(
        answers
            .iter()
            .flatten()
            .all(|(status, _)| *status == 200 || *status == 503),
        "only 200 or a retryable 503: {answers:?}"
    );

    // Nothing that got a 2xx is missing, and its log entry says what the answer said.
    let before_restart = logged(&db);
    for &position in &accepted {
        let id = message_id(order[position]);
        let recorded = before_restart.get(&id);
        let (_, outcome) = answers[position].as_ref().expect("answered");
        assert!(recorded.is_some(), "{id} got a 2xx but is not in the log");
        if outcome != "duplicate" {
            assert_eq!(recorded, Some(outcome), "{id}");
        }
    }
    let accepted_ids: BTreeSet<String> = accepted.iter().map(|&p| message_id(order[p])).collect();
    let committed_unanswered = before_restart
        .keys()
        .filter(|id| !accepted_ids.contains(*id))
        .count();

    // Restart and redeliver, one at a time, every delivery that got no 2xx.
    let server = ServerProcess::start("crash-restarted", &url).await;
    let unanswered: Vec<usize> = (0..order.len())
        .filter(|p| !accepted.contains(p))
        .map(|p| order[p])
        .collect();
    let mut redelivered = BTreeSet::new();
    for &index in &unanswered {
        let id = message_id(index);
        let answer = post(&client, &server.base, &id, &events[index].to_string())
            .await
            .expect("the restarted server answers");
        assert_eq!(answer.0, 200, "{id}: {answer:?}");
        let seen = before_restart.contains_key(&id) || accepted_ids.contains(&id);
        if seen || !redelivered.insert(index) {
            assert_eq!(
                answer.1, "duplicate",
                "{id} was committed before: not applied again"
            );
        } else {
            assert_ne!(
                answer.1, "duplicate",
                "{id} was not committed before the kill"
            );
        }
    }

    let after = logged(&db);
    assert_eq!(after.len(), events.len(), "every message is logged once");
    for (id, outcome) in &before_restart {
        assert_eq!(after.get(id), Some(outcome), "{id} keeps its outcome");
    }
    let state = mirror_of(&db);
    state.check_invariants().expect("the rules hold");
    assert_eq!(
        state,
        clerk.final_state(),
        "the mirror equals Clerk's state"
    );
    eprintln!(
        "kill -9 on {:?}, {in_flight} in flight ({deliveries} deliveries in {transactions} transactions before the kill): {} events, {} deliveries; {} answered 2xx before the kill, {} committed but unanswered, {} redelivered after the restart",
        db.url().backend(),
        events.len(),
        order.len(),
        accepted.len(),
        committed_unanswered,
        unanswered.len(),
    );
}

#[actix_web::test]
async fn kill_9_mid_load_on_sqlite_loses_and_duplicates_nothing() {
    kill_mid_load(
        TestDatabase::sqlite().expect("a SQLite test database"),
        8,
        false,
    )
    .await;
}

#[actix_web::test]
async fn kill_9_mid_load_on_postgres_loses_and_duplicates_nothing() {
    let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") else {
        return;
    };
    kill_mid_load(db, 8, false).await;
}

#[actix_web::test]
async fn kill_9_while_batches_are_in_flight_on_sqlite_loses_and_duplicates_nothing() {
    kill_mid_load(
        TestDatabase::sqlite().expect("a SQLite test database"),
        64,
        true,
    )
    .await;
}

#[actix_web::test]
async fn kill_9_while_batches_are_in_flight_on_postgres_loses_and_duplicates_nothing() {
    let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") else {
        return;
    };
    kill_mid_load(db, 64, true).await;
}
