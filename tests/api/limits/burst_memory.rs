//! The memory benchmark of issue 13: 300 connections each announce a 1 MiB webhook body, send
//! all of it but the last byte, and stall. Prints the server's resident memory (VmRSS of the
//! real `clerk-sync` process) before, at its peak during the burst, and 10 s after the sockets
//! close; asserts nothing (figures depend on the machine). Run it with
//!
//! ```sh
//! cargo test -p clerk-sync-server --test api limits::burst_memory -- --ignored --nocapture
//! ```
//!
//! (`--release` for the figures README and docs/performance.md quote).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clerk_sync_persistence::testing::TestDatabase;

use super::webhook_head;
use crate::common::{SIGNING_SECRET, free_port};

const CONNECTIONS: usize = 300;
const ANNOUNCED: usize = 1 << 20;

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn wait_until_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let mut answer = String::new();
            let request = "GET /api/v1/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.1 200")
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not become ready");
}

/// One stalled delivery: the answer's status line, if any came before `release`.
fn stall(port: u16, release: &AtomicBool) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return "connect failed".to_owned();
    };
    let head = webhook_head(&format!("Content-Length: {ANNOUNCED}"));
    let body = vec![b' '; ANNOUNCED - 1];
    let wrote = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&body));
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 4096];
    while !release.load(Ordering::Relaxed) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&answer);
    match text.lines().next() {
        Some(line) if !line.is_empty() => line.to_owned(),
        _ if wrote.is_err() => "closed while sending".to_owned(),
        _ => "no answer".to_owned(),
    }
}

#[test]
#[ignore = "a benchmark: run it by name with --ignored --nocapture"]
fn rss_before_during_and_after_a_burst_of_stalled_webhook_bodies() {
    let db = TestDatabase::sqlite().expect("a SQLite database");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clerk-sync"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("DATABASE_URL", db.url_string())
        .env("CLERK_WEBHOOK_SIGNING_SECRET", SIGNING_SECRET)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let pid = child.id();
    wait_until_ready(port);
    std::thread::sleep(Duration::from_secs(1));
    let before = rss_mib(pid);
    let release = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let release = Arc::clone(&release);
            std::thread::spawn(move || stall(port, &release))
        })
        .collect();
    let mut peak: f64 = 0.0;
    while started.elapsed() < Duration::from_secs(12) {
        peak = peak.max(rss_mib(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    release.store(true, Ordering::Relaxed);
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    for client in clients {
        let line = client
            .join()
            .unwrap_or_else(|_| "client panicked".to_owned());
        *answers.entry(line).or_default() += 1;
    }
    let closed = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let after = rss_mib(pid);
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{CONNECTIONS} connections x {} MiB announced, stalled 12 s:",
        ANNOUNCED >> 20
    );
    for (line, count) in &answers {
        println!("  {count:>4}  {line}");
    }
    println!(
        "RSS before {before:.1} MiB, peak during {peak:.1} MiB, {:.0} s after the sockets closed {after:.1} MiB",
        closed.elapsed().as_secs_f64()
    );
}
