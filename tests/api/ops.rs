//! Operating the server: request ids, metrics, the command line (check-config, events purge,
//! healthcheck, the `dev` tour), graceful shutdown, and the Docker deployment files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use clerk_sync_persistence::testing::TestDatabase;
use serde_json::Value;

use crate::common::*;

server_tests! {
    every_response_carries_a_request_id(server) {
        let response = server.client.get(server.url("/api/v1/health")).send().await.expect("answers");
        let id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(id.len(), 32, "a fresh id: {id:?}");
        let response = server.client.get(server.url("/api/v1/health")).header("x-request-id", "lb-1234.abc").send().await.expect("answers");
        assert_eq!(response.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("lb-1234.abc"), "a proxy's id is kept");
        let response = server.client.get(server.url("/api/v1/health")).header("x-request-id", "bad id; drop table").send().await.expect("answers");
        let id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(id.len() == 32 && !id.contains(' '), "an unsafe id is replaced: {id:?}");
    }

    metrics_count_requests_deliveries_and_the_pool(server) {
        server.deliver_json("msg_m1", &event_fixture("user.created")).await;
        server.deliver_json("msg_m1", &event_fixture("user.created")).await;
        server.get_as("/api/v1/auth/me/", &token_for("user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE")).await;
        server.client.get(server.url("/api/v1/auth/me/")).send().await.expect("answers");
        server.get_as("/api/v1/auth/me/", &sign_with(&claims("user_x"), "tests/fixtures/keys/other_private.pem")).await;
        let response = server.client.get(server.url("/metrics")).send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/plain")));
        let text = response.text().await.expect("text");
        for expected in [
            r#"clerk_sync_webhook_deliveries_total{event_type="user.created",outcome="applied"} 1"#,
            r#"clerk_sync_webhook_deliveries_total{event_type="user.created",outcome="duplicate"} 1"#,
            r#"clerk_sync_http_requests_total{method="POST",route="/api/v1/auth/clerk_webhook",status="200"} 2"#,
            r#"clerk_sync_http_requests_total{method="GET",route="/api/v1/auth/me",status="200"} 1"#,
            r#"clerk_sync_http_request_duration_seconds_count{method="GET",route="/api/v1/auth/me"} 3"#,
            r#"clerk_sync_http_requests_total{method="GET",route="/api/v1/auth/me",status="401"} 2"#,
            r#"clerk_sync_db_pool_connections{state="max"} 8"#,
            r#"clerk_sync_token_rejections_total{reason="missing"} 1"#,
            r#"clerk_sync_token_rejections_total{reason="invalid_signature"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected}\n{text}");
        }
    }
}

const METRICS_TOKEN: &str = "metrics-token-for-the-tests";

