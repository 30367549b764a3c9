//! The checks the fuzz targets run on every input: Svix verification, Clerk event parsing and
//! the sync decisions must never panic, must give the answer their contracts promise, and must
//! never echo input into error text.
//!
//! `crates/http/tests/fuzz_corpus.rs` compiles this same file (with `#[path]`) and replays every
//! committed corpus file through it, so plain `cargo test` guards these checks too; it therefore
//! uses only the domain and svix crates, serde and serde_json (which the http crate has too),
//! and the standard library.

use clerk_sync_domain::{
    ClerkEvent, ClerkMembershipId, ClerkOrgId, ClerkUserId, DomainError, EmailAddress,
    EventEnvelope, HANDLED_EVENT_TYPES, MemberUser, MembershipContext, MembershipDecision,
    MembershipDeletion, MembershipId, MembershipSnapshot, OrganizationContext,
    OrganizationDecision, OrganizationDeletion, OrganizationId, OrganizationSnapshot,
    PublicUserData, Role, StoredMembership, StoredOrganization, StoredUser, UnixMillis,
    UserContext, UserDecision, UserDeletion, UserId, UserSnapshot, UserTarget, decide_member_user,
    decide_membership_deletion, decide_membership_upsert, decide_organization_deletion,
    decide_organization_upsert, decide_user_deletion, decide_user_upsert, parse_membership,
    parse_organization, parse_user,
};
use clerk_sync_svix::{HeaderKind, VerifiedMessage, Verifier, WebhookError, WebhookSecret};

/// The endpoint secret `svix_verify` checks every input against.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The clock `svix_verify` verifies at, Unix seconds.
pub const NOW: u64 = 1_700_000_000;

/// The longest error text any refusal may have: errors name fields, never quote values, so
/// their length does not grow with the input.
const MAX_ERROR_LEN: usize = 400;

/// Reads structured values off the front of a fuzz input. Past its end everything reads as
/// zero or empty, so every byte string is a valid input.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((first, rest)) => {
                self.0 = rest;
                *first
            }
            None => 0,
        }
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    /// A length byte, then that many bytes, as UTF-8 (invalid sequences replaced).
    fn text(&mut self) -> String {
        let n = usize::from(self.byte());
        String::from_utf8_lossy(self.bytes(n)).into_owned()
    }

    fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// How one Svix header is sent in a `svix_verify` input (the input's byte modulo 6).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Not at all.
    Absent,
    /// Under its `svix-` name.
    Svix,
    /// Under its unbranded `webhook-` name only.
    Unbranded,
    /// Under its `svix-` name, in other letter case.
    OtherCase,
    /// Under both names, the unbranded one carrying a decoy value.
    BothNames,
    /// Twice under its `svix-` name, the second carrying a decoy value.
    Duplicated,
}

impl Placement {
    fn from_byte(byte: u8) -> Self {
        match byte % 6 {
            0 => Self::Absent,
            1 => Self::Svix,
            2 => Self::Unbranded,
            3 => Self::OtherCase,
            4 => Self::BothNames,
            _ => Self::Duplicated,
        }
    }

    fn push(self, kind: HeaderKind, value: &str, decoy: &str, headers: &mut Vec<(String, String)>) {
        let mut add = |name: &str, value: &str| headers.push((name.to_owned(), value.to_owned()));
        match self {
            Self::Absent => {}
            Self::Svix => add(kind.svix_name(), value),
            Self::Unbranded => add(kind.unbranded_name(), value),
            Self::OtherCase => add(&kind.svix_name().to_ascii_uppercase(), value),
            Self::BothNames => {
                add(kind.unbranded_name(), decoy);
                add(kind.svix_name(), value);
            }
            Self::Duplicated => {
                add(kind.svix_name(), value);
                add(kind.svix_name(), decoy);
            }
        }
    }
}

