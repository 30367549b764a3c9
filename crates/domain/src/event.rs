//! Clerk webhook events: the JSON Clerk sends, parsed into typed events.
//!
//! Only the fields the mirror keeps are read; anything else Clerk adds is ignored, so new
//! fields never break delivery. Event types the mirror does not handle are recognised from the
//! envelope alone: their `data` is never parsed.

use std::collections::HashSet;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::{
    ClerkMembershipId, ClerkOrgId, ClerkUserId, DomainError, EmailAddress, MembershipSnapshot,
    OrganizationSnapshot, PublicUserData, RawJson, Role, UnixMillis, UserEmailAddress,
    UserPhoneNumber, UserSnapshot,
};
use crate::{fields, json};

/// The longest event type accepted; Clerk's longest today is 36 characters.
const MAX_EVENT_TYPE_LEN: usize = 128;

/// The event types the mirror applies; every other type is acknowledged and recorded as
/// `ignored`. Each is also a constant of [`event_type`](crate::event_type).
///
/// ```
/// use clerk_sync_domain::{HANDLED_EVENT_TYPES, event_type};
///
/// assert!(HANDLED_EVENT_TYPES.contains(&event_type::MEMBERSHIP_DELETED));
/// assert!(!HANDLED_EVENT_TYPES.contains(&"session.created"));
/// ```
pub const HANDLED_EVENT_TYPES: [&str; 9] = [
    "user.created",
    "user.updated",
    "user.deleted",
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "organizationMembership.created",
    "organizationMembership.updated",
    "organizationMembership.deleted",
];

/// One delivery body, parsed.
///
/// ```
/// use clerk_sync_domain::{ClerkEvent, EventEnvelope, UnixMillis};
///
/// let body = br#"{"type":"organization.deleted","timestamp":1736942401268,
///     "data":{"id":"org_1","deleted":true}}"#;
/// let envelope = EventEnvelope::parse(body)?;
/// assert_eq!(envelope.event_type, "organization.deleted");
/// assert_eq!(envelope.timestamp, Some(UnixMillis(1_736_942_401_268)));
/// assert!(matches!(envelope.event, ClerkEvent::OrganizationDeleted(ref id) if id.as_str() == "org_1"));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventEnvelope {
    /// The event type as sent (`user.created`, `session.ended`, …).
    pub event_type: String,
    /// When the event occurred (the envelope's `timestamp`, Unix ms), when Clerk sent one.
    pub timestamp: Option<UnixMillis>,
    /// What the event says.
    pub event: ClerkEvent,
}

/// What an event says, for the event types the mirror handles.
///
/// `*.created` and `*.updated` parse to the same upsert variant; compare
/// [`EventEnvelope::event_type`] with a name of [`event_type`](crate::event_type) to tell them
/// apart.
///
/// ```
/// use clerk_sync_domain::{ClerkEvent, EventEnvelope};
///
/// let body = br#"{"type":"session.created","data":{"id":"sess_1"}}"#;
/// // Types the mirror does not handle parse without reading `data`.
/// assert_eq!(EventEnvelope::parse(body)?.event, ClerkEvent::Unhandled);
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClerkEvent {
    /// `user.created` or `user.updated`: the user's state at `updated_at`.
    UserUpserted(UserSnapshot),
    /// `user.deleted`.
    UserDeleted(ClerkUserId),
    /// `organization.created` or `organization.updated`.
    OrganizationUpserted(OrganizationSnapshot),
    /// `organization.deleted`.
    OrganizationDeleted(ClerkOrgId),
    /// `organizationMembership.created` or `organizationMembership.updated`.
    MembershipUpserted(MembershipSnapshot),
    /// `organizationMembership.deleted`: Clerk repeats the membership's last state.
    MembershipDeleted(MembershipSnapshot),
    /// Any other event type (`session.created`, `email.created`, types Clerk adds later…):
    /// acknowledged and recorded, never applied.
    Unhandled,
}

