//! The import benchmark: 100,000 users, 2,000 organizations and 200,000 memberships from the
//! fake Backend API (pages of 500, as from Clerk), into SQLite and into PostgreSQL. Ignored by
//! default; run it in release mode, as README.md says:
//!
//! ```sh
//! cargo test --release -p clerk-sync-server --test api resync::bench -- --ignored --nocapture
//! ```
//!
//! Sizes can be changed with BENCH_USERS, BENCH_ORGANIZATIONS (memberships: two per user).

use std::time::{Duration, Instant};

use clerk_sync_backend_api::{BackendApi, ObjectKind, RetryPolicy, SecretKey};
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_resync::{Options, Progress, Summary, resync};

use super::fake_clerk::{FakeClerk, SECRET_KEY, membership, organization, organization_json, user};

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed(fake: &FakeClerk, users: usize, organizations: usize) {
    fake.with_store(|store| {
        store.users = (0..users)
            .map(|i| {
                let email = format!("person{i}@example.com");
                user(
                    &format!("user_bench{i:07}"),
                    Some(&email),
                    &format!("Person {i}"),
                    1_700_000_000_000 + i64::try_from(i).unwrap_or(0),
                )
            })
            .collect();
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
    let sqlite = TestDatabase::sqlite().expect("a SQLite database");
    import(&sqlite, &fake, "SQLite").await;
    if let Some(postgres) = TestDatabase::postgres().expect("a PostgreSQL database") {
        import(&postgres, &fake, "PostgreSQL").await;
    }
}
