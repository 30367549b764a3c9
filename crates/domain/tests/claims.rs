//! Session token claims as Clerk issues them, in both formats, read into one auth context.

use clerk_sync_domain::{
    ActiveOrganization, AuthContext, DomainError, SessionStatus, SessionTokenClaims,
};
use serde_json::{Value, json};

fn context(claims: Value) -> Result<AuthContext, DomainError> {
    let claims: SessionTokenClaims =
        serde_json::from_value(claims).map_err(|err| DomainError::MalformedEvent {
            event_type: None,
            reason: err.to_string(),
        })?;
    AuthContext::from_claims(&claims)
}

fn organization(claims: Value) -> Option<ActiveOrganization> {
    context(claims).ok().and_then(|c| c.active_organization)
}

/// A version 1 token of a user with an active organization, as Clerk issued them until 2025.
fn v1() -> Value {
    json!({
        "azp": "https://app.example.com", "exp": 1_736_942_460, "iat": 1_736_942_400,
        "iss": "https://clerk.example.com", "nbf": 1_736_942_390,
        "sid": "sess_2VpUJSJ8lEkvZ8dXsJXJVJpaJ2h", "sub": "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE",
        "org_id": "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB", "org_role": "org:admin",
        "org_slug": "analytical-engines",
        "org_permissions": ["org:sys_memberships:manage", "org:invoices:create"]
    })
}

/// The same session as a version 2 token: Clerk's example of `fea`/`per`/`fpm` (admin with
/// dashboard read and manage, teams read).
fn v2() -> Value {
    json!({
        "azp": "https://app.example.com", "exp": 1_736_942_460, "fva": [7, -1],
        "iat": 1_736_942_400, "iss": "https://clerk.example.com", "jti": "0b5f1c2a9e4d3b7c6a1f",
        "nbf": 1_736_942_390, "sid": "sess_2VpUJSJ8lEkvZ8dXsJXJVJpaJ2h", "sts": "active",
        "sub": "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE", "v": 2, "pla": "o:pro",
        "fea": "o:dashboard,u:ai_assistant,o:teams",
        "o": {"id": "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB", "rol": "admin",
              "slg": "analytical-engines", "per": "manage,read", "fpm": "3,2"}
    })
}

#[test]
fn version_1_reads_the_flat_organization_claims() {
    let ctx = context(v1()).expect("a valid v1 token");
    assert_eq!(ctx.user_id.as_str(), "user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE");
    assert_eq!(
        ctx.session_id.as_deref(),
        Some("sess_2VpUJSJ8lEkvZ8dXsJXJVJpaJ2h")
    );
    assert_eq!(ctx.status, SessionStatus::Active);
    let org = ctx.active_organization.expect("an active organization");
    assert_eq!(org.id.as_str(), "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB");
    assert_eq!(org.slug.as_deref(), Some("analytical-engines"));
    assert!(org.role.is_admin());
    assert_eq!(
        org.permissions,
        ["org:sys_memberships:manage", "org:invoices:create"]
    );
}

#[test]
fn version_2_reads_the_compact_claim_into_the_same_shape() {
    let org = organization(v2()).expect("an active organization");
    assert_eq!(org.id.as_str(), "org_2Tti8BTY5E6lxc3WqMO5R0U0ILB");
    assert_eq!(org.slug.as_deref(), Some("analytical-engines"));
    assert_eq!(org.role.as_str(), "org:admin");
    assert_eq!(
        org.permissions,
        [
            "org:dashboard:manage",
            "org:dashboard:read",
            "org:teams:read"
        ]
    );
}

#[test]
fn no_organization_claims_means_no_active_organization() {
    let mut personal = v2();
    personal.as_object_mut().map(|o| o.remove("o"));
    personal["fea"] = json!("u:ai_assistant");
    assert_eq!(context(personal).map(|c| c.active_organization), Ok(None));
    let mut v1_personal = v1();
    for claim in ["org_id", "org_role", "org_slug", "org_permissions"] {
        v1_personal.as_object_mut().map(|o| o.remove(claim));
    }
    assert_eq!(
        context(v1_personal).map(|c| c.active_organization),
        Ok(None)
    );
}

#[test]
fn version_2_without_a_feature_map_has_a_role_and_no_permissions() {
    let claims = json!({"sub": "user_1", "v": 2, "o": {"id": "org_1", "rol": "member"}});
    let org = organization(claims).expect("an active organization");
    assert_eq!(
        (org.role.as_str(), org.permissions.len(), org.slug),
        ("org:member", 0, None)
    );
}

#[test]
fn custom_and_legacy_roles_read_as_clerk_spells_them_today() {
    let mut v2_custom = v2();
    v2_custom["o"]["rol"] = json!("billing_manager");
    assert_eq!(
        organization(v2_custom)
            .map(|o| o.role.to_string())
            .as_deref(),
        Some("org:billing_manager")
    );
    let mut v1_legacy = v1();
    v1_legacy["org_role"] = json!("basic_member");
    assert_eq!(
        organization(v1_legacy)
            .map(|o| o.role.to_string())
            .as_deref(),
        Some("org:member")
    );
}

#[test]
fn the_session_status_is_read() {
    let mut pending = v2();
    pending["sts"] = json!("pending");
    assert_eq!(
        context(pending).map(|c| c.status),
        Ok(SessionStatus::Pending)
    );
    let mut future = v2();
    future["sts"] = json!("someday");
    assert_eq!(
        context(future).map(|c| c.status),
        Ok(SessionStatus::Other("someday".into()))
    );
}

#[test]
fn claims_that_do_not_mean_what_clerks_mean_are_refused_by_name() {
    let remove = |mut claims: Value, path: &[&str]| {
        let (last, parents) = path.split_last().expect("a path");
        let mut at = &mut claims;
        for parent in parents {
            at = &mut at[*parent];
        }
        at.as_object_mut().map(|o| o.remove(*last));
        claims
    };
    let set = |mut claims: Value, path: &[&str], value: Value| {
        let mut at = &mut claims;
        for key in path {
            at = &mut at[*key];
        }
        *at = value;
        claims
    };
    let cases = [
        (remove(v2(), &["sub"]), "sub"),
        (set(v2(), &["sub"], json!("org_1")), "sub"),
        (set(v2(), &["v"], json!(3)), "v"),
        (remove(v2(), &["o", "id"]), "o.id"),
        (set(v2(), &["o", "id"], json!("user_1")), "o.id"),
        (remove(v2(), &["o", "rol"]), "o.rol"),
        (set(v2(), &["o", "fpm"], json!("3")), "o.fpm"),
        (set(v2(), &["o", "fpm"], json!("4,2")), "o.fpm"),
        (set(v2(), &["fea"], json!("dashboard,teams")), "fea"),
        (remove(v1(), &["org_role"]), "org_role"),
        (set(v1(), &["org_id"], json!("orgmem_1")), "org_id"),
    ];
    for (claims, claim) in cases {
        let err = context(claims);
        assert!(
            matches!(&err, Err(DomainError::InvalidClaim { claim: c, .. }) if *c == claim),
            "{claim}: {err:?}"
        );
    }
}

#[test]
fn errors_never_echo_the_claim_value() {
    let mut claims = v2();
    claims["sub"] = json!("ada@example.com");
    let err = context(claims)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(err, "invalid `sub` claim: expected a Clerk user id");
}
