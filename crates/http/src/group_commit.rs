//! Group commit: webhook deliveries that arrive together are written in one transaction.
//!
//! Each verified delivery is queued, and its request waits for the answer. A few writer
//! threads (one on SQLite, which admits one writer at a time) take the queue in turns: the
//! writer whose turn it is takes what is queued, up to [`GroupCommitOptions::max_batch`]
//! deliveries, waiting at most [`GroupCommitOptions::max_wait`] for more while deliveries are
//! still being received, then writes them with [`process_deliveries`] while the next writer
//! gathers the next batch. A delivery is answered only once the transaction holding it has
//! committed (or with its own error: each delivery runs in a savepoint of its own), so an
//! acknowledged delivery is never lost, and a crash before the commit leaves the whole batch
//! unanswered, to be retried by its sender.
//!
//! A lone delivery waits for nothing: the writer waits only while other deliveries are being
//! received (their bodies read, their signatures checked), which is when waiting fills a
//! batch.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::web;
use clerk_sync_domain::{EventEnvelope, Outcome};
use clerk_sync_persistence::{
    Backend, BatchedDelivery, Database, Delivery, DeliveryWork, StoreError, UnavailableCause,
    process_alone, process_deliveries,
};
use prometheus::Histogram;
use tokio::sync::oneshot;

use crate::ApiError;
use crate::db::{DATABASE_DEADLINE, deadline_exceeded};

/// How deliveries are grouped.
#[derive(Clone, Debug)]
pub struct GroupCommitOptions {
    /// The most deliveries in one transaction. 1 writes each delivery in a transaction of its
    /// own.
    pub max_batch: usize,
    /// The longest a writer waits for more deliveries once it holds one, while others are
    /// being received.
    pub max_wait: Duration,
    /// Writer threads on PostgreSQL, each writing its batches on a pooled connection of its
    /// own (SQLite has one).
    pub postgres_writers: usize,
    /// The most deliveries queued for a writer; a delivery beyond it is answered 503, and its
    /// sender retries.
    pub queue_capacity: usize,
}

impl Default for GroupCommitOptions {
    fn default() -> Self {
        Self {
            max_batch: 64,
            max_wait: Duration::from_millis(2),
            postgres_writers: 2,
            queue_capacity: 1024,
        }
    }
}

/// A verified delivery, owned, as it waits in the queue.
#[derive(Debug)]
pub struct QueuedDelivery {
    /// The `svix-id` header.
    pub svix_id: String,
    /// The event type, or `unknown`.
    pub event_type: String,
    /// The body exactly as received.
    pub body: web::Bytes,
    /// When it arrived.
    pub received_at: chrono::NaiveDateTime,
    /// What it asks.
    pub work: QueuedWork,
}

/// What a queued delivery asks of the mirror.
#[derive(Debug)]
pub enum QueuedWork {
    /// Apply the event its body holds (boxed: an envelope is twenty times a reason's size).
    Apply(Box<EventEnvelope>),
    /// Record it as rejected, for this reason.
    Reject(String),
}

