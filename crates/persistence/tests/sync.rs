//! The repositories on both backends: migrations, exactly-once delivery, and every ordering
//! rule, through `process_delivery` as the webhook handler calls it.

#![expect(clippy::expect_used, reason = "test bodies fail the test by panicking")]

mod common;
#[path = "sync/complete_mirror.rs"]
mod complete_mirror;
#[path = "sync/group_commit.rs"]
mod group_commit;
#[path = "sync/schema_doc.rs"]
mod schema_doc;

use std::sync::Arc;

use clerk_sync_domain::{ClerkUserId, EmailAddress, Outcome};
use clerk_sync_persistence::schema::users;
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{
    Delivery, backend_tests, memberships, migrate, record_rejection, revert_all,
    users as user_repo, webhook_events,
};
use common::*;
use diesel::prelude::*;

#[test]
fn migration_folders_match_between_backends() {
    let list = |backend: &str| {
        let dir = format!("{}/../../migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations directory")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        for name in &names {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    std::path::Path::new(&format!("{dir}/{name}/{file}")).exists(),
                    "{backend}/{name}/{file} is missing"
                );
            }
        }
        names
    };
    let sqlite = list("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, list("postgres"));
}

backend_tests!(
    migrations_go_up_down_and_up_again,
    the_fixture_story_applies_in_order,
    a_repeated_message_id_is_applied_once,
    concurrent_deliveries_of_one_message_apply_once,
    concurrent_events_of_one_user_keep_the_newest,
    an_older_version_is_stale,
    a_deleted_user_is_not_resurrected,
    deleting_an_organization_removes_its_memberships,
    a_membership_before_its_user_and_organization_creates_them,
    a_rejoin_keeps_the_new_membership_whatever_the_order,
    a_pre_existing_account_is_linked_by_email,
    a_user_that_came_first_merges_into_the_pre_existing_account,
    an_email_moving_between_users_ends_with_the_later_holder,
    a_rejected_delivery_is_logged_and_processed_again_on_retry,
    unknown_event_types_are_recorded_as_ignored,
    the_fixture_story_converges_in_any_order,
    a_link_raced_by_another_writer_never_steals_the_account,
    users_read_together_answer_each_id_as_asked,
);

fn migrations_go_up_down_and_up_again(db: TestDatabase) {
    let database = db.connect().expect("connects and migrates");
    let mut conn = database.get().expect("a connection");
    revert_all(&mut conn).expect("down");
    assert!(
        users::table.count().get_result::<i64>(&mut *conn).is_err(),
        "users is gone after down"
    );
    migrate(&mut conn).expect("up again");
    assert_eq!(
        users::table.count().get_result::<i64>(&mut *conn).ok(),
        Some(0)
    );
}

fn the_fixture_story_applies_in_order(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let story = fixture_story();
    for (svix_id, body) in &story[..6] {
        assert_eq!(
            deliver(&mut conn, svix_id, body),
            Outcome::Applied,
            "{svix_id}"
        );
    }
    let ada = ClerkUserId::parse("user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE").expect("id");
    let user = user_repo::find_by_clerk_id(&mut conn, &ada)
        .expect("query")
        .expect("Ada is synced");
    assert_eq!(
        user.email.as_ref().map(EmailAddress::as_str),
        Some("ada@analytical-engines.example")
    );
    let orgs = memberships::affiliations_of(&mut conn, user.id).expect("query");
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].organization.name, "Analytical Engines Ltd");
    assert_eq!(orgs[0].role.as_str(), "org:admin");
    for (svix_id, body) in &story[6..] {
        assert_eq!(
            deliver(&mut conn, svix_id, body),
            Outcome::Applied,
            "{svix_id}"
        );
    }
    let state = mirror_state(&mut conn);
    assert!(
        state.users.is_empty() && state.organizations.is_empty() && state.memberships.is_empty()
    );
    assert_eq!(state.tombstones.len(), 3);
}

