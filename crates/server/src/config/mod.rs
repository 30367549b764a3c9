//! Settings: `config/default.toml` (built in), then an overlay file chosen by
//! `CLERK_SYNC_ENV`, then environment variables (and `.env`); typed and validated once, at
//! start, with errors that name the setting.

mod auth;
mod database;
mod dotenv;
mod layers;

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

pub use auth::AuthSettings;
use clerk_sync_http::auth::TokenVerifier;
use clerk_sync_http::group_commit::GroupCommitOptions;
use clerk_sync_svix::WebhookSecret;
pub use database::DatabaseSettings;
use database::{DatabaseFile, parse_database};
pub use dotenv::{DOTENV_FILE, DotEnvFile};
use serde::Deserialize;

use crate::resync::{MAX_PAGE_SIZE, SecretKey};

/// The folder overlay files are read from, relative to the working directory.
pub const CONFIG_DIR: &str = "config";

/// The built-in defaults, documented setting by setting.
pub const DEFAULT_TOML: &str = include_str!("../../../../config/default.toml");

/// Why the settings cannot be used. The text names the setting and says what is wrong; it
/// never includes a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file is not valid TOML or has settings this build does not know.
    #[error("{file}: {problem}")]
    File {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// A setting's value is unusable.
    #[error("{setting}: {problem}")]
    Invalid {
        /// The environment variable or `section.key`.
        setting: String,
        /// What is wrong and what is expected.
        problem: String,
    },
}

fn invalid(setting: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_owned(),
        problem: problem.into(),
    }
}

/// All settings.
#[derive(Debug)]
pub struct Settings {
    /// `[server]`.
    pub server: ServerSettings,
    /// `[database]`, with the URL parsed.
    pub database: DatabaseSettings,
    /// `[webhooks]`.
    pub webhooks: WebhookSettings,
    /// `[auth]`.
    pub auth: AuthSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[resync]`.
    pub resync: ResyncSettings,
    /// `[metrics]`.
    pub metrics: MetricsSettings,
    /// `[read_through]`.
    pub read_through: ReadThroughSettings,
    /// `[clerk_api]`.
    pub clerk_api: ClerkApiSettings,
    /// Secrets, from the environment only.
    pub secrets: Secrets,
    /// The session token verifier, built once from `[auth]` and `CLERK_JWT_PUBLIC_KEY` (the
    /// PEM key when set, else the JWKS endpoint); `None` when neither is set. Clones share its
    /// key cache.
    pub tokens: Option<TokenVerifier>,
    /// The merged settings as TOML, for `check-config` (no secrets in it).
    pub effective: toml::Table,
    /// Where the settings came from, in order: the files, then the variables read from `.env`
    /// and from the environment, by name.
    pub sources: Vec<String>,
}

/// `[server]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Listen host (`HOST`).
    pub host: String,
    /// Listen port (`PORT`); 0 picks a free one.
    pub port: u16,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// The largest webhook body accepted.
    pub max_body_bytes: usize,
    /// How long a request's whole body may take to arrive.
    pub body_timeout_seconds: u64,
    /// The bytes unverified webhook bodies may hold together.
    pub webhook_body_budget_bytes: usize,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    pub shutdown_grace_seconds: u64,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive_seconds: u64,
    /// How long a client has to send a request's headers.
    pub client_request_timeout_seconds: u64,
}

/// `[webhooks]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Accepted clock difference for `svix-timestamp`, in seconds.
    pub tolerance_seconds: u64,
    /// Days the webhook log keeps an entry; 0 keeps them forever.
    pub retention_days: u64,
    /// The most deliveries written in one transaction (group commit); 1 writes each alone.
    pub max_batch_size: usize,
    /// How long, in milliseconds, a writer holding part of a batch waits for deliveries still
    /// being received.
    pub max_batch_wait_ms: u64,
    /// PostgreSQL only: threads writing batches at once, each on a pooled connection.
    pub postgres_writers: usize,
}