#[actix_web::test]
async fn metrics_ask_for_the_bearer_token_when_one_is_set() {
    let db = TestDatabase::sqlite().expect("db");
    let server = TestServer::start(db, &[("METRICS_TOKEN", METRICS_TOKEN)]).await;
    let scrape = |token: Option<&str>| {
        let request = server.client.get(server.url("/metrics"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    for token in [None, Some("wrong"), Some("metrics-token-for-the-test")] {
        let response = scrape(token).await.expect("answers");
        assert_eq!(response.status().as_u16(), 401, "{token:?}");
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            body["detail"],
            "Send the metrics token (METRICS_TOKEN) as `Authorization: Bearer <token>`"
        );
    }
    let response = scrape(Some(METRICS_TOKEN)).await.expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.expect("text");
    assert!(text.contains("clerk_sync_http_requests_total"), "{text}");
}

#[actix_web::test]
async fn metrics_can_move_to_a_listener_of_their_own() {
    let db = TestDatabase::sqlite().expect("db");
    let server = TestServer::start(db, &[("METRICS_LISTEN", "127.0.0.1:0")]).await;
    let metrics_port = server.metrics_port.expect("a metrics listener");
    assert_ne!(
        Some(metrics_port),
        server.base.rsplit(':').next().and_then(|p| p.parse().ok())
    );
    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("answers");
    assert_eq!(
        response.status().as_u16(),
        404,
        "the public listener no longer serves them"
    );
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        serde_json::json!({"detail": "Not Found"})
    );
    let private = format!("http://127.0.0.1:{metrics_port}");
    let response = server
        .client
        .get(format!("{private}/metrics"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("clerk_sync_db_pool_connections")
    );
    let response = server
        .client
        .get(format!("{private}/api/v1/health"))
        .send()
        .await
        .expect("answers");
    assert_eq!(
        response.status().as_u16(),
        404,
        "the metrics listener serves nothing else"
    );
    let response = server
        .client
        .get(server.url("/api/v1/health"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
}

/// The `clerk-sync` binary, with a clean environment and a working directory of its own.
struct Binary {
    dir: PathBuf,
}

impl Binary {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("clerk-sync-ops-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a working directory");
        Self { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clerk-sync"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        command
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        command.output().expect("the binary runs")
    }

    fn spawn_server(&self, port: u16, env: &[(&str, &str)]) -> Child {
        let mut command = self.command(&["serve"]);
        command
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command.spawn().expect("the server starts")
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn http_get(port: u16, path: &str, token: Option<&str>) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reads");
    response
}

fn wait_until_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http_get(port, "/api/v1/ready", None).starts_with("HTTP/1.1 200")
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the server on port {port} did not become ready");
}

fn stop(child: Child) -> String {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let output = child.wait_with_output().expect("the server exits");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_one_minute_tour_works_without_a_clerk_account() {
    let bin = Binary::new("tour");
    let init = bin.run(&["dev", "init"], &[]);
    assert!(init.status.success(), "{}", stderr(&init));
    assert!(stdout(&init).contains(
        "wrote CLERK_WEBHOOK_SIGNING_SECRET, CLERK_JWT_PUBLIC_KEY, CLERK_DEV_PRIVATE_KEY to .env"
    ));
    let again = bin.run(&["dev", "init"], &[]);
    assert!(
        !again.status.success() && stderr(&again).contains("pass --force"),
        "a second init does not overwrite"
    );
    let env_text = std::fs::read_to_string(bin.dir.join(".env")).expect(".env");
    let secret_line = env_text
        .lines()
        .find(|l| l.starts_with("CLERK_WEBHOOK_SIGNING_SECRET="))
        .expect("secret")
        .to_owned();

    let port = free_port();
    let port_text = port.to_string();
    let env = [("PORT", port_text.as_str()), ("LOG_FORMAT", "json")];
    let server = bin.spawn_server(port, &env);
    wait_until_ready(port);

    let sent = bin.run(
        &[
            "dev",
            "send",
            "user.created",
            "--email",
            "tour@example.com",
            "--first-name",
            "Tourist",
        ],
        &env,
    );
    assert!(sent.status.success(), "{}{}", stdout(&sent), stderr(&sent));
    let printed = stdout(&sent);
    assert!(
        printed.contains(r#"answer: 200 {"outcome":"applied","status":"ok"}"#),
        "{printed}"
    );
    let user = printed
        .split_whitespace()
        .find(|w| w.starts_with("user_"))
        .expect("the user id is printed")
        .to_owned();

    let token = bin.run(
        &["dev", "token", "--user", &user, "--expires-in", "10m"],
        &env,
    );
    assert!(token.status.success(), "{}", stderr(&token));
    let token = stdout(&token).trim().to_owned();
    let me = http_get(port, "/api/v1/auth/me/", Some(&token));
    assert!(me.starts_with("HTTP/1.1 200"), "{me}");
    let body: Value =
        serde_json::from_str(me.split("\r\n\r\n").nth(1).unwrap_or_default()).expect("JSON");
    assert_eq!(
        (body["email"].as_str(), body["first_name"].as_str()),
        (Some("tour@example.com"), Some("Tourist"))
    );

    let logs = stop(server);
    assert!(
        logs.contains("\"request_id\""),
        "JSON logs carry the request id:\n{logs}"
    );
    for secret in [
        "tour@example.com",
        "Tourist",
        token.as_str(),
        secret_line.trim_start_matches("CLERK_WEBHOOK_SIGNING_SECRET="),
    ] {
        assert!(
            !logs.contains(secret),
            "the logs must not contain {secret:?}:\n{logs}"
        );
    }
}

#[test]
fn check_config_prints_the_effective_settings_without_secrets() {
    let bin = Binary::new("check");
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let output = bin.run(
        &["check-config"],
        &[
            ("CLERK_WEBHOOK_SIGNING_SECRET", secret),
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/clerk"),
            ("PORT", "9001"),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("port = 9001") && text.contains("url = \"postgres://app:***@db:5432/clerk\""),
        "{text}"
    );
    assert!(
        text.contains("CLERK_WEBHOOK_SIGNING_SECRET = \"<set, redacted>\"")
            && text.contains("CLERK_JWT_PUBLIC_KEY = \"<not set>\""),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        "{text}"
    );
    let bad = bin.run(&["check-config"], &[("CLERK_JWT_PUBLIC_KEY", "not a key")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("CLERK_JWT_PUBLIC_KEY: not an RSA public key in PEM format"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn events_purge_keeps_recent_entries_and_refuses_a_short_retention() {
    use clerk_sync_persistence::schema::webhook_events;
    use diesel::prelude::*;

    let db = TestDatabase::sqlite().expect("db");
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let now = chrono::Utc::now().naive_utc();
    for (svix_id, age_days) in [("msg_old", 40), ("msg_recent", 2)] {
        let at = now - chrono::Duration::days(age_days);
        diesel::insert_into(webhook_events::table)
            .values((
                webhook_events::svix_id.eq(svix_id),
                webhook_events::event_type.eq("user.created"),
                webhook_events::outcome.eq("applied"),
                webhook_events::attempts.eq(1),
                webhook_events::received_at.eq(at),
                webhook_events::last_received_at.eq(at),
            ))
            .execute(&mut *conn)
            .expect("insert");
    }
    let bin = Binary::new("purge");
    let url = db.url_string();
    let refused = bin.run(
        &["events", "purge", "--older-than", "1h"],
        &[("DATABASE_URL", &url)],
    );
    assert!(
        !refused.status.success() && stderr(&refused).contains("younger than 3 days"),
        "{}",
        stderr(&refused)
    );
    let purged = bin.run(
        &["events", "purge", "--older-than", "30d"],
        &[("DATABASE_URL", &url)],
    );
    assert!(purged.status.success(), "{}", stderr(&purged));
    assert_eq!(stdout(&purged).trim(), "purged 1 webhook log entries");
    let left: Vec<String> = webhook_events::table
        .select(webhook_events::svix_id)
        .load(&mut *conn)
        .expect("load");
    assert_eq!(left, vec!["msg_recent".to_owned()]);
}

#[test]
fn healthcheck_tells_a_running_server_from_none() {
    let bin = Binary::new("health");
    let port = free_port();
    let port_text = port.to_string();
    let nobody = bin.run(&["healthcheck"], &[("PORT", &port_text)]);
    assert!(!nobody.status.success());
    let server = bin.spawn_server(port, &[]);
    wait_until_ready(port);
    let healthy = bin.run(&["healthcheck"], &[("PORT", &port_text)]);
    stop(server);
    assert!(healthy.status.success(), "{}", stderr(&healthy));
}

#[test]
fn sigterm_lets_an_in_flight_delivery_finish() {
    let bin = Binary::new("graceful");
    assert!(bin.run(&["dev", "init"], &[]).status.success());
    let secret = std::fs::read_to_string(bin.dir.join(".env"))
        .expect(".env")
        .lines()
        .find_map(|l| {
            l.strip_prefix("CLERK_WEBHOOK_SIGNING_SECRET=")
                .map(str::to_owned)
        })
        .expect("secret");
    let port = free_port();
    let server = bin.spawn_server(port, &[]);
    wait_until_ready(port);
    let body = event_fixture("user.created").to_string();
    let signer = clerk_sync_svix::WebhookSecret::parse(&secret).expect("secret");
    let timestamp = u64::try_from(unix_now()).expect("positive");
    let mut request = format!(
        "POST /api/v1/auth/clerk_webhook/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in signer.signed_headers("msg_graceful", timestamp, body.as_bytes()) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream.write_all(request.as_bytes()).expect("headers");
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(first).expect("half the body");
    std::thread::sleep(Duration::from_millis(200));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    std::thread::sleep(Duration::from_millis(300));
    stream
        .write_all(rest)
        .expect("the rest of the body, after SIGTERM");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("an answer");
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "the in-flight delivery completes: {response}"
    );
    let output = server.wait_with_output().expect("exits");
    assert!(output.status.success(), "a clean exit after SIGTERM");
    // And a new connection is refused once the server has stopped.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn docker_compose_matches_what_the_server_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let compose: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root.join("docker-compose.yml")).expect("compose file"),
    )
    .expect("YAML");
    let services = &compose["services"];
    let app = &services["clerk-sync"];
    assert!(
        services["postgres"]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("postgres:"))
    );
    assert_eq!(
        app["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    assert!(services["postgres"]["healthcheck"]["test"].is_sequence());
    assert!(
        app["ports"]
            .as_sequence()
            .is_some_and(|p| p.iter().any(|p| p.as_str() == Some("8000:8000")))
    );
    let environment = app["environment"]
        .as_mapping()
        .expect("an environment mapping");
    let known = [
        "DATABASE_URL",
        "CLERK_WEBHOOK_SIGNING_SECRET",
        "CLERK_JWT_PUBLIC_KEY",
        "LOG_FORMAT",
        "CLERK_SYNC_ENV",
        "HOST",
        "PORT",
        "RUST_LOG",
    ];
    let mut settings_env = Vec::new();
    for (name, value) in environment {
        let name = name.as_str().expect("a variable name");
        assert!(
            known.contains(&name),
            "docker-compose.yml sets {name}, which the server does not read"
        );
        if let Some(value) = value.as_str().filter(|v| !v.starts_with("${")) {
            settings_env.push((name.to_owned(), value.to_owned()));
        }
    }
    // The values it sets must pass the server's own validation.
    let vars: std::collections::HashMap<String, String> = settings_env.into_iter().collect();
    let dir = root.join("config");
    let settings = clerk_sync_server::Settings::load_from(&|name| vars.get(name).cloned(), &dir)
        .expect("compose's settings are valid");
    assert_eq!(
        settings.database.url.backend(),
        clerk_sync_persistence::Backend::Postgres
    );
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains("HEALTHCHECK") && dockerfile.contains("clerk-sync\", \"healthcheck"),
        "the image checks its health"
    );
    assert!(
        dockerfile.contains("USER clerk-sync"),
        "the image runs as a non-root user"
    );
}