impl ClerkEvent {
    /// The Clerk id of the object the event is about, when the mirror handles the event.
    ///
    /// ```
    /// use clerk_sync_domain::{ClerkEvent, ClerkUserId};
    ///
    /// let deleted = ClerkEvent::UserDeleted(ClerkUserId::parse("user_1")?);
    /// assert_eq!(deleted.object_id(), Some("user_1"));
    /// assert_eq!(ClerkEvent::Unhandled.object_id(), None);
    /// # Ok::<(), clerk_sync_domain::DomainError>(())
    /// ```
    pub fn object_id(&self) -> Option<&str> {
        match self {
            Self::UserUpserted(user) => Some(user.clerk_id.as_str()),
            Self::UserDeleted(id) => Some(id.as_str()),
            Self::OrganizationUpserted(org) => Some(org.clerk_id.as_str()),
            Self::OrganizationDeleted(id) => Some(id.as_str()),
            Self::MembershipUpserted(m) | Self::MembershipDeleted(m) => Some(m.clerk_id.as_str()),
            Self::Unhandled => None,
        }
    }
}

impl EventEnvelope {
    /// Parses a delivery body.
    ///
    /// # Errors
    /// [`DomainError::MalformedEvent`] when the body is not a JSON envelope with a `type` of 1
    /// to 128 printable ASCII characters and a `data` member, when its `timestamp` is not Unix
    /// milliseconds of the years 1970 to 9999, or when the `data` of a handled event type lacks
    /// a field the mirror needs or has one of the wrong type or out of range (a Clerk id, email
    /// address or role that is not one, a time out of range, a name with a NUL character or
    /// over [`MAX_TEXT_BYTES`](crate::MAX_TEXT_BYTES)). The reason names the field.
    ///
    /// ```
    /// use clerk_sync_domain::{DomainError, EventEnvelope};
    ///
    /// assert!(EventEnvelope::parse(br#"{"type":"user.deleted","data":{"id":"user_1"}}"#).is_ok());
    /// let refused = EventEnvelope::parse(br#"{"data":{}}"#);
    /// assert!(matches!(refused, Err(DomainError::MalformedEvent { event_type: None, .. })));
    /// ```
    pub fn parse(body: &[u8]) -> Result<Self, DomainError> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let envelope: WireEnvelope<'_> = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|err| DomainError::MalformedEvent {
                event_type: None,
                reason: located(&err, ""),
            })?;
        // serde_path_to_error stops after the value: anything but whitespace after it is an
        // error, as serde_json::from_slice would have it.
        deserializer
            .end()
            .map_err(|err| DomainError::MalformedEvent {
                event_type: None,
                reason: describe(&err),
            })?;
        let event_type = envelope.event_type;
        let printable = event_type.bytes().all(|b| b.is_ascii_graphic());
        if event_type.is_empty() || event_type.len() > MAX_EVENT_TYPE_LEN || !printable {
            return Err(DomainError::MalformedEvent {
                event_type: None,
                reason: format!(
                    "`type` must be 1 to {MAX_EVENT_TYPE_LEN} printable ASCII characters"
                ),
            });
        }
        let data = envelope.data.get();
        let event = Self::parse_data(&event_type, data)?;
        Ok(Self {
            timestamp: envelope.timestamp.map(UnixMillis),
            event_type,
            event,
        })
    }

    fn parse_data(event_type: &str, data: &str) -> Result<ClerkEvent, DomainError> {
        let invalid = |err: FieldError| DomainError::MalformedEvent {
            event_type: Some(event_type.to_owned()),
            reason: err.located("data"),
        };
        Ok(match event_type {
            "user.created" | "user.updated" => ClerkEvent::UserUpserted(
                read::<WireUser>(event_type, data)?
                    .into_domain(data)
                    .map_err(invalid)?,
            ),
            "user.deleted" => {
                let stub = read::<WireDeleted>(event_type, data)?;
                ClerkEvent::UserDeleted(field("id", ClerkUserId::parse(&stub.id)).map_err(invalid)?)
            }
            "organization.created" | "organization.updated" => ClerkEvent::OrganizationUpserted(
                read::<WireOrganization>(event_type, data)?
                    .into_domain(data)
                    .map_err(invalid)?,
            ),
            "organization.deleted" => {
                let stub = read::<WireDeleted>(event_type, data)?;
                ClerkEvent::OrganizationDeleted(
                    field("id", ClerkOrgId::parse(&stub.id)).map_err(invalid)?,
                )
            }
            "organizationMembership.created" | "organizationMembership.updated" => {
                ClerkEvent::MembershipUpserted(
                    read::<WireMembership>(event_type, data)?
                        .into_domain(data)
                        .map_err(invalid)?,
                )
            }
            "organizationMembership.deleted" => ClerkEvent::MembershipDeleted(
                read::<WireMembership>(event_type, data)?
                    .into_domain(data)
                    .map_err(invalid)?,
            ),
            _ => ClerkEvent::Unhandled,
        })
    }
}

