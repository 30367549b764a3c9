//! Outage: PostgreSQL becomes unreachable (a TCP proxy between the server and PostgreSQL cuts
//! every connection and refuses new ones, or holds every byte as a hung server does), then
//! comes back. Meanwhile webhooks and
//! `/api/v1/ready` answer 503 promptly (the pool's bounded wait, no hang); afterwards
//! everything works again without a restart.
//!
//! SQLite is a file in the server's own process: it has no outage of this kind (a full disk or
//! a lost file is another failure), so this test runs on PostgreSQL only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clerk_sync_persistence::DatabaseUrl;
use clerk_sync_persistence::testing::TestDatabase;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use futures_util::StreamExt;

use super::*;
use crate::common::*;

/// Above the pool's 3 s connection timeout and the 8 s deadline of a request's database work,
/// below the 15 s after which Svix gives up on an attempt: only a hang fails this.
const HANG: Duration = Duration::from_secs(12);

/// A TCP proxy that can cut its connections and refuse new ones, or stall them (hold every
/// byte, as a hung server or a lost route does), then let them through again.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    stalled: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a proxy port");
        let port = listener.local_addr().expect("an address").port();
        let proxy = Self {
            port,
            up: Arc::new(AtomicBool::new(true)),
            stalled: Arc::new(AtomicBool::new(false)),
            stopped: Arc::new(AtomicBool::new(false)),
            open: Arc::new(Mutex::new(Vec::new())),
        };
        let (up, stalled, stopped, open) = (
            Arc::clone(&proxy.up),
            Arc::clone(&proxy.stalled),
            Arc::clone(&proxy.stopped),
            Arc::clone(&proxy.open),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if !up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (stalled, open) = (Arc::clone(&stalled), Arc::clone(&open));
                std::thread::spawn(move || {
                    wait_while(&stalled);
                    let Ok(server) = TcpStream::connect(target) else {
                        return;
                    };
                    let mut open = open.lock().expect("the connection list");
                    for stream in [&client, &server] {
                        open.extend(stream.try_clone());
                    }
                    pipe(&client, &server, &stalled);
                    pipe(&server, &client, &stalled);
                });
            }
        });
        proxy
    }

    /// Cuts every connection (both ways) and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for stream in self.open.lock().expect("the connection list").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// Holds every byte of every connection, and every new connection, until `resume`.
    fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    fn resume(&self) {
        self.stalled.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.resume();
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn wait_while(stalled: &AtomicBool) {
    while stalled.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Copies `from` to `to` on a thread of its own until either side closes; while `stalled`,
/// what is read is held back.
fn pipe(from: &TcpStream, to: &TcpStream, stalled: &Arc<AtomicBool>) {
    let stalled = Arc::clone(stalled);
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    wait_while(&stalled);
                    if to.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// The URL with its host and port replaced by the proxy's, and the address it replaced.
fn through_proxy(url: &str, proxy_port: u16) -> (String, SocketAddr) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host_port)) => (format!("{user}@"), host_port),
        None => (String::new(), authority),
    };
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let target = host_port
        .to_socket_addrs()
        .expect("the PostgreSQL address resolves")
        .next()
        .expect("an address");
    (
        format!("{scheme}://{user}127.0.0.1:{proxy_port}{path}"),
        target,
    )
}

fn user_event(id: &str, updated_at: i64) -> String {
    let mut event = event_fixture("user.created");
    event["data"]["id"] = id.into();
    event["data"]["updated_at"] = updated_at.into();
    event["data"]["email_addresses"] = serde_json::json!([]);
    event["data"]["primary_email_address_id"] = Value::Null;
    event.to_string()
}

async fn status_of(client: &reqwest::Client, url: &str) -> u16 {
    client
        .get(url)
        .send()
        .await
        .expect("the server answers")
        .status()
        .as_u16()
}

async fn timed<T>(request: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let value = request.await;
    (value, started.elapsed())
}

