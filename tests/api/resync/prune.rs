//! Prune and dry run: what Clerk no longer has is removed and tombstoned, nothing Clerk still
//! has is, and a dry run reports exactly what a real run then does while writing nothing.

use clerk_sync_backend_api::ObjectKind;
use clerk_sync_resync::{Options, ResyncError};
use std::time::Duration;

use super::fake_clerk::{
    FakeClerk, Listed, PageAt, membership, organization, organization_json, user,
};
use super::*;
use crate::common::*;

/// Through webhooks, the mirror learns users A, B, C, organizations 1 and 2 and three
/// memberships. Since then (webhooks lost), Clerk deleted B, organization 2 and the
/// memberships in it, and renamed C.
async fn lost_webhooks(server: &TestServer, fake: &FakeClerk) {
    let (a, b, c) = (
        user("user_a", Some("a@example.com"), "A", 10),
        user("user_b", Some("b@example.com"), "B", 10),
        user("user_c", None, "C", 10),
    );
    let (o1, o2) = (
        organization_json("org_1", "One", 10),
        organization_json("org_2", "Two", 10),
    );
    let memberships = [
        membership("orgmem_a1", "user_a", &o1, "org:admin", 10),
        membership("orgmem_b2", "user_b", &o2, "org:member", 10),
        membership("orgmem_a2", "user_a", &o2, "org:member", 10),
    ];
    let mut events = vec![
        event("user.created", &a),
        event("user.created", &b),
        event("user.created", &c),
    ];
    events.push(event(
        "organization.created",
        &organization("org_1", "One", 10),
    ));
    events.push(event(
        "organization.created",
        &organization("org_2", "Two", 10),
    ));
    events.extend(
        memberships
            .iter()
            .map(|m| event("organizationMembership.created", m)),
    );
    for (i, body) in events.iter().enumerate() {
        assert_eq!(
            server.deliver_json(&format!("msg_{i}"), body).await,
            (200, "applied".to_owned())
        );
    }
    fake.with_store(|store| {
        store.users = vec![a, user("user_c", None, "C renamed", 20)];
        store.organizations = vec![organization("org_1", "One", 10)];
        store.memberships = vec![memberships[0].clone()];
    });
    // Rows written before a listing begins are the only candidates for its prune.
    actix_web::rt::time::sleep(Duration::from_millis(5)).await;
}

/// Everything Clerk owns in the mirror, by Clerk id.
fn mirror(server: &TestServer) -> Vec<Vec<String>> {
    let mut names: Vec<String> = clerk_ids(server, "users")
        .iter()
        .map(|id| format!("{id}: {:?}", user_row(server, id)))
        .collect();
    names.sort();
    vec![
        names,
        clerk_ids(server, "organizations"),
        clerk_ids(server, "organization_memberships"),
        clerk_ids(server, "tombstones"),
    ]
}

fn pruning(dry_run: bool) -> Options {
    let mut options = options(&ObjectKind::ALL);
    options.prune = true;
    options.dry_run = dry_run;
    options
}

server_tests!(
    a_prune_of_most_of_the_mirror_needs_to_be_asked_for,
    prune_removes_and_tombstones_what_clerk_no_longer_has,
    a_dry_run_reports_what_a_real_run_does_and_writes_nothing,
    a_user_deleted_between_pages_makes_no_other_user_skipped,
    more_deletions_than_the_overlap_never_prune_an_organization_clerk_still_has,
    users_are_paged_by_cursor_and_deletions_hide_none,
);

async fn a_prune_of_most_of_the_mirror_needs_to_be_asked_for(server: TestServer) {
    let fake = FakeClerk::start().await;
    for i in 0..12 {
        let body = event("user.created", &user(&format!("user_m{i}"), None, "M", 10));
        assert_eq!(
            server.deliver_json(&format!("msg_m{i}"), &body).await.0,
            200
        );
    }
    // Clerk (as this key sees it) has other users only: another instance's key.
    fake.with_store(|store| store.users = vec![user("user_other", None, "O", 10)]);
    actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    let mut options = pruning(false);
    options.kinds = vec![ObjectKind::Users];
    let refused = try_run(&server, &fake, &options).await.err();
    let Some(ResyncError::Prune {
        kind: "users",
        source,
    }) = &refused
    else {
        panic!("not a refused prune of users: {refused:?}");
    };
    assert!(
        matches!(
            **source,
            ResyncError::MassPrune {
                candidates: 12,
                held: 12,
                ..
            }
        ),
        "{source:?}"
    );
    let message = refused.map(message).unwrap_or_default();
    assert!(
        message.contains("12 of the 12 held here are not in Clerk's listing")
            && message.contains("--allow-mass-prune"),
        "{message}"
    );
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/users/user_m")),
        "Clerk was not asked about any of them"
    );
    assert_eq!(clerk_ids(&server, "tombstones"), Vec::<String>::new());
    options.allow_mass_prune = true;
    let summary = run(&server, &fake, &options).await;
    assert_eq!(
        summary.kind(ObjectKind::Users).map(|k| k.pruned.len()),
        Some(12)
    );
}

