//! Forward auth: `/api/v1/auth/verify` on its own, and behind the real reverse proxies with
//! the configurations committed in `deploy/` (nginx, Caddy), in front of an upstream that
//! echoes the headers it received.

mod caddy;
mod endpoint;
mod nginx;
mod untested_proxies;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clerk_sync_persistence::schema::users;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::*;

/// The user of the `user.created` fixture (local id 1 once seeded).
const SYNCED: &str = "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE";
const SYNCED_EMAIL: &str = "ada.lovelace@example.com";
const NOT_SYNCED: &str = "user_2NotInTheMirrorYet";
const ORGANIZATION: &str = "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB";

/// Every header of the forward auth contract.
const IDENTITY_HEADERS: [&str; 9] = [
    "x-clerk-user-id",
    "x-clerk-session-id",
    "x-clerk-org-id",
    "x-clerk-org-slug",
    "x-clerk-org-role",
    "x-clerk-org-permissions",
    "x-user-id",
    "x-user-email",
    "x-user-is-staff",
];

async fn seed(server: &TestServer) {
    let (status, outcome) = server
        .deliver_json("msg_seed_user", &event_fixture("user.created"))
        .await;
    assert_eq!((status, outcome.as_str()), (200, "applied"));
}

/// Claims of a session with the fixture organization active (version 1 format).
fn member_claims(user: &str, role: &str) -> Value {
    let mut claims = claims(user);
    claims["org_id"] = json!(ORGANIZATION);
    claims["org_role"] = json!(role);
    claims["org_slug"] = json!("analytical-engines");
    claims["org_permissions"] = json!(["org:invoices:read", "org:invoices:create"]);
    claims
}

fn member_token(user: &str, role: &str) -> String {
    sign(&member_claims(user, role))
}

/// Sets `is_active` or `is_staff` of a user, as staff would on the admin pages.
fn set_user_flag(server: &TestServer, clerk_id: &str, flag: &str, value: bool) {
    let mut conn = server.conn();
    let target = users::table.filter(users::clerk_id.eq(clerk_id));
    let updated = match flag {
        "is_active" => diesel::update(target)
            .set(users::is_active.eq(value))
            .execute(&mut *conn),
        "is_staff" => diesel::update(target)
            .set(users::is_staff.eq(value))
            .execute(&mut *conn),
        other => panic!("no flag {other}"),
    }
    .expect("the update runs");
    assert_eq!(updated, 1, "{clerk_id} is in the mirror");
}

