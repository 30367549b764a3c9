//! Resync batches and prune on both backends: the same rules as webhook deliveries, the same
//! end state, real counts in a dry run, and no prune of what was written since the listing.

#![expect(
    clippy::expect_used,
    reason = "test helpers fail the test by panicking"
)]

#[expect(
    dead_code,
    reason = "the helpers are shared with the sync tests, which use the rest"
)]
mod common;

use std::sync::Arc;

use chrono::TimeDelta;
use clerk_sync_domain::{
    ClerkMembershipId, ClerkOrgId, ClerkUserId, EmailAddress, MembershipSnapshot,
    OrganizationSnapshot, UserSnapshot, parse_membership, parse_organization, parse_user,
};
use clerk_sync_persistence::resync::{
    Tally, apply_memberships, apply_organizations, apply_users, held_memberships,
    held_organizations, held_users, prune,
};
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{WriteMode, backend_tests, users as user_repo};
use common::*;
use serde_json::Value;

fn user_snapshot(id: &str, email: Option<&str>, name: &str, updated_at: i64) -> UserSnapshot {
    let body = user("user.updated", id, email, name, updated_at);
    parse_user(&body["data"].to_string()).expect("a valid user")
}

fn organization_snapshot(id: &str, name: &str, updated_at: i64) -> OrganizationSnapshot {
    parse_organization(&organization_data(id, name, updated_at).to_string())
        .expect("a valid organization")
}

fn membership_snapshot(
    id: &str,
    user_id: &str,
    org: Value,
    role: &str,
    updated_at: i64,
) -> MembershipSnapshot {
    let body = membership(
        "organizationMembership.updated",
        id,
        user_id,
        org,
        role,
        updated_at,
        updated_at + 1,
    );
    parse_membership(&body["data"].to_string()).expect("a valid membership")
}

fn tally(created: u64, updated: u64, unchanged: u64, stale: u64, tombstoned: u64) -> Tally {
    Tally {
        created,
        updated,
        unchanged,
        stale,
        tombstoned,
        deleted: 0,
    }
}

/// A small xorshift generator: reproducible scenarios without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

backend_tests!(
    a_batch_counts_what_it_changes,
    memberships_create_their_user_and_organization_and_keep_the_newest_of_a_pair,
    a_batch_ends_where_the_same_events_delivered_one_by_one_end,
    the_fixture_objects_resynced_end_where_their_webhooks_end,
    a_batch_sees_its_own_writes,
    a_dry_run_counts_for_real_and_writes_nothing,
    prune_removes_and_tombstones_only_what_was_written_before_the_listing,
    a_webhook_after_the_cutoff_saves_a_row_from_prune,
    batches_and_concurrent_webhooks_converge_to_the_newest_versions,
);

fn a_batch_counts_what_it_changes(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    deliver(&mut conn, "m1", &deleted("user.deleted", "user_gone", 5));
    deliver(
        &mut conn,
        "m2",
        &user("user.updated", "user_newer", None, "Webhook", 50),
    );
    let batch = vec![
        user_snapshot("user_a", Some("a@x.io"), "A", 10),
        user_snapshot("user_b", None, "B", 10),
        user_snapshot("user_gone", None, "G", 10),
        user_snapshot("user_newer", None, "Listed", 40),
    ];
    assert_eq!(
        apply_users(&mut conn, &batch, WriteMode::Commit, now()).expect("applied"),
        tally(2, 0, 0, 1, 1)
    );
    let again = vec![
        user_snapshot("user_a", Some("a@x.io"), "A", 10),
        user_snapshot("user_b", None, "B2", 20),
    ];
    assert_eq!(
        apply_users(&mut conn, &again, WriteMode::Commit, now()).expect("applied"),
        tally(0, 1, 1, 0, 0)
    );
    let state = mirror_state(&mut conn);
    let names: Vec<_> = state
        .users
        .iter()
        .map(|u| (u.0.clone(), u.2.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            (Some("user_a".into()), Some("A".into())),
            (Some("user_b".into()), Some("B2".into())),
            (Some("user_newer".into()), Some("Webhook".into())),
        ]
    );

    deliver(
        &mut conn,
        "m3",
        &organization("organization.updated", "org_2", "Newer", 20),
    );
    let orgs = vec![
        organization_snapshot("org_1", "One", 10),
        organization_snapshot("org_2", "Two", 10),
    ];
    assert_eq!(
        apply_organizations(&mut conn, &orgs, WriteMode::Commit, now()).expect("applied"),
        tally(1, 0, 0, 1, 0)
    );
    assert_eq!(
        apply_organizations(&mut conn, &orgs[..1], WriteMode::Commit, now()).expect("applied"),
        tally(0, 0, 1, 0, 0)
    );
}