async fn prune_removes_and_tombstones_what_clerk_no_longer_has(server: TestServer) {
    let fake = FakeClerk::start().await;
    lost_webhooks(&server, &fake).await;
    let summary = run(&server, &fake, &pruning(false)).await;
    assert_eq!(counts(&summary, ObjectKind::Users), [0, 1, 1, 0, 1, 0]);
    assert_eq!(
        counts(&summary, ObjectKind::Organizations),
        [0, 0, 1, 0, 1, 0]
    );
    assert_eq!(
        counts(&summary, ObjectKind::Memberships),
        [0, 0, 1, 0, 2, 0]
    );
    let pruned = &summary
        .kind(ObjectKind::Memberships)
        .expect("memberships")
        .pruned;
    assert_eq!(
        pruned,
        &vec!["orgmem_a2".to_owned(), "orgmem_b2".to_owned()]
    );
    assert_eq!(
        clerk_ids(&server, "users"),
        vec!["user_a".to_owned(), "user_c".to_owned()]
    );
    assert_eq!(
        clerk_ids(&server, "organizations"),
        vec!["org_1".to_owned()]
    );
    assert_eq!(
        clerk_ids(&server, "organization_memberships"),
        vec!["orgmem_a1".to_owned()]
    );
    assert_eq!(
        clerk_ids(&server, "tombstones"),
        vec!["org_2", "orgmem_a2", "orgmem_b2", "user_b"]
    );
    // What was pruned stays deleted: a late webhook about it changes nothing.
    let late = event("user.updated", &user("user_b", None, "B late", 30));
    assert_eq!(
        server.deliver_json("msg_late", &late).await,
        (200, "tombstoned".to_owned())
    );
    // And a second prune finds nothing more to do.
    let again = run(&server, &fake, &pruning(false)).await;
    for kind in ObjectKind::ALL {
        assert_eq!(counts(&again, kind)[4], 0, "{kind:?}");
    }
}

async fn a_dry_run_reports_what_a_real_run_does_and_writes_nothing(server: TestServer) {
    let fake = FakeClerk::start().await;
    lost_webhooks(&server, &fake).await;
    fake.with_store(|store| store.users.push(user("user_d", None, "D", 10)));
    let before = mirror(&server);
    let dry = run(&server, &fake, &pruning(true)).await;
    assert!(dry.dry_run);
    assert_eq!(mirror(&server), before, "a dry run writes nothing");
    let real = run(&server, &fake, &pruning(false)).await;
    assert_ne!(mirror(&server), before);
    for kind in ObjectKind::ALL {
        assert_eq!(counts(&dry, kind), counts(&real, kind), "{kind:?}");
        assert_eq!(
            dry.kind(kind).map(|k| &k.pruned),
            real.kind(kind).map(|k| &k.pruned)
        );
    }
    assert_eq!(counts(&real, ObjectKind::Users), [1, 1, 1, 0, 1, 0]);
}

async fn a_user_deleted_between_pages_makes_no_other_user_skipped(server: TestServer) {
    let fake = FakeClerk::start().await;
    fake.with_store(|store| {
        store.users = (0..9)
            .map(|i| user(&format!("user_{i}"), None, "U", 10))
            .collect();
    });
    // Deleting user_1 after the first page would shift user_4 back onto it with offsets;
    // the cursor (the first page's last user) does not move.
    fake.after_page("/users", PageAt::FIRST, |store| store.remove_user("user_1"));
    let summary = run(&server, &fake, &options(&[ObjectKind::Users])).await;
    assert_eq!(counts(&summary, ObjectKind::Users), [9, 0, 0, 0, 0, 0]);
    assert!(clerk_ids(&server, "users").contains(&"user_4".to_owned()));
}

async fn more_deletions_than_the_overlap_never_prune_an_organization_clerk_still_has(
    server: TestServer,
) {
    // Organizations have no cursor: they are paged by offset, with an overlap of one.
    let fake = FakeClerk::start().await;
    let orgs: Vec<Listed> = (0..9)
        .map(|i| organization(&format!("org_{i}"), &format!("Org {i}"), 10))
        .collect();
    fake.with_store(|store| store.organizations.clone_from(&orgs));
    run(&server, &fake, &options(&[ObjectKind::Organizations])).await;
    actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    // Two deletions after the first page: the second page skips org_4.
    fake.after_page("/organizations", PageAt::FIRST, |store| {
        store
            .organizations
            .retain(|o| o.id != "org_1" && o.id != "org_2");
    });
    let mut options = options(&[ObjectKind::Organizations]);
    options.prune = true;
    let summary = run(&server, &fake, &options).await;
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == "/organizations/org_4"),
        "the prune asked Clerk about org_4"
    );
    assert_eq!(
        counts(&summary, ObjectKind::Organizations),
        [0, 0, 9, 0, 0, 0],
        "org_4 found, not pruned"
    );
    assert_eq!(clerk_ids(&server, "organizations").len(), 9);
}

async fn users_are_paged_by_cursor_and_deletions_hide_none(server: TestServer) {
    let fake = FakeClerk::start().await;
    let users: Vec<Listed> = (0..9)
        .map(|i| user(&format!("user_{i}"), None, "U", 10))
        .collect();
    fake.with_store(|store| store.users.clone_from(&users));
    run(&server, &fake, &options(&[ObjectKind::Users])).await;
    actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    fake.after_page("/users", PageAt::FIRST, |store| {
        store.remove_user("user_1");
        store.remove_user("user_2");
    });
    let mut options = options(&[ObjectKind::Users]);
    options.prune = true;
    let summary = run(&server, &fake, &options).await;
    assert!(
        !fake.requests().iter().any(|r| r.path == "/users/user_4"),
        "user_4 was listed: no lookup needed"
    );
    // The first page was served before the deletions: all nine were listed.
    assert_eq!(
        counts(&summary, ObjectKind::Users),
        [0, 0, 9, 0, 0, 0],
        "{summary}"
    );
    assert_eq!(clerk_ids(&server, "users").len(), 9);
}
