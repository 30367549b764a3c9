//! Applying webhook deliveries: in one transaction that records each Svix message id together
//! with its change, so a delivery takes effect exactly once. Deliveries that arrive together
//! share a transaction ([`process_deliveries`]), each in a savepoint of its own when one of
//! them fails. The change itself is made by the per-object functions of `changes`, which a
//! resync uses too.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use clerk_sync_domain::{ClerkEvent, EventEnvelope, Outcome, UserId};
use diesel::Connection;

use crate::changes::MembershipAction;
use crate::insert_buffer::InsertBuffer;
use crate::row_cache::RowCache;
use crate::webhook_events::{self, Delivery};
use crate::{
    DbConnection, LockKey, StoreError, WriteMode, changes, write_transaction, write_transaction_in,
};

/// Applies a verified, parsed delivery exactly once and records it in the webhook log.
///
/// A message id seen before is a [`Outcome::Duplicate`] and changes nothing, unless it was
/// rejected then: a rejected delivery is processed again.
///
/// # Errors
/// [`StoreError`] when the database fails; nothing is written then, and the sender's retry
/// will process the delivery anew.
pub fn process_delivery(
    conn: &mut DbConnection,
    delivery: &Delivery<'_>,
    envelope: &EventEnvelope,
) -> Result<Outcome, StoreError> {
    process_delivery_in(WriteMode::Commit, conn, delivery, envelope)
}

/// [`process_delivery`], rolled back at the end for [`WriteMode::DryRun`]: what the delivery
/// would become now, under the same locks, with nothing kept.
pub(crate) fn process_delivery_in(
    mode: WriteMode,
    conn: &mut DbConnection,
    delivery: &Delivery<'_>,
    envelope: &EventEnvelope,
) -> Result<Outcome, StoreError> {
    let item = BatchedDelivery {
        delivery: *delivery,
        work: DeliveryWork::Apply(envelope),
    };
    alone_in(mode, conn, &item)
}

/// Records a verified delivery that could not be applied, with the reason, so that it can be
/// inspected and replayed. Returns [`Outcome::Rejected`], or [`Outcome::Duplicate`] when the
/// message id was processed successfully before.
///
/// # Errors
/// [`StoreError`] when the database fails.
pub fn record_rejection(
    conn: &mut DbConnection,
    delivery: &Delivery<'_>,
    reason: &str,
) -> Result<Outcome, StoreError> {
    let item = BatchedDelivery {
        delivery: *delivery,
        work: DeliveryWork::Reject(reason),
    };
    process_alone(conn, &item)
}

/// Processes one delivery in a transaction of its own: [`process_deliveries`] for a batch of
/// one, which needs no savepoint.
///
/// # Errors
/// [`StoreError`] when the database fails; nothing is written then.
pub fn process_alone(
    conn: &mut DbConnection,
    item: &BatchedDelivery<'_>,
) -> Result<Outcome, StoreError> {
    alone_in(WriteMode::Commit, conn, item)
}

fn alone_in(
    mode: WriteMode,
    conn: &mut DbConnection,
    item: &BatchedDelivery<'_>,
) -> Result<Outcome, StoreError> {
    let results = process_deliveries_in(mode, conn, std::slice::from_ref(item))?;
    // A batch that commits answers each of its deliveries: here, exactly one.
    results.into_iter().next().unwrap_or(Ok(Outcome::Duplicate))
}

/// What a verified delivery asks of the mirror.
#[derive(Clone, Copy, Debug)]
pub enum DeliveryWork<'a> {
    /// Apply the event its body holds.
    Apply(&'a EventEnvelope),
    /// Record it as rejected: its body cannot be applied, for this reason.
    Reject(&'a str),
}

/// A verified delivery and what it asks: one element of [`process_deliveries`]' batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchedDelivery<'a> {
    /// The delivery, as the webhook log records it.
    pub delivery: Delivery<'a>,
    /// What it asks.
    pub work: DeliveryWork<'a>,
}

/// How many times a delivery whose savepoint conflicted runs again within its batch.
const SAVEPOINT_ATTEMPTS: u32 = 3;

/// Processes deliveries that arrived together in one transaction (group commit), each exactly
/// once and in order, as [`process_delivery`] and [`record_rejection`] would one after the
/// other, and answers each one's outcome.
///
/// The transaction takes the locks of every delivery at its start, in one sorted order (so
/// that batches on separate connections or replicas never wait on each other in a cycle),
/// reads the message ids and the rows the rules need in a few queries, then applies the
/// deliveries one after the other and logs the new message ids in one INSERT. Should any
/// delivery fail, the transaction is rolled back and runs again with each delivery in a
/// savepoint of its own: a delivery that fails is rolled back alone and answered its error, and
/// the others are kept. A message id that comes twice in one batch is a duplicate the second
/// time, as it would be in two transactions.
///
/// # Errors
/// [`StoreError`] for the whole batch when the transaction itself fails (it cannot begin, its
/// locks or reads fail, or it cannot commit): nothing of it is written then.
pub fn process_deliveries(
    conn: &mut DbConnection,
    batch: &[BatchedDelivery<'_>],
) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
    process_deliveries_in(WriteMode::Commit, conn, batch)
}