fn a_repeated_message_id_is_applied_once(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let created = user(
        "user.created",
        "user_dup",
        Some("dup@example.com"),
        "First",
        10,
    );
    assert_eq!(deliver(&mut conn, "msg_1", &created), Outcome::Applied);
    // The same message id with another body must not apply either: the id alone decides.
    let renamed = user(
        "user.updated",
        "user_dup",
        Some("dup@example.com"),
        "Second",
        20,
    );
    assert_eq!(deliver(&mut conn, "msg_1", &renamed), Outcome::Duplicate);
    let row = webhook_events::find(&mut conn, "msg_1")
        .expect("query")
        .expect("logged");
    assert_eq!((row.outcome.as_str(), row.attempts), ("applied", 2));
    let name: Option<String> = users::table
        .select(users::first_name)
        .first(&mut *conn)
        .expect("user");
    assert_eq!(name.as_deref(), Some("First"));
}

fn concurrent_deliveries_of_one_message_apply_once(db: TestDatabase) {
    let database = Arc::new(db.connect().expect("database"));
    let body = Arc::new(membership(
        "organizationMembership.created",
        "orgmem_race",
        "user_race",
        organization_data("org_race", "Race", 5),
        "org:member",
        7,
        8,
    ));
    let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let database = Arc::clone(&database);
                let body = Arc::clone(&body);
                scope.spawn(move || {
                    let mut conn = database.get().expect("connection");
                    deliver(&mut conn, "msg_race", &body)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    assert_eq!(
        outcomes.iter().filter(|o| **o == Outcome::Applied).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Duplicate)
            .count(),
        7,
        "{outcomes:?}"
    );
    let mut conn = database.get().expect("connection");
    let state = mirror_state(&mut conn);
    assert_eq!(
        (
            state.users.len(),
            state.organizations.len(),
            state.memberships.len()
        ),
        (1, 1, 1)
    );
    let row = webhook_events::find(&mut conn, "msg_race")
        .expect("query")
        .expect("logged");
    assert_eq!(row.attempts, 8);
}

fn concurrent_events_of_one_user_keep_the_newest(db: TestDatabase) {
    let database = Arc::new(db.connect().expect("database"));
    std::thread::scope(|scope| {
        for version in 1..=12_i64 {
            let database = Arc::clone(&database);
            scope.spawn(move || {
                let mut conn = database.get().expect("connection");
                let body = user(
                    "user.updated",
                    "user_hot",
                    Some("hot@example.com"),
                    &format!("v{version}"),
                    version,
                );
                deliver(&mut conn, &format!("msg_hot_{version}"), &body);
            });
        }
    });
    let mut conn = database.get().expect("connection");
    let state = mirror_state(&mut conn);
    assert_eq!(state.users.len(), 1);
    assert_eq!(state.users[0].2.as_deref(), Some("v12"));
}

fn an_older_version_is_stale(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    assert_eq!(
        deliver(
            &mut conn,
            "m1",
            &user("user.updated", "user_a", Some("a@x.io"), "New", 20)
        ),
        Outcome::Applied
    );
    assert_eq!(
        deliver(
            &mut conn,
            "m2",
            &user("user.created", "user_a", Some("a@x.io"), "Old", 10)
        ),
        Outcome::Stale
    );
    assert_eq!(mirror_state(&mut conn).users[0].2.as_deref(), Some("New"));
    let org_new = organization("organization.updated", "org_a", "NewName", 30);
    let org_old = organization("organization.created", "org_a", "OldName", 10);
    assert_eq!(deliver(&mut conn, "m3", &org_new), Outcome::Applied);
    assert_eq!(deliver(&mut conn, "m4", &org_old), Outcome::Stale);
    assert_eq!(mirror_state(&mut conn).organizations[0].1, "NewName");
}

fn a_deleted_user_is_not_resurrected(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    assert_eq!(
        deliver(&mut conn, "m1", &deleted("user.deleted", "user_gone", 50)),
        Outcome::Applied
    );
    assert_eq!(
        deliver(
            &mut conn,
            "m2",
            &user("user.updated", "user_gone", None, "Late", 40)
        ),
        Outcome::Tombstoned
    );
    let late_membership = membership(
        "organizationMembership.created",
        "orgmem_g",
        "user_gone",
        organization_data("org_g", "G", 5),
        "org:member",
        7,
        8,
    );
    assert_eq!(
        deliver(&mut conn, "m3", &late_membership),
        Outcome::Tombstoned
    );
    assert_eq!(
        deliver(&mut conn, "m4", &deleted("user.deleted", "user_gone", 60)),
        Outcome::Tombstoned
    );
    let state = mirror_state(&mut conn);
    assert!(state.users.is_empty(), "{state:?}");
    assert!(state.memberships.is_empty());
    assert_eq!(
        state.organizations.len(),
        1,
        "the organization version is still applied"
    );
}

fn deleting_an_organization_removes_its_memberships(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let joined = membership(
        "organizationMembership.created",
        "orgmem_1",
        "user_m",
        organization_data("org_m", "M", 5),
        "org:member",
        7,
        8,
    );
    assert_eq!(deliver(&mut conn, "m1", &joined), Outcome::Applied);
    assert_eq!(
        deliver(
            &mut conn,
            "m2",
            &deleted("organization.deleted", "org_m", 90)
        ),
        Outcome::Applied
    );
    let state = mirror_state(&mut conn);
    assert!(state.memberships.is_empty() && state.organizations.is_empty());
    assert_eq!(state.users.len(), 1, "the member stays");
}

fn a_membership_before_its_user_and_organization_creates_them(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let joined = membership(
        "organizationMembership.created",
        "orgmem_early",
        "user_early",
        organization_data("org_early", "Early", 5),
        "org:admin",
        7,
        8,
    );
    assert_eq!(deliver(&mut conn, "m1", &joined), Outcome::Applied);
    let state = mirror_state(&mut conn);
    assert_eq!(
        state.users,
        vec![(
            Some("user_early".into()),
            None,
            Some("From".into()),
            Some("Membership".into()),
            None
        )]
    );
    assert_eq!(state.memberships[0].3, "org:admin");
    // The user's own event, even an old one, overwrites what the membership provided.
    assert_eq!(
        deliver(
            &mut conn,
            "m2",
            &user("user.created", "user_early", Some("e@x.io"), "Real", 1)
        ),
        Outcome::Applied
    );
    assert_eq!(
        deliver(
            &mut conn,
            "m3",
            &organization("organization.created", "org_early", "Older", 4)
        ),
        Outcome::Stale
    );
    let state = mirror_state(&mut conn);
    assert_eq!(state.users[0].1.as_deref(), Some("e@x.io"));
    assert_eq!(state.users[0].2.as_deref(), Some("Real"));
}

fn a_rejoin_keeps_the_new_membership_whatever_the_order(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let org = organization_data("org_r", "R", 5);
    let first = membership(
        "organizationMembership.created",
        "orgmem_first",
        "user_r",
        org.clone(),
        "org:member",
        10,
        11,
    );
    let first_gone = membership(
        "organizationMembership.deleted",
        "orgmem_first",
        "user_r",
        org.clone(),
        "org:member",
        10,
        20,
    );
    let second = membership(
        "organizationMembership.created",
        "orgmem_second",
        "user_r",
        org,
        "org:admin",
        30,
        31,
    );
    assert_eq!(deliver(&mut conn, "m3", &second), Outcome::Applied);
    assert_eq!(deliver(&mut conn, "m1", &first), Outcome::Stale);
    assert_eq!(deliver(&mut conn, "m2", &first_gone), Outcome::Applied);
    let state = mirror_state(&mut conn);
    assert_eq!(state.memberships.len(), 1);
    assert_eq!(
        (
            state.memberships[0].0.as_str(),
            state.memberships[0].3.as_str()
        ),
        ("orgmem_second", "org:admin")
    );
    assert_eq!(state.tombstones, vec!["orgmem_first".to_owned()]);
}

fn a_pre_existing_account_is_linked_by_email(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let email = EmailAddress::parse("Legacy@Example.com").expect("email");
    let local = user_repo::insert_local(&mut conn, &email, true, now()).expect("local account");
    assert_eq!(
        deliver(
            &mut conn,
            "m1",
            &user(
                "user.created",
                "user_legacy",
                Some("legacy@example.com"),
                "L",
                5
            )
        ),
        Outcome::Applied
    );
    let linked =
        user_repo::find_by_clerk_id(&mut conn, &ClerkUserId::parse("user_legacy").expect("id"))
            .expect("query")
            .expect("linked");
    assert_eq!(linked.id, local, "the existing row took the Clerk id");
    assert!(linked.is_staff, "local fields are kept");
    // A second Clerk user with the same email never re-links it: it takes the email over.
    assert_eq!(
        deliver(
            &mut conn,
            "m2",
            &user(
                "user.created",
                "user_other",
                Some("legacy@example.com"),
                "O",
                6
            )
        ),
        Outcome::Applied
    );
    assert_eq!(user_email(&mut conn, "user_legacy"), None);
    assert_eq!(
        user_email(&mut conn, "user_other").as_deref(),
        Some("legacy@example.com")
    );
    assert_eq!(mirror_state(&mut conn).users.len(), 2);
}

fn a_user_that_came_first_merges_into_the_pre_existing_account(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let email = EmailAddress::parse("old@example.com").expect("email");
    let local = user_repo::insert_local(&mut conn, &email, false, now()).expect("local account");
    let joined = membership(
        "organizationMembership.created",
        "orgmem_x",
        "user_x",
        organization_data("org_x", "X", 5),
        "org:member",
        7,
        8,
    );
    deliver(&mut conn, "m1", &joined);
    assert_eq!(
        deliver(
            &mut conn,
            "m2",
            &user("user.created", "user_x", Some("old@example.com"), "X", 9)
        ),
        Outcome::Applied
    );
    let merged = user_repo::find_by_clerk_id(&mut conn, &ClerkUserId::parse("user_x").expect("id"))
        .expect("query")
        .expect("user");
    assert_eq!(merged.id, local);
    assert_eq!(
        memberships::affiliations_of(&mut conn, local)
            .expect("query")
            .len(),
        1,
        "the membership moved"
    );
    assert_eq!(mirror_state(&mut conn).users.len(), 1);
}

fn an_email_moving_between_users_ends_with_the_later_holder(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    // In Clerk: A has the email (t=10), gives it up (t=20), B takes it (t=30).
    let a_has = user(
        "user.updated",
        "user_a",
        Some("shared@example.com"),
        "A",
        10,
    );
    let a_gave_up = user("user.updated", "user_a", Some("a2@example.com"), "A", 20);
    let b_has = user(
        "user.updated",
        "user_b",
        Some("shared@example.com"),
        "B",
        30,
    );
    for order in [
        [&a_has, &a_gave_up, &b_has],
        [&b_has, &a_has, &a_gave_up],
        [&a_has, &b_has, &a_gave_up],
    ] {
        let db = TestDatabase::sqlite().expect("db");
        let database = db.connect().expect("database");
        let mut conn = database.get().expect("connection");
        for (i, body) in order.iter().enumerate() {
            deliver(&mut conn, &format!("m{i}"), body);
        }
        assert_eq!(
            user_email(&mut conn, "user_b").as_deref(),
            Some("shared@example.com")
        );
        assert_eq!(
            user_email(&mut conn, "user_a").as_deref(),
            Some("a2@example.com")
        );
    }
    // And on this test's backend, the order in which the loser arrives last:
    deliver(&mut conn, "n1", &b_has);
    assert_eq!(deliver(&mut conn, "n2", &a_has), Outcome::Applied);
    assert_eq!(
        user_email(&mut conn, "user_a"),
        None,
        "an older claim does not take the email"
    );
    assert_eq!(
        user_email(&mut conn, "user_b").as_deref(),
        Some("shared@example.com")
    );
}

fn a_rejected_delivery_is_logged_and_processed_again_on_retry(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let delivery = Delivery {
        svix_id: "msg_bad",
        event_type: "user.created",
        clerk_object_id: None,
        payload: "{\"type\":\"user.created\",\"data\":{}}",
        received_at: now(),
    };
    assert_eq!(
        record_rejection(&mut conn, &delivery, "missing field `id`").expect("recorded"),
        Outcome::Rejected
    );
    let row = webhook_events::find(&mut conn, "msg_bad")
        .expect("query")
        .expect("logged");
    assert_eq!(
        (row.outcome.as_str(), row.error.as_deref()),
        ("rejected", Some("missing field `id`"))
    );
    assert_eq!(row.payload.as_deref(), Some(delivery.payload));
    // The fixed delivery, under the same message id, is applied.
    assert_eq!(
        deliver(
            &mut conn,
            "msg_bad",
            &user("user.created", "user_fixed", None, "F", 3)
        ),
        Outcome::Applied
    );
    let row = webhook_events::find(&mut conn, "msg_bad")
        .expect("query")
        .expect("logged");
    assert_eq!(
        (row.outcome.as_str(), row.error, row.attempts),
        ("applied", None, 2)
    );
    // Once applied, a rejection under the same id is a duplicate and changes nothing.
    assert_eq!(
        record_rejection(&mut conn, &delivery, "x").expect("recorded"),
        Outcome::Duplicate
    );
}

fn unknown_event_types_are_recorded_as_ignored(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let body = serde_json::json!({"type": "session.created", "data": {"id": "sess_1"}});
    assert_eq!(deliver(&mut conn, "msg_s", &body), Outcome::Ignored);
    assert_eq!(deliver(&mut conn, "msg_s", &body), Outcome::Duplicate);
    let row = webhook_events::find(&mut conn, "msg_s")
        .expect("query")
        .expect("logged");
    assert_eq!(
        (row.event_type.as_str(), row.outcome.as_str()),
        ("session.created", "ignored")
    );
}

fn the_fixture_story_converges_in_any_order(db: TestDatabase) {
    let story = fixture_story();
    let expected = {
        let reference = TestDatabase::sqlite().expect("db");
        let database = reference.connect().expect("database");
        let mut conn = database.get().expect("connection");
        // Only the first seven events, so something is left to compare.
        for (svix_id, body) in &story[..7] {
            deliver(&mut conn, svix_id, body);
        }
        mirror_state(&mut conn)
    };
    assert_eq!(expected.users.len(), 1);
    assert_eq!(expected.organizations.len(), 1);
    let database = db.connect().expect("database");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..12 {
        let mut conn = database.get().expect("connection");
        diesel::sql_query("DELETE FROM organization_memberships")
            .execute(&mut *conn)
            .expect("reset");
        for table in ["users", "organizations", "webhook_events", "tombstones"] {
            diesel::sql_query(format!("DELETE FROM {table}"))
                .execute(&mut *conn)
                .expect("reset");
        }
        let mut events: Vec<&(String, serde_json::Value)> = story[..7].iter().collect();
        // Fisher-Yates with a fixed xorshift sequence: reproducible, and different each round.
        for i in (1..events.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            events.swap(i, usize::try_from(seed % (i as u64 + 1)).expect("small"));
        }
        for (svix_id, body) in &events {
            deliver(&mut conn, svix_id, body);
        }
        // And a duplicate of each, delivered again at the end.
        for (svix_id, body) in &events {
            assert_eq!(deliver(&mut conn, svix_id, body), Outcome::Duplicate);
        }
        let order: Vec<&str> = events.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            mirror_state(&mut conn),
            expected,
            "round {round}, order {order:?}"
        );
    }
}

