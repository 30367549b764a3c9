//! Settings: `config/default.toml` (built in), then environment variables; typed and
//! validated once, at start, with errors that name the setting.

mod auth;

use std::time::Duration;

pub use auth::AuthSettings;
use clerk_sync_http::auth::TokenVerifier;
use clerk_sync_persistence::{
    DatabaseUrl, PoolOptions, SqliteOptions, SqliteSynchronous, StoreError,
};
use clerk_sync_svix::WebhookSecret;
use serde::Deserialize;

/// The built-in defaults, documented setting by setting.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

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
    /// Secrets, from the environment only.
    pub secrets: Secrets,
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
}

/// `[database]` as written in the file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseFile {
    url: String,
    pool_size: u32,
    connection_timeout_seconds: u64,
    sqlite_busy_timeout_ms: u64,
    sqlite_synchronous: String,
}

/// `[database]`, parsed.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// Where the mirror lives (`DATABASE_URL`).
    pub url: DatabaseUrl,
    /// Pool settings.
    pub pool: PoolOptions,
}

/// `[webhooks]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Accepted clock difference for `svix-timestamp`, in seconds.
    pub tolerance_seconds: u64,
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
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |set: bool| if set { "<redacted>" } else { "<not set>" };
        f.debug_struct("Secrets")
            .field("webhook_secret", &shown(self.webhook_secret.is_some()))
            .field("jwt_public_key", &shown(self.jwt_public_key.is_some()))
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
}

impl Settings {
    /// Reads the settings from the built-in defaults and the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unusable setting.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::load(&|name| std::env::var(name).ok())
    }

    /// Reads the settings from the built-in defaults and the variables `env` returns.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first unusable setting.
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file: FileSettings = toml::from_str(DEFAULT_TOML).map_err(|err| ConfigError::File {
            file: "config/default.toml".to_owned(),
            problem: err.to_string(),
        })?;
        let env = |name: &str| {
            env(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let mut server = file.server;
        if let Some(host) = env("HOST") {
            server.host = host;
        }
        if let Some(port) = env("PORT") {
            server.port = port
                .parse()
                .map_err(|_| invalid("PORT", "expected a port number from 0 to 65535"))?;
        }
        let mut database = file.database;
        if let Some(url) = env("DATABASE_URL") {
            database.url = url;
        }
        if let Some(size) = env("DATABASE_POOL_SIZE") {
            database.pool_size = size
                .parse()
                .map_err(|_| invalid("DATABASE_POOL_SIZE", "expected a whole number"))?;
        }
        let mut log = file.log;
        if let Some(level) = env("RUST_LOG") {
            log.level = level;
        }
        if let Some(format) = env("LOG_FORMAT") {
            log.format = match format.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(invalid("LOG_FORMAT", "expected `text` or `json`")),
            };
        }
        let mut auth = file.auth;
        auth.apply_env(&env)?;
        let settings = Self {
            server,
            database: parse_database(database)?,
            webhooks: file.webhooks,
            auth,
            log,
            secrets: Secrets {
                webhook_secret: env("CLERK_WEBHOOK_SIGNING_SECRET")
                    .map(|secret| {
                        WebhookSecret::parse(&secret).map_err(|err| {
                            invalid("CLERK_WEBHOOK_SIGNING_SECRET", format!("{err} (copy the whsec_… signing secret of the endpoint in Clerk's dashboard)"))
                        })
                    })
                    .transpose()?,
                jwt_public_key: env("CLERK_JWT_PUBLIC_KEY"),
            },
        };
        settings.token_verifier()?;
        Ok(settings)
    }

    /// The session token verifier: the PEM key when set, else the JWKS endpoint, else none.
    /// Each call builds a new one, with its own key cache.
    ///
    /// # Errors
    /// [`ConfigError`] naming `CLERK_JWT_PUBLIC_KEY` or `CLERK_JWKS_URL` when unusable.
    pub fn token_verifier(&self) -> Result<Option<TokenVerifier>, ConfigError> {
        self.auth
            .token_verifier(self.secrets.jwt_public_key.as_deref())
    }
}

fn parse_database(file: DatabaseFile) -> Result<DatabaseSettings, ConfigError> {
    let url = DatabaseUrl::parse(&file.url).map_err(|err| match err {
        StoreError::InvalidUrl(problem) => invalid("DATABASE_URL", problem),
        other => invalid("DATABASE_URL", other.to_string()),
    })?;
    if file.pool_size == 0 {
        return Err(invalid("database.pool_size", "must be at least 1"));
    }
    let synchronous = match file.sqlite_synchronous.as_str() {
        "full" => SqliteSynchronous::Full,
        "normal" => SqliteSynchronous::Normal,
        _ => {
            return Err(invalid(
                "database.sqlite_synchronous",
                "expected `full` or `normal`",
            ));
        }
    };
    Ok(DatabaseSettings {
        url,
        pool: PoolOptions {
            max_size: file.pool_size,
            connection_timeout: Duration::from_secs(file.connection_timeout_seconds),
            sqlite: SqliteOptions {
                busy_timeout: Duration::from_millis(file.sqlite_busy_timeout_ms),
                synchronous,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

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

    #[test]
    fn empty_variables_count_as_unset() {
        let settings =
            load(&[("CLERK_WEBHOOK_SIGNING_SECRET", "  "), ("PORT", "")]).expect("loads");
        assert!(settings.secrets.webhook_secret.is_none());
        assert_eq!(settings.server.port, 8000);
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let settings = load(&[(
            "CLERK_WEBHOOK_SIGNING_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )])
        .expect("loads");
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "{shown}"
        );
        assert!(shown.contains("webhook_secret: \"<redacted>\""), "{shown}");
    }
}
