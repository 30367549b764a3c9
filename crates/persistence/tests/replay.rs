//! Replaying deliveries the webhook log kept as rejected, on both backends: applied through
//! the exactly-once path, a no-op once no longer rejected, dry runs, filters, and payloads
//! that still cannot be parsed.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

#[expect(
    dead_code,
    reason = "the helpers are shared with the sync tests, which use the rest"
)]
mod common;

use clerk_sync_domain::Outcome;
use clerk_sync_persistence::replay::{
    ReplayEffect, ReplaySelection, Replayed, replay, replay_event,
};
use clerk_sync_persistence::schema::webhook_events;
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{DbConnection, WriteMode, backend_tests, webhook_events as log};
use common::*;
use diesel::prelude::*;

/// Leaves a rejected log entry as an older clerk-sync, whose parser refused `body`, did.
fn kept_rejected(conn: &mut DbConnection, svix_id: &str, event_type: &str, body: &str) -> i64 {
    let at = now() - chrono::Duration::hours(1);
    diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::svix_id.eq(svix_id),
            webhook_events::event_type.eq(event_type),
            webhook_events::outcome.eq("rejected"),
            webhook_events::error.eq("an older version's reason"),
            webhook_events::payload.eq(body),
            webhook_events::attempts.eq(1),
            webhook_events::received_at.eq(at),
            webhook_events::last_received_at.eq(at),
        ))
        .returning(webhook_events::id)
        .get_result(conn)
        .expect("inserted")
}

fn run(
    conn: &mut DbConnection,
    selection: ReplaySelection,
    mode: WriteMode,
) -> (Vec<Replayed>, Vec<String>) {
    let mut replayed = Vec::new();
    let unknown =
        replay(conn, &selection, mode, now(), |r| replayed.push(r.clone())).expect("replays");
    (replayed, unknown)
}

fn effects(replayed: &[Replayed]) -> Vec<(&str, &ReplayEffect)> {
    replayed
        .iter()
        .map(|r| (r.svix_id.as_str(), &r.effect))
        .collect()
}

/// The outcome, error and attempts of a log entry.
fn logged(conn: &mut DbConnection, svix_id: &str) -> (String, Option<String>, i32) {
    let row = log::find(conn, svix_id).expect("query").expect("logged");
    (row.outcome, row.error, row.attempts)
}

fn first_names(conn: &mut DbConnection) -> Vec<Option<String>> {
    mirror_state(conn).users.into_iter().map(|u| u.2).collect()
}

const MALFORMED: &str = r#"{"type":"user.created","data":{"id":42}}"#;

backend_tests!(
    a_kept_rejected_delivery_is_applied_and_its_log_row_says_so,
    a_dry_run_reports_and_writes_nothing,
    replays_select_by_svix_id_and_by_type,
    a_replay_follows_the_ordering_rules_and_counts_past_many_batches,
);

fn a_kept_rejected_delivery_is_applied_and_its_log_row_says_so(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let body = user(
        "user.created",
        "user_replayed",
        Some("r@example.com"),
        "Replayed",
        10,
    )
    .to_string();
    kept_rejected(&mut conn, "msg_fixed", "user.created", &body);
    kept_rejected(&mut conn, "msg_still_bad", "user.created", MALFORMED);
    let (replayed, unknown) = run(&mut conn, ReplaySelection::AllRejected, WriteMode::Commit);
    assert!(unknown.is_empty());
    let reason = "malformed user.created event: `data.id`: invalid type, expected a string (line 1, column 8)";
    let still = ReplayEffect::StillRejected(reason.to_owned());
    assert_eq!(
        effects(&replayed),
        [
            ("msg_fixed", &ReplayEffect::Became(Outcome::Applied)),
            ("msg_still_bad", &still)
        ],
        "{replayed:?}"
    );
    assert_eq!(replayed[0].before, Outcome::Rejected);
    assert_eq!(
        first_names(&mut conn),
        [Some("Replayed".to_owned())],
        "the mirror has the user"
    );
    assert_eq!(
        logged(&mut conn, "msg_fixed"),
        ("applied".to_owned(), None, 2)
    );
    assert_eq!(
        logged(&mut conn, "msg_still_bad"),
        ("rejected".to_owned(), Some(reason.to_owned()), 2),
        "the reason is today's"
    );
    let row = log::find(&mut conn, "msg_fixed")
        .expect("query")
        .expect("logged");
    assert_eq!(row.clerk_object_id.as_deref(), Some("user_replayed"));
    assert!(
        row.last_received_at > row.received_at,
        "the replay counts as the latest delivery"
    );

    // Again: the applied one is no longer rejected, so only the malformed one comes back.
    let (again, _) = run(&mut conn, ReplaySelection::AllRejected, WriteMode::Commit);
    assert_eq!(effects(&again), [("msg_still_bad", &still)]);
    let (by_id, _) = run(
        &mut conn,
        ReplaySelection::SvixIds(vec!["msg_fixed".to_owned()]),
        WriteMode::Commit,
    );
    assert_eq!(effects(&by_id), [("msg_fixed", &ReplayEffect::NotRejected)]);
    assert_eq!(by_id[0].before, Outcome::Applied);
    assert_eq!(
        logged(&mut conn, "msg_fixed"),
        ("applied".to_owned(), None, 2),
        "left alone"
    );
    // And a webhook redelivery of it now is a duplicate.
    let fixed = user(
        "user.created",
        "user_replayed",
        Some("r@example.com"),
        "Replayed",
        10,
    );
    assert_eq!(deliver(&mut conn, "msg_fixed", &fixed), Outcome::Duplicate);
}

