//! Request bodies, before anyone is authenticated: the whole body must arrive within a
//! deadline (else 408), and a connection whose body was not read to its end is closed after
//! the answer instead of being drained.
//!
//! actix-web bounds how long a client may take to send a request's headers, but not its body,
//! and after answering a chunked request early it reads and discards the rest of the body for as
//! long as the client sends it. The middleware [`bound_request_body`] wraps every request's
//! body in a stream that fails once the deadline has passed, and keeps the body alive until the
//! answer is written: actix then sees a body left unread and closes the connection (after at
//! most `client_disconnect_timeout` of discarding what is already on the way, so that the
//! answer is not lost to a reset).

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::Stream;
use tokio::time::{Sleep, sleep};

use crate::body_budget::BodyBudget;
use crate::{ApiError, AppState};

/// How long a request's whole body may take to arrive, unless configured: Svix sends a
/// delivery at once, and a few kilobytes take milliseconds.
pub const DEFAULT_BODY_DEADLINE: Duration = Duration::from_secs(5);

/// How request bodies are bounded before the request is authenticated.
#[derive(Debug)]
pub struct BodyLimits {
    /// How long a request's whole body may take to arrive, from when its headers were read.
    pub deadline: Duration,
    /// The bytes all webhook bodies not yet verified may hold together.
    pub webhook_budget: BodyBudget,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            deadline: DEFAULT_BODY_DEADLINE,
            webhook_budget: BodyBudget::new(crate::body_budget::DEFAULT_WEBHOOK_BUDGET_BYTES),
        }
    }
}

/// The middleware (mount it with `actix_web::middleware::from_fn`, inside the request log so
/// that the log and the metrics see the 408).
///
/// # Errors
/// Passes on the inner service's errors.
pub async fn bound_request_body(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let deadline = request
        .app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_BODY_DEADLINE, |state| state.body_limits.deadline);
    let payload = request.take_payload();
    if matches!(payload, Payload::None) {
        request.set_payload(payload);
        return Ok(next
            .call(request)
            .await?
            .map_into_boxed_body()
            .map_body(|_, body| HeldPayload {
                body,
                _payload: None,
            }));
    }
    let shared = Rc::new(RefCell::new(payload));
    let timed_out = Rc::new(Cell::new(false));
    let stream = DeadlinePayload {
        payload: Rc::clone(&shared),
        deadline: Box::pin(sleep(deadline)),
        timed_out: Rc::clone(&timed_out),
    };
    request.set_payload(Payload::Stream {
        payload: Box::pin(stream),
    });
    let mut response = next.call(request).await?.map_into_boxed_body();
    if timed_out.get() {
        let seconds = deadline.as_secs();
        tracing::info!(seconds, "request refused: its body did not arrive in time");
        let answer = ApiError::BodyTimeout { seconds }.error_response();
        response = response.into_response(answer);
    }
    Ok(response.map_body(|_, body| HeldPayload {
        body,
        _payload: Some(shared),
    }))
}

/// The request's body, failing with a timeout once `deadline` has passed.
struct DeadlinePayload {
    payload: Rc<RefCell<Payload>>,
    deadline: Pin<Box<Sleep>>,
    timed_out: Rc<Cell<bool>>,
}

impl Stream for DeadlinePayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.timed_out.get() || this.deadline.as_mut().poll(cx).is_ready() {
            this.timed_out.set(true);
            let timeout = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            );
            return Poll::Ready(Some(Err(PayloadError::Io(timeout))));
        }
        let mut payload = this.payload.borrow_mut();
        Pin::new(&mut *payload).poll_next(cx)
    }
}

/// An answer's body that keeps the request's body alive until the answer is written, so that
/// actix closes the connection when the request's body was not read to its end.
struct HeldPayload {
    body: BoxBody,
    _payload: Option<Rc<RefCell<Payload>>>,
}

impl MessageBody for HeldPayload {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}
