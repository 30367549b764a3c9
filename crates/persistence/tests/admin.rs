//! The admin queries on both backends: prefix search, filters, sorting, paging, and the
//! local flags with their last-staff guard.

#![expect(clippy::expect_used, reason = "test bodies fail the test by panicking")]

#[expect(
    dead_code,
    reason = "the helpers are shared with the sync tests, which use the rest"
)]
mod common;

use clerk_sync_domain::{EmailAddress, OrganizationId, UserId};
use clerk_sync_persistence::admin::memberships::{MembershipFilter, MembershipSort};
use clerk_sync_persistence::admin::organizations::OrganizationSort;
use clerk_sync_persistence::admin::users::{
    FlagsChange, LocalFlags, STAFF_LOCK, UserFilter, UserSort,
};
use clerk_sync_persistence::admin::webhook_events::WebhookEventFilter;
use clerk_sync_persistence::admin::{self, Direction, PageRequest};
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{DbConnection, backend_tests, users as user_repo, write_transaction};
use common::*;

/// Five users (ada, bob, carol, dave, eve @example.com), two organizations, four memberships.
fn seed(conn: &mut DbConnection) {
    for (i, name) in ["ada", "bob", "carol", "dave", "eve"].iter().enumerate() {
        let id = format!("user_{}{name}", ["A", "B", "C", "D", "E"][i]);
        let email = format!("{name}@example.com");
        let body = user("user.created", &id, Some(&email), name, 1_000);
        deliver(conn, &format!("msg_{name}"), &body);
    }
    let acme = organization_data("org_Acme", "Acme", 1_000);
    let zeta = organization_data("org_Zeta", "Zeta_50%", 1_000);
    for (n, (user, org, role)) in [
        ("user_Aada", &acme, "org:admin"),
        ("user_Bbob", &acme, "org:member"),
        ("user_Ccarol", &acme, "org:member"),
        ("user_Aada", &zeta, "org:member"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = membership(
            "organizationMembership.created",
            &format!("orgmem_{n}"),
            user,
            org.clone(),
            role,
            1_000,
            1_005,
        );
        deliver(conn, &format!("msg_m{n}"), &body);
    }
}

fn emails(page: &admin::Page<clerk_sync_persistence::users::UserRow>) -> Vec<String> {
    page.items
        .iter()
        .map(|u| u.email.clone().unwrap_or_default())
        .collect()
}

fn flags(is_staff: bool, is_active: bool) -> LocalFlags {
    LocalFlags {
        is_staff,
        is_active,
    }
}

backend_tests!(
    users_are_searched_by_email_or_clerk_id_prefix,
    users_are_searched_by_username_or_external_id_prefix,
    users_are_filtered_sorted_and_paged,
    the_last_active_staff_user_cannot_be_removed,
    organizations_and_memberships_are_searched_and_filtered,
    webhook_events_are_filtered_by_type_outcome_and_id,
);

fn users_are_searched_by_email_or_clerk_id_prefix(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    seed(&mut conn);
    let search = |conn: &mut DbConnection, text: &str| {
        let filter = UserFilter {
            search: Some(text.to_owned()),
            ..UserFilter::default()
        };
        emails(
            &admin::users::list(
                conn,
                &filter,
                UserSort::Email,
                Direction::Asc,
                PageRequest::default(),
            )
            .expect("list"),
        )
    };
    assert_eq!(search(&mut conn, "CA"), vec!["carol@example.com"]);
    assert_eq!(
        search(&mut conn, "user_d"),
        vec!["dave@example.com"],
        "Clerk ids, case-insensitively"
    );
    assert_eq!(
        search(&mut conn, "example"),
        Vec::<String>::new(),
        "a prefix, not a substring"
    );
    assert_eq!(
        search(&mut conn, "%"),
        Vec::<String>::new(),
        "wildcards are literal"
    );
    assert_eq!(search(&mut conn, "_"), Vec::<String>::new());
    assert_eq!(
        search(&mut conn, "  ").len(),
        5,
        "blank search lists everyone"
    );
}

fn users_are_searched_by_username_or_external_id_prefix(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    seed(&mut conn);
    for (name, username, external_id) in [
        ("grace", "Grace_Hopper", "ext-1001"),
        ("greg", "gregory", "EXT-2002"),
    ] {
        let mut body = user(
            "user.created",
            &format!("user_G{name}"),
            Some(&format!("{name}@corp.test")),
            name,
            1_000,
        );
        body["data"]["username"] = username.into();
        body["data"]["external_id"] = external_id.into();
        deliver(&mut conn, &format!("msg_{name}"), &body);
    }
    let search = |conn: &mut DbConnection, text: &str| {
        let filter = UserFilter {
            search: Some(text.to_owned()),
            ..UserFilter::default()
        };
        emails(
            &admin::users::list(
                conn,
                &filter,
                UserSort::Email,
                Direction::Asc,
                PageRequest::default(),
            )
            .expect("list"),
        )
    };
    assert_eq!(search(&mut conn, "grace_h"), vec!["grace@corp.test"]);
    assert_eq!(
        search(&mut conn, "GR"),
        vec!["grace@corp.test", "greg@corp.test"],
        "emails and usernames, case-insensitively, in the page's order"
    );
    assert_eq!(search(&mut conn, "gregory"), vec!["greg@corp.test"]);
    assert_eq!(search(&mut conn, "ext-1"), vec!["grace@corp.test"]);
    assert_eq!(
        search(&mut conn, "ext-"),
        vec!["grace@corp.test", "greg@corp.test"],
        "external ids, case-insensitively"
    );
    assert_eq!(
        search(&mut conn, "Hopper"),
        Vec::<String>::new(),
        "a prefix, not a substring"
    );
    assert_eq!(
        search(&mut conn, "Grace%"),
        Vec::<String>::new(),
        "wildcards are literal"
    );
    assert_eq!(
        search(&mut conn, "ada"),
        vec!["ada@example.com"],
        "emails as before"
    );
    let filter = UserFilter {
        search: Some("ext".to_owned()),
        ..UserFilter::default()
    };
    let page = admin::users::list(
        &mut conn,
        &filter,
        UserSort::Email,
        Direction::Asc,
        PageRequest::new(2, 1),
    )
    .expect("list");
    assert_eq!(
        (emails(&page), page.total),
        (vec!["greg@corp.test".to_owned()], 2)
    );

    // More username matches than a list of ids holds: the same answers, by the prefixes.
    let rows: Vec<String> = (0..1_001)
        .map(|n| {
            format!("('user_bulk{n}', 'b{n}@corp.test', 'Bulk{n}', FALSE, TRUE, '2025-01-01 00:00:00', '2025-01-01 00:00:00')")
        })
        .collect();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO users (clerk_id, email, username, is_staff, is_active, created_at, updated_at) VALUES {}",
            rows.join(",")
        )),
        &mut conn,
    )
    .expect("bulk users");
    let filter = UserFilter {
        search: Some("BULK".to_owned()),
        ..UserFilter::default()
    };
    let page = admin::users::list(
        &mut conn,
        &filter,
        UserSort::Email,
        Direction::Asc,
        PageRequest::new(1, 2),
    )
    .expect("list");
    assert_eq!(
        (emails(&page), page.total),
        (
            vec!["b0@corp.test".to_owned(), "b1000@corp.test".to_owned()],
            1_001
        )
    );
    assert_eq!(search(&mut conn, "gregory"), vec!["greg@corp.test"]);
}