impl WebhookSettings {
    /// How deliveries are grouped into transactions.
    pub fn group_commit(&self) -> GroupCommitOptions {
        GroupCommitOptions {
            max_batch: self.max_batch_size,
            max_wait: Duration::from_millis(self.max_batch_wait_ms),
            postgres_writers: self.postgres_writers,
            ..GroupCommitOptions::default()
        }
    }
}

/// `[log]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A tracing filter (`RUST_LOG`).
    pub level: String,
    /// Output format (`LOG_FORMAT`).
    pub format: LogFormat,
}

/// `[resync]`: access to Clerk's Backend API.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResyncSettings {
    /// The Backend API's base URL (`CLERK_API_URL`); paths such as `/users` are appended.
    pub api_url: String,
    /// Objects per request and per transaction, 1 to 500.
    pub page_size: u32,
    /// How long one request may take.
    pub request_timeout_seconds: u64,
    /// Attempts per request (rate limits, server errors, timeouts) before the resync fails.
    pub max_attempts: u32,
}

/// `[read_through]`: callers the mirror lacks, fetched from Clerk's Backend API (with
/// `CLERK_SECRET_KEY`, at `[resync] api_url`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadThroughSettings {
    /// Whether a key set for resync serves the read-through too (`CLERK_READ_THROUGH`).
    pub enabled: bool,
    /// The longest a request waits for a fetch.
    pub wait_ms: u64,
    /// Fetches started in any 10 s (`CLERK_READ_THROUGH_FETCHES_PER_10_SECONDS`).
    pub fetches_per_10_seconds: u32,
    /// How long Clerk's 404 for a user is remembered.
    pub not_found_ttl_seconds: u64,
    /// How many such users are remembered at most.
    pub not_found_capacity: usize,
}

/// `[clerk_api]`: the Backend-API-compatible endpoint under `/clerk/v1` (with
/// `CLERK_SECRET_KEY`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClerkApiSettings {
    /// Whether what the mirror does not answer goes on to Clerk's Backend API at
    /// `[resync] api_url` (`CLERK_API_PASS_THROUGH`); `false` answers it 422.
    pub pass_through: bool,
}

/// `[metrics]`: where `GET /metrics` is served.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// A listen address of its own (`METRICS_LISTEN`), e.g. `127.0.0.1:9100`; `None` serves
    /// metrics on the public listener.
    #[serde(default)]
    pub listen: Option<String>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people.
    Text,
    /// For log collectors.
    Json,
}

/// Secrets, from the environment only. `Debug` shows whether each is set, never its value.
#[derive(Clone, Default)]
pub struct Secrets {
    /// The webhook endpoint's signing secret (`CLERK_WEBHOOK_SIGNING_SECRET`).
    pub webhook_secret: Option<WebhookSecret>,
    /// The PEM public key of the Clerk instance (`CLERK_JWT_PUBLIC_KEY`).
    pub jwt_public_key: Option<String>,
    /// The instance's Backend API secret key (`CLERK_SECRET_KEY`), for `resync` and the
    /// read-through, and the key callers of `/clerk/v1` must present.
    pub clerk_secret_key: Option<SecretKey>,
    /// The key of the admin forms' CSRF tokens (`ADMIN_CSRF_SECRET`); without it each process
    /// makes a random one.
    pub admin_csrf_secret: Option<String>,
    /// The bearer token `/metrics` asks for (`METRICS_TOKEN`); without it, none.
    pub metrics_token: Option<String>,
}

