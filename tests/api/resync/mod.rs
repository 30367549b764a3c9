//! `clerk-sync resync` against a fake of Clerk's Backend API started in the test, with the real
//! server (and its webhook endpoint) on SQLite and on PostgreSQL.

mod bench;
mod binary;
mod failures;
pub(crate) mod fake_clerk;
mod import;
mod prune;
mod webhooks;

use std::time::Duration;

use clerk_sync_backend_api::{BackendApi, ObjectKind, RetryPolicy, SecretKey};
use clerk_sync_resync::{KindSummary, Options, Progress, ResyncError, Summary, resync};
use diesel::prelude::*;

use crate::common::TestServer;
use fake_clerk::FakeClerk;

/// Options as the tests use them: small pages, so a few objects make several.
pub fn options(kinds: &[ObjectKind]) -> Options {
    Options {
        kinds: kinds.to_vec(),
        prune: false,
        allow_mass_prune: false,
        dry_run: false,
        page_size: 4,
    }
}

pub fn api_with_key(fake: &FakeClerk, key: &str) -> BackendApi {
    BackendApi::new(
        fake.url(),
        &SecretKey::parse(key).expect("a key"),
        Duration::from_secs(2),
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
    )
    .expect("a client")
}

pub async fn try_run(
    server: &TestServer,
    fake: &FakeClerk,
    options: &Options,
) -> Result<Summary, ResyncError> {
    let api = api_with_key(fake, fake_clerk::SECRET_KEY);
    resync(&server.database, &api, options, &Progress::hidden()).await
}

/// An error as `clerk-sync resync` prints it: the message and its causes, `: `-separated.
pub fn message(err: ResyncError) -> String {
    format!("{:#}", anyhow::Error::from(err))
}

pub async fn run(server: &TestServer, fake: &FakeClerk, options: &Options) -> Summary {
    try_run(server, fake, options)
        .await
        .expect("the resync succeeds")
}

/// created, updated, unchanged, stale, pruned, failed.
pub fn counts(summary: &Summary, kind: ObjectKind) -> [u64; 6] {
    let k: &KindSummary = summary.kind(kind).expect("the kind was resynced");
    let pruned = u64::try_from(k.pruned.len()).expect("a count");
    [k.created, k.updated, k.unchanged, k.stale, pruned, k.failed]
}

/// The Clerk ids in a table, sorted.
pub fn clerk_ids(server: &TestServer, table: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        clerk_id: Option<String>,
    }
    let mut conn = server.conn();
    let rows: Vec<Row> = diesel::sql_query(format!("SELECT clerk_id FROM {table}"))
        .load(&mut *conn)
        .expect("query");
    let mut ids: Vec<String> = rows.into_iter().filter_map(|r| r.clerk_id).collect();
    ids.sort();
    ids
}

/// A user's first name and email.
pub fn user_row(server: &TestServer, clerk_id: &str) -> Option<(Option<String>, Option<String>)> {
    use clerk_sync_persistence::schema::users;
    let mut conn = server.conn();
    users::table
        .filter(users::clerk_id.eq(clerk_id))
        .select((users::first_name, users::email))
        .first(&mut *conn)
        .optional()
        .expect("query")
}

/// A webhook event carrying a listed object, as Clerk would send it when the object changed.
pub fn event(event_type: &str, object: &fake_clerk::Listed) -> serde_json::Value {
    let data: serde_json::Value = serde_json::from_str(&object.json).expect("JSON");
    let timestamp = data["updated_at"].as_i64().unwrap_or_default() + 1;
    serde_json::json!({"type": event_type, "object": "event", "timestamp": timestamp, "data": data})
}

/// A deletion event.
pub fn deleted_event(event_type: &str, id: &str) -> serde_json::Value {
    serde_json::json!({"type": event_type, "object": "event", "timestamp": 1_800_000_000_000_i64,
                       "data": {"id": id, "object": event_type.split('.').next(), "deleted": true}})
}