/// A value that parsed as JSON but is not what the field holds, with the field's path
/// (relative to the object: `id`, `public_user_data.user_id`).
pub(crate) struct FieldError {
    pub(crate) path: String,
    pub(crate) error: DomainError,
}

impl FieldError {
    /// The reason, after the field's path under `root` (`data`, or `` for an object alone).
    pub(crate) fn located(&self, root: &str) -> String {
        match (root, self.path.as_str()) {
            ("", "") => self.error.to_string(),
            (root, "") => format!("`{root}`: {}", self.error),
            ("", path) => format!("`{path}`: {}", self.error),
            (root, path) => format!("`{root}.{path}`: {}", self.error),
        }
    }
}

fn field<T>(path: &str, result: Result<T, DomainError>) -> Result<T, FieldError> {
    result.map_err(|error| FieldError {
        path: path.to_owned(),
        error,
    })
}

fn read<T: DeserializeOwned>(event_type: &str, data: &str) -> Result<T, DomainError> {
    let mut deserializer = serde_json::Deserializer::from_str(data);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| DomainError::MalformedEvent {
        event_type: Some(event_type.to_owned()),
        reason: located(&err, "data"),
    })
}

/// The reason of a serde error, prefixed with the path of the field it is about (under
/// `root`) when the JSON was well-formed but a value was not what the field holds. Syntax
/// errors have no meaningful path: their position says where the text breaks.
pub(crate) fn located(err: &serde_path_to_error::Error<serde_json::Error>, root: &str) -> String {
    let reason = describe(err.inner());
    if err.inner().classify() != serde_json::error::Category::Data {
        return reason;
    }
    let path = err.path().to_string();
    match (root, path.as_str()) {
        ("", ".") => reason,
        ("", path) | (path, ".") => format!("`{path}`: {reason}"),
        // An index follows its array without a dot: `data[0]`, `data.email_addresses[0]`.
        (root, path) if path.starts_with('[') => format!("`{root}{path}`: {reason}"),
        (root, path) => format!("`{root}.{path}`: {reason}"),
    }
}

/// serde_json's messages quote offending values (`invalid type: string "ada@…", expected i64`),
/// which may be personal data: only the category, the expectation and the position are kept.
pub(crate) fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    let position = format!("line {}, column {}", err.line(), err.column());
    // serde writes `invalid type: <value>, expected …`, but `invalid length <n>, expected …`.
    let kind = ["invalid type", "invalid value", "invalid length"]
        .into_iter()
        .find(|kind| text.starts_with(kind));
    match kind {
        Some(kind) => {
            let expected = text.rsplit_once(", expected ").map_or("", |(_, e)| e);
            format!("{kind}, expected {expected} ({position})")
        }
        None => format!("{text} ({position})"),
    }
}

#[derive(Deserialize)]
struct WireEnvelope<'a> {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(default, deserialize_with = "fields::optional_millis")]
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct WireDeleted {
    id: String,
}

#[derive(Deserialize)]
struct WireEmail {
    #[serde(deserialize_with = "fields::text")]
    id: String,
    email_address: String,
    #[serde(default)]
    verification: Option<WireVerification>,
}

#[derive(Deserialize)]
struct WirePhone {
    #[serde(deserialize_with = "fields::text")]
    id: String,
    #[serde(deserialize_with = "fields::text")]
    phone_number: String,
    #[serde(default)]
    verification: Option<WireVerification>,
}

#[derive(Deserialize)]
struct WireVerification {
    #[serde(default)]
    status: Option<String>,
}