/// Input: a flags byte (bit 0: sign the body with [`SECRET`]), one placement byte for each of
/// the id, signature and timestamp headers, a clock offset byte (signed, times 5 seconds),
/// then length-prefixed texts for the id, the timestamp, the signature list and a decoy
/// value, and the body as the rest.
///
/// Unsigned inputs must never verify unless they carry the genuine signature; signed ones
/// must verify exactly when their timestamp is within the tolerance, and their body then goes
/// through [`event_parse`]'s checks, as the webhook handler would parse it. A missing header
/// is reported as the first missing in the order id, signature, timestamp.
///
/// # Panics
/// When a check fails: that is what the fuzzer reports.
pub fn svix_verify(data: &[u8]) {
    let mut input = Input(data);
    let sign = input.byte() & 1 == 1;
    let id_at = Placement::from_byte(input.byte());
    let signature_at = Placement::from_byte(input.byte());
    let timestamp_at = Placement::from_byte(input.byte());
    let offset = i64::from(input.byte().cast_signed()) * 5;
    let id = input.text();
    let mut timestamp = input.text();
    let mut signatures = input.text();
    let decoy = input.text();
    let body = input.rest();

    let secret = match WebhookSecret::parse(SECRET) {
        Ok(secret) => secret,
        Err(err) => panic!("the fixed secret must parse: {err}"),
    };
    let signed_at = NOW.saturating_add_signed(offset);
    if sign {
        timestamp = signed_at.to_string();
        let genuine = secret.sign(&id, signed_at, body);
        signatures = if signatures.is_empty() {
            genuine
        } else {
            format!("{signatures} {genuine}")
        };
    }
    let mut headers = Vec::new();
    id_at.push(HeaderKind::Id, &id, &decoy, &mut headers);
    signature_at.push(HeaderKind::Signature, &signatures, &decoy, &mut headers);
    timestamp_at.push(HeaderKind::Timestamp, &timestamp, &decoy, &mut headers);

    let verifier = Verifier::new(secret.clone());
    let result = verifier.verify_at(body, &headers, NOW);
    if let Err(err) = &result {
        let text = err.to_string();
        assert!(text.len() <= MAX_ERROR_LEN, "error text too long: {text}");
    }

    let missing = [
        (HeaderKind::Id, id_at),
        (HeaderKind::Signature, signature_at),
        (HeaderKind::Timestamp, timestamp_at),
    ]
    .into_iter()
    .find(|(_, placement)| *placement == Placement::Absent);
    if let Some((kind, _)) = missing {
        assert_eq!(result, Err(WebhookError::MissingHeader(kind)));
        return;
    }

    let parsed = (!timestamp.is_empty() && timestamp.bytes().all(|b| b.is_ascii_digit()))
        .then(|| timestamp.parse::<u64>().ok())
        .flatten();
    let Some(parsed) = parsed else {
        assert_eq!(result, Err(WebhookError::InvalidTimestamp));
        return;
    };
    let tolerance = verifier.tolerance().as_secs();
    if NOW.saturating_sub(parsed) > tolerance {
        assert_eq!(result, Err(WebhookError::TimestampTooOld));
        return;
    }
    if parsed.saturating_sub(NOW) > tolerance {
        assert_eq!(result, Err(WebhookError::TimestampTooNew));
        return;
    }
    if sign {
        let expected = VerifiedMessage {
            id: id.clone(),
            timestamp: signed_at,
        };
        assert_eq!(result, Ok(expected), "a genuine signature must verify");
    } else if let Ok(message) = &result {
        // Forging HMAC-SHA256 is out of the fuzzer's reach: whatever verifies carries the
        // genuine signature over exactly this id, timestamp text and body.
        let genuine = secret.sign(&id, message.timestamp, body);
        assert_eq!(timestamp, message.timestamp.to_string());
        assert!(signatures.split(' ').any(|entry| entry == genuine));
    } else {
        assert_eq!(result, Err(WebhookError::InvalidSignature));
    }
    if result.is_ok() {
        event_parse(body);
    }
}

/// Input: a delivery body, as the webhook endpoint receives it (and, when it is UTF-8, a Clerk
/// object as the Backend API lists it).
///
/// Whatever the bytes, parsing answers an event or an error that names the field without
/// quoting values; a parsed event's ids, email, role and texts are valid and normalised, and
/// its variant matches its type.
///
/// # Panics
/// When a check fails.
pub fn event_parse(data: &[u8]) {
    let parsed = EventEnvelope::parse(data);
    // A body that is not one JSON value (syntax, trailing text) is never accepted. (serde_json
    // skips ignored values without a depth limit and without checking UTF-8, so this is only
    // the one direction.)
    if serde_json::from_slice::<serde::de::IgnoredAny>(data).is_err() {
        assert!(parsed.is_err(), "a body that is not JSON was accepted");
    }
    match parsed {
        Ok(envelope) => check_envelope(&envelope),
        Err(err) => check_error(&err),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        match parse_user(text) {
            Ok(user) => check_user(&user),
            Err(err) => check_error(&err),
        }
        match parse_organization(text) {
            Ok(organization) => check_organization(&organization),
            Err(err) => check_error(&err),
        }
        match parse_membership(text) {
            Ok(membership) => check_membership(&membership),
            Err(err) => check_error(&err),
        }
    }
}

