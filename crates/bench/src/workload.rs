//! What the benchmark sends: signed `user.created` / `user.updated` deliveries built from the
//! development templates, session tokens minted with the test key, and Clerk Backend API reads
//! with the instance's secret key.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use clerk_sync_dev::templates::{self, Subject};
use clerk_sync_dev::token::{TokenRequest, mint};
use clerk_sync_domain::{ClerkEvent, EventEnvelope, UnixMillis};
use clerk_sync_svix::WebhookSecret;

use crate::load::Workload;

/// The endpoint secret the benchmarked server is configured with.
pub const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The instance's secret key the benchmarked server is configured with (`CLERK_SECRET_KEY`);
/// the server only compares it, so any `sk_test_…` text does.
pub const SECRET_KEY: &str = "sk_test_clerksyncbenchmarkonlynotarealkey0000";

/// Stands for the version time in the templates (13 digits, like the Unix ms it is replaced
/// with), so a body is a string substitution away from any version.
const VERSION_PLACEHOLDER: &str = "1111111111111";

/// The Clerk id of the `i`-th seeded user.
pub fn user_id(i: usize) -> String {
    format!("user_bench{i}")
}

/// The primary email of the `i`-th seeded user.
pub fn email(i: usize) -> String {
    format!("bench{i}@example.com")
}

/// Deliveries about the seeded users. Every delivery gets the next number of one sequence: its
/// message id and its version (`updated_at`) are derived from it, so each is new and newer than
/// the last one about its user, and is applied.
pub struct Deliveries {
    /// `user.created` bodies, one per user, with the version placeholder.
    bodies: Vec<String>,
    secret: WebhookSecret,
    /// The version of delivery 0 (Unix ms at the start of the benchmark).
    base_version: i64,
    /// Tells this benchmark's message ids from those of earlier runs on the same database.
    run: i64,
    sequence: AtomicU64,
    /// `user.updated` rather than `user.created`.
    updates: AtomicBool,
}

impl Deliveries {
    /// Bodies for `users` users.
    ///
    /// # Errors
    /// When a template does not produce what the benchmark expects.
    pub fn new(users: usize) -> anyhow::Result<Self> {
        let placeholder: i64 = VERSION_PLACEHOLDER.parse()?;
        let mut bodies = Vec::with_capacity(users);
        for i in 0..users {
            let subject = Subject {
                user: user_id(i),
                email: Some(email(i)),
                first_name: Some("Bench".to_owned()),
                last_name: Some(format!("User {i}")),
                organization: "org_bench".to_owned(),
                organization_name: "Bench".to_owned(),
                membership: "orgmem_bench".to_owned(),
                role: "org:member".to_owned(),
            };
            bodies.push(templates::event("user.created", &subject, placeholder)?.to_string());
        }
        let now = unix_millis();
        Ok(Self {
            bodies,
            secret: WebhookSecret::parse(SIGNING_SECRET)?,
            base_version: now,
            run: now,
            sequence: AtomicU64::new(0),
            updates: AtomicBool::new(false),
        })
    }

    /// From now on, deliveries are `user.updated` rather than `user.created`.
    pub fn switch_to_updates(&self) {
        self.updates.store(true, Ordering::Relaxed);
    }