/// Whether Clerk verified an address or number: only such a one identifies its owner.
fn verified(verification: Option<&WireVerification>) -> bool {
    verification.and_then(|v| v.status.as_deref()) == Some("verified")
}

#[derive(Deserialize)]
pub(crate) struct WireUser {
    id: String,
    #[serde(default)]
    email_addresses: Vec<WireEmail>,
    #[serde(default)]
    primary_email_address_id: Option<String>,
    #[serde(default)]
    phone_numbers: Vec<WirePhone>,
    #[serde(default)]
    primary_phone_number_id: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_text")]
    username: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_text")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_text")]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_url")]
    image_url: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_text")]
    external_id: Option<String>,
    #[serde(default = "RawJson::empty_object", deserialize_with = "json::metadata")]
    public_metadata: RawJson,
    #[serde(default = "RawJson::empty_object", deserialize_with = "json::metadata")]
    private_metadata: RawJson,
    #[serde(default = "RawJson::empty_object", deserialize_with = "json::metadata")]
    unsafe_metadata: RawJson,
    #[serde(default)]
    banned: bool,
    #[serde(default)]
    locked: bool,
    #[serde(default)]
    two_factor_enabled: bool,
    #[serde(default, deserialize_with = "fields::optional_millis")]
    last_sign_in_at: Option<i64>,
    #[serde(default, deserialize_with = "fields::optional_millis")]
    last_active_at: Option<i64>,
    #[serde(default, deserialize_with = "fields::optional_millis")]
    created_at: Option<i64>,
    #[serde(deserialize_with = "fields::millis")]
    updated_at: i64,
}