fn check_error(err: &DomainError) {
    let text = err.to_string();
    assert!(text.len() <= MAX_ERROR_LEN, "error text too long: {text}");
    assert!(!text.contains('"'), "error text quotes a value: {text}");
    match err {
        DomainError::MalformedEvent { event_type, .. } => {
            if let Some(event_type) = event_type {
                assert!(
                    HANDLED_EVENT_TYPES.contains(&event_type.as_str()),
                    "only handled types are named: {text}"
                );
            }
        }
        DomainError::MalformedObject { .. } => {}
        other => panic!("parsing must report a malformed event or object, not {other:?}"),
    }
}

fn check_envelope(envelope: &EventEnvelope) {
    let event_type = envelope.event_type.as_str();
    assert!((1..=128).contains(&event_type.len()), "type length");
    assert!(
        event_type.bytes().all(|b| b.is_ascii_graphic()),
        "types are printable ASCII"
    );
    if let Some(timestamp) = envelope.timestamp {
        check_time(timestamp);
    }
    let handled = HANDLED_EVENT_TYPES.contains(&event_type);
    assert_eq!(envelope.event.object_id().is_some(), handled);
    let prefix = event_type.split('.').next().unwrap_or_default();
    match &envelope.event {
        ClerkEvent::UserUpserted(user) => {
            assert!(matches!(event_type, "user.created" | "user.updated"));
            check_user(user);
        }
        ClerkEvent::UserDeleted(id) => {
            assert_eq!(event_type, "user.deleted");
            assert_eq!(ClerkUserId::parse(id.as_str()).as_ref(), Ok(id));
        }
        ClerkEvent::OrganizationUpserted(organization) => {
            assert!(matches!(
                event_type,
                "organization.created" | "organization.updated"
            ));
            check_organization(organization);
        }
        ClerkEvent::OrganizationDeleted(id) => {
            assert_eq!(event_type, "organization.deleted");
            assert_eq!(ClerkOrgId::parse(id.as_str()).as_ref(), Ok(id));
        }
        ClerkEvent::MembershipUpserted(membership) | ClerkEvent::MembershipDeleted(membership) => {
            assert_eq!(prefix, "organizationMembership");
            assert_eq!(
                matches!(envelope.event, ClerkEvent::MembershipDeleted(_)),
                event_type == "organizationMembership.deleted"
            );
            check_membership(membership);
        }
        ClerkEvent::Unhandled => assert!(!handled),
    }
}

fn check_time(time: UnixMillis) {
    assert!(
        (0..=253_402_300_799_999).contains(&time.0),
        "times are Unix milliseconds of years 1970 to 9999"
    );
}

/// A text the mirror stores: free of NUL (which PostgreSQL cannot store) and short enough
/// for the database's indexes.
fn check_text(text: Option<&str>) {
    if let Some(text) = text {
        assert!(!text.contains('\0'), "a stored text holds NUL");
        assert!(
            text.len() <= 1024,
            "a stored text is longer than 1024 bytes"
        );
    }
}

fn check_user(user: &UserSnapshot) {
    assert_eq!(
        ClerkUserId::parse(user.clerk_id.as_str()).as_ref(),
        Ok(&user.clerk_id)
    );
    if let Some(email) = &user.email {
        assert_eq!(
            EmailAddress::parse(email.as_str()).as_ref(),
            Ok(email),
            "emails are stored normalised"
        );
    }
    check_text(user.first_name.as_deref());
    check_text(user.last_name.as_deref());
    check_image(user.image_url.as_deref());
    check_time(user.updated_at);
}

fn check_image(url: Option<&str>) {
    if let Some(url) = url {
        assert!(!url.contains('\0'), "an image URL holds NUL");
    }
}

fn check_organization(organization: &OrganizationSnapshot) {
    assert_eq!(
        ClerkOrgId::parse(organization.clerk_id.as_str()).as_ref(),
        Ok(&organization.clerk_id)
    );
    check_text(Some(&organization.name));
    check_text(organization.slug.as_deref());
    check_image(organization.image_url.as_deref());
    check_time(organization.updated_at);
}