/// A queued delivery and where its answer goes.
struct Pending {
    delivery: QueuedDelivery,
    answer: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// The queue of deliveries waiting to be written, and its writers.
#[derive(Debug)]
pub struct GroupCommit {
    queue: SyncSender<Pending>,
    receiving: Arc<AtomicUsize>,
}

impl GroupCommit {
    /// Starts the writer threads, which write to `database` and observe each batch's size in
    /// `batch_sizes`. They stop once this is dropped and the queue is empty.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn start(
        database: &Database,
        options: &GroupCommitOptions,
        batch_sizes: Histogram,
    ) -> std::io::Result<Self> {
        let (queue, receiver) = sync_channel(options.queue_capacity.max(1));
        let receiving = Arc::new(AtomicUsize::new(0));
        let writers = match database.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => options.postgres_writers.max(1),
        };
        let shared = Arc::new(Writers {
            database: database.clone(),
            queue: Mutex::new(receiver),
            receiving: Arc::clone(&receiving),
            max_batch: options.max_batch.max(1),
            max_wait: options.max_wait,
            batch_sizes,
        });
        for index in 0..writers {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("delivery-writer-{index}"))
                .spawn(move || shared.run())?;
        }
        Ok(Self { queue, receiving })
    }

    /// Counts a delivery as being received until the returned guard is dropped or submitted:
    /// while any is, a writer holding a partial batch waits for it (at most the configured
    /// wait).
    pub fn receiving(&self) -> Receiving<'_> {
        self.receiving.fetch_add(1, Ordering::AcqRel);
        Receiving(self)
    }

    /// Queues a verified delivery and waits until the transaction holding it has committed.
    ///
    /// # Errors
    /// [`ApiError::DeliveryQueueFull`] when the queue is full, [`ApiError::Unavailable`] when the
    /// database is unavailable or does not answer within [`DATABASE_DEADLINE`], and what
    /// writing the delivery failed with.
    pub async fn submit(
        &self,
        receiving: Receiving<'_>,
        delivery: QueuedDelivery,
    ) -> Result<Outcome, ApiError> {
        // No longer being received: a writer that takes this delivery must not wait for it.
        drop(receiving);
        let (answer, answered) = oneshot::channel();
        let sent = self.queue.try_send(Pending { delivery, answer });
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("webhook refused: the queue of deliveries to write is full");
                return Err(ApiError::DeliveryQueueFull);
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(ApiError::Internal(
                    "the delivery writers have stopped".into(),
                ));
            }
        }
        match tokio::time::timeout(DATABASE_DEADLINE, answered).await {
            Err(_elapsed) => Err(deadline_exceeded()),
            Ok(Err(_dropped)) => Err(ApiError::Internal(
                "the delivery writer stopped before answering".into(),
            )),
            Ok(Ok(result)) => Ok(result?),
        }
    }
}

/// A delivery being received: see [`GroupCommit::receiving`].
#[derive(Debug)]
pub struct Receiving<'a>(&'a GroupCommit);

