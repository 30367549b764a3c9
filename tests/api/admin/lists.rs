//! The list and detail pages: search, filters, sorting and pages, all done by the database.

use clerk_sync_domain::EmailAddress;
use clerk_sync_persistence::users::insert_local;

use super::*;

fn id_in(body: &str, prefix: &str) -> String {
    let start = body.find(prefix).expect("a link") + prefix.len();
    body[start..].split('"').next().expect("an id").to_owned()
}

server_tests!(
    users_are_searched_by_email_or_clerk_id_and_filtered_by_staff,
    user_lists_are_paged_by_the_database,
    every_value_is_html_escaped,
    a_users_page_shows_clerk_fields_read_only_and_their_organizations,
    organizations_are_searched_and_show_their_members,
    memberships_are_filtered_by_role_organization_and_search,
    webhook_events_are_filtered_and_shown_with_their_payload,
);

async fn users_are_searched_by_email_or_clerk_id_and_filtered_by_staff(server: TestServer) {
    seed(&server).await;
    let page = admin_get(&server, "/admin/users?q=CAR").await;
    assert_eq!(first_column(&page.body), vec!["carol@acme.test"]);
    let page = admin_get(&server, "/admin/users?q=user_2dave").await;
    assert_eq!(
        first_column(&page.body),
        vec!["dave@acme.test"],
        "Clerk id prefix, any case"
    );
    let page = admin_get(&server, "/admin/users?q=acme").await;
    assert!(
        first_column(&page.body).is_empty(),
        "a prefix search: {}",
        page.body
    );
    assert!(page.body.contains("No user matches"));
    let page = admin_get(&server, "/admin/users?staff=yes").await;
    assert_eq!(first_column(&page.body), vec![ADMIN_EMAIL]);
    let page = admin_get(&server, "/admin/users?staff=no&sort=email&dir=desc").await;
    assert_eq!(
        first_column(&page.body),
        vec![
            "eve@example.com",
            "dave@acme.test",
            "carol@acme.test",
            "bob@example.com"
        ]
    );
    let page = admin_get(&server, "/admin/users?sort=last_name&dir=asc").await;
    assert_eq!(
        first_column(&page.body),
        vec![
            "bob@example.com",
            "carol@acme.test",
            "dave@acme.test",
            "eve@example.com",
            ADMIN_EMAIL
        ]
    );
    assert!(page.body.contains("aria-sort=\"ascending\""));
    assert!(
        page.body
            .contains("href=\"/admin/users?sort=last_name&#38;dir=desc\""),
        "the sorted column flips: {}",
        page.body
    );
}

async fn user_lists_are_paged_by_the_database(server: TestServer) {
    seed(&server).await;
    {
        let mut conn = server.conn();
        for n in 0..55 {
            let email = EmailAddress::parse(&format!("zz{n:03}@bulk.test")).expect("email");
            insert_local(&mut conn, &email, false, chrono::Utc::now().naive_utc())
                .expect("inserts");
        }
    }
    let first = admin_get(&server, "/admin/users?q=zz").await;
    assert_eq!(first_column(&first.body).len(), 50);
    assert!(
        first.body.contains("1–50 of 55") && first.body.contains("Page 1 of 2"),
        "{}",
        first.body
    );
    assert!(first.body.contains("href=\"/admin/users?q=zz&#38;page=2\""));
    let second = admin_get(&server, "/admin/users?q=zz&page=2").await;
    assert_eq!(
        first_column(&second.body),
        (50..55)
            .map(|n| format!("zz{n:03}@bulk.test"))
            .collect::<Vec<_>>()
    );
    assert!(second.body.contains("51–55 of 55"));
    let beyond = admin_get(&server, "/admin/users?q=zz&page=99").await;
    assert!(
        beyond.body.contains("Page 2 of 2"),
        "a page past the end shows the last one"
    );
}

async fn every_value_is_html_escaped(server: TestServer) {
    seed(&server).await;
    sync(
        &server,
        "msg_evil",
        &user_event(
            "user_2Evil",
            "evil@example.com",
            "<script>alert(1)</script>",
            "\"><b>x",
        ),
    )
    .await;
    let page = admin_get(&server, "/admin/users?q=evil").await;
    assert!(
        page.body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>") && !page.body.contains("\"><b>x"));
    let page = admin_get(&server, "/admin/users?q=%22%3E%3Cscript%3E").await;
    assert!(
        !page.body.contains("\"><script>"),
        "the search text is escaped in the form too"
    );
}

