//! Clerk objects on their own, as the Backend API lists them (`GET /users`, `GET /organizations`,
//! `GET /organization_memberships`), parsed by the same rules as the `data` of webhook events:
//! the same fields are read, the same primary-email rule applies, and the same errors name the
//! field without echoing its value.

use serde::de::DeserializeOwned;

use crate::event::{FieldError, WireMembership, WireOrganization, WireUser, describe, located};
use crate::{DomainError, MembershipSnapshot, OrganizationSnapshot, UserSnapshot};

/// Parses a Clerk user object (`"object": "user"`).
///
/// # Errors
/// [`DomainError::MalformedObject`] when a field the mirror needs is missing or of the wrong
/// type, or holds an invalid id or email; the reason names the field.
pub fn parse_user(json: &str) -> Result<UserSnapshot, DomainError> {
    read::<WireUser>("user", json)?
        .into_domain()
        .map_err(|err| malformed("user", err))
}

/// Parses a Clerk organization object (`"object": "organization"`).
///
/// # Errors
/// [`DomainError::MalformedObject`], as for [`parse_user`].
pub fn parse_organization(json: &str) -> Result<OrganizationSnapshot, DomainError> {
    read::<WireOrganization>("organization", json)?
        .into_domain()
        .map_err(|err| malformed("organization", err))
}

/// Parses a Clerk organization membership object (`"object": "organization_membership"`),
/// with the organization and the member's public data it carries.
///
/// # Errors
/// [`DomainError::MalformedObject`], as for [`parse_user`].
pub fn parse_membership(json: &str) -> Result<MembershipSnapshot, DomainError> {
    read::<WireMembership>("organization membership", json)?
        .into_domain()
        .map_err(|err| malformed("organization membership", err))
}

fn malformed(kind: &'static str, err: FieldError) -> DomainError {
    DomainError::MalformedObject {
        kind,
        reason: format!("`{}`: {}", err.path, err.error),
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
