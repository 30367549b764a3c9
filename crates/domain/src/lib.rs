#![doc = include_str!("../README.md")]

mod claims;
mod email;
mod error;
mod event;
pub mod event_type;
mod fields;
mod ids;
mod json;
mod membership;
mod object;
mod organization;
mod outcome;
mod role;
mod time;
mod user;

pub use claims::{
    ActiveOrganization, AuthContext, OrganizationClaim, SessionStatus, SessionTokenClaims,
    feature_permissions,
};
pub use email::EmailAddress;
pub use error::DomainError;
pub use event::{ClerkEvent, EventEnvelope, HANDLED_EVENT_TYPES};
pub use fields::{MAX_TEXT_BYTES, MAX_UNIX_MILLIS};
pub use ids::{
    ClerkMembershipId, ClerkOrgId, ClerkUserId, MAX_CLERK_ID_LEN, MembershipId, OrganizationId,
    UserId,
};
pub use json::RawJson;
pub use membership::{
    MembershipContext, MembershipDecision, MembershipDeletion, MembershipSnapshot,
    StoredMembership, decide_membership_deletion, decide_membership_upsert,
};
pub use object::{parse_membership, parse_organization, parse_user};
pub use organization::{
    Affiliation, Member, Organization, OrganizationContext, OrganizationDecision,
    OrganizationDeletion, OrganizationSnapshot, StoredOrganization, decide_organization_deletion,
    decide_organization_upsert,
};
pub use outcome::{Outcome, UnknownOutcome};
pub use role::Role;
pub use time::UnixMillis;
pub use user::{
    MemberUser, PublicUserData, StoredUser, User, UserContext, UserDecision, UserDeletion,
    UserEmailAddress, UserPhoneNumber, UserSnapshot, UserTarget, UserWrite, decide_member_user,
    decide_user_deletion, decide_user_upsert,
};
