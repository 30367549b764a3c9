//! Clerk's official Node SDK, @clerk/backend (the version examples/nextjs uses), pointed at
//! clerk-sync: `tests/sdk/run.mjs` makes the calls and prints what the SDK returned, and the
//! test compares it with the mirror's story. Without `tests/sdk/node_modules` (`npm ci` in
//! tests/sdk) the test is skipped with a message, unless `CLERK_SYNC_REQUIRE_SDK=1` (CI).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;

server_tests!(overrides = WITH_KEY; clerks_node_sdk_reads_the_mirror);
database_tests!(clerks_node_sdk_writes_through_and_reads_its_write_back);

fn sdk_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk")
}

/// Runs the SDK script's reads against `server`; `None` when the SDK is not installed (and
/// not required).
async fn run_sdk(server: &TestServer) -> Option<Value> {
    run_sdk_scenario(server, SECRET_KEY, "reads").await
}

/// Runs the SDK script's `scenario` against `server`, with `key` as the SDK's secret key.
async fn run_sdk_scenario(server: &TestServer, key: &str, scenario: &str) -> Option<Value> {
    let folder = sdk_folder();
    if !folder.join("node_modules/@clerk/backend").is_dir() {
        assert!(
            std::env::var("CLERK_SYNC_REQUIRE_SDK").as_deref() != Ok("1"),
            "CLERK_SYNC_REQUIRE_SDK=1 but @clerk/backend is not installed: run `npm ci` in tests/sdk"
        );
        eprintln!("skipped: @clerk/backend is not installed (run `npm ci` in tests/sdk)");
        return None;
    }
    let api_url = server.url("/clerk");
    let ids = json!({"ada": ADA, "grace": GRACE, "alan": ALAN, "engines": ENGINES});
    let (key, scenario) = (key.to_owned(), scenario.to_owned());
    let output = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("run.mjs")
            .current_dir(folder)
            .env("CLERK_API_URL", api_url)
            .env("CLERK_SECRET_KEY", key)
            .env("CLERK_SYNC_SCENARIO", scenario)
            .env("CLERK_SYNC_IDS", ids.to_string())
            .env("CLERK_TELEMETRY_DISABLED", "1")
            .output()
    })
    .await
    .expect("the SDK's thread")
    .expect("node runs");
    assert!(
        output.status.success(),
        "the SDK script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("the SDK script prints JSON"))
}

