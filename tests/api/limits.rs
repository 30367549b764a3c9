//! Limits before authentication, over raw sockets: a body must arrive within the deadline
//! (408, connection closed), a body over the limit closes the connection instead of being
//! drained, and the bytes buffered for unverified webhook bodies have a budget (503 with
//! Retry-After beyond it). `burst_memory` measures the server's RSS through a burst.

mod burst_memory;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// The default body deadline (`server.body_timeout_seconds`).
const DEADLINE: Duration = Duration::from_secs(5);
/// Slack for a loaded test machine: an answer later than the deadline plus this is a failure.
const SLACK: Duration = Duration::from_secs(5);
const WEBHOOK: &str = "/api/v1/auth/clerk_webhook/";

pub fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("a read timeout");
    stream
}

pub fn port(server: &TestServer) -> u16 {
    server
        .base
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("the base URL names a port")
}

/// The request line and headers of a webhook delivery, unsigned, with `framing` as the body's
/// framing header (`Content-Length: …` or `Transfer-Encoding: chunked`).
pub fn webhook_head(framing: &str) -> String {
    format!(
        "POST {WEBHOOK} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         svix-id: msg_raw\r\nsvix-timestamp: 1\r\nsvix-signature: v1,AAAA\r\n{framing}\r\n\r\n"
    )
}

/// An answer read from a raw socket.
pub struct RawAnswer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn detail(&self) -> String {
        serde_json::from_str::<Value>(&self.body).unwrap_or(Value::Null)["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Parses an answer once its head and its `Content-Length` body are in `bytes`.
fn parse_answer(bytes: &[u8]) -> Option<RawAnswer> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let answer = RawAnswer {
        status,
        head: head.to_owned(),
        body: String::new(),
    };
    let length: usize = answer.header("content-length")?.parse().ok()?;
    (body.len() >= length).then(|| RawAnswer {
        body: body[..length].to_owned(),
        ..answer
    })
}

/// What reading from the socket found.
enum Read1 {
    Bytes,
    Nothing,
    Closed,
}

fn read_some(stream: &mut TcpStream, into: &mut Vec<u8>) -> Read1 {
    let mut buffer = [0_u8; 16 * 1024];
    match stream.read(&mut buffer) {
        Ok(0) => Read1::Closed,
        Ok(n) => {
            into.extend_from_slice(&buffer[..n]);
            Read1::Bytes
        }
        Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Read1::Nothing
        }
        Err(_) => Read1::Closed,
    }
}

/// Writes one byte of the body every `interval` (none when `interval` is `None`) until an
/// answer arrives or `timeout` passes; returns the answer and when it came.
fn answer_while_dripping(
    stream: &mut TcpStream,
    interval: Option<Duration>,
    timeout: Duration,
) -> Option<(RawAnswer, Duration)> {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut last_drip = Instant::now();
    while started.elapsed() < timeout {
        if interval.is_some_and(|interval| last_drip.elapsed() >= interval) {
            let _ = stream.write_all(b"x");
            last_drip = Instant::now();
        }
        if let Read1::Closed = read_some(stream, &mut received) {
            return parse_answer(&received).map(|answer| (answer, started.elapsed()));
        }
        if let Some(answer) = parse_answer(&received) {
            return Some((answer, started.elapsed()));
        }
    }
    None
}

/// The answer that arrives within `timeout`, if any.
pub fn answer_within(stream: &mut TcpStream, timeout: Duration) -> Option<RawAnswer> {
    answer_while_dripping(stream, None, timeout).map(|(answer, _)| answer)
}

/// Whether the server closes the connection within `timeout` (reads return EOF or an error).
fn closed_within(stream: &mut TcpStream, timeout: Duration) -> bool {
    let started = Instant::now();
    let mut ignored = Vec::new();
    while started.elapsed() < timeout {
        if let Read1::Closed = read_some(stream, &mut ignored) {
            return true;
        }
    }
    false
}

fn assert_timed_out(answer: Option<(RawAnswer, Duration)>, what: &str) -> RawAnswer {
    let (answer, after) = answer.unwrap_or_else(|| panic!("{what}: no answer in time"));
    assert_eq!(answer.status, 408, "{what}: {}", answer.body);
    assert!(
        answer.detail().contains("did not arrive within 5 seconds"),
        "{what}: {}",
        answer.body
    );
    assert!(
        after <= DEADLINE + SLACK,
        "{what}: answered after {after:?}"
    );
    answer
}

