//! The test harness: a real clerk-sync server on port 0 over a test database, signed
//! deliveries, and session tokens minted with the test key.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{Database, DbConnection};
use clerk_sync_server::{Application, Settings};
use clerk_sync_svix::WebhookSecret;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The endpoint secret every test server is configured with.
pub const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub fn fixture(path: &str) -> String {
    let path = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"))
}

pub fn event_fixture(event_type: &str) -> Value {
    serde_json::from_str(&fixture(&format!(
        "crates/domain/tests/fixtures/events/{event_type}.json"
    )))
    .expect("fixture JSON")
}

/// A port nothing listens on now, for a process the test starts (which binds it itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .try_into()
        .unwrap_or(i64::MAX)
}

/// A running server and a client for it. Stops the server and drops its database on `Drop`.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub database: Database,
    /// The metrics listener's port, when the settings give it one.
    pub metrics_port: Option<u16>,
    handle: actix_web::dev::ServerHandle,
    _db: TestDatabase,
}

impl TestServer {
    pub async fn sqlite() -> Self {
        Self::start(TestDatabase::sqlite().expect("a SQLite test database"), &[]).await
    }

    pub async fn postgres() -> Option<Self> {
        let db = TestDatabase::postgres().expect("a PostgreSQL test database")?;
        Some(Self::start(db, &[]).await)
    }

    /// A server on SQLite with `overrides` (see [`TestServer::start`]).
    pub async fn sqlite_with(overrides: &[(&str, &str)]) -> Self {
        Self::start(
            TestDatabase::sqlite().expect("a SQLite test database"),
            overrides,
        )
        .await
    }

    /// A server on PostgreSQL with `overrides`, when PostgreSQL is available.
    pub async fn postgres_with(overrides: &[(&str, &str)]) -> Option<Self> {
        let db = TestDatabase::postgres().expect("a PostgreSQL test database")?;
        Some(Self::start(db, overrides).await)
    }

    /// Starts a server; `overrides` replace (or, with an empty value, unset) variables.
    pub async fn start(db: TestDatabase, overrides: &[(&str, &str)]) -> Self {
        Self::start_with(db, overrides, |_| {}).await
    }

