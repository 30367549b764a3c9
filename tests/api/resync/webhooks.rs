//! A resync while webhooks arrive: both apply through the same rules, so the mirror ends as the
//! webhooks alone would leave it, and nothing a webhook created during the listing is pruned.

use clerk_sync_backend_api::ObjectKind;

use super::fake_clerk::{FakeClerk, PageAt, user};
use super::*;
use crate::common::*;

server_tests!(webhooks_delivered_during_a_resync_win_where_they_are_newer);

async fn webhooks_delivered_during_a_resync_win_where_they_are_newer(server: TestServer) {
    let fake = FakeClerk::start().await;
    fake.with_store(|store| {
        store.users = (0..8)
            .map(|i| {
                user(
                    &format!("user_{i}"),
                    Some(&format!("u{i}@example.com")),
                    "Listed",
                    10,
                )
            })
            .collect();
    });
    let (reached, release) = fake.pause_before("/users", PageAt::after("user_3"));
    let mut options = options(&[ObjectKind::Users]);
    options.prune = true;
    let webhooks = async {
        reached.await.expect("the resync reaches its second page");
        // The first page is fetched and being written; later pages are still to come.
        let newer = |id: &str| {
            event(
                "user.updated",
                &user(id, Some(&format!("{id}@example.com")), "Webhook", 20),
            )
        };
        assert_eq!(server.deliver_json("w1", &newer("user_1")).await.0, 200);
        assert_eq!(server.deliver_json("w2", &newer("user_5")).await.0, 200);
        // Clerk's listing still shows user_6 (it lags behind): the resync must not bring it back.
        assert_eq!(
            server
                .deliver_json("w3", &deleted_event("user.deleted", "user_6"))
                .await,
            (200, "applied".to_owned())
        );
        // A user created now, which the listing (and even a lookup, lagging) does not show yet.
        assert_eq!(
            server
                .deliver_json(
                    "w4",
                    &event("user.created", &user("user_new", None, "New", 30))
                )
                .await,
            (200, "applied".to_owned())
        );
        release.send(()).expect("the fake waits");
    };
    let (summary, ()) = tokio::join!(run(&server, &fake, &options), webhooks);
    let names: Vec<_> = ["user_1", "user_5", "user_6", "user_new", "user_7"]
        .iter()
        .map(|id| user_row(&server, id).map(|(name, _)| name))
        .collect();
    assert_eq!(
        names,
        vec![
            Some(Some("Webhook".to_owned())),
            Some(Some("Webhook".to_owned())),
            None,
            Some(Some("New".to_owned())),
            Some(Some("Listed".to_owned())),
        ]
    );
    assert_eq!(
        user_row(&server, "user_5")
            .and_then(|(_, email)| email)
            .as_deref(),
        Some("user_5@example.com")
    );
    assert!(clerk_ids(&server, "tombstones").contains(&"user_6".to_owned()));
    let [_, _, _, stale, pruned, _] = counts(&summary, ObjectKind::Users);
    assert!(
        stale >= 2,
        "user_5's older listing and deleted user_6 are stale: {summary}"
    );
    assert_eq!(pruned, 0, "{summary}");
}
