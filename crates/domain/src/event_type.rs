//! The names of the event types the mirror handles, as Clerk writes them in an envelope's
//! `type`.
//!
//! [`ClerkEvent::UserUpserted`](crate::ClerkEvent::UserUpserted) (and the other upserts) stand
//! for both `*.created` and `*.updated`; a service that reacts to one of the two compares
//! [`EventEnvelope::event_type`](crate::EventEnvelope::event_type) with these names instead of a
//! string literal that a typo would silently never match.
//!
//! ```
//! use clerk_sync_domain::{ClerkEvent, EventEnvelope, event_type};
//!
//! let body = br#"{"type":"user.created","data":{"id":"user_1","updated_at":1}}"#;
//! let envelope = EventEnvelope::parse(body)?;
//! let is_new_user = envelope.event_type == event_type::USER_CREATED
//!     && matches!(envelope.event, ClerkEvent::UserUpserted(_));
//! assert!(is_new_user);
//! # Ok::<(), clerk_sync_domain::DomainError>(())
//! ```

/// `user.created`: a user signed up or was created; parses as
/// [`ClerkEvent::UserUpserted`](crate::ClerkEvent::UserUpserted).
///
/// ```
/// assert!(clerk_sync_domain::HANDLED_EVENT_TYPES.contains(&clerk_sync_domain::event_type::USER_CREATED));
/// ```
pub const USER_CREATED: &str = "user.created";

/// `user.updated`; parses as [`ClerkEvent::UserUpserted`](crate::ClerkEvent::UserUpserted).
///
/// ```
/// assert_eq!(clerk_sync_domain::event_type::USER_UPDATED, "user.updated");
/// ```
pub const USER_UPDATED: &str = "user.updated";

/// `user.deleted`; parses as [`ClerkEvent::UserDeleted`](crate::ClerkEvent::UserDeleted).
///
/// ```
/// assert_eq!(clerk_sync_domain::event_type::USER_DELETED, "user.deleted");
/// ```
pub const USER_DELETED: &str = "user.deleted";

/// `organization.created`; parses as
/// [`ClerkEvent::OrganizationUpserted`](crate::ClerkEvent::OrganizationUpserted).
///
/// ```
/// assert_eq!(clerk_sync_domain::event_type::ORGANIZATION_CREATED, "organization.created");
/// ```
pub const ORGANIZATION_CREATED: &str = "organization.created";

/// `organization.updated`; parses as
/// [`ClerkEvent::OrganizationUpserted`](crate::ClerkEvent::OrganizationUpserted).
///
/// ```
/// assert_eq!(clerk_sync_domain::event_type::ORGANIZATION_UPDATED, "organization.updated");
/// ```
pub const ORGANIZATION_UPDATED: &str = "organization.updated";

/// `organization.deleted`; parses as
/// [`ClerkEvent::OrganizationDeleted`](crate::ClerkEvent::OrganizationDeleted).
///
/// ```
/// assert_eq!(clerk_sync_domain::event_type::ORGANIZATION_DELETED, "organization.deleted");
/// ```
pub const ORGANIZATION_DELETED: &str = "organization.deleted";

/// `organizationMembership.created`; parses as
/// [`ClerkEvent::MembershipUpserted`](crate::ClerkEvent::MembershipUpserted).
///
/// ```
/// use clerk_sync_domain::event_type::MEMBERSHIP_CREATED;
/// assert_eq!(MEMBERSHIP_CREATED, "organizationMembership.created");
/// ```
pub const MEMBERSHIP_CREATED: &str = "organizationMembership.created";

/// `organizationMembership.updated`; parses as
/// [`ClerkEvent::MembershipUpserted`](crate::ClerkEvent::MembershipUpserted).
///
/// ```
/// use clerk_sync_domain::event_type::MEMBERSHIP_UPDATED;
/// assert_eq!(MEMBERSHIP_UPDATED, "organizationMembership.updated");
/// ```
pub const MEMBERSHIP_UPDATED: &str = "organizationMembership.updated";

/// `organizationMembership.deleted`; parses as
/// [`ClerkEvent::MembershipDeleted`](crate::ClerkEvent::MembershipDeleted).
///
/// ```
/// use clerk_sync_domain::event_type::MEMBERSHIP_DELETED;
/// assert_eq!(MEMBERSHIP_DELETED, "organizationMembership.deleted");
/// ```
pub const MEMBERSHIP_DELETED: &str = "organizationMembership.deleted";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_the_handled_event_types() {
        let names = [
            USER_CREATED,
            USER_UPDATED,
            USER_DELETED,
            ORGANIZATION_CREATED,
            ORGANIZATION_UPDATED,
            ORGANIZATION_DELETED,
            MEMBERSHIP_CREATED,
            MEMBERSHIP_UPDATED,
            MEMBERSHIP_DELETED,
        ];
        assert_eq!(names, crate::HANDLED_EVENT_TYPES);
    }
}