impl Drop for Receiving<'_> {
    fn drop(&mut self) {
        self.0.receiving.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the writer threads share.
struct Writers {
    database: Database,
    queue: Mutex<Receiver<Pending>>,
    receiving: Arc<AtomicUsize>,
    max_batch: usize,
    max_wait: Duration,
    batch_sizes: Histogram,
}

impl Writers {
    /// Gathers batches and writes them, until the queue is closed.
    fn run(&self) {
        while let Some(batch) = self.gather() {
            self.batch_sizes.observe(batch.len() as f64);
            let written = catch_unwind(AssertUnwindSafe(|| self.write(batch)));
            if written.is_err() {
                // The answers were dropped with the batch: those requests answer 500, and
                // their senders retry. The writer goes on with the next batch.
                tracing::error!("a delivery writer panicked while writing a batch");
            }
        }
    }

    /// The next batch, once this writer's turn has come: `None` when the queue is closed.
    fn gather(&self) -> Option<Vec<Pending>> {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let mut batch = vec![queue.recv().ok()?];
        let deadline = Instant::now() + self.max_wait;
        while batch.len() < self.max_batch {
            if let Ok(pending) = queue.try_recv() {
                batch.push(pending);
                continue;
            }
            let now = Instant::now();
            if self.receiving.load(Ordering::Acquire) == 0 || now >= deadline {
                break;
            }
            match queue.recv_timeout(deadline - now) {
                Ok(pending) => batch.push(pending),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        Some(batch)
    }

    /// Writes a batch and answers each of its deliveries.
    fn write(&self, batch: Vec<Pending>) {
        let payloads: Vec<Cow<'_, str>> = batch
            .iter()
            .map(|pending| storable_payload(&pending.delivery.body))
            .collect();
        let items: Vec<BatchedDelivery<'_>> = batch
            .iter()
            .zip(&payloads)
            .map(|(pending, payload)| batched(&pending.delivery, payload))
            .collect();
        let written = self
            .database
            .get_writer()
            .and_then(|mut conn| process_deliveries(&mut conn, &items));
        let results: Vec<Result<Outcome, StoreError>> = match written {
            Ok(results) => results,
            Err(err) if items.len() > 1 && !matches!(err, StoreError::Unavailable(_)) => {
                // The transaction failed while the database answers: one delivery may be the
                // cause (a row the model rejects, say). Each is written alone instead, so that
                // it answers its own error and the others are not held back by it.
                tracing::warn!(error = %err, deliveries = items.len(), "a batch of deliveries failed; writing them one at a time");
                items
                    .iter()
                    .map(|item| process_alone(&mut *self.database.get_writer()?, item))
                    .collect()
            }
            Err(err) if items.len() > 1 => {
                let shared = Arc::new(err);
                items
                    .iter()
                    .map(|_| {
                        Err(StoreError::Unavailable(UnavailableCause::Batch(
                            Arc::clone(&shared),
                        )))
                    })
                    .collect()
            }
            Err(err) => vec![Err(err)],
        };
        drop(items);
        for (pending, result) in batch.into_iter().zip(results) {
            // A request that gave up waiting has gone; its sender retries and finds the
            // message id recorded.
            let _gone = pending.answer.send(result);
        }
    }
}

/// A queued delivery as the persistence layer takes it, its body stored as `payload`.
fn batched<'a>(delivery: &'a QueuedDelivery, payload: &'a str) -> BatchedDelivery<'a> {
    let (work, clerk_object_id) = match &delivery.work {
        QueuedWork::Apply(envelope) => (DeliveryWork::Apply(envelope), envelope.event.object_id()),
        QueuedWork::Reject(reason) => (DeliveryWork::Reject(reason), None),
    };
    BatchedDelivery {
        delivery: Delivery {
            svix_id: &delivery.svix_id,
            event_type: &delivery.event_type,
            clerk_object_id,
            payload,
            received_at: delivery.received_at,
        },
        work,
    }
}

/// The body as the webhook log stores it: text, with what no text column can hold replaced by
/// U+FFFD (bytes that are not UTF-8, and NUL, which PostgreSQL refuses). Only a body that is
/// not valid JSON, and so is rejected anyway, can hold either.
fn storable_payload(body: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(body) {
        Cow::Owned(text) => Cow::Owned(text.replace('\0', "\u{FFFD}")),
        Cow::Borrowed(text) if text.contains('\0') => Cow::Owned(text.replace('\0', "\u{FFFD}")),
        Cow::Borrowed(text) => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use clerk_sync_persistence::testing::TestDatabase;
    use prometheus::HistogramOpts;

    use super::*;

    /// A delivery that no other is being received with is written at once: the writer does
    /// not wait out `max_wait` for it (the sender's own count once held the batch open).
    #[actix_rt::test]
    async fn a_lone_delivery_does_not_wait_for_company() {
        let db = TestDatabase::sqlite().expect("a SQLite file");
        let database = db.connect().expect("database");
        let options = GroupCommitOptions {
            max_batch: 64,
            max_wait: Duration::from_secs(1),
            postgres_writers: 1,
            queue_capacity: 16,
        };
        let sizes = Histogram::with_opts(HistogramOpts::new("sizes", "sizes")).expect("metric");
        let commit = GroupCommit::start(&database, &options, sizes).expect("writers");
        for n in 0..3 {
            let body = format!(
                r#"{{"type":"user.created","data":{{"id":"user_lone{n}","updated_at":1,"email_addresses":[]}}}}"#
            );
            let envelope = EventEnvelope::parse(body.as_bytes()).expect("an event");
            let delivery = QueuedDelivery {
                svix_id: format!("msg_lone{n}"),
                event_type: envelope.event_type.clone(),
                body: web::Bytes::from(body),
                received_at: chrono::Utc::now().naive_utc(),
                work: QueuedWork::Apply(Box::new(envelope)),
            };
            let started = Instant::now();
            let outcome = commit.submit(commit.receiving(), delivery).await;
            assert!(matches!(outcome, Ok(Outcome::Applied)), "{outcome:?}");
            assert!(
                started.elapsed() < Duration::from_millis(800),
                "delivery {n} waited {:?} for a batch nobody else was joining",
                started.elapsed()
            );
        }
    }

    #[test]
    fn stored_payloads_hold_neither_nul_nor_invalid_utf8() {
        assert_eq!(storable_payload(b"{\"a\":1}"), "{\"a\":1}");
        assert_eq!(storable_payload(b"a\0b"), "a\u{FFFD}b");
        assert_eq!(storable_payload(b"a\xffb\0"), "a\u{FFFD}b\u{FFFD}");
    }
}