#[actix_web::test]
async fn a_stalled_body_is_answered_408_and_the_connection_closed() {
    let server = TestServer::sqlite().await;
    let port = port(&server);
    let result = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = connect(port);
        stream
            .write_all(webhook_head("Content-Length: 1000").as_bytes())
            .and_then(|()| stream.write_all(br#"{"type":"user.cre"#))
            .expect("writes");
        let answer = answer_while_dripping(&mut stream, None, DEADLINE + SLACK);
        let answer = assert_timed_out(answer, "a stalled body");
        assert_eq!(
            answer.header("connection"),
            Some("close"),
            "{}",
            answer.head
        );
        assert!(
            closed_within(&mut stream, Duration::from_secs(3)),
            "the connection is closed after the 408"
        );
    })
    .await;
    result.expect("the socket test ran");
}

#[actix_web::test]
async fn a_body_dripped_byte_by_byte_is_answered_408() {
    let server = TestServer::sqlite().await;
    let port = port(&server);
    let result = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = connect(port);
        stream
            .write_all(webhook_head("Content-Length: 100").as_bytes())
            .expect("writes");
        let answer = answer_while_dripping(
            &mut stream,
            Some(Duration::from_millis(500)),
            DEADLINE + SLACK,
        );
        assert_timed_out(answer, "a dripped body");
        assert!(closed_within(&mut stream, Duration::from_secs(3)));
    })
    .await;
    result.expect("the socket test ran");
}

#[actix_web::test]
async fn a_chunked_body_over_the_limit_is_refused_and_the_connection_closed() {
    let server = TestServer::sqlite().await;
    let port = port(&server);
    let result = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = connect(port);
        stream
            .write_all(webhook_head("Transfer-Encoding: chunked").as_bytes())
            .expect("writes");
        let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
        let writer = stream.try_clone().expect("a second handle");
        // Streams chunks for as long as the server takes them, at most 15 s.
        let sender = std::thread::spawn(move || {
            let mut writer = writer;
            let started = Instant::now();
            let mut sent: u64 = 0;
            while started.elapsed() < Duration::from_secs(15) {
                if writer.write_all(chunk.as_bytes()).is_err() {
                    return (sent, true);
                }
                sent += chunk.len() as u64;
            }
            (sent, false)
        });
        let answer = answer_while_dripping(&mut stream, None, Duration::from_secs(10));
        let (answer, _) = answer.expect("an answer to the oversized body");
        assert_eq!(answer.status, 413, "{}", answer.body);
        assert!(
            answer.detail().contains("larger than the limit"),
            "{}",
            answer.body
        );
        let (sent, refused) = sender.join().expect("the sender ends");
        assert!(
            refused,
            "the server kept reading after its 413: {} MiB taken in 15 s",
            sent >> 20
        );
        eprintln!("the server took {} MiB before closing", sent >> 20);
    })
    .await;
    result.expect("the socket test ran");
}

/// Connections over the budget (32 MiB by default; each of these announces 1 MiB) are answered
/// 503 with Retry-After at once; after the burst a signed delivery is applied.
#[actix_web::test]
async fn webhook_bodies_beyond_the_budget_are_answered_503_and_deliveries_resume() {
    let server = TestServer::sqlite().await;
    let port = port(&server);
    let refused = actix_web::rt::task::spawn_blocking(move || {
        let mut streams: Vec<TcpStream> = (0..48)
            .map(|_| {
                let mut stream = connect(port);
                stream
                    .write_all(webhook_head("Content-Length: 1048576").as_bytes())
                    .and_then(|()| stream.write_all(&[b' '; 1024]))
                    .expect("writes");
                stream
            })
            .collect();
        let mut refused = Vec::new();
        let mut received: Vec<Vec<u8>> = vec![Vec::new(); streams.len()];
        // Two looks at every socket, well within the body deadline: the refusals come at once.
        for _ in 0..2 {
            std::thread::sleep(Duration::from_millis(750));
            for (stream, bytes) in streams.iter_mut().zip(received.iter_mut()) {
                stream.set_nonblocking(true).expect("non-blocking");
                while let Read1::Bytes = read_some(stream, bytes) {}
            }
        }
        for bytes in &received {
            if let Some(answer) = parse_answer(bytes) {
                refused.push((
                    answer.status,
                    answer.header("retry-after").map(str::to_owned),
                    answer.detail(),
                ));
            }
        }
        drop(streams);
        refused
    })
    .await
    .expect("the socket test ran");
    assert!(!refused.is_empty(), "no connection was refused");
    for (status, retry_after, detail) in &refused {
        assert_eq!(*status, 503, "{detail}");
        assert!(retry_after.is_some(), "503 without Retry-After");
        assert!(detail.contains("Too many webhook bodies"), "{detail}");
    }
    assert!(refused.len() < 48, "every connection was refused");
    let body = event_fixture("user.created");
    let started = Instant::now();
    let outcome = loop {
        let outcome = server.deliver_json("msg_after_burst", &body).await;
        if outcome.0 != 503 || started.elapsed() > Duration::from_secs(10) {
            break outcome;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(outcome, (200, "applied".to_owned()));
}