fn memberships_create_their_user_and_organization_and_keep_the_newest_of_a_pair(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let org = organization_data("org_m", "M", 5);
    let batch = vec![
        membership_snapshot("orgmem_1", "user_early", org.clone(), "org:member", 10),
        membership_snapshot(
            "orgmem_2",
            "user_early",
            organization_data("org_n", "N", 5),
            "org:admin",
            10,
        ),
        // A rejoin: the newer membership of the same pair holds it, whatever the order.
        membership_snapshot("orgmem_new", "user_r", org.clone(), "org:admin", 30),
        membership_snapshot("orgmem_old", "user_r", org, "org:member", 20),
    ];
    let counts = apply_memberships(&mut conn, &batch, WriteMode::Commit, now()).expect("applied");
    assert_eq!(counts, tally(3, 0, 0, 1, 0));
    let state = mirror_state(&mut conn);
    assert_eq!(state.users.len(), 2, "{state:?}");
    assert_eq!(state.organizations.len(), 2);
    let memberships: Vec<_> = state.memberships.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(memberships, vec!["orgmem_1", "orgmem_2", "orgmem_new"]);
}

fn a_batch_ends_where_the_same_events_delivered_one_by_one_end(db: TestDatabase) {
    // Emails moving between users, pre-existing accounts linked and merged, placeholders
    // from memberships: every lookup the batch memoizes must see the batch's own writes.
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let ids = ["user_p", "user_q", "user_r", "user_s"];
    let emails = [Some("one@x.io"), Some("two@x.io"), Some("three@x.io"), None];
    for round in 0..25 {
        let versions: Vec<Value> = (0..10)
            .map(|i| {
                let id = ids[usize::try_from(rng.below(4)).expect("small")];
                let email = emails[usize::try_from(rng.below(4)).expect("small")];
                user(
                    "user.updated",
                    id,
                    email,
                    &format!("v{i}"),
                    i64::try_from(rng.below(30)).expect("small") + 1,
                )
            })
            .collect();
        let prepare = |conn: &mut clerk_sync_persistence::DbConnection| {
            let email = EmailAddress::parse("two@x.io").expect("email");
            user_repo::insert_local(conn, &email, true, now()).expect("a local account");
            let joined = membership(
                "organizationMembership.created",
                "orgmem_p",
                "user_p",
                organization_data("org_p", "P", 1),
                "org:member",
                1,
                2,
            );
            deliver(conn, "setup", &joined);
        };
        let expected = {
            let reference = TestDatabase::sqlite().expect("db");
            let database = reference.connect().expect("database");
            let mut conn = database.get().expect("connection");
            prepare(&mut conn);
            for (i, body) in versions.iter().enumerate() {
                deliver(&mut conn, &format!("m{i}"), body);
            }
            mirror_state(&mut conn)
        };
        let target = match db.url() {
            clerk_sync_persistence::DatabaseUrl::Sqlite(_) => TestDatabase::sqlite().expect("db"),
            clerk_sync_persistence::DatabaseUrl::Postgres(_) => {
                TestDatabase::postgres().expect("db").expect("PostgreSQL")
            }
        };
        let database = target.connect().expect("database");
        let mut conn = database.get().expect("connection");
        prepare(&mut conn);
        let batch: Vec<UserSnapshot> = versions
            .iter()
            .map(|b| parse_user(&b["data"].to_string()).expect("user"))
            .collect();
        apply_users(&mut conn, &batch, WriteMode::Commit, now()).expect("applied");
        let mut state = mirror_state(&mut conn);
        state.tombstones.clear();
        let mut expected = expected;
        expected.tombstones.clear();
        // NULL Clerk ids sort first on SQLite and last on PostgreSQL.
        state.users.sort();
        expected.users.sort();
        assert_eq!(state, expected, "round {round}");
    }
}