fn sdk_ids(result: &Value) -> Vec<String> {
    result["data"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|item| item["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn clerks_node_sdk_reads_the_mirror(server: TestServer) {
    story(&server).await;
    let Some(results) = run_sdk(&server).await else {
        return;
    };
    let ada = &results["getUser"];
    assert_eq!(ada["raw"], event_fixture("user.created")["data"]);
    assert_eq!(ada["parsed"]["firstName"], "Ada");
    assert_eq!(
        ada["parsed"]["emailAddresses"],
        json!(["ada.lovelace@example.com"])
    );
    assert_eq!(
        results["getUserUnknown"]["error"],
        json!({"status": 404, "codes": ["resource_not_found"]})
    );
    assert_eq!(
        results["wrongKey"]["error"],
        json!({"status": 401, "codes": ["clerk_key_invalid"]})
    );
    assert_eq!(
        results["getUserListWithQuery"]["error"],
        json!({"status": 422, "codes": ["not_answered_by_mirror"]}),
        "no upstream is configured"
    );
    assert_eq!(results["getCount"], json!({"count": 3}));

    // Each list as the mirror answers it, and the SDK's total from `users/count`.
    let user_lists: &[(&str, &[&str])] = &[
        ("getUserList", &[GRACE, ADA, ALAN]),
        ("getUserList.emailAddress.0", &[GRACE, ALAN]),
        ("getUserList.phoneNumber.0", &[GRACE]),
        ("getUserList.username.0", &[ALAN]),
        ("getUserList.externalId.0", &[GRACE]),
        ("getUserList.userId.0", &[ADA, ALAN]),
        ("getUserList.userId.1", &[GRACE, ALAN]),
        ("getUserList.organizationId.0", &[GRACE, ADA]),
        ("getUserList.organizationId.1", &[ALAN]),
        ("getUserList.orderBy.+created_at", &[ALAN, ADA, GRACE]),
        ("getUserList.orderBy.-created_at", &[GRACE, ADA, ALAN]),
        ("getUserList.orderBy.+updated_at", &[ADA, GRACE, ALAN]),
        ("getUserList.orderBy.-updated_at", &[ALAN, GRACE, ADA]),
        ("getUserList.orderBy.+email_address", &[ADA, ALAN, GRACE]),
        ("getUserList.orderBy.-email_address", &[GRACE, ALAN, ADA]),
        ("getUserList.orderBy.+username", &[ALAN, GRACE, ADA]),
        ("getUserList.orderBy.-username", &[ADA, GRACE, ALAN]),
        ("getUserList.orderBy.+first_name", &[ADA, ALAN, GRACE]),
        ("getUserList.orderBy.-first_name", &[GRACE, ALAN, ADA]),
        ("getUserList.orderBy.+last_name", &[GRACE, ADA, ALAN]),
        ("getUserList.orderBy.-last_name", &[ALAN, ADA, GRACE]),
    ];
    for (name, expected) in user_lists {
        let result = &results[*name];
        assert_eq!(sdk_ids(result), *expected, "{name}: {result}");
        assert_eq!(result["totalCount"], json!(expected.len()), "{name}");
    }
    let page = &results["getUserList.page"];
    assert_eq!(
        (sdk_ids(page), &page["totalCount"]),
        (vec![ADA.to_owned()], &json!(3))
    );

    let (_, engines) = clerk_get(&server, &format!("/organizations/{ENGINES}")).await;
    assert_eq!(results["getOrganization"]["raw"], engines);
    let by_slug = &results["getOrganizationBySlug"];
    assert_eq!(
        (&by_slug["id"], &by_slug["parsed"]["membersCount"]),
        (&json!(DIFFERENCE), &json!(2))
    );
    let list = &results["getOrganizationList"];
    assert_eq!(
        (sdk_ids(list), &list["totalCount"]),
        (vec![DIFFERENCE.to_owned(), ENGINES.to_owned()], &json!(2))
    );
    let by_name = &results["getOrganizationListByName"];
    assert_eq!(sdk_ids(by_name), [ENGINES, DIFFERENCE]);
    assert_eq!(by_name["data"][0]["parsed"]["membersCount"], 2);

    let members = &results["getOrganizationMembershipList"];
    assert_eq!(
        sdk_ids(members),
        ["orgmem_grace_engines", "orgmem_203FEu7bS7SwJzTrjVAiZRblaxS"]
    );
    assert_eq!(members["totalCount"], 2);
    assert_eq!(members["data"][0]["parsed"]["userId"], GRACE);
    assert_eq!(
        members["data"][0]["parsed"]["organizationName"],
        "Analytical Engines"
    );
    assert_eq!(
        sdk_ids(&results["getOrganizationMembershipListAdmins"]),
        ["orgmem_grace_engines"]
    );
    let instance = &results["getInstanceOrganizationMembershipList"];
    assert_eq!(
        sdk_ids(instance),
        ["orgmem_babbage_difference", "orgmem_grace_difference"]
    );
    assert_eq!(instance["totalCount"], 4);
    let grace = &results["getUserOrganizationMembershipList"];
    assert_eq!(
        sdk_ids(grace),
        ["orgmem_grace_difference", "orgmem_grace_engines"]
    );
    assert_eq!(grace["data"][0]["parsed"]["role"], "org:member");
}

/// `updateUserMetadata` and `updateUser` pass through to Clerk (the resync tests' fake Backend
/// API); the `getUser` right after, answered by the mirror, already shows both, before any
/// webhook.
async fn clerks_node_sdk_writes_through_and_reads_its_write_back(
    db: clerk_sync_persistence::testing::TestDatabase,
) {
    use crate::resync::fake_clerk::SECRET_KEY as FAKE_KEY;

    let (fake, server) = pass_through::ada_everywhere(db).await;
    let Some(results) = run_sdk_scenario(&server, FAKE_KEY, "writes").await else {
        return;
    };
    assert_eq!(
        results["updateUserMetadata"]["parsed"]["publicMetadata"],
        json!({"plan": "pro"}),
        "{results}"
    );
    assert_eq!(results["updateUser"]["parsed"]["firstName"], "Augusta");
    let read = &results["getUser"];
    assert_eq!(read["parsed"]["firstName"], "Augusta", "{read}");
    assert_eq!(read["parsed"]["publicMetadata"], json!({"plan": "pro"}));
    assert_eq!(
        read["raw"], results["updateUser"]["raw"],
        "the object Clerk answered"
    );
    let writes: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        writes,
        [
            format!("PATCH /users/{ADA}/metadata"),
            format!("PATCH /users/{ADA}")
        ],
        "only the writes went to Clerk: the read was the mirror's"
    );
}