    fn event_type(&self) -> &'static str {
        if self.updates.load(Ordering::Relaxed) {
            "user.updated"
        } else {
            "user.created"
        }
    }

    /// How many users the deliveries are about.
    pub fn users(&self) -> usize {
        self.bodies.len()
    }

    /// The next delivery: its message id, the user's index and its body.
    pub fn next(&self) -> (String, usize, String) {
        let (sequence, id, version) = self.take();
        let user = usize::try_from(sequence).unwrap_or(0) % self.bodies.len();
        let body = self.bodies[user]
            .replace(VERSION_PLACEHOLDER, &version.0.to_string())
            .replacen(
                "\"type\":\"user.created\"",
                &format!("\"type\":\"{}\"", self.event_type()),
                1,
            );
        (id, user, body)
    }

    /// The next number of the sequence, without a body: a new message id and a version newer
    /// than any delivery's so far.
    pub fn claim(&self) -> (String, UnixMillis) {
        let (_, id, version) = self.take();
        (id, version)
    }

    /// Takes the next number of the sequence: it, and the message id and version derived from it.
    fn take(&self) -> (u64, String, UnixMillis) {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let version = self.base_version + i64::try_from(sequence).unwrap_or(i64::MAX);
        (
            sequence,
            format!("msg_bench{}_{sequence}", self.run),
            UnixMillis(version),
        )
    }

    /// Checks that a body says what the benchmark means it to say.
    ///
    /// # Errors
    /// When it parses into something else.
    pub fn check(&self) -> anyhow::Result<()> {
        let before = self.sequence.load(Ordering::Relaxed);
        let (_, user, body) = self.next();
        self.sequence.store(before, Ordering::Relaxed);
        let envelope = EventEnvelope::parse(body.as_bytes())?;
        let ClerkEvent::UserUpserted(snapshot) = envelope.event else {
            anyhow::bail!("the template is not a user event");
        };
        ensure!(
            snapshot.clerk_id.as_str() == user_id(user),
            "unexpected user id"
        );
        ensure!(
            snapshot.updated_at == UnixMillis(self.base_version + i64::try_from(before)?),
            "the version placeholder was not replaced"
        );
        ensure!(
            envelope.event_type == self.event_type(),
            "unexpected event type"
        );
        Ok(())
    }
}

impl Workload for Deliveries {
    fn request(&self, _i: u64) -> Cow<'_, [u8]> {
        let (id, _, body) = self.next();
        let timestamp = unix_millis().unsigned_abs() / 1000;
        let mut request = format!(
            "POST /api/v1/auth/clerk_webhook/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in self.secret.signed_headers(&id, timestamp, body.as_bytes()) {
            request.push_str(name);
            request.push_str(": ");
            request.push_str(&value);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        request.push_str(&body);
        Cow::Owned(request.into_bytes())
    }

    fn accept(&self, status: u16, body: &[u8]) -> bool {
        // Each delivery is new and newer than the one before about its user, so it is applied;
        // `stale` happens only when one overtakes the previous delivery about the same user
        // (sent a whole round of users earlier) on its way to the commit, and does the same
        // work but the UPDATE.
        status == 200
            && (contains(body, br#""outcome":"applied""#)
                || contains(body, br#""outcome":"stale""#))
    }
}

/// `GET /api/v1/auth/me/` with one valid session token per seeded user, in turn.
pub struct Me {
    requests: Vec<Vec<u8>>,
    /// Whether the requests go to forward auth (`/api/v1/auth/verify`) instead.
    verify: bool,
}

impl Me {
    /// Mints a token for each of `users` users, on all cores (RSA signing is slow).
    ///
    /// # Errors
    /// When the key cannot sign.
    pub fn new(private_key: &str, users: usize) -> anyhow::Result<Self> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let chunk = users.div_ceil(threads).max(1);
        let indexes: Vec<usize> = (0..users).collect();
        let minted: Vec<anyhow::Result<Vec<Vec<u8>>>> = std::thread::scope(|scope| {
            let workers: Vec<_> = indexes
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|&i| -> anyhow::Result<Vec<u8>> {
                                let user = user_id(i);
                                let token = mint(
                                    private_key,
                                    &TokenRequest {
                                        user: &user,
                                        organization: None,
                                        role: None,
                                        organization_slug: None,
                                        expires_in: Duration::from_secs(4 * 3600),
                                    },
                                )?;
                                Ok(format!(
                                    "GET /api/v1/auth/me/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
                                )
                                .into_bytes())
                            })
                            .collect()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| {
                    worker
                        .join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a minting thread panicked")))
                })
                .collect()
        });
        let mut requests = Vec::with_capacity(users);
        for part in minted {
            requests.extend(part.context("cannot mint the session tokens")?);
        }
        Ok(Self {
            requests,
            verify: false,
        })
    }

    /// The same tokens sent to `GET /api/v1/auth/verify` (forward auth), which does the same
    /// token check and the same user lookup and answers in headers only.
    pub fn to_verify(&self) -> Self {
        let requests = self
            .requests
            .iter()
            .map(|request| {
                let rest = request
                    .strip_prefix(b"GET /api/v1/auth/me/ ".as_slice())
                    .unwrap_or(request);
                [b"GET /api/v1/auth/verify ".as_slice(), rest].concat()
            })
            .collect();
        Self {
            requests,
            verify: true,
        }
    }
}

