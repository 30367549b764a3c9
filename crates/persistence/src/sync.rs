//! Applying webhook deliveries: each in one transaction that records the Svix message id
//! together with the change, so a delivery takes effect exactly once.
//!
//! Every function here reads what the domain rules need, asks them what to do, and writes
//! that; no rule is decided here.

use chrono::NaiveDateTime;
use clerk_sync_domain::{
    ClerkEvent, ClerkOrgId, ClerkUserId, EventEnvelope, MemberUser, MembershipContext,
    MembershipDecision, MembershipDeletion, MembershipSnapshot, OrganizationContext,
    OrganizationDecision, OrganizationDeletion, OrganizationId, OrganizationSnapshot, Outcome,
    PublicUserData, UnixMillis, UserContext, UserDecision, UserDeletion, UserId, UserSnapshot,
    UserTarget, decide_member_user, decide_membership_deletion, decide_membership_upsert,
    decide_organization_deletion, decide_organization_upsert, decide_user_deletion,
    decide_user_upsert,
};

use crate::tombstones::Kind;
use crate::webhook_events::{self, Delivery};
use crate::{
    DbConnection, StoreError, memberships, organizations, tombstones, users, write_transaction,
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
    let message_key = format!("msg:{}", delivery.svix_id);
    let email_key = match &envelope.event {
        ClerkEvent::UserUpserted(user) => user.email.as_ref().map(|email| format!("email:{email}")),
        _ => None,
    };
    let mut keys = vec![message_key.as_str()];
    keys.extend(email_key.as_deref());
    keys.extend(object_keys(&envelope.event));
    write_transaction(conn, &keys, |conn| match webhook_events::recorded_outcome(
        conn,
        delivery.svix_id,
    )? {
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
    })
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
    let message_key = format!("msg:{}", delivery.svix_id);
    write_transaction(conn, &[message_key.as_str()], |conn| {
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

/// The Clerk ids whose rows the event reads or writes: the lock keys that serialize writers of
/// the same objects.
fn object_keys(event: &ClerkEvent) -> Vec<&str> {
    match event {
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
    }
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
    let deleted_at = envelope.timestamp;
    match &envelope.event {
        ClerkEvent::UserUpserted(user) => upsert_user(conn, user, now),
        ClerkEvent::UserDeleted(id) => delete_user(conn, id, deleted_at, now),
        ClerkEvent::OrganizationUpserted(org) => {
            upsert_organization(conn, org, now).map(|(outcome, _)| outcome)
        }
        ClerkEvent::OrganizationDeleted(id) => delete_organization(conn, id, deleted_at, now),
        ClerkEvent::MembershipUpserted(m) => apply_membership(conn, m, None, now),
        ClerkEvent::MembershipDeleted(m) => apply_membership(conn, m, Some(deleted_at), now),
        ClerkEvent::Unhandled => Ok(Outcome::Ignored),
    }
}

fn user_context(
    conn: &mut DbConnection,
    clerk_id: &ClerkUserId,
) -> Result<UserContext, StoreError> {
    Ok(UserContext {
        tombstoned: tombstones::exists(conn, clerk_id.as_str())?,
        by_clerk_id: users::stored_by_clerk_id(conn, clerk_id)?,
        email_holder: None,
    })
}

fn upsert_user(
    conn: &mut DbConnection,
    user: &UserSnapshot,
    now: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    let mut context = user_context(conn, &user.clerk_id)?;
    if let Some(email) = &user.email {
        context.email_holder = users::stored_by_email(conn, email)?;
    }
    let write = match decide_user_upsert(user, &context) {
        UserDecision::Tombstoned => return Ok(Outcome::Tombstoned),
        UserDecision::Stale => return Ok(Outcome::Stale),
        UserDecision::Write(write) => write,
    };
    let email = write.email.as_ref();
    if let (Some(holder), Some(email)) = (write.release_email_from, email) {
        users::release_email(conn, holder, email, now)?;
    }
    match write.target {
        UserTarget::Insert => {
            users::insert_version(conn, user, email, now)?;
        }
        UserTarget::Update(id) | UserTarget::Link(id) => {
            users::write_version(conn, id, user, email, now)?
        }
        UserTarget::Merge { from, into } => {
            users::merge(conn, from, into)?;
            users::write_version(conn, into, user, email, now)?;
        }
    }
    Ok(Outcome::Applied)
}

fn delete_user(
    conn: &mut DbConnection,
    clerk_id: &ClerkUserId,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    match decide_user_deletion(&user_context(conn, clerk_id)?) {
        UserDeletion::AlreadyTombstoned => Ok(Outcome::Tombstoned),
        UserDeletion::Delete(row) => {
            if let Some(id) = row {
                users::delete(conn, id)?;
            }
            tombstones::insert(conn, Kind::User, clerk_id.as_str(), deleted_at, now)?;
            Ok(Outcome::Applied)
        }
    }
}

fn organization_context(
    conn: &mut DbConnection,
    clerk_id: &ClerkOrgId,
) -> Result<OrganizationContext, StoreError> {
    Ok(OrganizationContext {
        tombstoned: tombstones::exists(conn, clerk_id.as_str())?,
        existing: organizations::stored_by_clerk_id(conn, clerk_id)?,
    })
}

/// Applies an organization version; also returns the organization's row, unless deleted.
fn upsert_organization(
    conn: &mut DbConnection,
    org: &OrganizationSnapshot,
    now: NaiveDateTime,
) -> Result<(Outcome, Option<OrganizationId>), StoreError> {
    Ok(
        match decide_organization_upsert(org, &organization_context(conn, &org.clerk_id)?) {
            OrganizationDecision::Tombstoned => (Outcome::Tombstoned, None),
            OrganizationDecision::Stale(id) => (Outcome::Stale, Some(id)),
            OrganizationDecision::Insert => (
                Outcome::Applied,
                Some(organizations::insert_version(conn, org, now)?),
            ),
            OrganizationDecision::Update(id) => {
                organizations::write_version(conn, id, org, now)?;
                (Outcome::Applied, Some(id))
            }
        },
    )
}

fn delete_organization(
    conn: &mut DbConnection,
    clerk_id: &ClerkOrgId,
    deleted_at: Option<UnixMillis>,
    now: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    match decide_organization_deletion(&organization_context(conn, clerk_id)?) {
        OrganizationDeletion::AlreadyTombstoned => Ok(Outcome::Tombstoned),
        OrganizationDeletion::Delete(row) => {
            if let Some(id) = row {
                organizations::delete(conn, id)?;
            }
            tombstones::insert(conn, Kind::Organization, clerk_id.as_str(), deleted_at, now)?;
            Ok(Outcome::Applied)
        }
    }
}

/// The membership's user: known, created from the public data, or `None` when deleted.
fn member_user(
    conn: &mut DbConnection,
    user: &PublicUserData,
    now: NaiveDateTime,
) -> Result<Option<UserId>, StoreError> {
    match decide_member_user(&user_context(conn, &user.clerk_id)?) {
        MemberUser::Tombstoned => Ok(None),
        MemberUser::Known(id) => Ok(Some(id)),
        MemberUser::CreateFromPublicData => users::insert_placeholder(conn, user, now).map(Some),
    }
}

/// Applies a membership event. Whether it is an upsert or a deletion (`deleted` carries the
/// deletion time), the organization version and the user it carries are applied first, so the
/// mirror ends the same whichever of a membership's events arrive and in what order.
fn apply_membership(
    conn: &mut DbConnection,
    membership: &MembershipSnapshot,
    deleted: Option<Option<UnixMillis>>,
    now: NaiveDateTime,
) -> Result<Outcome, StoreError> {
    let (_, organization) = upsert_organization(conn, &membership.organization, now)?;
    let user = member_user(conn, &membership.user, now)?;
    let parties = user.zip(organization);
    let context = MembershipContext {
        tombstoned: tombstones::exists(conn, membership.clerk_id.as_str())?,
        parties,
        for_pair: match parties {
            Some((user, organization)) => memberships::stored_for_pair(conn, user, organization)?,
            None => None,
        },
        by_clerk_id: memberships::stored_by_clerk_id(conn, &membership.clerk_id)?,
    };
    if let Some(deleted_at) = deleted {
        return match decide_membership_deletion(&context) {
            MembershipDeletion::AlreadyTombstoned => Ok(Outcome::Tombstoned),
            MembershipDeletion::Delete(row) => {
                if let Some(id) = row {
                    memberships::delete(conn, id)?;
                }
                tombstones::insert(
                    conn,
                    Kind::Membership,
                    membership.clerk_id.as_str(),
                    deleted_at,
                    now,
                )?;
                Ok(Outcome::Applied)
            }
        };
    }
    match decide_membership_upsert(membership, &context) {
        MembershipDecision::Tombstoned => Ok(Outcome::Tombstoned),
        MembershipDecision::Stale => Ok(Outcome::Stale),
        MembershipDecision::Insert { user, organization } => {
            memberships::insert_version(conn, membership, user, organization, now)?;
            Ok(Outcome::Applied)
        }
        MembershipDecision::Update(id) => {
            memberships::write_version(conn, id, membership, now)?;
            Ok(Outcome::Applied)
        }
    }
}
