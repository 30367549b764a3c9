//! Everything Clerk sends about a user or an organization, on the admin pages: shown
//! read-only, metadata pretty-printed and escaped, and users found by username and external id.

use super::*;

const GRACE: &str = "user_2GraceHopper";

/// Grace: a username, an external id, two addresses (one unverified), two numbers, metadata
/// (one value an attempt at script injection), locked, with two factors and sign-in times.
fn grace_event() -> Value {
    json!({
        "type": "user.created", "object": "event", "timestamp": 1_700_000_100,
        "data": {
            "id": GRACE, "object": "user",
            "username": "GraceH", "external_id": "crm-4711",
            "email_addresses": [
                {"id": "idn_grace1", "object": "email_address", "email_address": "grace@navy.test",
                 "verification": {"status": "verified", "strategy": "email_code"}},
                {"id": "idn_grace2", "object": "email_address", "email_address": "hopper@old.test",
                 "verification": {"status": "unverified", "strategy": "email_code"}},
            ],
            "primary_email_address_id": "idn_grace1",
            "phone_numbers": [
                {"id": "idn_phone1", "object": "phone_number", "phone_number": "+15550001111",
                 "verification": {"status": "verified", "strategy": "phone_code"}},
                {"id": "idn_phone2", "object": "phone_number", "phone_number": "+15550002222",
                 "verification": null},
            ],
            "primary_phone_number_id": "idn_phone1",
            "public_metadata": {"plan": "pro", "note": "<script>alert(1)</script>"},
            "private_metadata": {"crm": {"tier": "gold"}},
            "unsafe_metadata": {"theme": "dark"},
            "locked": true, "two_factor_enabled": true,
            "last_sign_in_at": 1_700_000_050_000_i64, "last_active_at": 1_700_000_060_000_i64,
            "first_name": "Grace", "last_name": "Hopper", "image_url": null,
            "created_at": 1_690_000_000_000_i64, "updated_at": 1_700_000_000_000_i64,
        }
    })
}

/// The local id in the first link of a list to `prefix`.
fn first_id(body: &str, prefix: &str) -> String {
    let start = body.find(prefix).expect("a link") + prefix.len();
    body[start..].split('"').next().expect("an id").to_owned()
}

server_tests!(
    a_users_page_shows_every_synced_field_read_only,
    users_are_searched_by_username_and_external_id,
    organizations_and_memberships_show_their_metadata,
);

async fn a_users_page_shows_every_synced_field_read_only(server: TestServer) {
    seed(&server).await;
    sync(&server, "msg_grace", &grace_event()).await;
    let list = admin_get(&server, "/admin/users?q=grace").await;
    let id = first_id(&list.body, "href=\"/admin/users/");
    let page = admin_get(&server, &format!("/admin/users/{id}")).await;
    let body = &page.body;
    for text in [
        "<dt>Username</dt><dd>GraceH</dd>",
        "<dt>External id</dt><dd>crm-4711</dd>",
        "<dt>Phone number</dt><dd>+15550001111</dd>",
        "<dt>Locked</dt><dd>yes</dd>",
        "<dt>Two-factor</dt><dd>yes</dd>",
        "<dt>Banned</dt><dd>no</dd>",
        "<dt>Last sign-in</dt><dd>2023-11-14 22:14:10 UTC</dd>",
        "<dt>Last active</dt><dd>2023-11-14 22:14:20 UTC</dd>",
        "<dt>Created in Clerk</dt><dd>2023-07-22 04:26:40 UTC</dd>",
        "Metadata <span class=\"synced\">synced from Clerk</span>",
    ] {
        assert!(body.contains(text), "{text}: {body}");
    }
    let contact = |value: &str| {
        body.split("<tr>")
            .find(|row| row.contains(&format!("<td>{value}</td>")))
            .unwrap_or_else(|| panic!("a row for {value}: {body}"))
            .to_owned()
    };
    for (value, verified, primary) in [
        ("grace@navy.test", true, true),
        ("hopper@old.test", false, false),
        ("+15550001111", true, true),
        ("+15550002222", false, false),
    ] {
        let row = contact(value);
        assert_eq!(row.contains(">verified<"), verified, "{row}");
        assert_eq!(row.contains(">unverified<"), !verified, "{row}");
        assert_eq!(row.contains(">primary<"), primary, "{row}");
    }
    // Pretty-printed (indented, one key a line) and escaped by the template.
    assert!(
        body.contains(
            "{\n  &#34;note&#34;: &#34;&#60;script&#62;alert(1)&#60;/script&#62;&#34;,\n  &#34;plan&#34;: &#34;pro&#34;\n}"
        ),
        "{body}"
    );
    assert!(body.contains("{\n  &#34;crm&#34;: {\n    &#34;tier&#34;: &#34;gold&#34;\n  }\n}"));
    assert!(body.contains("&#34;theme&#34;: &#34;dark&#34;"));
    assert!(!body.contains("<script>"), "{body}");
    assert!(
        body.contains("<details class=\"clerk-object\">")
            && body.contains("&#34;primary_phone_number_id&#34;: &#34;idn_phone1&#34;"),
        "the whole Clerk object, collapsed"
    );
    // Nothing of Clerk's is a form field: the only inputs are the local flags'.
    assert!(!body.contains("<textarea") && !body.contains("<select"));
    for input in body.split("<input").skip(1) {
        let name = input
            .split("name=\"")
            .nth(1)
            .and_then(|n| n.split('"').next());
        assert!(
            matches!(
                name,
                Some("csrf_token" | "is_staff" | "is_active" | "confirm_lockout")
            ),
            "an input for {name:?}"
        );
    }
}

