//! The HTTP edge on tiny_http: routing, body limit, header access for the verifier.

use std::io::Read;
use std::sync::Arc;
use std::thread;

use clerk_sync_svix::Headers;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::webhook::{Reply, WebhookState, receive_clerk_webhook};

/// The largest body accepted; Clerk's events are a few kilobytes.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How many requests are handled at once.
const WORKERS: usize = 4;

/// tiny_http's headers, readable by the verifier. The orphan rule forbids implementing the
/// foreign trait on the foreign slice, hence the wrapper.
struct RequestHeaders<'a>(&'a [Header]);

impl Headers for RequestHeaders<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|header| header.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }
}

/// Serves requests on `WORKERS` threads until the process ends.
pub fn serve(server: Server, state: WebhookState) {
    let server = Arc::new(server);
    let state = Arc::new(state);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (server, state) = (Arc::clone(&server), Arc::clone(&state));
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    handle(request, &state);
                }
            })
        })
        .collect();
    for worker in workers {
        // A worker only ends when the server does; a panic in one is already reported.
        let _ = worker.join();
    }
}

fn handle(mut request: Request, state: &WebhookState) {
    let path = request.url().split('?').next().unwrap_or_default();
    let reply = match (request.method(), path.trim_end_matches('/')) {
        (Method::Post, "/webhooks/clerk") => match read_body(&mut request) {
            Ok(body) => receive_clerk_webhook(state, &RequestHeaders(request.headers()), &body),
            Err(reply) => reply,
        },
        (Method::Get, "/health") => Reply {
            status: 200,
            body: serde_json::json!({"status": "ok"}),
        },
        (_, "/webhooks/clerk" | "/health") => Reply::detail(405, "Method not allowed"),
        _ => Reply::detail(
            404,
            "Not found: Clerk's webhooks go to POST /webhooks/clerk",
        ),
    };
    let mut response = Response::from_string(reply.body.to_string()).with_status_code(reply.status);
    // Both parts are valid ASCII header text, so this never fails.
    if let Ok(content_type) = Header::from_bytes("Content-Type", "application/json") {
        response.add_header(content_type);
    }
    if let Err(err) = request.respond(response) {
        eprintln!("welcome-mailer: could not send the answer: {err}");
    }
}

fn read_body(request: &mut Request) -> Result<Vec<u8>, Reply> {
    let too_large = || {
        Reply::detail(
            413,
            format!("The body is larger than {MAX_BODY_BYTES} bytes"),
        )
    };
    if request
        .body_length()
        .is_some_and(|len| len > MAX_BODY_BYTES)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_BODY_BYTES + 1).unwrap_or(u64::MAX);
    request
        .as_reader()
        .take(limit)
        .read_to_end(&mut body)
        .map_err(|_| Reply::detail(400, "The request body could not be read"))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(body)
}
