//! The load generator: `concurrency` keep-alive HTTP/1.1 connections, each sending its next
//! request as soon as the previous answer is read (a closed loop), on a small tokio runtime.
//!
//! It writes prepared request bytes and reads answers by `Content-Length`, nothing more, so that
//! it costs far less CPU than the server it loads; every run reports its CPU time for that
//! reason.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::procfs;

/// What the connections send, and which answers count as successes.
pub trait Workload: Send + Sync {
    /// The bytes of the `i`-th request of a run (request line, headers and body).
    fn request(&self, i: u64) -> Cow<'_, [u8]>;
    /// Whether an answer is the expected one.
    fn accept(&self, status: u16, body: &[u8]) -> bool;
}

/// When a run ends.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// After this many requests in all.
    Count(u64),
    /// When this much time has passed (requests in flight then are completed and counted).
    After(Duration),
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Answers accepted.
    pub ok: u64,
    /// Unexpected answers and failed exchanges.
    pub errors: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latency of every exchange, in µs, sorted.
    pub latencies_us: Vec<u32>,
    /// The generator's CPU time during the run.
    pub client_cpu: Duration,
    /// The server's CPU time during the run.
    pub server_cpu: Duration,
    /// One example of what went wrong, when something did.
    pub first_error: Option<String>,
}

impl RunResult {
    /// Accepted answers per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A latency percentile, in ms.
    pub fn percentile_ms(&self, percent: usize) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let index = (self.latencies_us.len() * percent / 100).min(self.latencies_us.len() - 1);
        f64::from(self.latencies_us[index]) / 1000.0
    }

    /// The slowest exchange, in ms.
    pub fn max_ms(&self) -> f64 {
        self.latencies_us
            .last()
            .map_or(0.0, |us| f64::from(*us) / 1000.0)
    }
}

/// Runs the workload over `concurrency` connections to `addr` until `stop`, measuring the CPU
/// time of this process and of the server (`server_pid`) meanwhile.
///
/// # Errors
/// When a connection cannot be opened at the start, or `/proc` cannot be read.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    concurrency: usize,
    stop: Stop,
    workload: Arc<dyn Workload>,
    server_pid: u32,
) -> anyhow::Result<RunResult> {
    runtime.block_on(async move {
        let mut streams = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            streams.push(
                connect(addr)
                    .await
                    .context("cannot connect to the server")?,
            );
        }
        let counter = Arc::new(AtomicU64::new(0));
        let client_before = procfs::cpu_time(None)?;
        let server_before = procfs::cpu_time(Some(server_pid))?;
        let started = Instant::now();
        let deadline = match stop {
            Stop::After(duration) => Some(started + duration),
            Stop::Count(_) => None,
        };
        let limit = match stop {
            Stop::Count(count) => count,
            Stop::After(_) => u64::MAX,
        };
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|stream| {
                let counter = Arc::clone(&counter);
                let workload = Arc::clone(&workload);
                tokio::spawn(connection_loop(
                    stream, addr, counter, limit, deadline, workload,
                ))
            })
            .collect();
        let mut result = RunResult::default();
        for task in tasks {
            let part = task.await.context("a connection task panicked")?;
            result.ok += part.ok;
            result.errors += part.errors;
            result.latencies_us.extend(part.latencies_us);
            result.first_error = result.first_error.or(part.first_error);
        }
        result.elapsed = started.elapsed();
        result.client_cpu = procfs::cpu_time(None)?.saturating_sub(client_before);
        result.server_cpu = procfs::cpu_time(Some(server_pid))?.saturating_sub(server_before);
        result.latencies_us.sort_unstable();
        Ok(result)
    })
}

async fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[derive(Default)]
struct Part {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    first_error: Option<String>,
}

async fn connection_loop(
    stream: TcpStream,
    addr: SocketAddr,
    counter: Arc<AtomicU64>,
    limit: u64,
    deadline: Option<Instant>,
    workload: Arc<dyn Workload>,
) -> Part {
    let mut part = Part::default();
    let mut stream = Some(stream);
    let mut buffer = Vec::with_capacity(16 * 1024);
    loop {
        let i = counter.fetch_add(1, Ordering::Relaxed);
        if i >= limit || deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            break;
        }
        let request = workload.request(i);
        let started = Instant::now();
        let answer = match stream.as_mut() {
            Some(open) => exchange(open, &request, &mut buffer).await,
            None => match connect(addr).await {
                Ok(open) => exchange(stream.insert(open), &request, &mut buffer).await,
                Err(err) => Err(err),
            },
        };
        let latency = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        part.latencies_us.push(latency);
        match answer {
            Ok((status, body)) if workload.accept(status, &buffer[body..]) => part.ok += 1,
            Ok((status, body)) => {
                part.errors += 1;
                part.first_error.get_or_insert_with(|| {
                    format!(
                        "status {status}: {}",
                        String::from_utf8_lossy(&buffer[body..])
                            .chars()
                            .take(200)
                            .collect::<String>()
                    )
                });
            }
            Err(err) => {
                part.errors += 1;
                part.first_error.get_or_insert_with(|| err.to_string());
                stream = None;
            }
        }
    }
    part
}

/// Sends one request and reads its answer into `buffer`; returns the status and where the body
/// starts.
async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> std::io::Result<(u16, usize)> {
    stream.write_all(request).await?;
    buffer.clear();
    let mut head: Option<(u16, usize, usize)> = None;
    loop {
        if let Some((status, body_start, length)) = head
            && buffer.len() >= body_start + length
        {
            return Ok((status, body_start));
        }
        buffer.reserve(8 * 1024);
        if stream.read_buf(buffer).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if head.is_none() {
            head = parse_head(buffer)?;
        }
    }
}

/// Status, body offset and `Content-Length` of a response head, once it is complete.
fn parse_head(buffer: &[u8]) -> std::io::Result<Option<(u16, usize, usize)>> {
    let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Ok(None);
    };
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let head = std::str::from_utf8(&buffer[..end]).map_err(|_| invalid("a non-UTF-8 head"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    let mut length = 0;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("a bad Content-Length"))?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid("chunked answers are not expected"));
            }
        }
    }
    Ok(Some((status, end + 4, length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_complete_head() {
        let answer = b"HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\nx: y\r\n\r\nhello";
        assert_eq!(
            parse_head(answer).ok().flatten(),
            Some((404, answer.len() - 5, 5))
        );
        assert_eq!(parse_head(&answer[..20]).ok().flatten(), None);
    }
}
