//! What parsing one delivery body and deciding what it changes costs, per event type, on the
//! fixtures of `tests/fixtures/events/`. The decision is taken against a mirror that already
//! holds an older version of the object (the common case: an update), so every rule runs.
//!
//! `cargo bench -p clerk-sync-domain --bench events`.

#![expect(
    clippy::expect_used,
    reason = "a benchmark whose setup fails has nothing to measure"
)]
#![expect(
    missing_docs,
    reason = "criterion's macros generate undocumented functions"
)]

use std::hint::black_box;

use clerk_sync_domain::{
    ClerkEvent, EventEnvelope, HANDLED_EVENT_TYPES, MembershipContext, MembershipId,
    OrganizationContext, OrganizationId, StoredMembership, StoredOrganization, StoredUser,
    UnixMillis, UserContext, UserId, decide_membership_deletion, decide_membership_upsert,
    decide_organization_deletion, decide_organization_upsert, decide_user_deletion,
    decide_user_upsert,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn fixture(event_type: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/events/{event_type}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).expect("the fixture")
}

/// Decides the event against a mirror holding an older version of its object; `false` for an
/// event type the mirror does not handle.
fn decide(envelope: &EventEnvelope) -> bool {
    let old = UnixMillis(1);
    let user = |clerk_id| StoredUser {
        id: UserId(1),
        clerk_id: Some(clerk_id),
        clerk_updated_at: Some(old),
    };
    let organization = OrganizationContext {
        tombstoned: false,
        existing: Some(StoredOrganization {
            id: OrganizationId(1),
            clerk_updated_at: old,
        }),
    };
    match &envelope.event {
        ClerkEvent::UserUpserted(snapshot) => {
            let context = UserContext {
                by_clerk_id: Some(user(snapshot.clerk_id.clone())),
                ..UserContext::default()
            };
            keep(decide_user_upsert(snapshot, &context))
        }
        ClerkEvent::UserDeleted(id) => {
            let context = UserContext {
                by_clerk_id: Some(user(id.clone())),
                ..UserContext::default()
            };
            keep(decide_user_deletion(&context))
        }
        ClerkEvent::OrganizationUpserted(snapshot) => {
            keep(decide_organization_upsert(snapshot, &organization))
        }
        ClerkEvent::OrganizationDeleted(_) => keep(decide_organization_deletion(&organization)),
        ClerkEvent::MembershipUpserted(snapshot) | ClerkEvent::MembershipDeleted(snapshot) => {
            let stored = StoredMembership {
                id: MembershipId(1),
                clerk_id: snapshot.clerk_id.clone(),
                clerk_updated_at: old,
            };
            let context = MembershipContext {
                tombstoned: false,
                parties: Some((UserId(1), OrganizationId(1))),
                for_pair: Some(stored.clone()),
                by_clerk_id: Some(stored),
            };
            if matches!(envelope.event, ClerkEvent::MembershipDeleted(_)) {
                keep(decide_membership_deletion(&context))
            } else {
                keep(decide_membership_upsert(snapshot, &context))
            }
        }
        ClerkEvent::Unhandled => false,
    }
}

/// Keeps a decision from being optimised away.
fn keep<T>(decision: T) -> bool {
    drop(black_box(decision));
    true
}

fn parse_and_decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("event");
    for event_type in HANDLED_EVENT_TYPES {
        let body = fixture(event_type);
        let envelope = EventEnvelope::parse(&body).expect("the fixture parses");
        assert!(decide(&envelope), "{event_type} is decided");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("parse_and_decide", event_type),
            &body,
            |b, body| {
                b.iter(|| {
                    let envelope = EventEnvelope::parse(black_box(body)).expect("parses");
                    decide(&envelope)
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, parse_and_decide);
criterion_main!(benches);