fn a_link_raced_by_another_writer_never_steals_the_account(db: TestDatabase) {
    // A writer that locked other keys (here: a bare transaction) links the account while
    // a delivery holding only the email's lock is about to link it too: the delivery must
    // see the link, not overwrite it.
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let email = EmailAddress::parse("contested@example.com").expect("email");
    let local = user_repo::insert_local(&mut conn, &email, true, now()).expect("local account");
    let (linked_tx, linked_rx) = std::sync::mpsc::channel();
    let rival = {
        let database = database.clone();
        std::thread::spawn(move || {
            let mut conn = database.get().expect("connection");
            conn.transaction::<_, diesel::result::Error, _>(|conn| {
                diesel::update(users::table.find(local.0))
                    .set(users::clerk_id.eq("user_first"))
                    .execute(conn)?;
                linked_tx.send(()).expect("the test waits");
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok(())
            })
            .expect("the rival commits");
        })
    };
    linked_rx.recv().expect("the rival linked");
    let second = user(
        "user.created",
        "user_second",
        Some("contested@example.com"),
        "S",
        9,
    );
    // On SQLite the delivery's BEGIN IMMEDIATE waits for the rival; on PostgreSQL its
    // write waits for the rival's row lock and finds the row linked.
    assert_eq!(deliver(&mut conn, "m1", &second), Outcome::Applied);
    rival.join().expect("the rival thread");
    let owner: Option<String> = users::table
        .find(local.0)
        .select(users::clerk_id)
        .first(&mut conn)
        .expect("the account");
    assert_eq!(
        owner.as_deref(),
        Some("user_first"),
        "the account keeps its first link"
    );
    let second =
        user_repo::find_by_clerk_id(&mut conn, &ClerkUserId::parse("user_second").expect("id"))
            .expect("query")
            .expect("the second user has a row of its own");
    assert_ne!(second.id, local);
    assert!(!second.is_staff);
}

