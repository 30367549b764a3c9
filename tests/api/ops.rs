//! Operating the server: request ids, metrics, README's tour, events purge, healthcheck,
//! graceful shutdown, and the Docker deployment files.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clerk_sync_persistence::testing::TestDatabase;
use serde_json::Value;

use crate::binary::*;
use crate::common::*;
use crate::readme;

server_tests!(
    every_response_carries_a_request_id,
    metrics_count_requests_deliveries_and_the_pool,
);

async fn every_response_carries_a_request_id(server: TestServer) {
    let response = server
        .client
        .get(server.url("/api/v1/health"))
        .send()
        .await
        .expect("answers");
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(id.len(), 32, "a fresh id: {id:?}");
    let response = server
        .client
        .get(server.url("/api/v1/health"))
        .header("x-request-id", "lb-1234.abc")
        .send()
        .await
        .expect("answers");
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("lb-1234.abc"),
        "a proxy's id is kept"
    );
    let response = server
        .client
        .get(server.url("/api/v1/health"))
        .header("x-request-id", "bad id; drop table")
        .send()
        .await
        .expect("answers");
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        id.len() == 32 && !id.contains(' '),
        "an unsafe id is replaced: {id:?}"
    );
}

async fn metrics_count_requests_deliveries_and_the_pool(server: TestServer) {
    server
        .deliver_json("msg_m1", &event_fixture("user.created"))
        .await;
    server
        .deliver_json("msg_m1", &event_fixture("user.created"))
        .await;
    server
        .get_as(
            "/api/v1/auth/me/",
            &token_for("user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE"),
        )
        .await;
    server
        .client
        .get(server.url("/api/v1/auth/me/"))
        .send()
        .await
        .expect("answers");
    server
        .get_as(
            "/api/v1/auth/me/",
            &sign_with(&claims("user_x"), "tests/fixtures/keys/other_private.pem"),
        )
        .await;
    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/plain"))
    );
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

/// Runs README's first command (the server) and its tour, command by command as README writes
/// them, in README's order, and compares what each prints with the lines README shows under
/// it. Only what a test cannot do is left out: building (the test's binary is used) and
/// `alias`. Between the two, the test also takes the step the tour warns against: a delivery to
/// the first server, which was started before `dev init` wrote the secrets.
#[test]
fn the_one_minute_tour_works_without_a_clerk_account() {
    let bin = Binary::new("tour");
    let port = free_port();
    let port_text = port.to_string();
    let env = [("PORT", port_text.as_str()), ("LOG_FORMAT", "json")];
    let address = format!("127.0.0.1:{port}");
    let first = readme::examples("The two commands")
        .into_iter()
        .next()
        .expect("README's first command");
    assert_eq!(first.command, "cargo run --release --bin clerk-sync");
    let tour = readme::examples("One-minute tour");
    let mut vars = HashMap::new();
    let mut first_server = None;
    let mut server = None;
    let mut tokens = Vec::new();
    for example in std::iter::once(first).chain(tour) {
        let command = example.command.replace("127.0.0.1:8000", &address);
        if command.starts_with("alias ") {
            continue;
        }
        let (target, command) = match command.split_once("=$(") {
            Some((name, rest)) if name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => (
                Some(name.to_owned()),
                rest.strip_suffix(')').expect("$(…)").to_owned(),
            ),
            _ => (None, command),
        };
        let words = readme::words(&command, &vars);
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let printed = match args.as_slice() {
            ["cargo", "run", "--release", "--bin", "clerk-sync"] => {
                first_server = Some(bin.spawn(&[], &env));
                wait_until_ready(port);
                continue;
            }
            [
                "cargo",
                "build",
                "--release",
                "--bin",
                "clerk-sync",
                "&&",
                "alias",
                ..,
            ] => continue,
            ["clerk-sync", "serve"] => {
                let first = first_server.take().expect("README starts a server first");
                let refused = bin.run(&["dev", "send", "user.created", "--print-id"], &env);
                assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
                assert!(
                    stdout(&refused).is_empty()
                        && stderr(&refused).contains(
                            "answer: 503 {\"detail\":\"Webhook verification is not configured: set CLERK_WEBHOOK_SIGNING_SECRET"
                        )
                        && stderr(&refused).contains("restart the server"),
                    "the first server says to restart it: {}",
                    stderr(&refused)
                );
                stop(first);
                server = Some(bin.spawn(&["serve"], &env));
                wait_until_ready(port);
                continue;
            }
            ["clerk-sync", rest @ ..] => {
                let output = bin.run(rest, &env);
                assert!(
                    output.status.success(),
                    "`{command}` failed:\n{}{}",
                    stdout(&output),
                    stderr(&output)
                );
                stdout(&output)
            }
            ["echo", rest @ ..] => format!("{}\n", rest.join(" ")),
            ["curl", "-s", "-H", header, url] => {
                let token = header
                    .strip_prefix("Authorization: Bearer ")
                    .expect("a bearer token");
                let path = url
                    .strip_prefix(&format!("http://{address}"))
                    .expect("a URL of the server");
                let response = http_get(port, path, Some(token));
                assert!(
                    response.starts_with("HTTP/1.1 200"),
                    "`{command}`: {response}"
                );
                response
                    .split("\r\n\r\n")
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned()
            }
            _ => panic!("the tour test does not know how to run `{command}`: teach it"),
        };
        if args.get(1..3) == Some(&["dev", "init"]) {
            assert!(
                printed.contains("wrote CLERK_WEBHOOK_SIGNING_SECRET, CLERK_JWT_PUBLIC_KEY, CLERK_DEV_PRIVATE_KEY to .env"),
                "{printed}"
            );
        }
        if let Some(name) = target {
            if name == "TOKEN" {
                tokens.push(printed.trim().to_owned());
            }
            vars.insert(name, printed.trim().to_owned());
        }
        if example.output.is_empty() {
            continue;
        }
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(
            lines.len(),
            example.output.len(),
            "`{command}` printed {printed:?}; README shows {:?}",
            example.output
        );
        for (line, shown) in lines.iter().zip(&example.output) {
            let shown = shown.replace("127.0.0.1:8000", &address);
            assert!(
                readme::fits(&shown, line),
                "`{command}` printed {line:?}; README shows {shown:?}"
            );
        }
    }
    assert!(
        tokens.len() >= 2,
        "the tour signs in, also with an organization"
    );

    let logs = stop(server.expect("the tour starts the server"));
    assert!(
        logs.contains("\"request_id\""),
        "JSON logs carry the request id:\n{logs}"
    );
    let env_text = std::fs::read_to_string(bin.dir.join(".env")).expect(".env");
    let secret = env_text
        .lines()
        .find_map(|l| l.strip_prefix("CLERK_WEBHOOK_SIGNING_SECRET="))
        .expect("dev init wrote the secret");
    for token in &tokens {
        assert!(
            !logs.contains(token.as_str()),
            "the logs must not contain a token:\n{logs}"
        );
    }
    for private in ["ada@example.com", secret] {
        assert!(
            !logs.contains(private),
            "the logs must not contain {private:?}:\n{logs}"
        );
    }
    let again = bin.run(&["dev", "init"], &[]);
    assert!(
        !again.status.success() && stderr(&again).contains("pass --force"),
        "a second init does not overwrite"
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
    let vars: HashMap<String, String> = settings_env.into_iter().collect();
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