fn check_membership(membership: &MembershipSnapshot) {
    assert_eq!(
        ClerkMembershipId::parse(membership.clerk_id.as_str()).as_ref(),
        Ok(&membership.clerk_id)
    );
    assert_eq!(
        Role::parse(membership.role.as_str()).as_ref(),
        Ok(&membership.role)
    );
    check_organization(&membership.organization);
    check_public_user(&membership.user);
    check_time(membership.updated_at);
}

fn check_public_user(user: &PublicUserData) {
    assert_eq!(
        ClerkUserId::parse(user.clerk_id.as_str()).as_ref(),
        Ok(&user.clerk_id)
    );
    check_text(user.first_name.as_deref());
    check_text(user.last_name.as_deref());
    check_image(user.image_url.as_deref());
}

/// What the mirror holds, as `event_decide` reads it from the first 6 bytes of its input.
struct Stored {
    /// Bit 0: the event's id is tombstoned; 1: a row has its Clerk id; 2: that row has a Clerk
    /// version (users); 3: another row is involved (the holder of the email, the membership
    /// row of the same pair); 4: that row has a Clerk id (users); 5: it is the same row as
    /// the first; 6: the membership's user and organization exist; 7: the other membership
    /// row has the event's own Clerk id.
    flags: u8,
    /// The first row's Clerk version, relative to the event's `updated_at`.
    delta: i64,
    /// The other row's Clerk version, relative to the event's `updated_at`.
    other_delta: i64,
    /// The first row's local id.
    id: i64,
    /// The other row's local id.
    other_id: i64,
    /// Distinguishes the other row's Clerk id; its high bit makes the other row also the
    /// account the user's `external_id` names.
    other_key: u8,
}

impl Stored {
    fn read(input: &mut Input<'_>) -> Self {
        Self {
            flags: input.byte(),
            delta: i64::from(input.byte().cast_signed()),
            other_delta: i64::from(input.byte().cast_signed()),
            id: i64::from(input.byte()) + 1,
            other_id: i64::from(input.byte()) + 1,
            other_key: input.byte(),
        }
    }

    fn bit(&self, bit: u8) -> bool {
        self.flags & (1 << bit) != 0
    }

    fn other_id(&self) -> i64 {
        if self.bit(5) { self.id } else { self.other_id }
    }

    fn user_context(&self, clerk_id: &ClerkUserId, updated_at: UnixMillis) -> UserContext {
        let by_clerk_id = self.bit(1).then(|| StoredUser {
            id: UserId(self.id),
            clerk_id: Some(clerk_id.clone()),
            clerk_updated_at: self
                .bit(2)
                .then(|| UnixMillis(updated_at.0.saturating_add(self.delta))),
        });
        let other = StoredUser {
            id: UserId(self.other_id()),
            clerk_id: self
                .bit(4)
                .then(|| parsed(ClerkUserId::parse(&format!("user_{:02x}", self.other_key)))),
            clerk_updated_at: self
                .bit(4)
                .then(|| UnixMillis(updated_at.0.saturating_add(self.other_delta))),
        };
        UserContext {
            tombstoned: self.bit(0),
            by_clerk_id,
            email_holder: self.bit(3).then(|| other.clone()),
            external_account: (self.other_key & 0x80 != 0).then_some(other),
        }
    }

    fn organization_context(&self, updated_at: UnixMillis) -> OrganizationContext {
        OrganizationContext {
            tombstoned: self.bit(0),
            existing: self.bit(1).then(|| StoredOrganization {
                id: OrganizationId(self.id),
                clerk_updated_at: UnixMillis(updated_at.0.saturating_add(self.delta)),
            }),
        }
    }

    fn membership_context(&self, membership: &MembershipSnapshot) -> MembershipContext {
        let at = |delta: i64| UnixMillis(membership.updated_at.0.saturating_add(delta));
        let by_clerk_id = self.bit(1).then(|| StoredMembership {
            id: MembershipId(self.id),
            clerk_id: membership.clerk_id.clone(),
            clerk_updated_at: at(self.delta),
        });
        let for_pair = if self.bit(3) && self.bit(5) {
            by_clerk_id.clone()
        } else {
            self.bit(3).then(|| StoredMembership {
                id: MembershipId(self.other_id),
                clerk_id: if self.bit(7) {
                    membership.clerk_id.clone()
                } else {
                    parsed(ClerkMembershipId::parse(&format!(
                        "orgmem_{:02x}",
                        self.other_key
                    )))
                },
                clerk_updated_at: at(self.other_delta),
            })
        };
        MembershipContext {
            tombstoned: self.bit(0),
            parties: self
                .bit(6)
                .then_some((UserId(self.id), OrganizationId(self.other_id))),
            for_pair,
            by_clerk_id,
        }
    }
}

