//! Shared helpers of the black-box tests: a temporary folder, the real `welcome-mailer` binary
//! on a free port, signed deliveries over a plain TCP socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clerk_sync_svix::WebhookSecret;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The endpoint secret the tests sign with (a test value from the Svix libraries).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const BIN: &str = env!("CARGO_BIN_EXE_welcome-mailer");

/// A folder under the target directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> std::io::Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("welcome-mailer-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    pub fn outbox(&self) -> PathBuf {
        self.0.join("outbox.jsonl")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The command that starts the mailer on a free port with this outbox.
pub fn command(outbox: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .env("CLERK_WEBHOOK_SIGNING_SECRET", SECRET)
        .env("PORT", "0")
        .env("WELCOME_MAILER_OUTBOX", outbox)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A running mailer; killed on drop.
pub struct Mailer {
    child: Child,
    pub address: String,
}

impl Mailer {
    /// Starts the real binary and waits for the address it listens on.
    pub fn start(outbox: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        Self::spawn(command(outbox))
    }

    pub fn spawn(mut command: Command) -> Result<Self, Box<dyn std::error::Error>> {
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(address) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let output = child.wait_with_output()?;
            return Err(format!(
                "the mailer did not start: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        };
        Ok(Self {
            address: address.to_owned(),
            child,
        })
    }

    /// Stops the process (as a crash would: no shutdown code runs) and returns its log.
    pub fn kill(mut self) -> Result<String, Box<dyn std::error::Error>> {
        self.child.kill()?;
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut stderr)?;
        }
        self.child.wait()?;
        Ok(stderr)
    }

    /// Sends `body` signed with [`SECRET`] as message `msg_id`.
    pub fn deliver(&self, msg_id: &str, body: &str) -> Result<Answer, Box<dyn std::error::Error>> {
        let headers = WebhookSecret::parse(SECRET)?.signed_headers(msg_id, now(), body.as_bytes());
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post("/webhooks/clerk", &headers, body)
    }

    /// A raw POST with these headers.
    pub fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        self.request("POST", path, headers, body)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        let mut stream = TcpStream::connect(&self.address)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n",
            self.address,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let (head, body) = response.split_once("\r\n\r\n").ok_or("no response head")?;
        let status = head.split(' ').nth(1).ok_or("no status")?.parse::<u16>()?;
        Ok(Answer {
            status,
            body: serde_json::from_str(body)?,
        })
    }
}

impl Drop for Mailer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Answer {
    /// The `outcome` of a 2xx, or the `detail` of an error.
    pub fn text(&self) -> &str {
        self.body["outcome"]
            .as_str()
            .or_else(|| self.body["detail"].as_str())
            .unwrap_or_default()
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A `user.created` body as Clerk sends it, with a verified primary address (`email`).
pub fn user_created(user_id: &str, email: &str, first_name: &str) -> String {
    user_event("user.created", user_id, Some(email), first_name)
}

/// A user event; `email: None` is a phone-only user.
pub fn user_event(
    event_type: &str,
    user_id: &str,
    email: Option<&str>,
    first_name: &str,
) -> String {
    let addresses = email.map_or_else(Vec::new, |email| {
        vec![serde_json::json!({
            "id": "idn_2g7np7Hrk0SN6kj5EDMLDaKNL0S", "object": "email_address",
            "email_address": email,
            "verification": {"status": "verified", "strategy": "email_code"},
        })]
    });
    serde_json::json!({
        "type": event_type, "object": "event", "timestamp": 1_716_883_200_000_i64,
        "instance_id": "ins_2g7np7Hrk0SN6kj5EDMLDaKNL0S",
        "data": {
            "id": user_id, "object": "user", "first_name": first_name, "last_name": "Lovelace",
            "primary_email_address_id": email.map(|_| "idn_2g7np7Hrk0SN6kj5EDMLDaKNL0S"),
            "email_addresses": addresses, "phone_numbers": [],
            "created_at": 1_716_883_200_000_i64, "updated_at": 1_716_883_200_000_i64,
        },
    })
    .to_string()
}

/// The outbox's lines, parsed.
pub fn outbox_lines(outbox: &Path) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    let text = match std::fs::read_to_string(outbox) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(err.into()),
    };
    text.lines()
        .map(|line| Ok(serde_json::from_str(line)?))
        .collect()
}
