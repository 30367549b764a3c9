//! The reads answered from the mirror, with each filter and order, on both backends.

use serde_json::json;

use super::*;

server_tests!(
    overrides = WITH_KEY;
    a_user_is_answered_as_clerk_sent_it,
    users_are_listed_newest_first_without_partial_users,
    every_user_order_sorts_as_clerk_does,
    every_user_filter_matches_as_clerk_does,
    users_page_by_offset_and_by_cursor,
    organizations_are_listed_got_by_id_or_slug_and_counted_on_request,
    memberships_are_listed_per_organization_user_and_instance,
    a_membership_carries_its_organization_and_member_as_they_are_now,
);

async fn a_user_is_answered_as_clerk_sent_it(server: TestServer) {
    story(&server).await;
    let (status, ada) = clerk_get(&server, &format!("/users/{ADA}")).await;
    assert_eq!(status, 200);
    assert_eq!(ada, event_fixture("user.created")["data"]);
    assert_valid("GetUser", &ada);
    let (status, _) = clerk_get(&server, &format!("/users/{ALAN}/")).await;
    assert_eq!(status, 200, "the trailing slash is optional");
}

async fn users_are_listed_newest_first_without_partial_users(server: TestServer) {
    story(&server).await;
    let (status, users) = clerk_get(&server, "/users").await;
    assert_eq!(status, 200);
    assert_valid("GetUserList", &users);
    assert_eq!(ids(&users), [GRACE, ADA, ALAN], "Babbage is no full user");
    let (status, count) = clerk_get(&server, "/users/count").await;
    assert_eq!(status, 200);
    assert_valid("GetUsersCount", &count);
    assert_eq!(count, json!({"object": "total_count", "total_count": 3}));
    let (status, _) = clerk_get(&server, &format!("/users/{BABBAGE}")).await;
    assert_eq!(status, 404);
}

async fn every_user_order_sorts_as_clerk_does(server: TestServer) {
    story(&server).await;
    let cases: &[(&str, [&str; 3])] = &[
        ("created_at", [ALAN, ADA, GRACE]),
        ("%2Bcreated_at", [ALAN, ADA, GRACE]),
        ("-created_at", [GRACE, ADA, ALAN]),
        ("updated_at", [ADA, GRACE, ALAN]),
        ("-updated_at", [ALAN, GRACE, ADA]),
        ("email_address", [ADA, ALAN, GRACE]),
        ("-email_address", [GRACE, ALAN, ADA]),
        // A missing username sorts last ascending, first descending (PostgreSQL's order).
        ("username", [ALAN, GRACE, ADA]),
        ("-username", [ADA, GRACE, ALAN]),
        ("first_name", [ADA, ALAN, GRACE]),
        ("-first_name", [GRACE, ALAN, ADA]),
        ("last_name", [GRACE, ADA, ALAN]),
        ("-last_name", [ALAN, ADA, GRACE]),
    ];
    for (order, expected) in cases {
        let (status, users) = clerk_get(&server, &format!("/users?order_by={order}")).await;
        assert_eq!(status, 200, "{order}");
        assert_eq!(ids(&users), expected, "{order}");
        assert_valid("GetUserList", &users);
    }
}

