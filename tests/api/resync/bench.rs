//! The import benchmark: 100,000 users (realistic objects of about 1.6 kB), 2,000 organizations and 200,000 memberships from the
//! fake Backend API (pages of 500, as from Clerk), into SQLite and into PostgreSQL. Ignored by
//! default; run it in release mode, as README.md says:
//!
//! ```sh
//! cargo test --release -p clerk-sync-server --test api resync::bench -- --ignored --nocapture
//! ```
//!
//! Sizes can be changed with BENCH_USERS, BENCH_ORGANIZATIONS (memberships: two per user). It
//! also prints the storage each user takes on each backend (tables, indexes, TOAST).

use std::time::{Duration, Instant};

use clerk_sync_backend_api::{BackendApi, ObjectKind, RetryPolicy, SecretKey};
use clerk_sync_persistence::Backend;
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_resync::{Options, Progress, Summary, resync};
use serde_json::json;

use super::fake_clerk::{
    FakeClerk, Listed, SECRET_KEY, membership, organization, organization_json,
};
use crate::common::event_fixture;

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed(fake: &FakeClerk, users: usize, organizations: usize) {
    fake.with_store(|store| {
        store.users = (0..users).map(realistic_user).collect();
        let orgs: Vec<serde_json::Value> = (0..organizations)
            .map(|i| {
                organization_json(
                    &format!("org_bench{i:05}"),
                    &format!("Organization {i}"),
                    1_700_000_000_000,
                )
            })
            .collect();
        store.organizations = (0..organizations)
            .map(|i| {
                organization(
                    &format!("org_bench{i:05}"),
                    &format!("Organization {i}"),
                    1_700_000_000_000,
                )
            })
            .collect();
        let mut memberships = Vec::with_capacity(users * 2);
        for i in 0..users {
            for (n, org) in [i % organizations, (i + organizations / 2) % organizations]
                .into_iter()
                .enumerate()
            {
                let role = if n == 0 { "org:admin" } else { "org:member" };
                memberships.push(membership(
                    &format!("orgmem_bench{i:07}x{n}"),
                    &format!("user_bench{i:07}"),
                    &orgs[org],
                    role,
                    1_700_000_000_000,
                ));
            }
        }
        store.memberships = memberships;
    });
}

/// A user as Clerk's Backend API lists one: the `user.created` fixture (every field Clerk
/// sends, about 1.6 kB) with its own id, address, name, username and metadata, and a phone
/// number for every third user.
fn realistic_user(i: usize) -> Listed {
    let id = format!("user_bench{i:07}");
    let mut data = event_fixture("user.created")["data"].take();
    data["id"] = json!(id);
    data["email_addresses"][0]["id"] = json!(format!("idn_{id}"));
    data["email_addresses"][0]["email_address"] = json!(format!("person{i}@example.com"));
    data["primary_email_address_id"] = json!(format!("idn_{id}"));
    data["first_name"] = json!(format!("Person {i}"));
    data["username"] = json!(format!("person{i}"));
    let plan = ["free", "pro", "team"][i % 3];
    data["public_metadata"] = json!({"plan": plan, "seats": i % 50});
    data["private_metadata"] = json!({"crm_id": format!("crm-{i}")});
    if i.is_multiple_of(3) {
        data["phone_numbers"] = json!([{"id": format!("idn_phone_{id}"), "object": "phone_number",
            "phone_number": format!("+1555{i:07}"), "verification": {"status": "verified", "strategy": "phone_code"}}]);
        data["primary_phone_number_id"] = json!(format!("idn_phone_{id}"));
    }
    data["updated_at"] = json!(1_700_000_000_000 + i64::try_from(i).unwrap_or(0));
    Listed {
        id,
        json: data.to_string(),
        user: None,
        organization: None,
    }
}