impl Secrets {
    /// Reads the secrets from the environment (`env` returns trimmed, non-empty values).
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable of an unusable secret, never showing its value.
    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            webhook_secret: env("CLERK_WEBHOOK_SIGNING_SECRET")
                .map(|secret| {
                    WebhookSecret::parse(&secret).map_err(|err| {
                        invalid("CLERK_WEBHOOK_SIGNING_SECRET", format!("{err} (copy the whsec_… signing secret of the endpoint in Clerk's dashboard)"))
                    })
                })
                .transpose()?,
            jwt_public_key: env("CLERK_JWT_PUBLIC_KEY"),
            clerk_secret_key: env("CLERK_SECRET_KEY")
                .map(|key| {
                    SecretKey::parse(&key).map_err(|problem| invalid("CLERK_SECRET_KEY", problem))
                })
                .transpose()?,
            admin_csrf_secret: env("ADMIN_CSRF_SECRET")
                .map(|secret| at_least("ADMIN_CSRF_SECRET", secret, 32))
                .transpose()?,
            metrics_token: env("METRICS_TOKEN")
                .map(|token| at_least("METRICS_TOKEN", token, 16))
                .transpose()?,
        })
    }

    /// Each secret's variable and whether it is set, for reports that must not show values.
    pub fn presence(&self) -> Vec<(&'static str, bool)> {
        vec![
            (
                "CLERK_WEBHOOK_SIGNING_SECRET",
                self.webhook_secret.is_some(),
            ),
            ("CLERK_JWT_PUBLIC_KEY", self.jwt_public_key.is_some()),
            ("CLERK_SECRET_KEY", self.clerk_secret_key.is_some()),
            ("ADMIN_CSRF_SECRET", self.admin_csrf_secret.is_some()),
            ("METRICS_TOKEN", self.metrics_token.is_some()),
        ]
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |set: bool| if set { "<redacted>" } else { "<not set>" };
        f.debug_struct("Secrets")
            .field("webhook_secret", &shown(self.webhook_secret.is_some()))
            .field("jwt_public_key", &shown(self.jwt_public_key.is_some()))
            .field("clerk_secret_key", &shown(self.clerk_secret_key.is_some()))
            .field(
                "admin_csrf_secret",
                &shown(self.admin_csrf_secret.is_some()),
            )
            .field("metrics_token", &shown(self.metrics_token.is_some()))
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    server: ServerSettings,
    database: DatabaseFile,
    webhooks: WebhookSettings,
    auth: AuthSettings,
    log: LogSettings,
    resync: ResyncSettings,
    metrics: MetricsSettings,
    read_through: ReadThroughSettings,
    clerk_api: ClerkApiSettings,
}

impl Settings {
    /// Reads the settings from the built-in defaults and the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unusable setting.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_and(None)
    }

    /// Reads the settings from the built-in defaults and the process environment, into which
    /// `dotenv` was loaded: the sources name the variables that came from it.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unusable setting.
    pub fn from_env_and(dotenv: Option<&DotEnvFile>) -> Result<Self, ConfigError> {
        Self::load_sourced(
            &|name| std::env::var(name).ok(),
            Path::new(CONFIG_DIR),
            dotenv,
        )
    }

    /// Reads the settings from the built-in defaults and the variables `env` returns.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unusable setting.
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::load_from(env, Path::new(CONFIG_DIR))
    }

    /// As [`Settings::load`], with overlay files read from `config_dir`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unusable setting.
    pub fn load_from(
        env: &dyn Fn(&str) -> Option<String>,
        config_dir: &Path,
    ) -> Result<Self, ConfigError> {
        Self::load_sourced(env, config_dir, None)
    }

    fn load_sourced(
        env: &dyn Fn(&str) -> Option<String>,
        config_dir: &Path,
        dotenv: Option<&DotEnvFile>,
    ) -> Result<Self, ConfigError> {
        // Every variable that sets something is noted, for `check-config` to name it.
        let read = RefCell::new(Vec::<String>::new());
        let env = |name: &str| {
            let value = env(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty());
            let mut read = read.borrow_mut();
            if value.is_some() && !read.iter().any(|known| known == name) {
                read.push(name.to_owned());
            }
            value
        };
        let merged = layers::merge(&env, config_dir)?;
        let file: FileSettings =
            merged
                .table
                .clone()
                .try_into()
                .map_err(|err: toml::de::Error| ConfigError::File {
                    file: merged.sources.join(" + "),
                    problem: err.message().to_owned(),
                })?;
        let log = file.log;
        let server = check_server(file.server)?;
        let database = parse_database(file.database)?;
        let mut effective = merged.table;
        if let Some(toml::Value::Table(section)) = effective.get_mut("database") {
            section.insert(
                "url".to_owned(),
                toml::Value::String(database.url.redacted()),
            );
        }
        let auth = file.auth.checked()?;
        // Origins are shown as they are compared, without a trailing slash.
        if let Ok(auth_table) = toml::Value::try_from(&auth) {
            effective.insert("auth".to_owned(), auth_table);
        }
        let resync = check_resync(file.resync)?;
        let secrets = Secrets::from_env(&env)?;
        let tokens = auth.token_verifier(secrets.jwt_public_key.as_deref())?;
        let mut settings = Self {
            server,
            database,
            webhooks: check_webhooks(file.webhooks)?,
            auth,
            log,
            resync,
            metrics: file.metrics,
            read_through: check_read_through(file.read_through)?,
            clerk_api: file.clerk_api,
            effective,
            sources: merged.sources,
            secrets,
            tokens,
        };
        settings
            .sources
            .extend(variable_sources(&read.take(), dotenv));
        Ok(settings)
    }
}