async fn every_user_filter_matches_as_clerk_does(server: TestServer) {
    story(&server).await;
    let cases: &[(&str, &[&str])] = &[
        // Any of the user's addresses, verified or not, whatever the case.
        ("email_address=hopper%40navy.example", &[GRACE]),
        ("email_address=ADA.LOVELACE%40example.com", &[ADA]),
        (
            "email_address=alan%40example.com&email_address=grace%40example.com",
            &[GRACE, ALAN],
        ),
        ("email_address[]=alan%40example.com", &[ALAN]),
        ("email_address=nobody%40example.com", &[]),
        ("phone_number=%2B15555550100", &[GRACE]),
        ("username=alan", &[ALAN]),
        ("external_id=ext_grace", &[GRACE]),
        ("external_id=-ext_grace", &[ADA, ALAN]),
        (&format!("user_id={ADA}&user_id={ALAN}"), &[ADA, ALAN]),
        (&format!("user_id=-{ADA}"), &[GRACE, ALAN]),
        (&format!("user_id=%2B{ALAN}"), &[ALAN]),
        (&format!("user_id={BABBAGE}"), &[]),
        (&format!("organization_id={ENGINES}"), &[GRACE, ADA]),
        (&format!("organization_id=-{ENGINES}"), &[ALAN]),
        (&format!("organization_id={DIFFERENCE}"), &[GRACE]),
        // Filters combine: members of Analytical Engines among these addresses.
        (
            &format!(
                "organization_id={ENGINES}&email_address=alan%40example.com&email_address=ada.lovelace%40example.com"
            ),
            &[ADA],
        ),
    ];
    for (query, expected) in cases {
        let (status, users) = clerk_get(&server, &format!("/users?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(ids(&users), *expected, "{query}");
        assert_valid("GetUserList", &users);
        let (status, count) = clerk_get(&server, &format!("/users/count?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(count["total_count"], json!(expected.len()), "{query}");
    }
}

async fn users_page_by_offset_and_by_cursor(server: TestServer) {
    story(&server).await;
    let (_, page) = clerk_get(&server, "/users?limit=2&offset=1").await;
    assert_eq!(ids(&page), [ADA, ALAN]);
    let (_, page) = clerk_get(&server, "/users?limit=1").await;
    assert_eq!(ids(&page), [GRACE]);
    let (_, page) = clerk_get(&server, &format!("/users?limit=1&starting_after={GRACE}")).await;
    assert_eq!(ids(&page), [ADA]);
    let (_, page) = clerk_get(&server, &format!("/users?starting_after={ADA}")).await;
    assert_eq!(ids(&page), [ALAN]);
    let (_, page) = clerk_get(
        &server,
        &format!("/users?order_by=created_at&starting_after={ADA}"),
    )
    .await;
    assert_eq!(ids(&page), [GRACE]);
    let (_, page) = clerk_get(&server, &format!("/users?starting_after={ALAN}")).await;
    assert_eq!(ids(&page), Vec::<String>::new());
    let (_, page) = clerk_get(&server, "/users?limit=500").await;
    assert_eq!(ids(&page).len(), 3);
}

async fn organizations_are_listed_got_by_id_or_slug_and_counted_on_request(server: TestServer) {
    story(&server).await;
    let (status, list) = clerk_get(&server, "/organizations").await;
    assert_eq!(status, 200);
    assert_valid("ListOrganizations", &list);
    assert_eq!(ids(&list), [DIFFERENCE, ENGINES]);
    assert_eq!(list["total_count"], 2);
    assert!(
        list["data"][0].get("members_count").is_none(),
        "Clerk answers members_count only when asked"
    );
    let (_, list) = clerk_get(&server, "/organizations?include_members_count=true").await;
    assert_valid("ListOrganizations", &list);
    assert_eq!(list["data"][0]["members_count"], 2);
    assert_eq!(list["data"][1]["members_count"], 2);
    let cases: &[(&str, [&str; 2])] = &[
        ("order_by=name", [ENGINES, DIFFERENCE]),
        ("order_by=-name", [DIFFERENCE, ENGINES]),
        ("order_by=created_at", [ENGINES, DIFFERENCE]),
        ("order_by=%2Bmembers_count", [ENGINES, DIFFERENCE]),
    ];
    for (query, expected) in cases {
        let (status, list) = clerk_get(&server, &format!("/organizations?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(ids(&list), expected, "{query}");
    }
    let (_, list) = clerk_get(&server, &format!("/organizations?user_id={ADA}")).await;
    assert_eq!(ids(&list), [ENGINES]);
    let (_, list) = clerk_get(
        &server,
        &format!("/organizations?organization_id=-{ENGINES}"),
    )
    .await;
    assert_eq!(ids(&list), [DIFFERENCE]);
    let (_, list) = clerk_get(&server, "/organizations?limit=1&offset=1").await;
    assert_eq!(
        (ids(&list), &list["total_count"]),
        (vec![ENGINES.to_owned()], &json!(2))
    );

    let (status, engines) = clerk_get(&server, &format!("/organizations/{ENGINES}")).await;
    assert_eq!(status, 200);
    assert_valid("GetOrganization", &engines);
    let mut expected = event_fixture("organization.created")["data"].clone();
    expected
        .as_object_mut()
        .map(|fields| fields.remove("members_count"));
    assert_eq!(engines, expected);
    let (status, by_slug) = clerk_get(
        &server,
        "/organizations/difference-engines?include_members_count=true",
    )
    .await;
    assert_eq!(status, 200);
    assert_valid("GetOrganization", &by_slug);
    assert_eq!(
        (&by_slug["id"], &by_slug["members_count"]),
        (&json!(DIFFERENCE), &json!(2))
    );
    let (status, missing) = clerk_get(&server, "/organizations/org_unknown").await;
    assert_eq!(status, 404);
    assert_valid("ClerkErrors", &missing);
}

async fn memberships_are_listed_per_organization_user_and_instance(server: TestServer) {
    story(&server).await;
    let ada_engines = "orgmem_203FEu7bS7SwJzTrjVAiZRblaxS";
    let cases: &[(String, &str, &[&str])] = &[
        (
            format!("/organizations/{ENGINES}/memberships"),
            "ListOrganizationMemberships",
            &["orgmem_grace_engines", ada_engines],
        ),
        (
            format!("/organizations/{ENGINES}/memberships?role=org:admin"),
            "ListOrganizationMemberships",
            &["orgmem_grace_engines"],
        ),
        (
            format!("/organizations/{ENGINES}/memberships?order_by=first_name"),
            "ListOrganizationMemberships",
            &[ada_engines, "orgmem_grace_engines"],
        ),
        (
            format!("/organizations/{DIFFERENCE}/memberships?order_by=%2Bcreated_at&limit=1"),
            "ListOrganizationMemberships",
            &["orgmem_grace_difference"],
        ),
        (
            "/organizations/org_unknown/memberships".to_owned(),
            "ListOrganizationMemberships",
            &[],
        ),
        (
            format!("/users/{GRACE}/organization_memberships"),
            "UsersGetOrganizationMemberships",
            &["orgmem_grace_difference", "orgmem_grace_engines"],
        ),
        (
            format!("/users/{BABBAGE}/organization_memberships"),
            "UsersGetOrganizationMemberships",
            &["orgmem_babbage_difference"],
        ),
        (
            "/organization_memberships".to_owned(),
            "InstanceGetOrganizationMemberships",
            &[
                "orgmem_babbage_difference",
                "orgmem_grace_difference",
                "orgmem_grace_engines",
                ada_engines,
            ],
        ),
        (
            "/organization_memberships?limit=2&offset=1&order_by=-created_at".to_owned(),
            "InstanceGetOrganizationMemberships",
            &["orgmem_grace_difference", "orgmem_grace_engines"],
        ),
    ];
    for (path, operation, expected) in cases {
        let (status, list) = clerk_get(&server, path).await;
        assert_eq!(status, 200, "{path}");
        assert_valid(operation, &list);
        assert_eq!(ids(&list), *expected, "{path}");
    }
    let (_, all) = clerk_get(&server, "/organization_memberships?limit=1").await;
    assert_eq!(all["total_count"], 4);
}

async fn a_membership_carries_its_organization_and_member_as_they_are_now(server: TestServer) {
    story(&server).await;
    let mut ada = event_fixture("user.updated");
    ada["data"]["id"] = json!(ADA);
    ada["data"]["first_name"] = json!("Augusta Ada");
    ada["data"]["username"] = json!("countess");
    ada["data"]["updated_at"] = json!(1_737_400_000_000_i64);
    let (status, outcome) = server.deliver_json("msg_ada_renamed", &ada).await;
    assert_eq!((status, outcome.as_str()), (200, "applied"));
    let mut renamed = event_fixture("organization.updated");
    renamed["data"]["id"] = json!(ENGINES);
    renamed["data"]["name"] = json!("Analytical Engines Ltd");
    renamed["data"]["updated_at"] = json!(1_737_400_000_000_i64);
    let (status, outcome) = server.deliver_json("msg_rename", &renamed).await;
    assert_eq!((status, outcome.as_str()), (200, "applied"));
    let (_, list) = clerk_get(&server, &format!("/users/{ADA}/organization_memberships")).await;
    assert_valid("UsersGetOrganizationMemberships", &list);
    let organization = &list["data"][0]["organization"];
    assert_eq!(organization["name"], "Analytical Engines Ltd");
    assert_eq!(organization["members_count"], 2, "the mirror's count");
    assert_eq!(list["data"][0]["role"], "org:member");
    let member = &list["data"][0]["public_user_data"];
    assert_eq!(
        (
            &member["first_name"],
            &member["last_name"],
            &member["username"]
        ),
        (
            &json!("Augusta Ada"),
            &json!("Lovelace"),
            &json!("countess")
        )
    );
    assert_eq!(member["user_id"], ADA);
}