impl WireUser {
    /// The user, from its fields and `raw`, the JSON text they were read from.
    pub(crate) fn into_domain(self, raw: &str) -> Result<UserSnapshot, FieldError> {
        let primary_email = self.primary_email_address_id.as_deref();
        // Every address is checked whether verified or not, so that what is accepted does not
        // depend on a status that may change.
        // An id listed twice is kept once: the mirror keys each address by it.
        let mut seen = HashSet::new();
        let email_addresses = self
            .email_addresses
            .iter()
            .enumerate()
            .filter(|(_, e)| seen.insert(e.id.as_str()))
            .map(|(i, e)| {
                let path = format!("email_addresses[{i}].email_address");
                Ok(UserEmailAddress {
                    clerk_id: e.id.clone(),
                    email_address: field(&path, EmailAddress::parse(&e.email_address))?,
                    verified: verified(e.verification.as_ref()),
                    primary: Some(e.id.as_str()) == primary_email,
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        // Only a verified primary address is the user's `email`.
        let email = email_addresses
            .iter()
            .find(|e| e.primary && e.verified)
            .map(|e| e.email_address.clone());
        let primary_phone = self.primary_phone_number_id.as_deref();
        let mut seen = HashSet::new();
        let phone_numbers = self
            .phone_numbers
            .into_iter()
            .filter(|p| seen.insert(p.id.clone()))
            .map(|p| UserPhoneNumber {
                verified: verified(p.verification.as_ref()),
                primary: Some(p.id.as_str()) == primary_phone,
                clerk_id: p.id,
                phone_number: p.phone_number,
            })
            .collect();
        Ok(UserSnapshot {
            clerk_id: field("id", ClerkUserId::parse(&self.id))?,
            email,
            external_id: self.external_id,
            banned: self.banned,
            first_name: self.first_name,
            last_name: self.last_name,
            image_url: self.image_url,
            username: self.username,
            email_addresses,
            phone_numbers,
            unsafe_metadata: self.unsafe_metadata,
            public_metadata: self.public_metadata,
            private_metadata: self.private_metadata,
            locked: self.locked,
            two_factor_enabled: self.two_factor_enabled,
            last_sign_in_at: self.last_sign_in_at.map(UnixMillis),
            last_active_at: self.last_active_at.map(UnixMillis),
            created_at: self.created_at.map(UnixMillis),
            updated_at: UnixMillis(self.updated_at),
            raw: whole_object(raw)?,
        })
    }
}

/// The object's JSON text (already read whole, so valid JSON), which every backend must be
/// able to store.
fn whole_object(raw: &str) -> Result<RawJson, FieldError> {
    let json = RawJson::checked(raw.to_owned()).map_err(|_| DomainError::InvalidJson);
    field("", json)
}

#[derive(Deserialize)]
pub(crate) struct WireOrganization {
    id: String,
    #[serde(deserialize_with = "fields::text")]
    name: String,
    #[serde(default, deserialize_with = "fields::optional_text")]
    slug: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_url")]
    image_url: Option<String>,
    #[serde(default = "RawJson::empty_object", deserialize_with = "json::metadata")]
    public_metadata: RawJson,
    #[serde(default = "RawJson::empty_object", deserialize_with = "json::metadata")]
    private_metadata: RawJson,
    #[serde(default)]
    max_allowed_memberships: Option<i64>,
    #[serde(default, deserialize_with = "fields::optional_text")]
    created_by: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_millis")]
    created_at: Option<i64>,
    #[serde(deserialize_with = "fields::millis")]
    updated_at: i64,
}

impl WireOrganization {
    /// The organization, from its fields and `raw`, the JSON text they were read from.
    pub(crate) fn into_domain(self, raw: &str) -> Result<OrganizationSnapshot, FieldError> {
        Ok(OrganizationSnapshot {
            clerk_id: field("id", ClerkOrgId::parse(&self.id))?,
            name: self.name,
            slug: self.slug,
            image_url: self.image_url,
            public_metadata: self.public_metadata,
            private_metadata: self.private_metadata,
            max_allowed_memberships: self.max_allowed_memberships,
            created_by: self.created_by.filter(|id| !id.is_empty()),
            created_at: self.created_at.map(UnixMillis),
            updated_at: UnixMillis(self.updated_at),
            raw: whole_object(raw)?,
        })
    }
}

#[derive(Deserialize)]
struct WirePublicUserData {
    user_id: String,
    #[serde(default, deserialize_with = "fields::optional_text")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_text")]
    last_name: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_url")]
    image_url: Option<String>,
    #[serde(default, deserialize_with = "fields::optional_text")]
    username: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireMembership {
    id: String,
    role: String,
    organization: WireOrganization,
    public_user_data: WirePublicUserData,
    #[serde(default, deserialize_with = "fields::text_list")]
    permissions: Vec<String>,
    #[serde(default = "RawJson::empty_object", deserialize_with = "json::metadata")]
    public_metadata: RawJson,
    #[serde(default = "RawJson::empty_object", deserialize_with = "json::metadata")]
    private_metadata: RawJson,
    #[serde(default, deserialize_with = "fields::optional_millis")]
    created_at: Option<i64>,
    #[serde(deserialize_with = "fields::millis")]
    updated_at: i64,
}

/// The organization object inside a membership's JSON, as text.
#[derive(Deserialize)]
struct NestedOrganization<'a> {
    #[serde(borrow)]
    organization: &'a RawValue,
}

impl WireMembership {
    /// The membership, from its fields and `raw`, the JSON text they were read from.
    pub(crate) fn into_domain(self, raw: &str) -> Result<MembershipSnapshot, FieldError> {
        let user = self.public_user_data;
        let nested: NestedOrganization<'_> = serde_json::from_str(raw).map_err(|_| FieldError {
            path: "organization".to_owned(),
            error: DomainError::InvalidJson,
        })?;
        let organization = self
            .organization
            .into_domain(nested.organization.get())
            .map_err(|err| FieldError {
                path: ["organization", err.path.as_str()]
                    .into_iter()
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join("."),
                error: err.error,
            })?;
        Ok(MembershipSnapshot {
            clerk_id: field("id", ClerkMembershipId::parse(&self.id))?,
            role: field("role", Role::parse(&self.role))?,
            organization,
            user: PublicUserData {
                clerk_id: field(
                    "public_user_data.user_id",
                    ClerkUserId::parse(&user.user_id),
                )?,
                first_name: user.first_name,
                last_name: user.last_name,
                image_url: user.image_url,
                username: user.username,
            },
            permissions: self.permissions,
            public_metadata: self.public_metadata,
            private_metadata: self.private_metadata,
            created_at: self.created_at.map(UnixMillis),
            updated_at: UnixMillis(self.updated_at),
            raw: whole_object(raw)?,
        })
    }
}
