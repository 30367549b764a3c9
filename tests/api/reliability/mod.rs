//! Reliability under Svix's delivery pattern, black-box: parallel and repeated deliveries,
//! two server processes on one database, `kill -9` in the middle of a load, and a database
//! outage. Histories come from the Clerk model the convergence property test uses.

#[path = "../../../crates/persistence/tests/model/mod.rs"]
mod model;

mod concurrency;
mod crash;
mod outage;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{Database, DatabaseUrl, PoolOptions};
use clerk_sync_svix::WebhookSecret;
use serde_json::Value;

use crate::common::{SIGNING_SECRET, unix_now};
use model::{Clerk, EMAILS, Mirror, Op};

/// The seed of a test's history and schedule: `seed`, or `RELIABILITY_SEED` when set (to
/// explore other histories, or to reproduce a failure that printed its seed).
pub fn seed(seed: u64) -> u64 {
    std::env::var("RELIABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(seed)
}

/// A small deterministic generator (xorshift64*): the same seed, the same history and schedule.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // Spread the seed's bits (xorshift needs a non-zero state; near seeds must differ).
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn small(&mut self) -> u8 {
        u8::try_from(self.below(8)).unwrap_or(0)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A random history of `ops` operations on the model of Clerk.
pub fn history(rng: &mut Rng, ops: usize) -> Clerk {
    let ops: Vec<Op> = (0..ops)
        .map(|_| {
            let email = |rng: &mut Rng| {
                rng.chance(85)
                    .then(|| u8::try_from(rng.below(usize::from(EMAILS))).unwrap_or(0))
            };
            match rng.below(13) {
                0 => Op::CreateUser {
                    email: email(rng),
                    name: rng.small(),
                },
                1 => Op::RenameUser {
                    user: rng.small(),
                    name: rng.small(),
                },
                2 => Op::ChangePrimaryEmail {
                    user: rng.small(),
                    email: email(rng),
                    drop_old: rng.chance(50),
                },
                3 => Op::SwapEmails {
                    a: rng.small(),
                    b: rng.small(),
                },
                4 => Op::DeleteUser {
                    user: rng.small(),
                    notify_memberships: rng.chance(50),
                },
                5 => Op::CreateOrg { name: rng.small() },
                6 => Op::RenameOrg {
                    org: rng.small(),
                    name: rng.small(),
                },
                7 => Op::DeleteOrg {
                    org: rng.small(),
                    notify_memberships: rng.chance(50),
                },
                8 => Op::Join {
                    user: rng.small(),
                    org: rng.small(),
                    role: rng.small(),
                },
                9 => Op::ChangeRole {
                    user: rng.small(),
                    org: rng.small(),
                    role: rng.small(),
                },
                10 => Op::AddUnverifiedPrimary {
                    user: rng.small(),
                    email: u8::try_from(rng.below(usize::from(EMAILS))).unwrap_or(0),
                },
                11 => Op::VerifyPrimary { user: rng.small() },
                _ => Op::Leave {
                    user: rng.small(),
                    org: rng.small(),
                },
            }
        })
        .collect();
    Clerk::run(&ops)
}

/// `events` indices in a random order, with `repeats` random repetitions inserted: what Svix
/// may deliver.
pub fn schedule(rng: &mut Rng, events: usize, repeats: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..events).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for _ in 0..repeats {
        let event = rng.below(events);
        let position = rng.below(order.len() + 1);
        order.insert(position, event);
    }
    order
}

/// The Svix message id of the `index`-th event of a history.
pub fn message_id(index: usize) -> String {
    format!("msg_rel_{index:04}")
}

/// Posts a signed delivery; `Err` when no HTTP answer came (connection refused or cut).
pub async fn post(
    client: &reqwest::Client,
    base: &str,
    msg_id: &str,
    body: &str,
) -> Result<(u16, String), reqwest::Error> {
    let secret = WebhookSecret::parse(SIGNING_SECRET).expect("valid secret");
    let timestamp = u64::try_from(unix_now()).expect("a positive timestamp");
    let mut request = client
        .post(format!("{base}/api/v1/auth/clerk_webhook/"))
        .body(body.to_owned());
    for (name, value) in secret.signed_headers(msg_id, timestamp, body.as_bytes()) {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let json: Value = response.json().await.unwrap_or(Value::Null);
    let outcome = json["outcome"]
        .as_str()
        .or(json["detail"].as_str())
        .unwrap_or_default()
        .to_owned();
    Ok((status, outcome))
}

/// The mirror of a test database, read over a connection of the test's own.
pub fn mirror_of(db: &TestDatabase) -> Mirror {
    let database = open(db.url());
    let mut conn = database.get().expect("a connection");
    model::dump(&mut conn)
}

pub fn open(url: &DatabaseUrl) -> Database {
    Database::connect(url, &PoolOptions::default()).expect("the test can open the database")
}

/// The real `clerk-sync` binary serving on a port of its own, in a working directory of its
/// own (so no `.env` of the checkout is read). Killed (`SIGKILL`) on `Drop`.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    dir: PathBuf,
}

impl ServerProcess {
    /// Starts `clerk-sync serve` on `database_url` and waits until it is ready.
    pub async fn start(name: &str, database_url: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "clerk-sync-reliability-{}-{name}-{}",
            std::process::id(),
            unix_now()
        ));
        std::fs::create_dir_all(&dir).expect("a working directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(env!("CARGO_BIN_EXE_clerk-sync"))
            .arg("serve")
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("PORT", port.to_string())
            .env("CLERK_WEBHOOK_SIGNING_SECRET", SIGNING_SECRET)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        server.wait_until_ready().await;
        server
    }

    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = client
                .get(format!("{}/api/v1/ready", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server at {} did not become ready", self.base);
    }

    /// `kill -9`: the process dies at once, whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Redelivers `pending` (indices of `events`) until each gets a 2xx, as Svix retries: every
/// answer must be 200 or the retryable 503. Returns how many 503s were answered.
pub async fn deliver_until_accepted(
    client: &reqwest::Client,
    bases: &[&str],
    events: &[Value],
    mut pending: Vec<usize>,
) -> usize {
    let mut unavailable = 0;
    for round in 0..20 {
        if pending.is_empty() {
            return unavailable;
        }
        let mut again = Vec::new();
        for (n, index) in pending.into_iter().enumerate() {
            let base = bases[(n + round) % bases.len()];
            let answer = post(client, base, &message_id(index), &events[index].to_string())
                .await
                .expect("the server answers");
            match answer.0 {
                200 => {}
                503 => {
                    unavailable += 1;
                    again.push(index);
                }
                status => panic!("message {index}: {status} {}", answer.1),
            }
        }
        pending = again;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        pending.is_empty(),
        "still refused after 20 rounds: {pending:?}"
    );
    unavailable
}
