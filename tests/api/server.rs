//! The server as a whole: health, readiness, routing conventions, missing configuration, and
//! the `clerk-sync` binary itself.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{ConnectionManager, SqliteOptions};
use serde_json::{Value, json};

use crate::common::*;

server_tests!(
    health_and_readiness_answer,
    a_method_a_route_does_not_serve_answers_405_with_allow,
    unknown_routes_and_methods_answer_json,
);

async fn health_and_readiness_answer(server: TestServer) {
    for path in [
        "/api/v1/health",
        "/api/v1/health/",
        "/api/v1/ready",
        "/api/v1/ready/",
    ] {
        let response = server
            .client
            .get(server.url(path))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert_eq!(
            response.json::<Value>().await.expect("JSON"),
            json!({"status": "ok"}),
            "{path}"
        );
    }
}

async fn a_method_a_route_does_not_serve_answers_405_with_allow(server: TestServer) {
    // RFC 9110 §15.5.6: a 405 lists the methods the resource does serve.
    for route in clerk_sync_http::routing::ROUTES
        .iter()
        .filter(|r| !r.path.contains('{') && !r.any_method)
    {
        let served: Vec<&str> = clerk_sync_http::routing::ROUTES
            .iter()
            .filter(|other| other.mounted_path() == route.mounted_path())
            .map(|other| other.method.as_str())
            .collect();
        for method in ["TRACE", "DELETE", "PATCH"] {
            if served.contains(&method) {
                continue;
            }
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
            let response = server
                .client
                .request(method.clone(), server.url(route.path))
                .send()
                .await
                .expect("answers");
            assert_eq!(response.status().as_u16(), 405, "{method} {}", route.path);
            let allow = response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            assert_eq!(allow, Some(served.join(", ")), "{method} {}", route.path);
        }
    }
}

async fn unknown_routes_and_methods_answer_json(server: TestServer) {
    let response = server
        .client
        .get(server.url("/api/v1/nothing"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({"detail": "Not Found"})
    );
    let response = server
        .client
        .get(server.url("/api/v1/auth/clerk_webhook/"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({"detail": "Method Not Allowed"})
    );
}

#[actix_web::test]
async fn missing_secrets_make_only_their_endpoints_answer_503() {
    let db = TestDatabase::sqlite().expect("db");
    let server = TestServer::start(
        db,
        &[
            ("CLERK_WEBHOOK_SIGNING_SECRET", ""),
            ("CLERK_JWT_PUBLIC_KEY", ""),
        ],
    )
    .await;
    let response = server.deliver("msg_1", "{}").await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({"detail": "Webhook verification is not configured: set CLERK_WEBHOOK_SIGNING_SECRET in the environment or .env, then restart the server (settings are read at start)"})
    );
    let (status, body) = server.get_as("/api/v1/auth/me/", "token").await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        json!({"detail": "Session token verification is not configured: set CLERK_JWT_PUBLIC_KEY or CLERK_JWKS_URL in the environment or .env, then restart the server (settings are read at start)"})
    );
    let (status, _) = server.get_as("/api/v1/health", "").await;
    assert_eq!(status, 200, "everything else works");
}

#[actix_web::test]
async fn a_broken_schema_is_a_server_error_not_an_outage() {
    let db = TestDatabase::sqlite().expect("db");
    let server = TestServer::start(db, &[]).await;
    // Break the schema under the running server: a 500, promptly, and nothing acknowledged.
    let mut conn = server.conn();
    use diesel::connection::SimpleConnection;
    conn.batch_execute("DROP TABLE organization_memberships; DROP TABLE users;")
        .expect("drop");
    drop(conn);
    let started = Instant::now();
    let response = server
        .deliver("msg_1", &event_fixture("user.created").to_string())
        .await;
    assert_eq!(
        response.status().as_u16(),
        500,
        "a broken schema is a server error, not a retryable outage"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-sync"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

#[test]
fn the_binary_serves_on_the_embedded_default_and_reports_ready() {
    let dir = TestDatabase::sqlite().expect("a temporary directory");
    let workdir = std::env::temp_dir().join(format!("clerk-sync-bin-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).expect("workdir");
    let port = free_port();
    let started = Instant::now();
    let mut child = binary()
        .current_dir(&workdir)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let ready = wait_until_ready(port, Duration::from_secs(20));
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "the server did not become ready");
    assert!(
        workdir.join("data/clerk-sync.sqlite3").exists(),
        "the default SQLite file is created under ./data"
    );
    eprintln!("start-up to ready: {} ms", elapsed.as_millis());
    let _ = std::fs::remove_dir_all(&workdir);
    drop(dir);
}

#[test]
fn a_configuration_error_names_the_variable_and_exits_2() {
    let output = binary()
        .arg("migrate")
        .env("DATABASE_URL", "mysql://root:hunter2@db/app")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("configuration error: DATABASE_URL: unsupported scheme `mysql`"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

diesel::table! {
    /// Where diesel records the migrations it applied.
    __diesel_schema_migrations (version) {
        version -> Text,
    }
}

/// The migrations recorded as applied, read through one connection that does not migrate (a
/// pool migrates on connect, and would hide a `migrate` that did nothing); `None` when there is
/// no record at all.
fn applied_migrations(db: &TestDatabase) -> Option<Vec<String>> {
    use diesel::prelude::*;
    let mut conn = ConnectionManager::new(
        db.url().clone(),
        SqliteOptions::default(),
        db.pool_options().postgres,
    )
    .open()
    .expect("a connection");
    __diesel_schema_migrations::table
        .select(__diesel_schema_migrations::version)
        .order(__diesel_schema_migrations::version)
        .load(&mut conn)
        .ok()
}

/// The versions of the migrations shipped for `backend`, as diesel records them.
fn shipped_migrations(backend: &str) -> Vec<String> {
    let dir = format!("{}/../../migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    let mut versions: Vec<String> = std::fs::read_dir(&dir)
        .expect("the migrations folder")
        .map(|entry| {
            let name = entry.expect("an entry").file_name();
            let name = name.to_string_lossy();
            let (date, _) = name.split_once('_').expect("a folder named <date>_<name>");
            date.replace('-', "")
        })
        .collect();
    versions.sort();
    versions
}

fn migrate_applies_every_shipped_migration(db: &TestDatabase, backend: &str) {
    assert_eq!(
        applied_migrations(db),
        None,
        "the test database starts empty"
    );
    let output = binary()
        .arg("migrate")
        .env("DATABASE_URL", db.url_string())
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("migrations applied"));
    assert_eq!(
        applied_migrations(db),
        Some(shipped_migrations(backend)),
        "every shipped migration is applied by `migrate` itself"
    );
}

mod migrate_applies_the_migrations_and_exits {
    use super::*;

    #[test]
    fn sqlite() {
        let db = TestDatabase::sqlite().expect("db");
        migrate_applies_every_shipped_migration(&db, "sqlite");
    }

    #[test]
    fn postgres() {
        let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") else {
            return;
        };
        migrate_applies_every_shipped_migration(&db, "postgres");
    }
}

fn wait_until_ready(port: u16, timeout: Duration) -> bool {
    use std::io::{Read, Write};
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let request =
                "GET /api/v1/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            let mut response = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut response).is_ok()
                && response.starts_with("HTTP/1.1 200")
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