/// The `.env` file and the environment as sources, each with the variables it gave.
fn variable_sources(read: &[String], dotenv: Option<&DotEnvFile>) -> Vec<String> {
    let (from_file, from_env): (Vec<&str>, Vec<&str>) = read
        .iter()
        .map(String::as_str)
        .partition(|name| dotenv.is_some_and(|file| file.set.iter().any(|set| set == name)));
    let mut sources = Vec::new();
    if let Some(file) = dotenv {
        sources.push(if from_file.is_empty() {
            format!(
                "{} (read, but no setting came from it)",
                file.path.display()
            )
        } else {
            format!("{} ({})", file.path.display(), from_file.join(", "))
        });
    }
    if !from_env.is_empty() {
        sources.push(format!("environment ({})", from_env.join(", ")));
    }
    sources
}

/// A secret of at least `least` characters; the error never shows it.
fn at_least(variable: &str, secret: String, least: usize) -> Result<String, ConfigError> {
    if secret.chars().count() >= least {
        Ok(secret)
    } else {
        Err(invalid(
            variable,
            format!(
                "expected at least {least} characters of random text (e.g. the output of \
                 `openssl rand -base64 32`)"
            ),
        ))
    }
}

fn check_server(settings: ServerSettings) -> Result<ServerSettings, ConfigError> {
    if settings.body_timeout_seconds == 0 {
        return Err(invalid("server.body_timeout_seconds", "must be at least 1"));
    }
    if settings.webhook_body_budget_bytes < settings.max_body_bytes {
        return Err(invalid(
            "server.webhook_body_budget_bytes",
            "must be at least server.max_body_bytes, or a body of the largest size accepted \
             could never be received",
        ));
    }
    Ok(settings)
}

/// The most deliveries one transaction may hold: PostgreSQL keeps the ids of 64 savepoints
/// that wrote per transaction in shared memory, and every snapshot taken while a transaction
/// holds more is slower.
const MAX_BATCH_SIZE: usize = 64;

fn check_webhooks(settings: WebhookSettings) -> Result<WebhookSettings, ConfigError> {
    if !(1..=MAX_BATCH_SIZE).contains(&settings.max_batch_size) {
        return Err(invalid(
            "webhooks.max_batch_size",
            format!("expected 1 to {MAX_BATCH_SIZE}"),
        ));
    }
    if settings.max_batch_wait_ms > 1000 {
        return Err(invalid(
            "webhooks.max_batch_wait_ms",
            "expected 0 to 1000 (each delivery of a batch waits this long at most)",
        ));
    }
    if settings.postgres_writers == 0 {
        return Err(invalid("webhooks.postgres_writers", "must be at least 1"));
    }
    Ok(settings)
}