fn process_deliveries_in(
    mode: WriteMode,
    conn: &mut DbConnection,
    batch: &[BatchedDelivery<'_>],
) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
    let mut keys = Vec::with_capacity(batch.len() * 4);
    for item in batch {
        keys.push(LockKey::message(item.delivery.svix_id));
        if let DeliveryWork::Apply(envelope) = item.work {
            keys.extend(event_keys(&envelope.event));
        }
    }
    if batch.len() > 1 {
        // Deliveries almost never fail, so the batch first runs without savepoints (two round
        // trips fewer per delivery) and writes its new log entries in one INSERT. Should one
        // delivery fail, all of that is rolled back and the batch runs again, each delivery in
        // a savepoint of its own, so that the failure is that delivery's alone.
        match write_transaction_in(mode, conn, &keys, |conn| {
            apply_batch(conn, batch, Isolation::Together)
        }) {
            Err(err @ StoreError::Unavailable(_)) => return Err(err),
            Err(_) => tracing::debug!(
                deliveries = batch.len(),
                "a delivery of a batch failed; applying each in a savepoint of its own"
            ),
            ok => return ok,
        }
    }
    write_transaction_in(mode, conn, &keys, |conn| {
        apply_batch(conn, batch, Isolation::Savepoints)
    })
}

/// How the deliveries of one transaction are kept apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// Not at all: any delivery's failure is the transaction's. New log entries are written
    /// together at the end.
    Together,
    /// Each in a savepoint (none for a batch of one, whose failure is the transaction's).
    Savepoints,
}

/// Applies `batch` inside its transaction, its locks taken.
fn apply_batch(
    conn: &mut DbConnection,
    batch: &[BatchedDelivery<'_>],
    isolation: Isolation,
) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
    let ids: Vec<&str> = batch.iter().map(|item| item.delivery.svix_id).collect();
    let mut answers = Answers {
        recorded: webhook_events::recorded_outcomes(conn, &ids)?,
        results: Vec::with_capacity(batch.len()),
    };
    let mut cache = RowCache::default();
    preload(conn, &mut cache, batch)?;
    match isolation {
        // The writes are held back and written together: the batch's new versions of stored
        // users in one UPDATE, its new rows and log entries in multi-row INSERTs.
        Isolation::Together => InsertBuffer::batch(conn, |db| {
            let mut log = LogWriter::new(true);
            for item in batch {
                let previous = answers.previous(item);
                let outcome = process_one(db, &mut cache, &mut log, item, previous)?;
                answers.answer(item, Ok(outcome));
            }
            log.flush(db.conn()?)
        })?,
        Isolation::Savepoints => {
            let mut log = LogWriter::new(false);
            for item in batch {
                let previous = answers.previous(item);
                let mut one = |conn: &mut DbConnection, cache: &mut RowCache| {
                    let db = &mut InsertBuffer::immediate(conn);
                    process_one(db, cache, &mut log, item, previous)
                };
                // A batch of one needs no savepoint: its failure is the transaction's.
                let result = if batch.len() == 1 {
                    Ok(one(conn, &mut cache)?)
                } else {
                    in_savepoint(conn, &mut cache, one)
                };
                answers.answer(item, result);
            }
        }
    }
    Ok(answers.results)
}

/// A batch's answers so far, and the outcome the log holds for each message id.
struct Answers {
    recorded: HashMap<String, Outcome>,
    results: Vec<Result<Outcome, StoreError>>,
}

impl Answers {
    /// What the log recorded for `item`'s message id before it.
    fn previous(&self, item: &BatchedDelivery<'_>) -> Option<Outcome> {
        self.recorded.get(item.delivery.svix_id).copied()
    }

    fn answer(&mut self, item: &BatchedDelivery<'_>, result: Result<Outcome, StoreError>) {
        if let Ok(outcome) = result
            && outcome != Outcome::Duplicate
        {
            self.recorded
                .insert(item.delivery.svix_id.to_owned(), outcome);
        }
        self.results.push(result);
    }
}

/// Writes a batch's new webhook-log entries: at once, or held back and written in one INSERT.
struct LogWriter<'a> {
    deferred: bool,
    pending: Vec<webhook_events::NewEntry<'a>>,
}

impl<'a> LogWriter<'a> {
    fn new(deferred: bool) -> Self {
        Self {
            deferred,
            pending: Vec::new(),
        }
    }