async fn users_are_searched_by_username_and_external_id(server: TestServer) {
    seed(&server).await;
    sync(&server, "msg_grace", &grace_event()).await;
    let mut other = user_event("user_2GregGray", "greg@navy.test", "Greg", "Gray");
    other["data"]["username"] = json!("gregory");
    other["data"]["external_id"] = json!("crm-4800");
    sync(&server, "msg_greg", &other).await;
    let search = |q: &'static str| {
        let server = &server;
        async move { first_column(&admin_get(server, &format!("/admin/users?q={q}")).await.body) }
    };
    assert_eq!(search("graceh").await, vec!["grace@navy.test"], "username");
    assert_eq!(
        search("GREGO").await,
        vec!["greg@navy.test"],
        "case-insensitively"
    );
    assert_eq!(
        search("crm-47").await,
        vec!["grace@navy.test"],
        "external id"
    );
    assert_eq!(
        search("CRM-").await,
        vec!["grace@navy.test", "greg@navy.test"]
    );
    assert_eq!(search("rm-47").await, Vec::<String>::new(), "a prefix only");
    assert_eq!(search("bob").await, vec!["bob@example.com"], "emails still");
    let page = admin_get(&server, "/admin/users?q=graceh").await;
    assert!(
        page.body.contains("<div class=\"sub\">GraceH</div>"),
        "the username is listed"
    );
    assert!(
        page.body.contains("username"),
        "the help text names the search"
    );
}

async fn organizations_and_memberships_show_their_metadata(server: TestServer) {
    seed(&server).await;
    let mut acme = organization_data("org_2Acme", "Acme Corp");
    acme["updated_at"] = json!(1_700_000_500_000_i64);
    acme["public_metadata"] = json!({"plan": "<b>enterprise</b>"});
    acme["private_metadata"] = json!({"billing_id": "cus_123"});
    acme["max_allowed_memberships"] = json!(25);
    acme["created_by"] = json!(ADMIN);
    let event = json!({"type": "organization.updated", "object": "event",
                       "timestamp": 1_700_000_600, "data": acme});
    sync(&server, "msg_acme_meta", &event).await;
    let mut membership = membership_event(
        "orgmem_meta",
        "user_2EveEvans",
        &organization_data("org_2Acme", "Acme Corp"),
        "org:member",
    );
    membership["data"]["permissions"] = json!(["org:sys_profile:read", "org:invoices:read"]);
    membership["data"]["public_metadata"] = json!({"team": "<i>ops</i>"});
    sync(&server, "msg_mem_meta", &membership).await;

    let list = admin_get(&server, "/admin/organizations?q=acme").await;
    let id = first_id(&list.body, "href=\"/admin/organizations/");
    let page = admin_get(&server, &format!("/admin/organizations/{id}")).await;
    let body = &page.body;
    for text in [
        "<dt>Members</dt><dd>4</dd>",
        "<dt>Max. memberships</dt><dd>25</dd>",
        "<code>user_2AdminAdaLovelace0000</code>",
        "<dt>Created in Clerk</dt><dd>2023-11-14 22:13:20 UTC</dd>",
        "{\n  &#34;plan&#34;: &#34;&#60;b&#62;enterprise&#60;/b&#62;&#34;\n}",
        "&#34;billing_id&#34;: &#34;cus_123&#34;",
        "Metadata <span class=\"synced\">synced from Clerk</span>",
    ] {
        assert!(body.contains(text), "{text}: {body}");
    }
    assert!(!body.contains("<b>enterprise"));

    let page = admin_get(&server, "/admin/memberships?q=eve").await;
    let body = &page.body;
    assert!(
        body.contains("org:sys_profile:read, org:invoices:read"),
        "{body}"
    );
    assert!(body.contains("{\n  &#34;team&#34;: &#34;&#60;i&#62;ops&#60;/i&#62;&#34;\n}"));
    assert!(!body.contains("<i>ops"));
}