fn parsed<T>(result: Result<T, DomainError>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("a well-formed id must parse: {err}"),
    }
}

/// Input: 6 bytes of stored state (see [`Stored`]), then a delivery body.
///
/// A body that parses is decided against the stored state: a tombstoned id is never written,
/// a version no newer than the stored one is stale, a decision only names rows that the state
/// holds (or a new one), and once a decided write is applied the same version is stale.
///
/// # Panics
/// When a check fails.
pub fn event_decide(data: &[u8]) {
    let mut input = Input(data);
    let stored = Stored::read(&mut input);
    let Ok(envelope) = EventEnvelope::parse(input.rest()) else {
        return;
    };
    match &envelope.event {
        ClerkEvent::UserUpserted(user) => check_user_upsert(user, &stored),
        ClerkEvent::UserDeleted(id) => {
            let context = stored.user_context(id, UnixMillis(0));
            let expected = if context.tombstoned {
                UserDeletion::AlreadyTombstoned
            } else {
                UserDeletion::Delete(context.by_clerk_id.as_ref().map(|row| row.id))
            };
            assert_eq!(decide_user_deletion(&context), expected);
            let after = UserContext {
                tombstoned: true,
                ..context
            };
            assert_eq!(
                decide_user_deletion(&after),
                UserDeletion::AlreadyTombstoned
            );
            assert_eq!(decide_member_user(&after), MemberUser::Tombstoned);
        }
        ClerkEvent::OrganizationUpserted(organization) => {
            check_organization_upsert(organization, &stored);
        }
        ClerkEvent::OrganizationDeleted(_) => {
            let context = stored.organization_context(UnixMillis(0));
            let expected = if context.tombstoned {
                OrganizationDeletion::AlreadyTombstoned
            } else {
                OrganizationDeletion::Delete(context.existing.as_ref().map(|row| row.id))
            };
            assert_eq!(decide_organization_deletion(&context), expected);
        }
        ClerkEvent::MembershipUpserted(membership) => {
            check_organization_upsert(&membership.organization, &stored);
            let context = stored.user_context(&membership.user.clerk_id, membership.updated_at);
            let member = decide_member_user(&context);
            match (&context.by_clerk_id, context.tombstoned) {
                (_, true) => assert_eq!(member, MemberUser::Tombstoned),
                (Some(row), false) => assert_eq!(member, MemberUser::Known(row.id)),
                (None, false) => assert_eq!(member, MemberUser::CreateFromPublicData),
            }
            check_membership_upsert(membership, &stored);
        }
        ClerkEvent::MembershipDeleted(membership) => {
            let context = stored.membership_context(membership);
            let expected = if context.tombstoned {
                MembershipDeletion::AlreadyTombstoned
            } else {
                MembershipDeletion::Delete(context.by_clerk_id.as_ref().map(|row| row.id))
            };
            assert_eq!(decide_membership_deletion(&context), expected);
        }
        ClerkEvent::Unhandled => {}
    }
}

