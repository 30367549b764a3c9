//! Clerk objects on their own, as the Backend API lists them (`GET /users`, `GET /organizations`,
//! `GET /organization_memberships`), parsed by the same rules as the `data` of webhook events:
//! the same fields are read, the same primary-email rule applies, and the same errors name the
//! field without echoing its value.

use serde::de::DeserializeOwned;

use crate::event::{FieldError, WireMembership, WireOrganization, WireUser, describe, located};
use crate::{DomainError, MembershipSnapshot, OrganizationSnapshot, UserSnapshot};

/// Parses a Clerk user object (`"object": "user"`).
///
/// ```
/// let json = r#"{"object":"user","id":"user_1","updated_at":1736942401251,"first_name":"Ada",
///     "primary_email_address_id":"idn_1",
///     "email_addresses":[{"id":"idn_1","email_address":"ada@example.com",
///         "verification":{"status":"verified"}}]}"#;
/// let user = clerk_sync_domain::parse_user(json)?;
/// assert_eq!(user.clerk_id.as_str(), "user_1");
/// assert_eq!(user.first_name.as_deref(), Some("Ada"));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
///
/// # Errors
/// [`DomainError::MalformedObject`] when a field the mirror needs is missing or of the wrong
/// type, or holds an invalid id or email; the reason names the field.
pub fn parse_user(json: &str) -> Result<UserSnapshot, DomainError> {
    read::<WireUser>("user", json)?
        .into_domain(json)
        .map_err(|err| malformed("user", err))
}

/// Parses a Clerk organization object (`"object": "organization"`).
///
/// ```
/// let json = r#"{"object":"organization","id":"org_1","name":"Acme","slug":"acme","updated_at":1}"#;
/// let organization = clerk_sync_domain::parse_organization(json)?;
/// assert_eq!((organization.name.as_str(), organization.slug.as_deref()), ("Acme", Some("acme")));
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
///
/// # Errors
/// [`DomainError::MalformedObject`], as for [`parse_user`].
pub fn parse_organization(json: &str) -> Result<OrganizationSnapshot, DomainError> {
    read::<WireOrganization>("organization", json)?
        .into_domain(json)
        .map_err(|err| malformed("organization", err))
}

/// Parses a Clerk organization membership object (`"object": "organization_membership"`),
/// with the organization and the member's public data it carries.
///
/// ```
/// let json = r#"{"object":"organization_membership","id":"orgmem_1","role":"admin","updated_at":2,
///     "organization":{"id":"org_1","name":"Acme","updated_at":1},
///     "public_user_data":{"user_id":"user_1","first_name":"Ada"}}"#;
/// let membership = clerk_sync_domain::parse_membership(json)?;
/// assert!(membership.role.is_admin());
/// assert_eq!(membership.user.clerk_id.as_str(), "user_1");
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
///
/// # Errors
/// [`DomainError::MalformedObject`], as for [`parse_user`].
pub fn parse_membership(json: &str) -> Result<MembershipSnapshot, DomainError> {
    read::<WireMembership>("organization membership", json)?
        .into_domain(json)
        .map_err(|err| malformed("organization membership", err))
}

fn malformed(kind: &'static str, err: FieldError) -> DomainError {
    DomainError::MalformedObject {
        kind,
        reason: err.located(""),
    }
}

fn read<T: DeserializeOwned>(kind: &'static str, json: &str) -> Result<T, DomainError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let object = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        DomainError::MalformedObject {
            kind,
            reason: located(&err, ""),
        }
    })?;
    deserializer
        .end()
        .map_err(|err| DomainError::MalformedObject {
            kind,
            reason: describe(&err),
        })?;
    Ok(object)
}