    /// Logs a message id's first outcome.
    fn insert(
        &mut self,
        db: &mut InsertBuffer<'_>,
        entry: webhook_events::NewEntry<'a>,
    ) -> Result<(), StoreError> {
        if self.deferred {
            self.pending.push(entry);
            Ok(())
        } else {
            webhook_events::insert_entries(db.conn()?, &[entry])
        }
    }

    /// Makes the entry of `svix_id`, if it is held back, visible to the statements that follow.
    fn written(&mut self, conn: &mut DbConnection, svix_id: &str) -> Result<(), StoreError> {
        if self
            .pending
            .iter()
            .any(|entry| entry.delivery.svix_id == svix_id)
        {
            self.flush(conn)?;
        }
        Ok(())
    }

    fn flush(&mut self, conn: &mut DbConnection) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        webhook_events::insert_entries(conn, &self.pending)?;
        self.pending.clear();
        Ok(())
    }
}

/// Runs `work` in a savepoint, again (a few times) when it conflicts. A failed attempt is rolled
/// back to the savepoint and forgets what `cache` remembered, since the rows it wrote are gone.
fn in_savepoint<T>(
    conn: &mut DbConnection,
    cache: &mut RowCache,
    mut work: impl FnMut(&mut DbConnection, &mut RowCache) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut attempt = 1;
    loop {
        let result = conn.transaction(|conn| work(conn, cache));
        if result.is_err() {
            *cache = RowCache::default();
        }
        match result {
            Err(err) if err.is_conflict() && attempt < SAVEPOINT_ATTEMPTS => {
                tracing::debug!(
                    attempt,
                    "a delivery of a batch conflicted; running it again"
                );
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// One delivery of a batch, inside its transaction: `previous` is what the log recorded for its
/// message id before it.
fn process_one<'a>(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    log: &mut LogWriter<'a>,
    item: &BatchedDelivery<'a>,
    previous: Option<Outcome>,
) -> Result<Outcome, StoreError> {
    let delivery = &item.delivery;
    if previous.is_some_and(|outcome| outcome != Outcome::Rejected) {
        let conn = db.conn()?;
        log.written(conn, delivery.svix_id)?;
        webhook_events::record_repeat(conn, delivery)?;
        return Ok(Outcome::Duplicate);
    }
    let (outcome, error) = match item.work {
        DeliveryWork::Apply(envelope) => {
            (apply_with(db, cache, envelope, delivery.received_at)?, None)
        }
        DeliveryWork::Reject(reason) => (Outcome::Rejected, Some(reason)),
    };
    match previous {
        None => log.insert(
            db,
            webhook_events::NewEntry {
                delivery: *delivery,
                outcome,
                error,
            },
        )?,
        Some(_) => {
            let conn = db.conn()?;
            log.written(conn, delivery.svix_id)?;
            webhook_events::record_retry(conn, delivery, outcome, error)?;
        }
    }
    Ok(outcome)
}

/// Reads, in a few queries, the rows the rules will ask about for every event of `batch`.
fn preload(
    conn: &mut DbConnection,
    cache: &mut RowCache,
    batch: &[BatchedDelivery<'_>],
) -> Result<(), StoreError> {
    let mut wanted = Wanted::default();
    for item in batch {
        if let DeliveryWork::Apply(envelope) = item.work {
            wanted.add(&envelope.event);
        }
    }
    wanted.load(conn, cache)
}

/// The rows a batch's events read, by kind.
#[derive(Default)]
struct Wanted<'a> {
    tombstones: Vec<&'a str>,
    users: Vec<&'a str>,
    emails: Vec<&'a str>,
    accounts: Vec<UserId>,
    organizations: Vec<&'a str>,
    memberships: Vec<&'a str>,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Wanted<'a> {
    fn add(&mut self, event: &'a ClerkEvent) {
        match event {
            ClerkEvent::UserUpserted(user) => {
                self.user(user.clerk_id.as_str());
                self.emails.extend(user.email.as_ref().map(|e| e.as_str()));
                self.accounts.extend(user.external_account());
            }
            ClerkEvent::UserDeleted(id) => self.user(id.as_str()),
            ClerkEvent::OrganizationUpserted(org) => self.organization(org.clerk_id.as_str()),
            ClerkEvent::OrganizationDeleted(id) => self.organization(id.as_str()),
            ClerkEvent::MembershipUpserted(m) | ClerkEvent::MembershipDeleted(m) => {
                let (user, organization) =
                    (m.user.clerk_id.as_str(), m.organization.clerk_id.as_str());
                self.user(user);
                self.organization(organization);
                self.tombstones.push(m.clerk_id.as_str());
                self.memberships.push(m.clerk_id.as_str());
                self.pairs.push((user, organization));
            }
            ClerkEvent::Unhandled => {}
        }
    }

    fn user(&mut self, clerk_id: &'a str) {
        self.tombstones.push(clerk_id);
        self.users.push(clerk_id);
    }

    fn organization(&mut self, clerk_id: &'a str) {
        self.tombstones.push(clerk_id);
        self.organizations.push(clerk_id);
    }

    /// Preloads what was asked for into `cache`, one query per kind asked for (a kind nothing
    /// asked for sends none).
    fn load(mut self, conn: &mut DbConnection, cache: &mut RowCache) -> Result<(), StoreError> {
        for ids in [
            &mut self.tombstones,
            &mut self.users,
            &mut self.emails,
            &mut self.organizations,
            &mut self.memberships,
        ] {
            ids.sort_unstable();
            ids.dedup();
        }
        self.accounts.sort_unstable();
        self.accounts.dedup();
        self.pairs.sort_unstable();
        self.pairs.dedup();
        // An empty list sends no query.
        cache.preload_tombstones(conn, &self.tombstones)?;
        cache.preload_users(conn, &self.users)?;
        cache.preload_emails(conn, &self.emails)?;
        cache.preload_accounts(conn, &self.accounts)?;
        cache.preload_organizations(conn, &self.organizations)?;
        cache.preload_memberships(conn, &self.memberships)?;
        cache.preload_pairs(conn, &self.pairs)?;
        Ok(())
    }
}

/// Applies an event that did not come as a webhook delivery (an object Clerk's Backend API
/// answered a write with), in a transaction of its own under the locks a delivery of it would
/// take, so it follows the same rules and writers of the same objects run one after the other.
/// Nothing is written to the webhook log.
///
/// # Errors
/// [`StoreError`] when the database fails; nothing is written then.
pub fn apply_event(
    conn: &mut DbConnection,
    envelope: &EventEnvelope,
    now: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    write_transaction(conn, &event_keys(&envelope.event), |conn| {
        apply(conn, envelope, now)
    })
}

/// The lock keys an event takes: its objects', and what a user version may take over.
fn event_keys(event: &ClerkEvent) -> Vec<LockKey> {
    let mut keys = Vec::new();
    if let ClerkEvent::UserUpserted(user) = event {
        keys.extend(changes::claim_keys(user));
    }
    keys.extend(object_keys(event));
    keys
}

/// The Clerk ids whose rows the event reads or writes: the lock keys that serialize writers of
/// the same objects.
fn object_keys(event: &ClerkEvent) -> Vec<LockKey> {
    let ids = match event {
        ClerkEvent::UserUpserted(user) => vec![user.clerk_id.as_str()],
        ClerkEvent::UserDeleted(id) => vec![id.as_str()],
        ClerkEvent::OrganizationUpserted(org) => vec![org.clerk_id.as_str()],
        ClerkEvent::OrganizationDeleted(id) => vec![id.as_str()],
        ClerkEvent::MembershipUpserted(m) | ClerkEvent::MembershipDeleted(m) => {
            vec![
                m.clerk_id.as_str(),
                m.user.clerk_id.as_str(),
                m.organization.clerk_id.as_str(),
            ]
        }
        ClerkEvent::Unhandled => Vec::new(),
    };
    ids.into_iter().map(LockKey::object).collect()
}

/// Applies one event inside the caller's transaction.
///
/// # Errors
/// [`StoreError`] when the database fails.
pub fn apply(
    conn: &mut DbConnection,
    envelope: &EventEnvelope,
    now: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    let db = &mut InsertBuffer::immediate(conn);
    apply_with(db, &mut RowCache::default(), envelope, now)
}

/// [`apply`], reading through `cache`.
fn apply_with(
    db: &mut InsertBuffer<'_>,
    cache: &mut RowCache,
    envelope: &EventEnvelope,
    now: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    let deleted_at = envelope.timestamp;
    let change = match &envelope.event {
        ClerkEvent::UserUpserted(user) => changes::upsert_user(db, cache, user, now)?,
        ClerkEvent::UserDeleted(id) => changes::delete_user(db, cache, id, deleted_at, now)?,
        ClerkEvent::OrganizationUpserted(org) => {
            changes::upsert_organization(db, cache, org, now)?.0
        }
        ClerkEvent::OrganizationDeleted(id) => {
            changes::delete_organization(db, cache, id, deleted_at, now)?
        }
        ClerkEvent::MembershipUpserted(m) => {
            changes::apply_membership(db, cache, m, MembershipAction::Upsert, now)?
        }
        ClerkEvent::MembershipDeleted(m) => {
            let action = MembershipAction::delete(deleted_at);
            changes::apply_membership(db, cache, m, action, now)?
        }
        ClerkEvent::Unhandled => return Ok(Outcome::Ignored),
    };
    Ok(change.outcome())
}