    /// Starts a server with `overrides`, and settings changed by `adjust`.
    pub async fn start_with(
        db: TestDatabase,
        overrides: &[(&str, &str)],
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".to_owned(), db.url_string()),
            ("PORT".to_owned(), "0".to_owned()),
            (
                "CLERK_WEBHOOK_SIGNING_SECRET".to_owned(),
                SIGNING_SECRET.to_owned(),
            ),
            (
                "CLERK_JWT_PUBLIC_KEY".to_owned(),
                fixture("tests/fixtures/keys/test_public.pem"),
            ),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ]);
        if let Some(schema) = db.schema() {
            vars.insert("DATABASE_SCHEMA".to_owned(), schema.as_str().to_owned());
        }
        for (name, value) in overrides {
            vars.insert((*name).to_owned(), (*value).to_owned());
        }
        let mut settings =
            Settings::load(&|name| vars.get(name).cloned()).expect("valid test settings");
        settings.server.workers = 2;
        adjust(&mut settings);
        let application = Application::build(&settings).expect("the server starts");
        let metrics_port = application.metrics_port();
        let base = format!("http://127.0.0.1:{}", application.port());
        let handle = application.handle();
        actix_web::rt::spawn(application.run_until_stopped());
        let database = db.connect().expect("the test can open the database");
        Self {
            base,
            client: reqwest::Client::new(),
            database,
            metrics_port,
            handle,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn conn(&self) -> clerk_sync_persistence::Conn {
        self.database.get().expect("a connection")
    }

    /// Posts a body signed now with the test secret under `msg_id`.
    pub async fn deliver(&self, msg_id: &str, body: &str) -> reqwest::Response {
        self.deliver_at(msg_id, body, unix_now()).await
    }

    /// Posts a body signed with `timestamp` as its svix-timestamp.
    pub async fn deliver_at(&self, msg_id: &str, body: &str, timestamp: i64) -> reqwest::Response {
        let secret = WebhookSecret::parse(SIGNING_SECRET).expect("valid secret");
        let timestamp = u64::try_from(timestamp).expect("a positive timestamp");
        let mut request = self
            .client
            .post(self.url("/api/v1/auth/clerk_webhook/"))
            .body(body.to_owned());
        for (name, value) in secret.signed_headers(msg_id, timestamp, body.as_bytes()) {
            request = request.header(name, value);
        }
        request.send().await.expect("the server answers")
    }

    /// Delivers a JSON event and returns the status and the reported outcome.
    pub async fn deliver_json(&self, msg_id: &str, body: &Value) -> (u16, String) {
        let response = self.deliver(msg_id, &body.to_string()).await;
        let status = response.status().as_u16();
        let json: Value = response.json().await.unwrap_or(Value::Null);
        let outcome = json["outcome"]
            .as_str()
            .or(json["detail"].as_str())
            .unwrap_or_default()
            .to_owned();
        (status, outcome)
    }

    pub async fn get_as(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub fn count(&self, table: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(conn)
            .expect("count")
            .n
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Stop without waiting for in-flight requests; the test is over.
        drop(self.handle.stop(false));
    }
}

/// Claims of a Clerk session token, valid for a minute from now.
pub fn claims(sub: &str) -> Value {
    let now = unix_now();
    json!({"sub": sub, "sid": "sess_test", "iat": now, "nbf": now - 10, "exp": now + 60,
           "iss": "https://clerk.example.test", "azp": "http://localhost:3000"})
}

/// Signs claims with the test key (what Clerk's instance would do).
pub fn sign(claims: &Value) -> String {
    sign_with(claims, "tests/fixtures/keys/test_private.pem")
}

pub fn sign_with(claims: &Value, private_key: &str) -> String {
    let key = EncodingKey::from_rsa_pem(fixture(private_key).as_bytes()).expect("test key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("signs")
}

/// Signs claims with `{key}_private.pem`, naming `kid` in the header (as Clerk does).
pub fn sign_kid(claims: &Value, key: &str, kid: &str) -> String {
    let private = EncodingKey::from_rsa_pem(fixture(&format!("{key}_private.pem")).as_bytes())
        .expect("test key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &private).expect("signs")
}

pub fn token_for(sub: &str) -> String {
    sign(&claims(sub))
}

/// Runs each named async function as two tests, against a server on SQLite and one on
/// PostgreSQL: a module per function, with the tests `sqlite` and `postgres`. The functions are
/// plain items, so rustfmt and the compiler read them like any other code. With
/// `overrides = EXPR;` first, the servers start with those variables (see
/// [`TestServer::start`]).
macro_rules! server_tests {
    (overrides = $overrides:expr; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[actix_web::test]
                async fn sqlite() {
                    let server = $crate::common::TestServer::sqlite_with($overrides).await;
                    super::$name(server).await;
                }

                #[actix_web::test]
                async fn postgres() {
                    if let Some(server) = $crate::common::TestServer::postgres_with($overrides).await {
                        super::$name(server).await;
                    }
                }
            }
        )*
    };
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::common::TestServer::sqlite().await).await;
                }

                #[actix_web::test]
                async fn postgres() {
                    if let Some(server) = $crate::common::TestServer::postgres().await {
                        super::$name(server).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use server_tests;

/// Runs each named async function as two tests, given a fresh SQLite and a fresh PostgreSQL
/// test database: for tests that start their server with settings of their own.
macro_rules! database_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name(
                        clerk_sync_persistence::testing::TestDatabase::sqlite()
                            .expect("a SQLite test database"),
                    )
                    .await;
                }

                #[actix_web::test]
                async fn postgres() {
                    if let Some(db) = clerk_sync_persistence::testing::TestDatabase::postgres()
                        .expect("a PostgreSQL test database")
                    {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use database_tests;

/// The server's `/metrics`, as text.
pub async fn metrics_text(server: &TestServer) -> String {
    server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("the server answers")
        .text()
        .await
        .expect("a body")
}

/// The value of the counter `series` (e.g. `clerk_sync_read_through_total{result="synced"}`)
/// in the server's `/metrics`; 0 when never counted.
pub async fn counter(server: &TestServer, series: &str) -> u64 {
    let text = metrics_text(server).await;
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}
