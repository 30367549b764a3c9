//! Applying webhook deliveries: each in one transaction that records the Svix message id
//! together with the change, so a delivery takes effect exactly once. The change itself is
//! made by the per-object functions of `changes`, which a resync uses too.

use chrono::NaiveDateTime;
use clerk_sync_domain::{ClerkEvent, EventEnvelope, Outcome};

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
    let mut keys = vec![LockKey::message(delivery.svix_id)];
    keys.extend(event_keys(&envelope.event));
    write_transaction_in(
        mode,
        conn,
        &keys,
        |conn| match webhook_events::recorded_outcome(conn, delivery.svix_id)? {
            None => {
                let outcome = apply(conn, envelope, delivery.received_at)?;
                webhook_events::insert(conn, delivery, outcome, None)?;
                Ok(outcome)
            }
            Some(Outcome::Rejected) => {
                let outcome = apply(conn, envelope, delivery.received_at)?;
                webhook_events::record_retry(conn, delivery, outcome, None)?;
                Ok(outcome)
            }
            Some(_) => {
                webhook_events::record_repeat(conn, delivery)?;
                Ok(Outcome::Duplicate)
            }
        },
    )
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
    write_transaction(conn, &[LockKey::message(delivery.svix_id)], |conn| {
        match webhook_events::recorded_outcome(conn, delivery.svix_id)? {
            None => webhook_events::insert(conn, delivery, Outcome::Rejected, Some(reason))?,
            Some(Outcome::Rejected) => {
                webhook_events::record_retry(conn, delivery, Outcome::Rejected, Some(reason))?
            }
            Some(_) => {
                webhook_events::record_repeat(conn, delivery)?;
                return Ok(Outcome::Duplicate);
            }
        }
        Ok(Outcome::Rejected)
    })
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
    let cache = &mut RowCache::default();
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