/// An upstream (the team's API, the front end) that answers every request with the request
/// line and the headers it received, as JSON, and counts the requests that reached it.
struct EchoUpstream {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl EchoUpstream {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the upstream");
        let port = listener.local_addr().expect("an address").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || echo(stream, &counter));
            }
        });
        Self { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Reads one request's head (bodies are not sent by these tests) and answers it.
fn echo(stream: TcpStream, hits: &AtomicUsize) {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let mut headers: Vec<Value> = Vec::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {
                if let Some((name, value)) = line.trim_end().split_once(':') {
                    headers.push(json!([name.to_ascii_lowercase(), value.trim()]));
                }
            }
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let body = json!({"request": request_line.trim_end(), "headers": headers}).to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ignored = (&stream).write_all(answer.as_bytes());
}

/// What the upstream answered: the values it received for `name`.
fn received(echoed: &Value, name: &str) -> Vec<String> {
    echoed["headers"]
        .as_array()
        .expect("the echoed headers")
        .iter()
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A reverse proxy process started by a test; killed on `Drop`.
struct Proxy {
    child: Child,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
}

impl Proxy {
    /// Starts `command` and waits until `port` accepts connections.
    fn start(mut command: Command, port: u16, dir: PathBuf, log: PathBuf) -> Self {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("the proxy's log file"))
            .spawn()
            .expect("the proxy starts");
        let mut proxy = Self {
            child,
            port,
            dir,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                panic!("the proxy exited with {status}: {}", proxy.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the proxy did not listen on {port} within 15 s: {}",
                proxy.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ignored = self.child.kill();
        let _ignored = self.child.wait();
        let _ignored = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh folder for a proxy's configuration and state.
fn proxy_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "clerk-sync-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("the proxy's folder");
    dir
}

/// The repository's `deploy/` folder.
fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(path)
}

/// `text` with `from` replaced by `to`, which must occur: a template that drifted from the
/// test fails here rather than testing something else.
fn substitute(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "the committed configuration no longer contains `{from}`"
    );
    text.replace(from, to)
}

/// The proxy binary, or `None` after announcing the skip (a failure when `require` is set).
fn find_proxy(path: &str, require: &str, install: &str) -> Option<PathBuf> {
    let binary = PathBuf::from(path);
    if binary.exists() {
        return Some(binary);
    }
    assert!(
        std::env::var(require).as_deref() != Ok("1"),
        "{require}=1 but {path} is missing ({install})"
    );
    let _ignored = writeln!(
        std::io::stderr(),
        "\nNOTE: the forward auth test behind {path} was SKIPPED: it is not installed \
         ({install}). Set {require}=1 to make this an error.\n"
    );
    None
}

/// Sends a GET through a proxy with a token (as a Bearer header) and extra headers.
async fn through(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the proxy answers")
}

/// What every proxy must do, given its base URL for the protected API (`api`, e.g.
/// `/api/things`) and for a location that requires `role=org:admin` (`admin`).
async fn check_proxy(
    server: &TestServer,
    upstream: &EchoUpstream,
    proxy: &Proxy,
    api: &str,
    admin: &str,
) {
    let client = reqwest::Client::new();
    seed(server).await;
    let forged: Vec<(&str, &str)> = IDENTITY_HEADERS
        .iter()
        .map(|name| (*name, "forged"))
        .collect();

    // A valid token reaches the upstream with its identity, and nothing the client forged.
    let before = upstream.hits();
    let response = through(
        &client,
        &proxy.url(api),
        Some(&member_token(SYNCED, "org:member")),
        &forged,
    )
    .await;
    assert_eq!(response.status().as_u16(), 200, "{}", proxy.log_text());
    let echoed: Value = response.json().await.expect("the upstream's JSON");
    assert_eq!(upstream.hits(), before + 1);
    for (name, expected) in [
        ("x-clerk-user-id", SYNCED),
        ("x-clerk-session-id", "sess_test"),
        ("x-clerk-org-id", ORGANIZATION),
        ("x-clerk-org-slug", "analytical-engines"),
        ("x-clerk-org-role", "org:member"),
        (
            "x-clerk-org-permissions",
            "org:invoices:read,org:invoices:create",
        ),
        ("x-user-id", "1"),
        ("x-user-email", SYNCED_EMAIL),
        ("x-user-is-staff", "false"),
    ] {
        assert_eq!(
            received(&echoed, name),
            vec![expected.to_owned()],
            "{name}: {echoed}"
        );
    }

    // A user the mirror lacks, without an organization: the forged X-User-* and org headers
    // are removed, not left in place of the ones clerk-sync did not send.
    let response = through(
        &client,
        &proxy.url(api),
        Some(&token_for(NOT_SYNCED)),
        &forged,
    )
    .await;
    assert_eq!(response.status().as_u16(), 200, "{}", proxy.log_text());
    let echoed: Value = response.json().await.expect("the upstream's JSON");
    assert_eq!(
        received(&echoed, "x-clerk-user-id"),
        vec![NOT_SYNCED.to_owned()],
        "{echoed}"
    );
    for name in &IDENTITY_HEADERS[2..] {
        assert!(
            received(&echoed, name).is_empty(),
            "{name} reached the upstream: {echoed}"
        );
    }

    // No token, or a forged identity without one: 401, and the upstream never sees it.
    let before = upstream.hits();
    for extra in [vec![], forged.clone()] {
        let response = through(&client, &proxy.url(api), None, &extra).await;
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
    }
    let response = through(&client, &proxy.url(api), Some("not-a-token"), &forged).await;
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        upstream.hits(),
        before,
        "a refused request reached the upstream"
    );

    // The role location refuses a member and lets an admin through.
    let response = through(
        &client,
        &proxy.url(admin),
        Some(&member_token(SYNCED, "org:member")),
        &[],
    )
    .await;
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(
        upstream.hits(),
        before,
        "a member reached the admin location"
    );
    let response = through(
        &client,
        &proxy.url(admin),
        Some(&member_token(SYNCED, "org:admin")),
        &[],
    )
    .await;
    assert_eq!(response.status().as_u16(), 200, "{}", proxy.log_text());
    assert_eq!(upstream.hits(), before + 1);

    // A disabled account is refused although its token is valid.
    set_user_flag(server, SYNCED, "is_active", false);
    let response = through(&client, &proxy.url(api), Some(&token_for(SYNCED)), &[]).await;
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(upstream.hits(), before + 1);
}
