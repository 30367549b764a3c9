//! The domain crate's error type.

/// Why a value or an event could not be accepted.
///
/// Messages name the field and what was expected, never the offending value: values may be
/// personal data (emails, names) and end up in logs and HTTP responses. So the message may be
/// logged and sent back to the sender as it is, and the variant says which kind of input failed:
///
/// ```
/// use clerk_sync_domain::{DomainError, EventEnvelope};
///
/// let body = br#"{"type":"user.created","data":{"id":"usr_1","updated_at":1}}"#;
/// let err = EventEnvelope::parse(body).unwrap_err();
/// assert!(matches!(
///     &err,
///     DomainError::MalformedEvent { event_type: Some(t), .. } if t == "user.created"
/// ));
/// assert!(err.to_string().contains("`data.id`"));
/// assert!(!err.to_string().contains("usr_1"), "never the value");
/// ```
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    /// A Clerk id without its prefix or with unexpected characters.
    #[error("invalid {kind} id: expected `{prefix}` followed by letters, digits or `_`")]
    InvalidId {
        /// What the id names (`user`, `organization`, …).
        kind: &'static str,
        /// The prefix it must start with.
        prefix: &'static str,
    },
    /// An email address that is not one.
    #[error("invalid email address: expected text of the form local@domain")]
    InvalidEmail,
    /// Text that is not one JSON value, or that holds a NUL character (`\u0000`), which
    /// PostgreSQL's `jsonb` cannot store.
    #[error("invalid JSON: expected one JSON value without NUL characters")]
    InvalidJson,
    /// An empty or malformed role key.
    #[error("invalid role: expected a role key such as `org:admin`")]
    InvalidRole,
    /// A session token claim that does not mean what Clerk's claims mean.
    #[error("invalid `{claim}` claim: expected {expected}")]
    InvalidClaim {
        /// The claim, as the token names it (`sub`, `o.fpm`, …).
        claim: &'static str,
        /// What it should hold.
        expected: &'static str,
    },
    /// An event body that is not the JSON Clerk sends, with the reason and where it occurred.
    #[error("malformed {} event: {reason}", event_type.as_deref().unwrap_or("webhook"))]
    MalformedEvent {
        /// The event type, when the body has a readable one.
        event_type: Option<String>,
        /// What is wrong, with the JSON path where one is known.
        reason: String,
    },
    /// A Clerk object (as the Backend API lists them) that is not the JSON Clerk sends.
    #[error("malformed {kind} object: {reason}")]
    MalformedObject {
        /// What the object should be (`user`, `organization`, …).
        kind: &'static str,
        /// What is wrong, with the JSON path where one is known.
        reason: String,
    },
}

impl DomainError {
    /// The event type of a [`DomainError::MalformedEvent`] whose body had a readable one, for
    /// a log line or a metric label; `None` for every other error.
    ///
    /// ```
    /// use clerk_sync_domain::EventEnvelope;
    ///
    /// let bad_data = EventEnvelope::parse(br#"{"type":"user.created","data":{"id":7}}"#);
    /// assert_eq!(bad_data.unwrap_err().event_type(), Some("user.created"));
    /// let no_type = EventEnvelope::parse(br#"{"data":{}}"#);
    /// assert_eq!(no_type.unwrap_err().event_type(), None);
    /// ```
    pub fn event_type(&self) -> Option<&str> {
        match self {
            Self::MalformedEvent { event_type, .. } => event_type.as_deref(),
            _ => None,
        }
    }
}
