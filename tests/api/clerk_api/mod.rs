//! Clerk's Backend API under `/clerk/v1`, read from the mirror: every answer checked against
//! the mirror's story and validated against Clerk's OpenAPI schema of its operation
//! (tests/fixtures/clerk-bapi, extracted from Clerk's specification).

mod errors;
mod pass_through;
mod reads;
mod sdk;

use serde_json::{Value, json};

use crate::common::*;

/// The instance's secret key the test servers are configured with.
pub const SECRET_KEY: &str = "sk_test_clerksyncmirror0123456789";
/// The key set, and the pass-through off: what the mirror does not answer is answered 422
/// (the pass-through tests point `CLERK_API_URL` at a fake Backend API instead).
pub const WITH_KEY: &[(&str, &str)] = &[
    ("CLERK_SECRET_KEY", SECRET_KEY),
    ("CLERK_API_PASS_THROUGH", "false"),
];

pub const ADA: &str = "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE";
pub const GRACE: &str = "user_2grace000000000000000000";
pub const ALAN: &str = "user_2alan0000000000000000000";
/// Known only from a membership's public data: not a full Clerk user in the mirror.
pub const BABBAGE: &str = "user_2babbage00000000000000000";
pub const ENGINES: &str = "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB";
pub const DIFFERENCE: &str = "org_2difference00000000000000";

/// GET `path` under the API with the secret key.
pub async fn clerk_get(server: &TestServer, path: &str) -> (u16, Value) {
    clerk_get_with(server, path, Some(SECRET_KEY)).await
}

pub async fn clerk_get_with(server: &TestServer, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = server
        .client
        .get(server.url(&format!("/clerk/v1{path}")))
        .header("Clerk-API-Version", "2026-05-12");
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Fails unless `answer` validates against Clerk's schema of `operation`.
pub fn assert_valid(operation: &str, answer: &Value) {
    let schema: Value = serde_json::from_str(&fixture(&format!(
        "tests/fixtures/clerk-bapi/{operation}.json"
    )))
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let problems: Vec<String> = validator
        .iter_errors(answer)
        .map(|error| format!("{}: {error}", error.instance_path))
        .collect();
    assert!(
        problems.is_empty(),
        "{operation} answer does not match Clerk's schema: {problems:#?}"
    );
}

/// The `id`s of a bare array, or of `{data: [...]}`.
pub fn ids(answer: &Value) -> Vec<String> {
    answer
        .as_array()
        .or_else(|| answer["data"].as_array())
        .map(|all| {
            all.iter()
                .map(|object| object["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn user(
    id: &str,
    (first, last): (&str, &str),
    emails: &[(&str, bool)],
    created_at: i64,
    updated_at: i64,
) -> Value {
    let mut user = event_fixture("user.created");
    let data = &mut user["data"];
    data["id"] = json!(id);
    data["first_name"] = json!(first);
    data["last_name"] = json!(last);
    data["created_at"] = json!(created_at);
    data["updated_at"] = json!(updated_at);
    let template = data["email_addresses"][0].clone();
    let addresses: Vec<Value> = emails
        .iter()
        .enumerate()
        .map(|(index, (address, verified))| {
            let mut entry = template.clone();
            entry["id"] = json!(format!("idn_{first}{index}"));
            entry["email_address"] = json!(address);
            entry["verification"]["status"] =
                json!(if *verified { "verified" } else { "unverified" });
            entry
        })
        .collect();
    data["primary_email_address_id"] = json!(format!("idn_{first}0"));
    data["email_addresses"] = json!(addresses);
    user
}

fn phone(number: &str) -> Value {
    json!({"id": "idn_phone_grace", "object": "phone_number", "phone_number": number,
           "reserved": false, "reserved_for_second_factor": false, "default_second_factor": false,
           "linked_to": [], "backup_codes": null, "created_at": 1_736_999_000_000_i64,
           "updated_at": 1_736_999_000_000_i64,
           "verification": {"status": "verified", "strategy": "phone_code", "attempts": 1,
                            "expire_at": 1_736_999_600_000_i64}})
}

fn membership(id: &str, user: &str, organization: &Value, role: &str, created_at: i64) -> Value {
    let mut event = event_fixture("organizationMembership.created");
    let data = &mut event["data"];
    data["id"] = json!(id);
    data["role"] = json!(role);
    data["created_at"] = json!(created_at);
    data["updated_at"] = json!(created_at);
    data["organization"] = organization.clone();
    data["public_user_data"]["user_id"] = json!(user);
    event
}

/// Delivers the story every test reads:
///
/// - users Alan (oldest), Ada (the fixture), Grace (newest; username `grace`, external id,
///   a phone number, and a second, unverified address), and Babbage, known only from his
///   membership;
/// - Analytical Engines (Ada, Grace as admin) and Difference Engines (Grace, Babbage),
///   Difference created later.
pub async fn story(server: &TestServer) {
    let mut deliveries = vec![event_fixture("user.created")];
    let mut alan = user(
        ALAN,
        ("Alan", "Turing"),
        &[("alan@example.com", true)],
        1_736_900_000_000,
        1_737_300_000_000,
    );
    alan["data"]["username"] = json!("alan");
    deliveries.push(alan);
    let mut grace = user(
        GRACE,
        ("Grace", "Hopper"),
        &[("grace@example.com", true), ("hopper@navy.example", false)],
        1_737_000_000_000,
        1_737_000_000_001,
    );
    grace["data"]["username"] = json!("grace");
    grace["data"]["external_id"] = json!("ext_grace");
    grace["data"]["phone_numbers"] = json!([phone("+15555550100")]);
    grace["data"]["primary_phone_number_id"] = json!("idn_phone_grace");
    deliveries.push(grace);
    let engines = event_fixture("organization.created");
    let mut difference = engines.clone();
    difference["data"]["id"] = json!(DIFFERENCE);
    difference["data"]["name"] = json!("Difference Engines");
    difference["data"]["slug"] = json!("difference-engines");
    difference["data"]["created_at"] = json!(1_737_200_000_000_i64);
    difference["data"]["updated_at"] = json!(1_737_200_000_000_i64);
    deliveries.push(engines.clone());
    deliveries.push(difference.clone());
    deliveries.push(event_fixture("organizationMembership.created"));
    deliveries.push(membership(
        "orgmem_grace_engines",
        GRACE,
        &engines["data"],
        "org:admin",
        1_737_115_600_000,
    ));
    deliveries.push(membership(
        "orgmem_grace_difference",
        GRACE,
        &difference["data"],
        "org:member",
        1_737_210_000_000,
    ));
    let mut babbage = membership(
        "orgmem_babbage_difference",
        BABBAGE,
        &difference["data"],
        "org:member",
        1_737_220_000_000,
    );
    babbage["data"]["public_user_data"]["first_name"] = json!("Charles");
    babbage["data"]["public_user_data"]["last_name"] = json!("Babbage");
    deliveries.push(babbage);
    for (index, event) in deliveries.iter().enumerate() {
        let (status, outcome) = server
            .deliver_json(&format!("msg_story_{index}"), event)
            .await;
        assert_eq!(
            (status, outcome.as_str()),
            (200, "applied"),
            "delivery {index}"
        );
    }
}