fn users_are_filtered_sorted_and_paged(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    seed(&mut conn);
    let ids: Vec<UserId> = admin::users::list(
        &mut conn,
        &UserFilter::default(),
        UserSort::Joined,
        Direction::Asc,
        PageRequest::default(),
    )
    .expect("list")
    .items
    .iter()
    .map(|u| UserId(u.id))
    .collect();
    admin::users::set_flags(&mut conn, ids[1], flags(true, true), now()).expect("staff");
    admin::users::set_flags(&mut conn, ids[3], flags(false, false), now()).expect("inactive");
    let list = |conn: &mut DbConnection, filter: UserFilter, sort, direction, page| {
        admin::users::list(conn, &filter, sort, direction, page).expect("list")
    };
    let staff = list(
        &mut conn,
        UserFilter {
            staff: Some(true),
            ..UserFilter::default()
        },
        UserSort::Email,
        Direction::Asc,
        PageRequest::default(),
    );
    assert_eq!(emails(&staff), vec!["bob@example.com"]);
    let inactive = list(
        &mut conn,
        UserFilter {
            active: Some(false),
            ..UserFilter::default()
        },
        UserSort::Email,
        Direction::Asc,
        PageRequest::default(),
    );
    assert_eq!(emails(&inactive), vec!["dave@example.com"]);
    let not_staff = list(
        &mut conn,
        UserFilter {
            staff: Some(false),
            ..UserFilter::default()
        },
        UserSort::Email,
        Direction::Desc,
        PageRequest::default(),
    );
    assert_eq!(
        emails(&not_staff),
        vec![
            "eve@example.com",
            "dave@example.com",
            "carol@example.com",
            "ada@example.com"
        ]
    );
    let page2 = list(
        &mut conn,
        UserFilter::default(),
        UserSort::Email,
        Direction::Desc,
        PageRequest::new(2, 2),
    );
    assert_eq!((page2.total, page2.page, page2.pages()), (5, 2, 3));
    assert_eq!(emails(&page2), vec!["carol@example.com", "bob@example.com"]);
    let past_the_end = list(
        &mut conn,
        UserFilter::default(),
        UserSort::Email,
        Direction::Desc,
        PageRequest::new(99, 2),
    );
    assert_eq!(
        (past_the_end.page, emails(&past_the_end)),
        (3, vec!["ada@example.com".to_owned()])
    );
    let by_first_name = list(
        &mut conn,
        UserFilter::default(),
        UserSort::FirstName,
        Direction::Desc,
        PageRequest::new(1, 1),
    );
    assert_eq!(emails(&by_first_name), vec!["eve@example.com"]);
}