#[actix_web::test]
async fn a_database_outage_answers_503_promptly_and_recovers_without_a_restart() {
    let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") else {
        return;
    };
    let DatabaseUrl::Postgres(url) = db.url().clone() else {
        unreachable!("a PostgreSQL test database");
    };
    let proxy = Proxy::start(through_proxy(&url, 0).1);
    let (proxied, _) = through_proxy(&url, proxy.port);
    let server = TestServer::start(db, &[("DATABASE_URL", &proxied)]).await;
    let client = &server.client;
    let base = server.base.as_str();
    let ready_url = server.url("/api/v1/ready");
    let ready = || status_of(client, &ready_url);
    let before = post(client, base, "msg_before", &user_event("user_before", 1)).await;
    assert_eq!(before.expect("answers"), (200, "applied".to_owned()));
    assert_eq!(ready().await, 200);

    // A delivery whose connection is cut in the middle of its transaction: the test holds the
    // lock of its message id, so the delivery waits inside its transaction until the cut.
    let mut holder = PgConnection::establish(&url).expect("a direct connection");
    holder
        .batch_execute(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('msg:msg_midway', 0));",
        )
        .expect("the message's lock");
    let midway_body = user_event("user_midway", 2);
    let midway = post(client, base, "msg_midway", &midway_body);
    let cut_midway = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        proxy.cut();
    };
    let ((answer, midway_took), ()) = futures_util::future::join(timed(midway), cut_midway).await;
    holder
        .batch_execute("ROLLBACK")
        .expect("the lock is released");
    let answer = answer.expect("the server answers");
    assert_eq!(
        answer.0, 503,
        "a delivery cut off mid-transaction: {answer:?}"
    );
    assert!(
        midway_took < HANG,
        "the cut-off delivery answered after {midway_took:?}"
    );

    let (answer, webhook_took) = timed(post(
        client,
        base,
        "msg_during",
        &user_event("user_during", 2),
    ))
    .await;
    let answer = answer.expect("the server answers");
    assert_eq!(answer.0, 503, "a webhook during the outage: {answer:?}");
    assert!(
        webhook_took < HANG,
        "the webhook answered after {webhook_took:?}"
    );
    let (status, ready_took) = timed(ready()).await;
    assert_eq!(status, 503, "/ready during the outage");
    assert!(ready_took < HANG, "/ready answered after {ready_took:?}");
    // A burst, more than the pool holds: each still answers 503 in bounded time.
    let (answers, burst_took) = timed(
        futures_util::stream::iter(0..12)
            .map(|n| async move {
                let id = format!("user_burst_{n}");
                post(client, base, &format!("msg_burst_{n}"), &user_event(&id, 3)).await
            })
            .buffer_unordered(12)
            .collect::<Vec<_>>(),
    )
    .await;
    for answer in &answers {
        assert_eq!(answer.as_ref().map(|a| a.0).ok(), Some(503), "{answer:?}");
    }
    assert!(
        burst_took < HANG,
        "12 parallel webhooks took {burst_took:?}"
    );
    let health = client
        .get(server.url("/api/v1/health"))
        .send()
        .await
        .expect("answers");
    assert_eq!(
        health.status().as_u16(),
        200,
        "liveness does not depend on the database"
    );

    proxy.restore();
    let restored = Instant::now();
    while ready().await != 200 {
        assert!(
            restored.elapsed() < Duration::from_secs(30),
            "/ready stayed 503 after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovery = restored.elapsed();
    // Svix's retries now go through, once each.
    for (message, user) in [("msg_midway", "user_midway"), ("msg_during", "user_during")] {
        let retried = post(client, base, message, &user_event(user, 2)).await;
        assert_eq!(
            retried.expect("answers"),
            (200, "applied".to_owned()),
            "{message}"
        );
    }
    for n in 0..12 {
        let id = format!("user_burst_{n}");
        let answer = post(client, base, &format!("msg_burst_{n}"), &user_event(&id, 3)).await;
        assert_eq!(answer.expect("answers"), (200, "applied".to_owned()));
    }
    assert_eq!(server.count("users"), 15);
    eprintln!(
        "outage: a delivery cut off mid-transaction 503 in {midway_took:?} (500 ms of it waiting for the cut), webhook 503 in {webhook_took:?}, /ready 503 in {ready_took:?}, 12 parallel webhooks 503 in {burst_took:?}; ready again {recovery:?} after the database came back"
    );
}

#[actix_web::test]
async fn a_database_that_stops_answering_gets_503_promptly_and_recovers() {
    let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") else {
        return;
    };
    let DatabaseUrl::Postgres(url) = db.url().clone() else {
        unreachable!("a PostgreSQL test database");
    };
    let proxy = Proxy::start(through_proxy(&url, 0).1);
    let (proxied, _) = through_proxy(&url, proxy.port);
    let server = TestServer::start(db, &[("DATABASE_URL", &proxied)]).await;
    let client = &server.client;
    let base = server.base.as_str();
    let ready_url = server.url("/api/v1/ready");
    let before = post(client, base, "msg_before", &user_event("user_before", 1)).await;
    assert_eq!(before.expect("answers"), (200, "applied".to_owned()));

    proxy.stall();
    let (answer, webhook_took) = timed(post(
        client,
        base,
        "msg_during",
        &user_event("user_during", 2),
    ))
    .await;
    let answer = answer.expect("the server answers");
    assert_eq!(
        answer.0, 503,
        "a webhook while the database hangs: {answer:?}"
    );
    assert!(
        webhook_took < HANG,
        "the webhook answered after {webhook_took:?}"
    );
    let (status, ready_took) = timed(status_of(client, &ready_url)).await;
    assert_eq!(status, 503, "/ready while the database hangs");
    assert!(ready_took < HANG, "/ready answered after {ready_took:?}");

    proxy.resume();
    let resumed = Instant::now();
    while status_of(client, &ready_url).await != 200 {
        assert!(
            resumed.elapsed() < Duration::from_secs(30),
            "/ready stayed 503 after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovery = resumed.elapsed();
    let retried = post(client, base, "msg_during", &user_event("user_during", 2)).await;
    let retried = retried.expect("answers");
    assert_eq!(retried.0, 200, "{retried:?}");
    assert_eq!(server.count("users"), 2);
    eprintln!(
        "hung database: webhook 503 in {webhook_took:?}, /ready 503 in {ready_took:?}; ready again {recovery:?} after it answered again"
    );
}
