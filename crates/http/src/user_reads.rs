//! Callers' users, read together: the lookup every authenticated request makes (`/me`, forward
//! auth, the admin pages' access check) is queued, and a few reader threads take the queue in
//! turns, each reading what is queued, up to [`MAX_BATCH`] users, in one checkout of a pooled
//! connection (on PostgreSQL in one query). A request waits for nothing but the read in
//! progress: a reader takes what is queued when it is free and never waits for more, so a lone
//! request is read at once, and under load the requests that arrive during one read share the
//! next. That saves a hand-off to a blocking thread and a round trip to the database per
//! request.
//!
//! Each read starts after the requests it answers were queued, so it sees every transaction
//! committed before them: a webhook acknowledged, or a user written through, before a request
//! is made is what that request reads.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use clerk_sync_domain::{ClerkUserId, User};
use clerk_sync_persistence::{Database, StoreError, UnavailableCause, users};
use prometheus::Histogram;
use tokio::sync::oneshot;

use crate::ApiError;
use crate::db::{DATABASE_DEADLINE, deadline_exceeded, run_db};

/// The most users one read asks for.
pub const MAX_BATCH: usize = 64;

/// The most lookups queued for the readers; beyond it a lookup runs on its own (a blocking
/// thread and a connection of the pool, as any other query).
const QUEUE_CAPACITY: usize = 4096;

/// A queued lookup and where its answer goes.
struct Pending {
    clerk_id: ClerkUserId,
    answer: oneshot::Sender<Result<Option<User>, StoreError>>,
}

/// The lookups waiting for a reader.
struct Queue {
    lookups: VecDeque<Pending>,
    /// Readers waiting for a lookup: a lookup queued while none is waiting wakes nobody, as the
    /// busy readers take it when their read is done.
    idle: usize,
    /// Cleared when [`UserReads`] is dropped: the readers stop once the queue is empty.
    open: bool,
}

/// The queue and what the reader threads share.
struct Readers {
    database: Database,
    queue: Mutex<Queue>,
    queued: Condvar,
    batch_sizes: Histogram,
}

/// The queue of lookups, and its readers.
pub struct UserReads {
    readers: Arc<Readers>,
}

impl std::fmt::Debug for UserReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserReads").finish_non_exhaustive()
    }
}

impl UserReads {
    /// Starts `readers` reader threads (at least one), which read from `database` and observe
    /// each read's number of users in `batch_sizes`. They stop once this is dropped and the
    /// queue is empty.
    ///
    /// # Errors
    /// When a thread cannot be started.
    pub fn start(
        database: &Database,
        readers: usize,
        batch_sizes: Histogram,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Readers {
            database: database.clone(),
            queue: Mutex::new(Queue {
                lookups: VecDeque::new(),
                idle: 0,
                open: true,
            }),
            queued: Condvar::new(),
            batch_sizes,
        });
        let reads = Self {
            readers: Arc::clone(&shared),
        };
        for index in 0..readers.max(1) {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("user-reader-{index}"))
                .spawn(move || shared.run())?;
        }
        Ok(reads)
    }

    /// The user with this Clerk id, as the mirror holds it now.
    ///
    /// # Errors
    /// [`ApiError::Unavailable`] when the database is unavailable or does not answer within
    /// [`DATABASE_DEADLINE`], and what reading the row failed with.
    pub async fn find(&self, clerk_id: &ClerkUserId) -> Result<Option<User>, ApiError> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            clerk_id: clerk_id.clone(),
            answer,
        };
        if let Err(pending) = self.readers.enqueue(pending) {
            let clerk_id = pending.clerk_id;
            return run_db(&self.readers.database, move |conn| {
                users::find_by_clerk_id(conn, &clerk_id)
            })
            .await;
        }
        match tokio::time::timeout(DATABASE_DEADLINE, answered).await {
            Err(_elapsed) => Err(deadline_exceeded()),
            Ok(Err(_dropped)) => Err(ApiError::Internal(
                "the user reader stopped before answering".into(),
            )),
            Ok(Ok(found)) => Ok(found?),
        }
    }
}

impl Drop for UserReads {
    fn drop(&mut self) {
        self.readers.lock().open = false;
        self.readers.queued.notify_all();
    }
}

impl Readers {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a lookup, waking a reader if one is waiting; gives it back when the queue is
    /// full.
    fn enqueue(&self, pending: Pending) -> Result<(), Pending> {
        let mut queue = self.lock();
        if queue.lookups.len() >= QUEUE_CAPACITY {
            return Err(pending);
        }
        queue.lookups.push_back(pending);
        let wake = queue.idle > 0;
        drop(queue);
        if wake {
            self.queued.notify_one();
        }
        Ok(())
    }

    /// Takes what is queued and reads it, until the queue is closed and empty.
    fn run(&self) {
        while let Some(batch) = self.gather() {
            self.batch_sizes.observe(batch.len() as f64);
            if catch_unwind(AssertUnwindSafe(|| self.read(batch))).is_err() {
                // The answers were dropped with the batch: those requests answer 500.
                tracing::error!("a user reader panicked while reading a batch");
            }
        }
    }

