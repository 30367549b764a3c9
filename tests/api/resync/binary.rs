//! The `clerk-sync resync` command itself: flags, output, exit codes.

use std::process::{Command, Output};

use clerk_sync_persistence::testing::TestDatabase;

use super::fake_clerk::{FakeClerk, SECRET_KEY, organization, user};

async fn clerk_sync(
    db: &TestDatabase,
    fake: &FakeClerk,
    key: Option<&str>,
    args: &[&str],
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-sync"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url_string())
        .env("CLERK_API_URL", fake.url())
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .arg("resync")
        .args(args);
    if let Some(key) = key {
        command.env("CLERK_SECRET_KEY", key);
    }
    // The fake answers on this runtime: wait for the child on another thread.
    actix_web::rt::task::spawn_blocking(move || command.output())
        .await
        .expect("joins")
        .expect("the binary runs")
}

/// The summary table's row of a kind.
fn row<'a>(stdout: &'a str, kind: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .find(|line| line.starts_with(kind))
        .map(|line| line.split_whitespace().collect())
        .unwrap_or_default()
}

fn count(db: &TestDatabase, table: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let database = db.connect().expect("opens");
    let mut conn = database.get().expect("a connection");
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<Count>(&mut *conn)
        .expect("count")
        .n
}

async fn imports_and_prints_a_summary(db: TestDatabase) {
    let fake = FakeClerk::start().await;
    fake.with_store(|store| {
        store.users = (0..3)
            .map(|i| user(&format!("user_{i}"), None, "U", 10))
            .collect();
        store.organizations = vec![organization("org_1", "One", 10)];
    });
    let output = clerk_sync(&db, &fake, Some(SECRET_KEY), &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        row(&stdout, "users "),
        ["users", "3", "0", "0", "0", "0", "0"],
        "{stdout}"
    );
    assert_eq!(
        row(&stdout, "organizations "),
        ["organizations", "1", "0", "0", "0", "0", "0"],
        "{stdout}"
    );
    assert_eq!(
        row(&stdout, "memberships "),
        ["memberships", "0", "0", "0", "0", "0", "0"],
        "{stdout}"
    );
    assert!(
        stdout.contains("users: listing (3 in Clerk)"),
        "plain progress lines off a terminal: {stdout}"
    );
    assert_eq!(count(&db, "users"), 3);

    let output = clerk_sync(
        &db,
        &fake,
        Some(SECRET_KEY),
        &["--users", "--dry-run", "--prune"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("DRY RUN: nothing was written"), "{stdout}");
    assert_eq!(
        row(&stdout, "users "),
        ["users", "0", "0", "3", "0", "0", "0"],
        "{stdout}"
    );
    assert!(!stdout.contains("organizations "), "only --users: {stdout}");
}

async fn refuses_an_invalid_key_and_writes_nothing(db: TestDatabase) {
    let fake = FakeClerk::start().await;
    fake.with_store(|store| store.users = vec![user("user_1", None, "U", 10)]);
    let key = "sk_live_notthekeyoftheinstance";
    let output = clerk_sync(&db, &fake, Some(key), &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("clerk-sync: invalid secret key"),
        "{stderr}"
    );
    assert!(stderr.contains("CLERK_SECRET_KEY"), "{stderr}");
    assert!(
        !stderr.contains(key) && !stdout.contains(key),
        "the key is never printed"
    );
    assert_eq!(count(&db, "users"), 0);

    let output = clerk_sync(&db, &fake, None, &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("CLERK_SECRET_KEY is not set"), "{stderr}");
}

#[actix_web::test]
async fn the_binary_imports_and_prints_a_summary_on_sqlite() {
    imports_and_prints_a_summary(TestDatabase::sqlite().expect("db")).await;
}

#[actix_web::test]
async fn the_binary_imports_and_prints_a_summary_on_postgres() {
    if let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") {
        imports_and_prints_a_summary(db).await;
    }
}

#[actix_web::test]
async fn the_binary_refuses_an_invalid_key_on_sqlite() {
    refuses_an_invalid_key_and_writes_nothing(TestDatabase::sqlite().expect("db")).await;
}

#[actix_web::test]
async fn the_binary_refuses_an_invalid_key_on_postgres() {
    if let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") {
        refuses_an_invalid_key_and_writes_nothing(db).await;
    }
}