fn the_last_active_staff_user_cannot_be_removed(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    seed(&mut conn);
    let ada = EmailAddress::parse("ada@example.com").expect("email");
    let change = write_transaction(&mut conn, &[STAFF_LOCK], |conn| {
        admin::users::set_staff_by_email(conn, &ada, true, now())
    })
    .expect("promote")
    .expect("ada exists");
    assert_eq!(
        (change.before, change.after, change.admitted),
        (flags(false, true), flags(true, true), 1)
    );
    let refused = write_transaction(&mut conn, &[STAFF_LOCK], |conn| {
        admin::users::set_flags(conn, change.id, flags(true, false), now())
    })
    .expect("runs");
    assert_eq!(refused, FlagsChange::LastStaff);
    let bob = EmailAddress::parse("BOB@example.com").expect("email");
    let bob_change = write_transaction(&mut conn, &[STAFF_LOCK], |conn| {
        admin::users::set_staff_by_email(conn, &bob, true, now())
    })
    .expect("promote")
    .expect("bob exists");
    assert_eq!(bob_change.admitted, 2);
    let saved =
        admin::users::set_flags(&mut conn, change.id, flags(false, true), now()).expect("runs");
    assert_eq!(
        saved,
        FlagsChange::Saved {
            before: flags(true, true)
        }
    );
    let after = user_repo::find_by_clerk_id(
        &mut conn,
        &clerk_sync_domain::ClerkUserId::parse("user_Aada").expect("id"),
    )
    .expect("find")
    .expect("ada");
    assert!(!after.is_staff && after.is_active);
    assert_eq!(
        admin::users::set_flags(&mut conn, UserId(999_999), flags(true, true), now())
            .expect("runs"),
        FlagsChange::NotFound
    );
    let nobody = EmailAddress::parse("nobody@example.com").expect("email");
    assert_eq!(
        admin::users::set_staff_by_email(&mut conn, &nobody, true, now()).expect("runs"),
        None
    );
    let demoted = admin::users::set_staff_by_email(&mut conn, &bob, false, now())
        .expect("runs")
        .expect("bob");
    assert_eq!(
        demoted.admitted, 0,
        "the command line may remove the last staff user, and says so"
    );
}

