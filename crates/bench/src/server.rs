//! The server under test: the real `clerk-sync` binary as a child process, configured through
//! the environment and an overlay file, as an operator would run it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::workload::{SECRET_KEY, SIGNING_SECRET};

/// How the server is configured.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The `clerk-sync` binary.
    pub binary: PathBuf,
    /// A directory for the overlay file (the server's working directory).
    pub dir: PathBuf,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// The PEM public key session tokens are checked with.
    pub public_key: String,
    /// `[database]` settings for the overlay (`pool_size = 8`, …), TOML lines.
    pub database_settings: Vec<String>,
    /// `[webhooks]` settings for the overlay (`postgres_writers = 2`), TOML lines.
    pub webhooks_settings: Vec<String>,
}

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// From spawning the process to the first 200 of `GET /api/v1/health`.
    pub ready_after: Duration,
}

impl Server {
    /// Starts the server on a free port and waits until it answers.
    ///
    /// # Errors
    /// When it does not start within 30 seconds, or exits.
    pub fn start(config: &ServerConfig) -> anyhow::Result<Self> {
        let overlay = config.dir.join("config/bench.toml");
        std::fs::create_dir_all(config.dir.join("config"))?;
        std::fs::write(
            &overlay,
            format!(
                "[database]\n{}\n[webhooks]\n{}\n",
                config.database_settings.join("\n"),
                config.webhooks_settings.join("\n")
            ),
        )?;
        let started = Instant::now();
        let mut child = Command::new(&config.binary)
            .arg("serve")
            .current_dir(&config.dir)
            .env("CLERK_SYNC_ENV", "bench")
            .env("DATABASE_URL", &config.database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("LOG_FORMAT", "json")
            .env("CLERK_WEBHOOK_SIGNING_SECRET", SIGNING_SECRET)
            .env("CLERK_JWT_PUBLIC_KEY", &config.public_key)
            // `/clerk/v1` answers from the mirror; whatever it cannot answer is refused (422)
            // rather than sent on to Clerk, so a benchmark never reaches Clerk.
            .env("CLERK_SECRET_KEY", SECRET_KEY)
            .env("CLERK_API_PASS_THROUGH", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", config.binary.display()))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let port = listening_port(stderr);
        let port = match port.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => port,
            Err(_) => {
                drop(child.kill());
                let status = child.wait()?;
                bail!("the server did not start listening ({status})");
            }
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        while !healthy(addr) {
            if started.elapsed() > Duration::from_secs(30) {
                drop(child.kill());
                bail!("the server did not answer /api/v1/health");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(Self {
            ready_after: started.elapsed(),
            child,
            addr,
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// Reads the server's log, sends the port of its "listening" line, then keeps draining the
/// log so that a full pipe never blocks the server.
fn listening_port(stderr: impl Read + Send + 'static) -> mpsc::Receiver<u16> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sent {
                continue;
            }
            let port = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .filter(|entry| entry["message"].as_str() == Some("clerk-sync is listening"))
                .and_then(|entry| entry["port"].as_u64())
                .and_then(|port| u16::try_from(port).ok());
            if let Some(port) = port {
                sent = sender.send(port).is_ok();
            }
        }
    });
    receiver
}

/// Whether `GET /api/v1/health` answers 200.
pub fn healthy(addr: SocketAddr) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(1)))?;
        stream.write_all(
            b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(answer.starts_with(b"HTTP/1.1 200"))
    };
    attempt().unwrap_or(false)
}

/// The `clerk-sync` binary next to this one (both are built by the same `cargo build`).
///
/// # Errors
/// When there is none.
pub fn sibling_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let binary = me
        .parent()
        .map(|dir| dir.join("clerk-sync"))
        .filter(|path| path.is_file())
        .context("no clerk-sync binary next to clerk-sync-bench: build both (`cargo build --release -p clerk-sync-server -p clerk-sync-bench`) or pass --server-bin")?;
    Ok(binary)
}

/// The repository's test keys (`tests/fixtures/keys/`).
///
/// # Errors
/// When they cannot be read.
pub fn test_keys(repository: &Path) -> anyhow::Result<(String, String)> {
    let read = |name: &str| {
        let path = repository.join("tests/fixtures/keys").join(name);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    Ok((read("test_private.pem")?, read("test_public.pem")?))
}