fn the_fixture_objects_resynced_end_where_their_webhooks_end(db: TestDatabase) {
    let story = fixture_story();
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    for (svix_id, body) in &story[..6] {
        deliver(&mut conn, svix_id, body);
    }
    let expected = mirror_state(&mut conn);
    let target = TestDatabase::sqlite().expect("db");
    let database = target.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let data = |kind: &str| -> Vec<String> {
        story[..6]
            .iter()
            .filter(|(_, body)| body["type"].as_str().is_some_and(|t| t.starts_with(kind)))
            .map(|(_, body)| body["data"].to_string())
            .collect()
    };
    let users: Vec<_> = data("user.")
        .iter()
        .map(|d| parse_user(d).expect("user"))
        .collect();
    let orgs: Vec<_> = data("organization.")
        .iter()
        .map(|d| parse_organization(d).expect("org"))
        .collect();
    let memberships: Vec<_> = data("organizationMembership.")
        .iter()
        .map(|d| parse_membership(d).expect("membership"))
        .collect();
    apply_users(&mut conn, &users, WriteMode::Commit, now()).expect("users");
    apply_organizations(&mut conn, &orgs, WriteMode::Commit, now()).expect("organizations");
    apply_memberships(&mut conn, &memberships, WriteMode::Commit, now()).expect("memberships");
    assert_eq!(mirror_state(&mut conn), expected);
}

fn a_batch_sees_its_own_writes(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    deliver(
        &mut conn,
        "m1",
        &user("user.updated", "user_x", None, "X", 10),
    );
    let batch = vec![
        user_snapshot("user_p", Some("one@x.io"), "P", 5),
        // Stale, so nothing is written, but it reads who holds `one` (P, at version 5).
        user_snapshot("user_x", Some("one@x.io"), "X", 4),
        user_snapshot("user_p", Some("three@x.io"), "P", 8),
        // Nobody holds `one` any more: Q takes it, although its claim is older than P's.
        user_snapshot("user_q", Some("one@x.io"), "Q", 3),
    ];
    apply_users(&mut conn, &batch, WriteMode::Commit, now()).expect("applied");
    assert_eq!(user_email(&mut conn, "user_q").as_deref(), Some("one@x.io"));
    assert_eq!(
        user_email(&mut conn, "user_p").as_deref(),
        Some("three@x.io")
    );
}

fn a_dry_run_counts_for_real_and_writes_nothing(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    deliver(
        &mut conn,
        "m1",
        &user("user.updated", "user_a", Some("a@x.io"), "A", 10),
    );
    let before = mirror_state(&mut conn);
    let batch = vec![
        user_snapshot("user_a", Some("a@x.io"), "A", 10),
        user_snapshot("user_new", Some("a@x.io"), "N", 20),
    ];
    let dry = apply_users(&mut conn, &batch, WriteMode::DryRun, now()).expect("tried");
    assert_eq!(dry, tally(1, 0, 1, 0, 0));
    assert_eq!(mirror_state(&mut conn), before, "a dry run writes nothing");
    assert_eq!(
        apply_users(&mut conn, &batch, WriteMode::Commit, now()).expect("applied"),
        dry
    );
    assert_ne!(mirror_state(&mut conn), before);
}