impl Workload for Me {
    fn request(&self, i: u64) -> Cow<'_, [u8]> {
        let index = usize::try_from(i).unwrap_or(0) % self.requests.len();
        Cow::Borrowed(&self.requests[index])
    }

    fn accept(&self, status: u16, body: &[u8]) -> bool {
        if self.verify {
            status == 200 && body.is_empty()
        } else {
            status == 200 && contains(body, br#""clerk_id":"user_bench"#)
        }
    }
}

/// Clerk's Backend API reads answered from the mirror (`/clerk/v1`, as an SDK with `apiUrl`
/// pointing at clerk-sync sends them): one request per seeded user, sent in a scattered order
/// so that consecutive requests are about unrelated users.
pub struct ClerkReads {
    requests: Vec<Vec<u8>>,
    /// Whether the answer is a list (`GET /users`) rather than one user.
    list: bool,
}

impl ClerkReads {
    /// `GET /clerk/v1/users/{user_id}` of each of `users` seeded users.
    pub fn user(users: usize) -> Self {
        Self::new(users, false, |i| format!("/clerk/v1/users/{}", user_id(i)))
    }

    /// `GET /clerk/v1/users?email_address=…` with each of `users` seeded users' address,
    /// encoded as the SDKs encode it; the default order (`-created_at`) and limit (10).
    pub fn users_by_email(users: usize) -> Self {
        Self::new(users, true, |i| {
            format!(
                "/clerk/v1/users?email_address={}",
                email(i).replace('@', "%40")
            )
        })
    }

    fn new(users: usize, list: bool, path: impl Fn(usize) -> String) -> Self {
        let requests = (0..users)
            .map(|i| {
                format!(
                    "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {SECRET_KEY}\r\nClerk-API-Version: 2026-05-12\r\n\r\n",
                    path(i)
                )
                .into_bytes()
            })
            .collect();
        Self { requests, list }
    }
}

impl Workload for ClerkReads {
    fn request(&self, i: u64) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.requests[scattered(i, self.requests.len())])
    }

    fn accept(&self, status: u16, body: &[u8]) -> bool {
        // The stored Clerk object; PostgreSQL renders JSONB with a space after each colon, so
        // the check looks for the id's value alone.
        let user = contains(body, b"\"user_bench") && contains(body, b"\"email_addresses\"");
        status == 200 && user && (!self.list || body.starts_with(b"[{"))
    }
}

/// The `i`-th of a fixed scattered sequence over `0..n` (a SplitMix64 step of `i`): requests
/// about unrelated users one after another, the same for every run.
pub fn scattered(i: u64, n: usize) -> usize {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    usize::try_from(z % n.max(1) as u64).unwrap_or(0)
}

/// `GET /api/v1/health`: what the server and the generator achieve without a database or a
/// token, the ceiling of the HTTP layer on this machine.
pub struct Health;

impl Workload for Health {
    fn request(&self, _i: u64) -> Cow<'_, [u8]> {
        Cow::Borrowed(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    }

    fn accept(&self, status: u16, _body: &[u8]) -> bool {
        status == 200
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scattered_stays_in_range_and_reaches_most_users() {
        let n = 2000;
        let mut seen = vec![false; n];
        for i in 0..10 * n as u64 {
            seen[scattered(i, n)] = true;
        }
        assert!(seen.iter().filter(|&&s| s).count() > n * 99 / 100);
        assert_ne!(
            scattered(0, n) + 1,
            scattered(1, n),
            "consecutive, not scattered"
        );
    }

    #[test]
    fn clerk_reads_accept_the_stored_object_in_either_backend_rendering() {
        let user = ClerkReads::user(1);
        let list = ClerkReads::users_by_email(1);
        let sqlite = br#"{"id":"user_bench0","email_addresses":[]}"#;
        let postgres = br#"{"id": "user_bench0", "email_addresses": []}"#;
        assert!(user.accept(200, sqlite) && user.accept(200, postgres));
        assert!(list.accept(200, &[b"[".as_slice(), postgres, b"]"].concat()));
        assert!(!list.accept(200, b"[]"), "an empty list is a failure");
        assert!(!user.accept(404, sqlite));
        let request = String::from_utf8_lossy(&list.request(0)).into_owned();
        assert!(request.starts_with("GET /clerk/v1/users?email_address=bench0%40example.com "));
        assert!(request.contains(&format!("Authorization: Bearer {SECRET_KEY}\r\n")));
    }
}