fn a_dry_run_reports_and_writes_nothing(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let body = organization("organization.created", "org_dry", "Dry", 10).to_string();
    kept_rejected(&mut conn, "msg_dry", "organization.created", &body);
    kept_rejected(&mut conn, "msg_dry_bad", "user.created", MALFORMED);
    let (replayed, _) = run(&mut conn, ReplaySelection::AllRejected, WriteMode::DryRun);
    assert_eq!(replayed[0].effect, ReplayEffect::Became(Outcome::Applied));
    assert!(
        matches!(replayed[1].effect, ReplayEffect::StillRejected(_)),
        "{replayed:?}"
    );
    assert!(
        mirror_state(&mut conn).organizations.is_empty(),
        "nothing was applied"
    );
    for svix_id in ["msg_dry", "msg_dry_bad"] {
        assert_eq!(
            logged(&mut conn, svix_id),
            (
                "rejected".to_owned(),
                Some("an older version's reason".to_owned()),
                1
            ),
            "{svix_id}"
        );
    }
    let (real, _) = run(&mut conn, ReplaySelection::AllRejected, WriteMode::Commit);
    assert_eq!(
        real[0].effect,
        ReplayEffect::Became(Outcome::Applied),
        "the dry run told the truth"
    );
}

fn replays_select_by_svix_id_and_by_type(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let a = user("user.created", "user_a", Some("a@example.com"), "A", 10).to_string();
    let b = organization("organization.created", "org_b", "B", 10).to_string();
    let c = user("user.updated", "user_c", Some("c@example.com"), "C", 10).to_string();
    kept_rejected(&mut conn, "msg_a", "user.created", &a);
    kept_rejected(&mut conn, "msg_b", "organization.created", &b);
    kept_rejected(&mut conn, "msg_c", "user.updated", &c);
    let (by_type, _) = run(
        &mut conn,
        ReplaySelection::EventType("organization.created".to_owned()),
        WriteMode::Commit,
    );
    assert_eq!(
        effects(&by_type),
        [("msg_b", &ReplayEffect::Became(Outcome::Applied))]
    );
    let ids = vec!["msg_c".to_owned(), "msg_never_seen".to_owned()];
    let (by_id, unknown) = run(&mut conn, ReplaySelection::SvixIds(ids), WriteMode::Commit);
    assert_eq!(
        effects(&by_id),
        [("msg_c", &ReplayEffect::Became(Outcome::Applied))]
    );
    assert_eq!(unknown, ["msg_never_seen"]);
    assert_eq!(
        logged(&mut conn, "msg_a").0,
        "rejected",
        "not selected, left alone"
    );
    assert_eq!(first_names(&mut conn), [Some("C".to_owned())]);
}

fn a_replay_follows_the_ordering_rules_and_counts_past_many_batches(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    // The mirror already holds a newer version: the kept older one is stale, not applied.
    deliver(
        &mut conn,
        "msg_new",
        &user("user.updated", "user_o", Some("o@example.com"), "Newer", 20),
    );
    let old = user("user.created", "user_o", Some("o@example.com"), "Older", 10).to_string();
    let id = kept_rejected(&mut conn, "msg_old", "user.created", &old);
    let one = replay_event(&mut conn, id, WriteMode::Commit, now())
        .expect("replays")
        .expect("found");
    assert_eq!(one.effect, ReplayEffect::Became(Outcome::Stale));
    assert!(one.effect.is_resolved());
    assert_eq!(logged(&mut conn, "msg_old").0, "stale");
    assert_eq!(first_names(&mut conn), [Some("Newer".to_owned())]);
    assert_eq!(
        replay_event(&mut conn, id + 1000, WriteMode::Commit, now()).expect("query"),
        None
    );
    // More rejected entries than one batch reads.
    for n in 0..120 {
        let body = organization(
            "organization.created",
            &format!("org_many{n}"),
            &format!("Many {n}"),
            10,
        )
        .to_string();
        kept_rejected(
            &mut conn,
            &format!("msg_many{n}"),
            "organization.created",
            &body,
        );
    }
    let (replayed, _) = run(&mut conn, ReplaySelection::AllRejected, WriteMode::Commit);
    assert_eq!(replayed.len(), 120);
    assert!(
        replayed
            .iter()
            .all(|r| r.effect == ReplayEffect::Became(Outcome::Applied))
    );
    assert_eq!(mirror_state(&mut conn).organizations.len(), 120);
}
