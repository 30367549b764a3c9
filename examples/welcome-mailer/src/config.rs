//! Settings, from the environment only.

use std::env;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clerk_sync_svix::{WebhookError, WebhookSecret};

/// The settings of one mailer process.
#[derive(Debug)]
pub struct Config {
    /// Where to listen (`HOST`, `PORT`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The endpoint's signing secret (`CLERK_WEBHOOK_SIGNING_SECRET`).
    pub secret: WebhookSecret,
    /// The outbox file (`WELCOME_MAILER_OUTBOX`).
    pub outbox: PathBuf,
}

/// A setting that cannot be used; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The signing secret is not set.
    #[error(
        "CLERK_WEBHOOK_SIGNING_SECRET is not set; set it to the `whsec_…` signing secret of this \
         endpoint in the Clerk dashboard (Configure → Webhooks)"
    )]
    MissingSecret,
    /// The signing secret does not parse.
    #[error("CLERK_WEBHOOK_SIGNING_SECRET is unusable: {0}")]
    InvalidSecret(#[source] WebhookError),
    /// `HOST` is not an IP address.
    #[error("HOST must be an IP address such as 127.0.0.1 or 0.0.0.0")]
    InvalidHost,
    /// `PORT` is not a port number.
    #[error("PORT must be a port number from 0 to 65535 (0 picks a free port)")]
    InvalidPort,
}

impl Config {
    /// Reads the settings from the environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the variable that is missing or unusable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let var = |name: &str| env::var(name).ok().filter(|value| !value.is_empty());
        let secret = var("CLERK_WEBHOOK_SIGNING_SECRET")
            .ok_or(ConfigError::MissingSecret)?
            .parse()
            .map_err(ConfigError::InvalidSecret)?;
        let host: IpAddr = var("HOST")
            .as_deref()
            .unwrap_or("127.0.0.1")
            .parse()
            .map_err(|_| ConfigError::InvalidHost)?;
        let port: u16 = var("PORT")
            .as_deref()
            .unwrap_or("8025")
            .parse()
            .map_err(|_| ConfigError::InvalidPort)?;
        let outbox = var("WELCOME_MAILER_OUTBOX").map_or_else(|| "outbox.jsonl".into(), Into::into);
        Ok(Self {
            listen: SocketAddr::new(host, port),
            secret,
            outbox,
        })
    }
}