async fn a_users_page_shows_clerk_fields_read_only_and_their_organizations(server: TestServer) {
    seed(&server).await;
    let list = admin_get(&server, "/admin/users?q=carol").await;
    let id = id_in(&list.body, "href=\"/admin/users/");
    let page = admin_get(&server, &format!("/admin/users/{id}")).await;
    assert!(page.body.contains("Carol Chen") && page.body.contains("user_2CarolChen"));
    assert!(page.body.contains("synced from Clerk"));
    assert!(
        page.body.contains("Acme Corp") && page.body.contains("org:member"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("name=\"email\"") && !page.body.contains("name=\"first_name\""),
        "Clerk's fields are not editable"
    );
    assert!(page.body.contains("name=\"is_staff\"") && page.body.contains("name=\"is_active\""));
}

async fn organizations_are_searched_and_show_their_members(server: TestServer) {
    seed(&server).await;
    let page = admin_get(&server, "/admin/organizations?q=glo").await;
    assert_eq!(first_column(&page.body), vec!["Globex"]);
    let page = admin_get(&server, "/admin/organizations?q=ORG_2AC").await;
    assert_eq!(first_column(&page.body), vec!["Acme Corp"]);
    let page = admin_get(&server, "/admin/organizations?sort=name&dir=desc").await;
    assert_eq!(first_column(&page.body), vec!["Globex", "Acme Corp"]);
    let id = id_in(&page.body, "href=\"/admin/organizations/");
    let acme_id = page
        .body
        .match_indices("href=\"/admin/organizations/")
        .nth(1)
        .map(|(at, m)| {
            page.body[at + m.len()..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .expect("Acme's link");
    let globex = admin_get(&server, &format!("/admin/organizations/{id}")).await;
    assert!(globex.body.contains("bob@example.com") && globex.body.contains("org:admin"));
    let acme = admin_get(&server, &format!("/admin/organizations/{acme_id}")).await;
    for text in [
        ADMIN_EMAIL,
        "carol@acme.test",
        "dave@acme.test",
        "org:billing",
        "org_2Acme",
        "synced from Clerk",
    ] {
        assert!(acme.body.contains(text), "{text}: {}", acme.body);
    }
    assert!(!acme.body.contains("bob@example.com"));
}

async fn memberships_are_filtered_by_role_organization_and_search(server: TestServer) {
    seed(&server).await;
    let page = admin_get(
        &server,
        "/admin/memberships?role=org:admin&sort=user&dir=asc",
    )
    .await;
    assert_eq!(
        first_column(&page.body),
        vec![ADMIN_EMAIL, "bob@example.com"]
    );
    assert!(
        page.body.contains("<option value=\"org:billing\">"),
        "the role filter offers the roles in use"
    );
    let page = admin_get(&server, "/admin/memberships?q=acme&sort=user&dir=desc").await;
    assert_eq!(
        first_column(&page.body),
        vec!["dave@acme.test", "carol@acme.test", ADMIN_EMAIL],
        "organization name prefix"
    );
    let page = admin_get(&server, "/admin/memberships?q=bob").await;
    assert_eq!(
        first_column(&page.body),
        vec!["bob@example.com"],
        "member email prefix"
    );
    let orgs = admin_get(&server, "/admin/organizations?q=globex").await;
    let globex = id_in(&orgs.body, "href=\"/admin/organizations/");
    let page = admin_get(
        &server,
        &format!("/admin/memberships?organization={globex}"),
    )
    .await;
    assert_eq!(first_column(&page.body), vec!["bob@example.com"]);
    assert!(page.body.contains("Members of Globex"));
}

async fn webhook_events_are_filtered_and_shown_with_their_payload(server: TestServer) {
    seed(&server).await;
    let page = admin_get(&server, "/admin/webhook-events").await;
    assert!(page.body.contains("1–10 of 10"), "{}", page.body);
    let page = admin_get(
        &server,
        "/admin/webhook-events?type=organizationMembership.created",
    )
    .await;
    assert!(page.body.contains("1–4 of 4"));
    let page = admin_get(&server, "/admin/webhook-events?outcome=rejected").await;
    assert!(
        page.body.contains("1–1 of 1") && page.body.contains("msg_broken"),
        "{}",
        page.body
    );
    let id = id_in(&page.body, "href=\"/admin/webhook-events/");
    let event = admin_get(&server, &format!("/admin/webhook-events/{id}")).await;
    assert!(event.body.contains("rejected") && event.body.contains("Error"));
    assert!(
        event
            .body
            .contains("&#34;type&#34;: &#34;user.created&#34;"),
        "pretty-printed and escaped: {}",
        event.body
    );
    let page = admin_get(&server, "/admin/webhook-events?q=user_2BobBrown").await;
    assert!(page.body.contains("1–1 of 1") && page.body.contains("msg_user_2BobBrown"));
    let page = admin_get(&server, "/admin/webhook-events?dir=asc").await;
    let first = page
        .body
        .find("msg_user_2AdminAdaLovelace0000")
        .expect("the first delivery");
    assert!(
        first < page.body.find("msg_broken").expect("the last"),
        "oldest first"
    );
}