fn organizations_and_memberships_are_searched_and_filtered(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    seed(&mut conn);
    let orgs = admin::organizations::list(
        &mut conn,
        Some("zeta_5"),
        OrganizationSort::Name,
        Direction::Asc,
        PageRequest::default(),
    )
    .expect("orgs");
    assert_eq!(
        orgs.items
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Zeta_50%"]
    );
    let by_clerk_id = admin::organizations::list(
        &mut conn,
        Some("ORG_ac"),
        OrganizationSort::Name,
        Direction::Asc,
        PageRequest::default(),
    )
    .expect("orgs");
    assert_eq!(by_clerk_id.total, 1);
    let all = admin::organizations::list(
        &mut conn,
        None,
        OrganizationSort::Name,
        Direction::Desc,
        PageRequest::default(),
    )
    .expect("orgs");
    let ids: Vec<OrganizationId> = all.items.iter().map(|o| OrganizationId(o.id)).collect();
    let counts = admin::organizations::member_counts(&mut conn, &ids).expect("counts");
    assert_eq!(
        (counts.get(&ids[0]), counts.get(&ids[1])),
        (Some(&1), Some(&3)),
        "Zeta first, descending"
    );

    let list = |conn: &mut DbConnection, filter: MembershipFilter, sort| {
        admin::memberships::list(conn, &filter, sort, Direction::Asc, PageRequest::default())
            .expect("memberships")
    };
    let admins = list(
        &mut conn,
        MembershipFilter {
            role: Some("org:admin".into()),
            ..MembershipFilter::default()
        },
        MembershipSort::Joined,
    );
    assert_eq!(
        admins
            .items
            .iter()
            .map(|m| m.user_email.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        vec!["ada@example.com"]
    );
    let of_acme = list(
        &mut conn,
        MembershipFilter {
            organization: Some(ids[1]),
            ..MembershipFilter::default()
        },
        MembershipSort::User,
    );
    assert_eq!(
        of_acme
            .items
            .iter()
            .map(|m| m.user_email.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        vec!["ada@example.com", "bob@example.com", "carol@example.com"]
    );
    let searched = list(
        &mut conn,
        MembershipFilter {
            search: Some("zet".into()),
            ..MembershipFilter::default()
        },
        MembershipSort::Joined,
    );
    assert_eq!(searched.total, 1);
    let by_email = list(
        &mut conn,
        MembershipFilter {
            search: Some("ada@".into()),
            ..MembershipFilter::default()
        },
        MembershipSort::Organization,
    );
    assert_eq!(
        by_email
            .items
            .iter()
            .map(|m| m.organization_name.as_str())
            .collect::<Vec<_>>(),
        vec!["Acme", "Zeta_50%"]
    );
    assert_eq!(
        admin::memberships::roles(&mut conn).expect("roles"),
        vec!["org:admin", "org:member"]
    );
}

fn webhook_events_are_filtered_by_type_outcome_and_id(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    seed(&mut conn);
    deliver(
        &mut conn,
        "msg_ada",
        &user(
            "user.created",
            "user_Aada",
            Some("ada@example.com"),
            "ada",
            1_000,
        ),
    );
    let list = |conn: &mut DbConnection, filter: WebhookEventFilter| {
        admin::webhook_events::list(conn, &filter, Direction::Desc, PageRequest::default())
            .expect("events")
    };
    let all = list(&mut conn, WebhookEventFilter::default());
    assert_eq!(all.total, 9);
    assert_eq!(all.items[0].svix_id, "msg_m3", "newest first");
    let users = list(
        &mut conn,
        WebhookEventFilter {
            event_type: Some("user.created".into()),
            ..WebhookEventFilter::default()
        },
    );
    assert_eq!(users.total, 5);
    let by_object = list(
        &mut conn,
        WebhookEventFilter {
            search: Some(" user_Aada ".into()),
            ..WebhookEventFilter::default()
        },
    );
    assert_eq!(
        by_object
            .items
            .iter()
            .map(|e| e.svix_id.as_str())
            .collect::<Vec<_>>(),
        vec!["msg_ada"]
    );
    let applied = list(
        &mut conn,
        WebhookEventFilter {
            outcome: Some("applied".into()),
            ..WebhookEventFilter::default()
        },
    );
    assert_eq!(applied.total, 9);
    let event = admin::webhook_events::find(&mut conn, all.items[0].id)
        .expect("find")
        .expect("exists");
    assert!(event.payload.unwrap_or_default().contains("orgmem_3"));
    assert_eq!(
        admin::webhook_events::counts(&mut conn).expect("counts"),
        (9, 0)
    );
}
