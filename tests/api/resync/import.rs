//! Importing and repairing: every page, whatever the page boundaries; counts that say what
//! changed; the same rules as webhooks.

use clerk_sync_backend_api::ObjectKind;

use super::fake_clerk::{FakeClerk, PageAt, membership, organization, organization_json, user};
use super::*;
use crate::common::*;

fn seed(fake: &FakeClerk, users: usize, organizations: usize) {
    fake.with_store(|store| {
        for i in 0..users {
            let email = format!("user{i}@example.com");
            store.users.push(user(
                &format!("user_{i}"),
                Some(&email),
                &format!("U{i}"),
                10,
            ));
        }
        for i in 0..organizations {
            store
                .organizations
                .push(organization(&format!("org_{i}"), &format!("Org {i}"), 10));
        }
        for i in 0..users {
            let org = organization_json(&format!("org_{}", i % organizations.max(1)), "Org", 10);
            let role = if i % 2 == 0 {
                "org:admin"
            } else {
                "org:member"
            };
            store.memberships.push(membership(
                &format!("orgmem_{i}"),
                &format!("user_{i}"),
                &org,
                role,
                10,
            ));
        }
    });
}

server_tests!(
    imports_every_page_then_finds_nothing_to_change,
    pages_that_end_exactly_on_the_page_size_lose_and_repeat_nothing,
    users_created_during_the_listing_are_listed_at_its_end,
    an_empty_instance_imports_nothing,
    memberships_alone_create_their_users_and_organizations,
    an_object_that_does_not_parse_is_counted_and_the_rest_imported,
);

async fn imports_every_page_then_finds_nothing_to_change(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake, 9, 3);
    let summary = run(&server, &fake, &options(&ObjectKind::ALL)).await;
    assert_eq!(counts(&summary, ObjectKind::Users), [9, 0, 0, 0, 0, 0]);
    assert_eq!(
        counts(&summary, ObjectKind::Organizations),
        [3, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        counts(&summary, ObjectKind::Memberships),
        [9, 0, 0, 0, 0, 0]
    );
    assert_eq!(clerk_ids(&server, "users").len(), 9);
    assert_eq!(
        user_row(&server, "user_4"),
        Some((Some("U4".into()), Some("user4@example.com".into())))
    );
    assert_eq!(server.count("organization_memberships"), 9);

    let again = run(&server, &fake, &options(&ObjectKind::ALL)).await;
    assert_eq!(counts(&again, ObjectKind::Users), [0, 0, 9, 0, 0, 0]);
    assert_eq!(counts(&again, ObjectKind::Memberships), [0, 0, 9, 0, 0, 0]);

    fake.with_store(|store| {
        store.users[2] = user("user_2", Some("new@example.com"), "Renamed", 20)
    });
    let repaired = run(&server, &fake, &options(&[ObjectKind::Users])).await;
    assert_eq!(counts(&repaired, ObjectKind::Users), [0, 1, 8, 0, 0, 0]);
    assert!(
        repaired.kind(ObjectKind::Organizations).is_none(),
        "only the kinds asked for"
    );
    assert_eq!(
        user_row(&server, "user_2"),
        Some((Some("Renamed".into()), Some("new@example.com".into())))
    );
}

async fn pages_that_end_exactly_on_the_page_size_lose_and_repeat_nothing(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake, 8, 4);
    let summary = run(&server, &fake, &options(&ObjectKind::ALL)).await;
    assert_eq!(
        counts(&summary, ObjectKind::Users),
        [8, 0, 0, 0, 0, 0],
        "each user counted once"
    );
    assert_eq!(
        counts(&summary, ObjectKind::Organizations),
        [4, 0, 0, 0, 0, 0]
    );
    assert_eq!(clerk_ids(&server, "users").len(), 8);
    let user_pages: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/users")
        .map(|r| r.query)
        .collect();
    assert_eq!(user_pages.len(), 3, "{user_pages:?}");
    assert!(
        user_pages
            .iter()
            .all(|q| q.contains("limit=4") && q.contains("order_by=%2Bcreated_at")),
        "{user_pages:?}"
    );
    // Users by cursor: each page after the first starts after the previous page's last user.
    let cursors: Vec<Option<&str>> = user_pages
        .iter()
        .map(|q| q.split('&').find_map(|p| p.strip_prefix("starting_after=")))
        .collect();
    assert_eq!(
        cursors,
        vec![None, Some("user_3"), Some("user_7")],
        "{user_pages:?}"
    );
    assert!(
        user_pages.iter().all(|q| !q.contains("offset")),
        "{user_pages:?}"
    );
}

async fn users_created_during_the_listing_are_listed_at_its_end(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake, 6, 1);
    fake.after_page("/users", PageAt::FIRST, |store| {
        store
            .users
            .push(user("user_new", Some("new@example.com"), "New", 30));
    });
    let summary = run(&server, &fake, &options(&[ObjectKind::Users])).await;
    assert_eq!(
        counts(&summary, ObjectKind::Users),
        [7, 0, 0, 0, 0, 0],
        "{summary}"
    );
    assert!(clerk_ids(&server, "users").contains(&"user_new".to_owned()));
}

async fn an_empty_instance_imports_nothing(server: TestServer) {
    let fake = FakeClerk::start().await;
    let mut options = options(&ObjectKind::ALL);
    options.prune = true;
    let summary = run(&server, &fake, &options).await;
    for kind in ObjectKind::ALL {
        assert_eq!(counts(&summary, kind), [0; 6], "{kind:?}");
    }
    assert_eq!(server.count("users") + server.count("organizations"), 0);
}

async fn memberships_alone_create_their_users_and_organizations(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake, 5, 2);
    let summary = run(&server, &fake, &options(&[ObjectKind::Memberships])).await;
    assert_eq!(
        counts(&summary, ObjectKind::Memberships),
        [5, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        clerk_ids(&server, "organizations"),
        vec!["org_0".to_owned(), "org_1".to_owned()]
    );
    assert_eq!(
        user_row(&server, "user_3"),
        Some((Some("Member".into()), None)),
        "from the public user data"
    );
    // The users' own listing then fills them in, as their webhooks would.
    let summary = run(&server, &fake, &options(&[ObjectKind::Users])).await;
    assert_eq!(counts(&summary, ObjectKind::Users), [0, 5, 0, 0, 0, 0]);
    assert_eq!(
        user_row(&server, "user_3"),
        Some((Some("U3".into()), Some("user3@example.com".into())))
    );
}

async fn an_object_that_does_not_parse_is_counted_and_the_rest_imported(server: TestServer) {
    let fake = FakeClerk::start().await;
    seed(&fake, 3, 1);
    fake.with_store(|store| {
        store.users[1].json = r#"{"id":"user_1","object":"user","updated_at":"soon"}"#.to_owned()
    });
    let summary = run(&server, &fake, &options(&[ObjectKind::Users])).await;
    assert_eq!(counts(&summary, ObjectKind::Users), [2, 0, 0, 0, 0, 1]);
    assert_eq!(summary.failed(), 1);
}