fn prune_removes_and_tombstones_only_what_was_written_before_the_listing(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let joined = membership(
        "organizationMembership.created",
        "orgmem_old",
        "user_old",
        organization_data("org_old", "Old", 5),
        "org:member",
        7,
        8,
    );
    deliver(&mut conn, "m1", &joined);
    let local = EmailAddress::parse("local@x.io").expect("email");
    user_repo::insert_local(&mut conn, &local, false, now()).expect("local account");
    let listing_started = now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    deliver(
        &mut conn,
        "m2",
        &user("user.created", "user_fresh", None, "F", 50),
    );

    let held = held_users(&mut conn, listing_started).expect("query");
    assert_eq!(
        held,
        vec!["user_old".to_owned()],
        "local accounts and fresh rows are not candidates"
    );
    assert_eq!(
        held_organizations(&mut conn, listing_started).expect("query"),
        vec!["org_old".to_owned()]
    );
    let memberships = held_memberships(&mut conn, listing_started).expect("query");
    assert_eq!(memberships.len(), 1);
    assert_eq!(
        (
            memberships[0].user.as_deref(),
            memberships[0].organization.as_str()
        ),
        (Some("user_old"), "org_old")
    );

    let membership_ids = [ClerkMembershipId::parse("orgmem_old").expect("id")];
    let user_ids = [
        ClerkUserId::parse("user_old").expect("id"),
        ClerkUserId::parse("user_fresh").expect("id"),
    ];
    let org_ids = [ClerkOrgId::parse("org_old").expect("id")];
    let before = mirror_state(&mut conn);
    let dry = prune(
        &mut conn,
        &user_ids,
        listing_started,
        WriteMode::DryRun,
        now(),
    )
    .expect("tried");
    assert_eq!(dry, user_ids[..1].to_vec());
    assert_eq!(mirror_state(&mut conn), before, "a dry run prunes nothing");

    assert_eq!(
        prune(
            &mut conn,
            &membership_ids,
            listing_started,
            WriteMode::Commit,
            now()
        )
        .expect("pruned"),
        membership_ids.to_vec()
    );
    assert_eq!(
        prune(
            &mut conn,
            &org_ids,
            listing_started,
            WriteMode::Commit,
            now()
        )
        .expect("pruned"),
        org_ids.to_vec()
    );
    assert_eq!(
        prune(
            &mut conn,
            &user_ids,
            listing_started,
            WriteMode::Commit,
            now()
        )
        .expect("pruned"),
        user_ids[..1].to_vec()
    );
    let state = mirror_state(&mut conn);
    assert_eq!(
        state.tombstones,
        vec![
            "org_old".to_owned(),
            "orgmem_old".to_owned(),
            "user_old".to_owned()
        ]
    );
    assert!(state.memberships.is_empty() && state.organizations.is_empty());
    let mut left: Vec<_> = state.users.iter().map(|u| u.0.clone()).collect();
    left.sort();
    assert_eq!(left, vec![None, Some("user_fresh".to_owned())]);
    // A pruned user never comes back, neither from a late webhook nor from a listing.
    deliver(
        &mut conn,
        "m3",
        &user("user.updated", "user_old", None, "Late", 99),
    );
    let batch = [user_snapshot("user_old", None, "Listed", 100)];
    assert_eq!(
        apply_users(&mut conn, &batch, WriteMode::Commit, now()).expect("applied"),
        tally(0, 0, 0, 0, 1)
    );
    assert_eq!(mirror_state(&mut conn).users.len(), 2);
}

fn a_webhook_after_the_cutoff_saves_a_row_from_prune(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    deliver(
        &mut conn,
        "m1",
        &user("user.created", "user_x", None, "X", 10),
    );
    let cutoff = now() + TimeDelta::milliseconds(1);
    std::thread::sleep(std::time::Duration::from_millis(5));
    // Between the listing of candidates and the prune, a webhook writes the row.
    deliver(
        &mut conn,
        "m2",
        &user("user.updated", "user_x", None, "X2", 20),
    );
    let id = [ClerkUserId::parse("user_x").expect("id")];
    assert!(
        prune(&mut conn, &id, cutoff, WriteMode::Commit, now())
            .expect("ran")
            .is_empty()
    );
    assert_eq!(mirror_state(&mut conn).users.len(), 1);
}

fn batches_and_concurrent_webhooks_converge_to_the_newest_versions(db: TestDatabase) {
    let database = Arc::new(db.connect().expect("database"));
    let listed: Vec<UserSnapshot> = (0..200)
        .map(|i| {
            user_snapshot(
                &format!("user_c{i}"),
                Some(&format!("c{i}@x.io")),
                "listed",
                10,
            )
        })
        .collect();
    std::thread::scope(|scope| {
        for chunk in listed.chunks(50) {
            let database = Arc::clone(&database);
            scope.spawn(move || {
                let mut conn = database.get().expect("connection");
                apply_users(&mut conn, chunk, WriteMode::Commit, now()).expect("applied");
            });
        }
        let database = Arc::clone(&database);
        scope.spawn(move || {
            let mut conn = database.get().expect("connection");
            for i in (0..200).step_by(3) {
                let body = user(
                    "user.updated",
                    &format!("user_c{i}"),
                    Some(&format!("c{i}@x.io")),
                    "webhook",
                    20,
                );
                deliver(&mut conn, &format!("w{i}"), &body);
            }
        });
    });
    let mut conn = database.get().expect("connection");
    let state = mirror_state(&mut conn);
    assert_eq!(state.users.len(), 200);
    for (clerk_id, _, name, _, _) in &state.users {
        let i: usize = clerk_id
            .as_deref()
            .and_then(|id| id.strip_prefix("user_c"))
            .and_then(|n| n.parse().ok())
            .expect("id");
        let expected = if i.is_multiple_of(3) {
            "webhook"
        } else {
            "listed"
        };
        assert_eq!(name.as_deref(), Some(expected), "{clerk_id:?}");
    }
}
