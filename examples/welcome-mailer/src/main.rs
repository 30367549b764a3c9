//! `welcome-mailer`: a second consumer of clerk-sync's domain and svix crates. It receives
//! Clerk's webhooks on a tiny_http server (no actix-web, no database), verifies them with
//! `clerk-sync-svix`, parses them with `clerk-sync-domain`, and for each `user.created` whose user
//! has a verified primary address appends one welcome mail to an outbox file, at most once per
//! Svix message (and per user), across retries and restarts. See README.md.

mod config;
mod outbox;
mod server;
mod webhook;
mod welcome;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;

use clerk_sync_svix::Verifier;

use crate::config::{Config, ConfigError};
use crate::outbox::{Outbox, OutboxError};
use crate::webhook::WebhookState;

/// Why the mailer could not start.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("cannot listen on {address}: {reason}; choose another HOST or PORT")]
    Listen { address: String, reason: String },
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("welcome-mailer: {err}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), StartError> {
    let config = Config::from_env()?;
    let outbox = Outbox::open(&config.outbox)?;
    let listen_error = |reason: String| StartError::Listen {
        address: config.listen.to_string(),
        reason,
    };
    let server =
        tiny_http::Server::http(config.listen).map_err(|err| listen_error(err.to_string()))?;
    let address = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| listen_error("not an IP socket".to_owned()))?;
    eprintln!(
        "welcome-mailer: outbox {} holds {} mails",
        config.outbox.display(),
        outbox.len()
    );
    // The one line on standard output: tests and scripts read the address (PORT=0 picks one).
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on http://{address}");
    let _ = stdout.flush();
    drop(stdout);
    server::serve(
        server,
        WebhookState {
            verifier: Verifier::new(config.secret),
            outbox: Mutex::new(outbox),
        },
    );
    Ok(())
}