fn check_resync(settings: ResyncSettings) -> Result<ResyncSettings, ConfigError> {
    let url = settings.api_url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(invalid(
            "CLERK_API_URL",
            "expected an http(s) URL such as https://api.clerk.com/v1",
        ));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&settings.page_size) {
        return Err(invalid("resync.page_size", "expected 1 to 500"));
    }
    if settings.max_attempts == 0 || settings.request_timeout_seconds == 0 {
        return Err(invalid(
            "resync",
            "max_attempts and request_timeout_seconds must be at least 1",
        ));
    }
    Ok(settings)
}

fn check_read_through(settings: ReadThroughSettings) -> Result<ReadThroughSettings, ConfigError> {
    // While Clerk is down every caller the mirror lacks waits this long, on every request:
    // beyond 10 s the wait is worse than the "not synced yet" it ends in.
    if !(1..=10_000).contains(&settings.wait_ms) {
        return Err(invalid(
            "read_through.wait_ms",
            "expected 1 to 10000 (milliseconds)",
        ));
    }
    if settings.fetches_per_10_seconds == 0 {
        return Err(invalid(
            "CLERK_READ_THROUGH_FETCHES_PER_10_SECONDS",
            "must be at least 1; to turn the read-through off set CLERK_READ_THROUGH=false",
        ));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clerk_sync_persistence::DatabaseUrl;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load(&|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_environment() {
        let settings = load(&[]).expect("the defaults load");
        assert_eq!(
            (settings.server.host.as_str(), settings.server.port),
            ("127.0.0.1", 8000)
        );
        assert_eq!(
            settings.database.url,
            DatabaseUrl::Sqlite("data/clerk-sync.sqlite3".into())
        );
        assert!(
            settings.secrets.webhook_secret.is_none() && settings.secrets.jwt_public_key.is_none()
        );
        assert_eq!(settings.log.format, LogFormat::Text);
    }

    #[test]
    fn the_recipes_variable_names_override_the_file() {
        let settings = load(&[
            ("HOST", "0.0.0.0"),
            ("PORT", "9000"),
            ("DATABASE_URL", "postgres://app@db/clerk"),
            (
                "CLERK_WEBHOOK_SIGNING_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
            ("LOG_FORMAT", "json"),
        ])
        .expect("loads");
        assert_eq!(
            (settings.server.host.as_str(), settings.server.port),
            ("0.0.0.0", 9000)
        );
        assert_eq!(
            settings.database.url.backend(),
            clerk_sync_persistence::Backend::Postgres
        );
        assert!(settings.secrets.webhook_secret.is_some());
        assert_eq!(settings.log.format, LogFormat::Json);
    }

    #[test]
    fn errors_name_the_variable_and_never_echo_secrets() {
        let cases = [
            ("PORT", "eighty", "PORT: expected a port number"),
            (
                "DATABASE_URL",
                "mysql://u:pw@h/d",
                "DATABASE_URL: unsupported scheme `mysql`",
            ),
            (
                "CLERK_WEBHOOK_SIGNING_SECRET",
                "whsec_!!!notbase64!!!",
                "CLERK_WEBHOOK_SIGNING_SECRET: ",
            ),
            (
                "CLERK_JWT_PUBLIC_KEY",
                "-----BEGIN PUBLIC KEY-----\\nnot a key\\n-----END PUBLIC KEY-----",
                "CLERK_JWT_PUBLIC_KEY: not an RSA public key",
            ),
            ("LOG_FORMAT", "xml", "LOG_FORMAT: expected `text` or `json`"),
            (
                "CLERK_SECRET_KEY",
                "pk_test_Y2xlcmsuZXhhbXBsZSQ",
                "CLERK_SECRET_KEY: expected a Clerk secret key",
            ),
            (
                "CLERK_API_URL",
                "ftp://clerk.invalid/v1",
                "CLERK_API_URL: expected an http(s) URL",
            ),
        ];
        for (name, value, expected) in cases {
            let err = load(&[(name, value)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with(expected), "{name}: {err}");
            assert!(
                !err.contains(value),
                "{name}: the value must not be echoed: {err}"
            );
        }
    }

    fn overlay(name: &str, text: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("clerk-sync-config-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(format!("{name}.toml")), text).expect("overlay");
        dir
    }

    fn load_with(dir: &Path, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load_from(&|name| vars.get(name).cloned(), dir)
    }

    #[test]
    fn an_overlay_overrides_the_defaults_and_the_environment_overrides_both() {
        let dir = overlay(
            "staging",
            "[server]\nport = 9100\nhost = \"0.0.0.0\"\n[log]\nformat = \"json\"\n",
        );
        let settings =
            load_with(&dir, &[("CLERK_SYNC_ENV", "staging"), ("PORT", "9200")]).expect("loads");
        assert_eq!(
            (settings.server.host.as_str(), settings.server.port),
            ("0.0.0.0", 9200)
        );
        assert_eq!(settings.log.format, LogFormat::Json);
        assert_eq!(
            settings.server.workers, 0,
            "what the overlay does not set keeps its default"
        );
        assert_eq!(settings.sources.len(), 3, "{:?}", settings.sources);
    }

    #[test]
    fn overlay_mistakes_name_the_file_and_the_setting() {
        let dir = overlay("typo", "[server]\nprot = 1\n");
        let err = load_with(&dir, &[("CLERK_SYNC_ENV", "typo")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.ends_with("typo.toml: unknown setting `server.prot`"),
            "{err}"
        );
        let dir = overlay("wrongtype", "[server]\nport = \"eighty\"\n");
        let err = load_with(&dir, &[("CLERK_SYNC_ENV", "wrongtype")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("wrongtype.toml") && err.contains("port"),
            "{err}"
        );
        let err = load_with(&dir, &[("CLERK_SYNC_ENV", "missing")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("CLERK_SYNC_ENV: cannot read the overlay"),
            "{err}"
        );
        let err = load_with(&dir, &[("CLERK_SYNC_ENV", "../etc/passwd")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("CLERK_SYNC_ENV: expected a name"), "{err}");
    }

    #[test]
    fn body_limits_that_could_never_be_met_are_refused() {
        let dir = overlay("nodeadline", "[server]\nbody_timeout_seconds = 0\n");
        let err = load_with(&dir, &[("CLERK_SYNC_ENV", "nodeadline")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(err, "server.body_timeout_seconds: must be at least 1");
        let dir = overlay("tinybudget", "[server]\nwebhook_body_budget_bytes = 1000\n");
        let err = load_with(&dir, &[("CLERK_SYNC_ENV", "tinybudget")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with(
                "server.webhook_body_budget_bytes: must be at least server.max_body_bytes"
            ),
            "{err}"
        );
    }

    #[test]
    fn short_admin_and_metrics_secrets_are_refused_without_being_shown() {
        for (name, value) in [
            ("ADMIN_CSRF_SECRET", "short-secret"),
            ("METRICS_TOKEN", "tok"),
        ] {
            let err = load(&[(name, value)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.starts_with(&format!("{name}: expected at least")),
                "{err}"
            );
            assert!(!err.contains(value), "{err}");
        }
        let settings = load(&[
            ("METRICS_LISTEN", "127.0.0.1:9100"),
            ("METRICS_TOKEN", "a-long-enough-token"),
        ])
        .expect("loads");
        assert_eq!(settings.metrics.listen.as_deref(), Some("127.0.0.1:9100"));
        assert!(!format!("{settings:?}").contains("a-long-enough-token"));
    }

    #[test]
    fn the_shipped_production_overlay_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let settings = load_with(&dir, &[("CLERK_SYNC_ENV", "production")])
            .expect("config/production.toml is valid");
        assert_eq!(settings.log.format, LogFormat::Json);
    }

    #[test]
    fn the_effective_table_redacts_the_database_password() {
        let settings = load(&[("DATABASE_URL", "postgres://app:hunter2@db/clerk")]).expect("loads");
        let shown = toml::to_string(&settings.effective).unwrap_or_default();
        assert!(
            shown.contains("postgres://app:***@db/clerk") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn the_sources_name_every_variable_that_set_something() {
        let settings = load(&[
            ("PORT", "9000"),
            ("CLERK_ISSUER", "https://clerk.example.test"),
            (
                "CLERK_JWKS_URL",
                "https://clerk.example.test/.well-known/jwks.json",
            ),
            ("CLERK_AUTHORIZED_PARTIES", "http://localhost:3000"),
            ("CLERK_SECRET_KEY", "sk_test_abc"),
            ("CLERK_JWT_LEEWAY_SECONDS", ""),
        ])
        .expect("loads");
        assert_eq!(
            settings.sources,
            [
                "config/default.toml (built in)",
                "environment (PORT, CLERK_JWKS_URL, CLERK_ISSUER, CLERK_AUTHORIZED_PARTIES, CLERK_SECRET_KEY)"
            ]
        );
        let dotenv = DotEnvFile {
            path: "/srv/app/.env".into(),
            set: vec![
                "CLERK_ISSUER".to_owned(),
                "CLERK_DEV_PRIVATE_KEY".to_owned(),
            ],
        };
        let sources = variable_sources(
            &["PORT".to_owned(), "CLERK_ISSUER".to_owned()],
            Some(&dotenv),
        );
        assert_eq!(
            sources,
            ["/srv/app/.env (CLERK_ISSUER)", "environment (PORT)"]
        );
        let sources = variable_sources(&["PORT".to_owned()], Some(&dotenv));
        assert_eq!(
            sources,
            [
                "/srv/app/.env (read, but no setting came from it)",
                "environment (PORT)"
            ]
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let settings =
            load(&[("CLERK_WEBHOOK_SIGNING_SECRET", "  "), ("PORT", "")]).expect("loads");
        assert!(settings.secrets.webhook_secret.is_none());
        assert_eq!(settings.server.port, 8000);
    }

    #[test]
    fn the_backend_api_defaults_to_clerks_and_can_be_pointed_elsewhere() {
        let settings = load(&[]).expect("loads");
        assert_eq!(settings.resync.api_url, "https://api.clerk.com/v1");
        assert!(settings.secrets.clerk_secret_key.is_none());
        let settings = load(&[
            ("CLERK_API_URL", "http://127.0.0.1:9999/v1"),
            ("CLERK_SECRET_KEY", "sk_test_abc"),
        ])
        .expect("loads");
        assert_eq!(settings.resync.api_url, "http://127.0.0.1:9999/v1");
        assert!(settings.secrets.clerk_secret_key.is_some());
    }

    #[test]
    fn the_read_through_is_bounded_by_default_and_configurable() {
        let settings = load(&[]).expect("loads");
        let read_through = &settings.read_through;
        assert!(read_through.enabled);
        assert_eq!(
            (read_through.wait_ms, read_through.fetches_per_10_seconds),
            (2000, 20)
        );
        assert_eq!(
            (
                read_through.not_found_ttl_seconds,
                read_through.not_found_capacity
            ),
            (60, 10_000)
        );
        let settings = load(&[
            ("CLERK_READ_THROUGH", "false"),
            ("CLERK_READ_THROUGH_FETCHES_PER_10_SECONDS", "5"),
        ])
        .expect("loads");
        assert!(!settings.read_through.enabled);
        assert_eq!(settings.read_through.fetches_per_10_seconds, 5);
        let dir = overlay("nowait", "[read_through]\nwait_ms = 0\n");
        let err = load_with(&dir, &[("CLERK_SYNC_ENV", "nowait")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            err,
            "read_through.wait_ms: expected 1 to 10000 (milliseconds)"
        );
        let err = load(&[("CLERK_READ_THROUGH_FETCHES_PER_10_SECONDS", "0")])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("CLERK_READ_THROUGH_FETCHES_PER_10_SECONDS: must be at least 1"),
            "{err}"
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let settings = load(&[
            (
                "CLERK_WEBHOOK_SIGNING_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
            ("CLERK_SECRET_KEY", "sk_test_hunter2hunter2"),
        ])
        .expect("loads");
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("webhook_secret: \"<redacted>\""), "{shown}");
    }
}