fn check_user_upsert(user: &UserSnapshot, stored: &Stored) {
    let context = stored.user_context(&user.clerk_id, user.updated_at);
    let decision = decide_user_upsert(user, &context);
    let current = context.by_clerk_id.as_ref();
    let holder = context
        .email_holder
        .as_ref()
        .filter(|holder| current.is_none_or(|row| row.id != holder.id));
    // The rows a user may take over: unlinked, not its own.
    let linkable = |id: UserId| {
        [&context.external_account, &context.email_holder]
            .into_iter()
            .flatten()
            .any(|row| row.id == id && row.clerk_id.is_none() && current.is_none_or(|c| c.id != id))
    };
    let stale = current
        .and_then(|row| row.clerk_updated_at)
        .is_some_and(|stored_at| user.updated_at <= stored_at);
    let write = match decision {
        UserDecision::Tombstoned => {
            assert!(
                context.tombstoned,
                "only a tombstoned id is refused as such"
            );
            return;
        }
        UserDecision::Stale => {
            assert!(!context.tombstoned, "a tombstone wins over staleness");
            assert!(
                stale,
                "only a version no newer than the stored one is stale"
            );
            return;
        }
        UserDecision::Write(write) => write,
    };
    assert!(!context.tombstoned, "a tombstoned user is never written");
    assert!(!stale, "a stale version is never written");
    let written = match (write.target, current) {
        (UserTarget::Insert, None) => UserId(10_000),
        (UserTarget::Update(id), Some(row)) if id == row.id => id,
        (UserTarget::Link(id), None) => {
            assert!(linkable(id), "only an unlinked account is linked");
            id
        }
        (UserTarget::Merge { from, into }, Some(row)) => {
            assert_eq!(from, row.id);
            assert!(linkable(into), "only an unlinked account is merged into");
            into
        }
        (target, _) => panic!("{target:?} does not fit the stored rows"),
    };
    assert!(
        write.email.is_none() || write.email == user.email,
        "only the event's own email is stored"
    );
    if let Some(released) = write.release_email_from {
        let holder = holder.filter(|h| h.id == released && h.clerk_id.is_some());
        assert!(
            holder.is_some(),
            "only another Clerk user's row releases the email"
        );
        assert_eq!(write.email, user.email);
    }
    // Once written, the same version delivered again changes nothing.
    let after = UserContext {
        tombstoned: false,
        by_clerk_id: Some(StoredUser {
            id: written,
            clerk_id: Some(user.clerk_id.clone()),
            clerk_updated_at: Some(user.updated_at),
        }),
        ..UserContext::default()
    };
    assert_eq!(decide_user_upsert(user, &after), UserDecision::Stale);
}

fn check_organization_upsert(organization: &OrganizationSnapshot, stored: &Stored) {
    let context = stored.organization_context(organization.updated_at);
    let decision = decide_organization_upsert(organization, &context);
    let written = match (decision, &context.existing) {
        (OrganizationDecision::Tombstoned, _) => {
            assert!(context.tombstoned);
            return;
        }
        (OrganizationDecision::Stale(id), Some(row)) => {
            assert!(!context.tombstoned);
            assert_eq!(id, row.id);
            assert!(organization.updated_at <= row.clerk_updated_at);
            return;
        }
        (OrganizationDecision::Insert, None) => OrganizationId(10_000),
        (OrganizationDecision::Update(id), Some(row)) if id == row.id => {
            assert!(organization.updated_at > row.clerk_updated_at);
            id
        }
        (decision, _) => panic!("{decision:?} does not fit the stored row"),
    };
    assert!(
        !context.tombstoned,
        "a tombstoned organization is never written"
    );
    let after = OrganizationContext {
        tombstoned: false,
        existing: Some(StoredOrganization {
            id: written,
            clerk_updated_at: organization.updated_at,
        }),
    };
    assert_eq!(
        decide_organization_upsert(organization, &after),
        OrganizationDecision::Stale(written)
    );
}

fn check_membership_upsert(membership: &MembershipSnapshot, stored: &Stored) {
    let context = stored.membership_context(membership);
    let decision = decide_membership_upsert(membership, &context);
    let refused = context.tombstoned || context.parties.is_none();
    let row = context.by_clerk_id.as_ref().or(context.for_pair.as_ref());
    let written = match (decision, row) {
        (MembershipDecision::Tombstoned, _) => {
            assert!(
                refused,
                "only a deleted membership, user or organization refuses"
            );
            return;
        }
        (MembershipDecision::Stale, Some(row)) => {
            assert!(!refused);
            assert!(
                row.clerk_id != membership.clerk_id
                    || membership.updated_at <= row.clerk_updated_at,
                "a newer version of the same membership is never stale"
            );
            return;
        }
        (MembershipDecision::Insert { user, organization }, None) => {
            assert_eq!(context.parties, Some((user, organization)));
            MembershipId(10_000)
        }
        (MembershipDecision::Update(id), Some(row)) if id == row.id => {
            assert!(
                row.clerk_id != membership.clerk_id || membership.updated_at > row.clerk_updated_at,
                "an update is newer than the row it overwrites"
            );
            id
        }
        (decision, _) => panic!("{decision:?} does not fit the stored rows"),
    };
    assert!(!refused, "a refused membership is never written");
    let row = StoredMembership {
        id: written,
        clerk_id: membership.clerk_id.clone(),
        clerk_updated_at: membership.updated_at,
    };
    let after = MembershipContext {
        tombstoned: false,
        parties: context.parties,
        for_pair: Some(row.clone()),
        by_clerk_id: Some(row),
    };
    assert_eq!(
        decide_membership_upsert(membership, &after),
        MembershipDecision::Stale
    );
}