#[derive(diesel::QueryableByName)]
struct TableSize {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

/// The bytes each user table takes with its indexes (and TOAST on PostgreSQL), per user.
fn storage_per_user(db: &TestDatabase, users: usize) {
    use diesel::RunQueryDsl;
    let database = db.connect().expect("the database opens");
    let mut conn = database.get().expect("a connection");
    let tables = ["users", "user_email_addresses", "user_phone_numbers"];
    let sizes: Vec<TableSize> = match database.backend() {
        Backend::Postgres => {
            diesel::sql_query("VACUUM ANALYZE")
                .execute(&mut conn)
                .expect("vacuum");
            let query = "SELECT relname::text AS name, pg_total_relation_size(oid)::bigint AS bytes \
                         FROM pg_class WHERE relkind = 'r' AND relname = ANY(string_to_array($1, ','))";
            diesel::sql_query(query)
                .bind::<diesel::sql_types::Text, _>(tables.join(","))
                .load(&mut conn)
                .expect("sizes")
        }
        Backend::Sqlite => {
            diesel::sql_query("VACUUM")
                .execute(&mut conn)
                .expect("vacuum");
            // Each table with its indexes, by the table each b-tree belongs to.
            let query = "SELECT m.tbl_name AS name, CAST(SUM(s.pgsize) AS BIGINT) AS bytes \
                         FROM dbstat s JOIN sqlite_master m ON m.name = s.name \
                         GROUP BY m.tbl_name";
            diesel::sql_query(query).load(&mut conn).expect("sizes")
        }
    };
    let mut total = 0;
    for size in sizes
        .iter()
        .filter(|size| tables.contains(&size.name.as_str()))
    {
        total += size.bytes;
        println!(
            "BENCH storage {}: {} bytes = {} bytes/user",
            size.name,
            size.bytes,
            size.bytes / i64::try_from(users).unwrap_or(1)
        );
    }
    println!(
        "BENCH storage per user, {:?}: {} bytes",
        database.backend(),
        total / i64::try_from(users).unwrap_or(1)
    );
}

async fn import(db: &TestDatabase, fake: &FakeClerk, label: &str) -> Duration {
    let database = db.connect().expect("the database opens");
    let api = BackendApi::new(
        fake.url(),
        &SecretKey::parse(SECRET_KEY).expect("key"),
        Duration::from_secs(30),
        RetryPolicy::default(),
    )
    .expect("client");
    let options = Options {
        kinds: ObjectKind::ALL.to_vec(),
        prune: false,
        allow_mass_prune: false,
        dry_run: false,
        page_size: 500,
    };
    let mut first = Duration::ZERO;
    for run in ["import", "resync of an unchanged instance"] {
        let started = Instant::now();
        let summary: Summary = resync(&database, &api, &options, &Progress::lines())
            .await
            .expect("the resync succeeds");
        let elapsed = started.elapsed();
        if first.is_zero() {
            first = elapsed;
        }
        let rows: u64 = summary.kinds.iter().map(|k| k.listed()).sum();
        println!("\n{label}, {run}:\n{summary}");
        println!(
            "BENCH {label} {run}: {rows} rows in {:.1} s = {:.0} rows/s",
            elapsed.as_secs_f64(),
            rows as f64 / elapsed.as_secs_f64()
        );
    }
    first
}

#[actix_web::test]
#[ignore = "a benchmark: run it in release mode with --ignored"]
async fn bench_import_of_a_large_instance() {
    let fake = FakeClerk::start().await;
    seed(
        &fake,
        size("BENCH_USERS", 100_000),
        size("BENCH_ORGANIZATIONS", 2_000),
    );
    let users = size("BENCH_USERS", 100_000);
    let sqlite = TestDatabase::sqlite().expect("a SQLite database");
    import(&sqlite, &fake, "SQLite").await;
    storage_per_user(&sqlite, users);
    if let Some(postgres) = TestDatabase::postgres().expect("a PostgreSQL database") {
        import(&postgres, &fake, "PostgreSQL").await;
        storage_per_user(&postgres, users);
    }
}