/// `find_many_by_clerk_id` (the callers' lookups read together) answers every id in the order
/// asked, an id asked twice both times, a missing id `None`, like `find_by_clerk_id` one by one.
fn users_read_together_answer_each_id_as_asked(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    for (n, name) in ["ada", "grace", "edsger"].iter().enumerate() {
        let body = user(
            "user.created",
            &format!("user_{name}"),
            Some(&format!("{name}@example.com")),
            name,
            10,
        );
        assert_eq!(
            deliver(&mut conn, &format!("msg_{n}"), &body),
            Outcome::Applied
        );
    }
    let id = |raw: &str| ClerkUserId::parse(raw).expect("id");
    let asked = [
        id("user_grace"),
        id("user_nobody"),
        id("user_ada"),
        id("user_grace"),
        id("user_edsger"),
    ];
    let asked: Vec<&ClerkUserId> = asked.iter().collect();
    let answers = user_repo::find_many_by_clerk_id(&mut conn, &asked).expect("the read");
    let names: Vec<Option<String>> = answers
        .into_iter()
        .map(|answer| {
            answer
                .expect("a row that fits")
                .and_then(|user| user.first_name)
        })
        .collect();
    let some = |name: &str| Some(name.to_owned());
    assert_eq!(
        names,
        [
            some("grace"),
            None,
            some("ada"),
            some("grace"),
            some("edsger")
        ]
    );
    for one in asked {
        let alone = user_repo::find_by_clerk_id(&mut conn, one).expect("the read");
        let together = user_repo::find_many_by_clerk_id(&mut conn, &[one]).expect("the read");
        assert_eq!(
            alone.map(|user| user.id),
            together
                .into_iter()
                .next()
                .expect("one answer")
                .expect("fits")
                .map(|user| user.id)
        );
    }
}