    /// What is queued, up to [`MAX_BATCH`] lookups, once there is any: `None` when the queue
    /// is closed and empty.
    fn gather(&self) -> Option<Vec<Pending>> {
        let mut queue = self.lock();
        while queue.lookups.is_empty() {
            if !queue.open {
                return None;
            }
            queue.idle += 1;
            queue = self
                .queued
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
            queue.idle -= 1;
        }
        let take = queue.lookups.len().min(MAX_BATCH);
        Some(queue.lookups.drain(..take).collect())
    }

    /// Reads a batch and answers each of its lookups.
    fn read(&self, batch: Vec<Pending>) {
        let ids: Vec<&ClerkUserId> = batch.iter().map(|pending| &pending.clerk_id).collect();
        let read = self
            .database
            .get()
            .and_then(|mut conn| users::find_many_by_clerk_id(&mut conn, &ids));
        let answers: Vec<Result<Option<User>, StoreError>> = match read {
            Ok(answers) => answers,
            Err(err) if ids.len() > 1 && !matches!(err, StoreError::Unavailable(_)) => {
                // The shared query failed while the database answers: each is read alone, so
                // that each answers its own result.
                tracing::warn!(error = %err, users = ids.len(), "a batch of user reads failed; reading them one at a time");
                ids.iter()
                    .map(|id| users::find_by_clerk_id(&mut *self.database.get()?, id))
                    .collect()
            }
            Err(err) if ids.len() > 1 => {
                let shared = Arc::new(err);
                ids.iter()
                    .map(|_| {
                        Err(StoreError::Unavailable(UnavailableCause::Batch(
                            Arc::clone(&shared),
                        )))
                    })
                    .collect()
            }
            Err(err) => vec![Err(err)],
        };
        drop(ids);
        for (pending, answer) in batch.into_iter().zip(answers) {
            // A request that gave up waiting has gone.
            let _gone = pending.answer.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use clerk_sync_domain::{EventEnvelope, Outcome};
    use clerk_sync_persistence::testing::TestDatabase;
    use clerk_sync_persistence::{BatchedDelivery, Delivery, DeliveryWork, process_deliveries};
    use futures_util::future::join_all;
    use prometheus::HistogramOpts;

    use super::*;

    #[actix_rt::test]
    async fn lookups_made_together_each_get_their_own_user_on_sqlite() {
        lookups_made_together_each_get_their_own_user(
            TestDatabase::sqlite().expect("a SQLite file"),
        )
        .await;
    }

    #[actix_rt::test]
    async fn lookups_made_together_each_get_their_own_user_on_postgres() {
        if let Some(db) = TestDatabase::postgres().expect("a PostgreSQL test database") {
            lookups_made_together_each_get_their_own_user(db).await;
        }
    }

    /// Many lookups at once, of users present, absent and asked several times, each get their
    /// own user, and each is read exactly once.
    async fn lookups_made_together_each_get_their_own_user(db: TestDatabase) {
        let database = db.connect().expect("database");
        let bodies: Vec<String> = (0..10)
            .map(|n| format!(r#"{{"type":"user.created","data":{{"id":"user_{n}","first_name":"N{n}","updated_at":1,"email_addresses":[]}}}}"#))
            .collect();
        let envelopes: Vec<EventEnvelope> = bodies
            .iter()
            .map(|body| EventEnvelope::parse(body.as_bytes()).expect("an event"))
            .collect();
        let ids: Vec<String> = (0..10).map(|n| format!("msg_{n}")).collect();
        let items: Vec<BatchedDelivery<'_>> = envelopes
            .iter()
            .zip(&bodies)
            .zip(&ids)
            .map(|((envelope, body), svix_id)| BatchedDelivery {
                delivery: Delivery {
                    svix_id,
                    event_type: "user.created",
                    clerk_object_id: envelope.event.object_id(),
                    payload: body,
                    received_at: chrono::Utc::now().naive_utc(),
                },
                work: DeliveryWork::Apply(envelope),
            })
            .collect();
        let outcomes = process_deliveries(&mut database.get_writer().expect("writer"), &items)
            .expect("the users written");
        assert!(
            outcomes
                .iter()
                .all(|outcome| matches!(outcome, Ok(Outcome::Applied)))
        );

        let sizes = Histogram::with_opts(HistogramOpts::new("sizes", "sizes")).expect("metric");
        let reads = UserReads::start(&database, 1, sizes.clone()).expect("readers");
        let asked: Vec<ClerkUserId> = (0..200)
            .map(|n| ClerkUserId::parse(&format!("user_{}", n % 15)).expect("an id"))
            .collect();
        let answers = join_all(asked.iter().map(|id| reads.find(id))).await;
        for (id, answer) in asked.iter().zip(answers) {
            let name = answer.expect("a read").and_then(|user| user.first_name);
            let n: usize = id.as_str()["user_".len()..].parse().expect("a number");
            assert_eq!(name, (n < 10).then(|| format!("N{n}")), "{id:?}");
        }
        assert_eq!(sizes.get_sample_sum(), 200.0, "every lookup read once");
    }
}
