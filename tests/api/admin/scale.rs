//! How fast the admin pages are over 100,000 users, on each backend. Not part of the normal
//! run (it seeds for several seconds and only prints figures; timings are never asserted):
//!
//! ```sh
//! cargo test --release -p clerk-sync-server --test api admin::scale -- --ignored --nocapture
//! ```
//!
//! Seeds 100,000 users (with Clerk-like ids and emails), 1,000 organizations, 100,000
//! memberships and 100,000 webhook log entries with bulk inserts, then times each page over
//! HTTP (request, queries, rendering): the median and slowest of several requests.

use std::io::Write;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;

use super::*;

const USERS: usize = 100_000;
const ORGANIZATIONS: usize = 1_000;
const RUNS: usize = 15;

const FIRST: [&str; 20] = [
    "maria", "james", "li", "fatima", "olga", "juan", "aisha", "noah", "emma", "ivan", "sofia",
    "ahmed", "yuki", "liam", "chloe", "omar", "anna", "mateo", "zoe", "ravi",
];
const LAST: [&str; 10] = [
    "garcia", "smith", "wang", "khan", "ivanova", "silva", "ng", "muller", "rossi", "kim",
];
const DOMAINS: [&str; 5] = [
    "gmail.com",
    "acme.io",
    "example.org",
    "globex.net",
    "outlook.com",
];

/// A Clerk-like id suffix (27 characters of base 62) that spreads `n` over the alphabet.
fn clerk_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D;
    (0..27)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % 62) as usize] as char
        })
        .collect()
}

fn seed_bulk(server: &TestServer) {
    let mut conn = server.conn();
    let at = "'2025-01-01 00:00:00'";
    let mut sql = String::from("BEGIN;");
    for batch in 0..USERS / 1_000 {
        sql.push_str("INSERT INTO users (clerk_id, email, first_name, last_name, is_staff, is_active, clerk_updated_at, created_at, updated_at) VALUES ");
        for i in 0..1_000 {
            let n = batch * 1_000 + i;
            let (first, last) = (FIRST[n % 20], LAST[(n / 20) % 10]);
            let email = format!("{first}.{last}{n}@{}", DOMAINS[n % 5]);
            let sep = if i == 0 { "" } else { "," };
            sql.push_str(&format!(
                "{sep}('user_2{}', '{email}', '{first}', '{last}', FALSE, TRUE, 1, {at}, {at})",
                clerk_suffix(n)
            ));
        }
        sql.push(';');
    }
    sql.push_str("INSERT INTO organizations (clerk_id, name, slug, clerk_updated_at, created_at, updated_at) VALUES ");
    for n in 0..ORGANIZATIONS {
        let sep = if n == 0 { "" } else { "," };
        let name = format!(
            "{} {} {n}",
            LAST[n % 10],
            ["Labs", "Inc", "Group", "Studio"][n % 4]
        );
        sql.push_str(&format!(
            "{sep}('org_2{}', '{name}', 'org-{n}', 1, {at}, {at})",
            clerk_suffix(n + USERS)
        ));
    }
    sql.push(';');
    sql.push_str(&format!(
        "INSERT INTO organization_memberships (clerk_id, user_id, organization_id, role, clerk_updated_at, created_at, updated_at) \
         SELECT 'orgmem_' || u.id, u.id, (SELECT MIN(id) FROM organizations) + (u.id % {ORGANIZATIONS}), \
                CASE WHEN u.id % 10 = 0 THEN 'org:admin' ELSE 'org:member' END, 1, {at}, {at} \
         FROM users u WHERE u.clerk_id LIKE 'user_2%' AND NOT EXISTS (SELECT 1 FROM organization_memberships m WHERE m.user_id = u.id);"
    ));
    sql.push_str(&format!(
        "INSERT INTO webhook_events (svix_id, event_type, clerk_object_id, outcome, error, payload, attempts, received_at, last_received_at) \
         SELECT 'msg_bulk_' || id, CASE WHEN id % 3 = 0 THEN 'user.updated' ELSE 'user.created' END, clerk_id, \
                CASE WHEN id % 50 = 0 THEN 'rejected' ELSE 'applied' END, NULL, '{{\"type\":\"user.created\"}}', 1, {at}, {at} \
         FROM users;"
    ));
    sql.push_str("COMMIT;");
    conn.batch_execute(&sql).expect("bulk seed");
    // PostgreSQL's autovacuum would analyze tables this size by itself; SQLite is measured
    // as clerk-sync runs it, without ANALYZE.
    if matches!(&*conn, clerk_sync_persistence::DbConnection::Postgres(_)) {
        diesel::sql_query("ANALYZE")
            .execute(&mut *conn)
            .expect("analyze");
    }
}

async fn time(server: &TestServer, path: &str) -> (Duration, Duration, usize) {
    let token = token_for(ADMIN);
    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let page = get(server, path, Auth::Bearer(&token)).await;
        times.push(started.elapsed());
        assert_eq!(page.status, 200, "{path}");
        size = first_column(&page.body).len();
    }
    times.sort();
    (times[RUNS / 2], times[RUNS - 1], size)
}

async fn measure(mut server: TestServer, backend: &str) {
    seed(&server).await;
    let started = Instant::now();
    seed_bulk(&server);
    let seeded = started.elapsed();
    // The client's pooled connection idled past the server's keep-alive while seeding.
    server.client = reqwest::Client::new();
    let pages = [
        "/admin/users?q=maria.garcia4",
        "/admin/users?q=ma",
        "/admin/users?q=user_2k",
        "/admin/users?q=ravi.kim99999",
        "/admin/users?q=nobody-has-this",
        "/admin/users",
        "/admin/users?page=1000",
        "/admin/users?page=2000&sort=last_name&dir=desc",
        "/admin/users?staff=yes",
        "/admin/organizations?q=rossi",
        "/admin/memberships?role=org:admin",
        "/admin/memberships?q=acme&sort=user",
        "/admin/webhook-events?outcome=rejected&page=20",
        "/admin",
    ];
    let mut report = format!(
        "\n{backend}: {} users, {ORGANIZATIONS} organizations seeded in {:.1} s; each page {RUNS} times over HTTP\n",
        server.count("users"),
        seeded.as_secs_f64()
    );
    for path in pages {
        let (median, slowest, rows) = time(&server, path).await;
        report.push_str(&format!(
            "  {:>7.1} ms median {:>7.1} ms max  {rows:>3} rows  {path}\n",
            median.as_secs_f64() * 1e3,
            slowest.as_secs_f64() * 1e3
        ));
    }
    let _ignored = std::io::stderr().write_all(report.as_bytes());
}

#[actix_web::test]
#[ignore = "seeds 100,000 users and prints timings; run with --ignored --nocapture"]
async fn admin_pages_over_100k_users_on_sqlite() {
    measure(TestServer::sqlite().await, "SQLite").await;
}

#[actix_web::test]
#[ignore = "seeds 100,000 users and prints timings; run with --ignored --nocapture"]
async fn admin_pages_over_100k_users_on_postgres() {
    let Some(server) = TestServer::postgres().await else {
        return;
    };
    measure(server, "PostgreSQL").await;
}
