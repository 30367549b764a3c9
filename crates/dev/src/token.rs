//! Session tokens signed with the development key, shaped like the tokens Clerk issues
//! (version 2 claims): what `clerk-sync dev token` prints and the benchmark sends.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::{DevError, random_id, unescape_pem};

/// What the token says.
#[derive(Debug)]
pub struct TokenRequest<'a> {
    /// The user (`sub`).
    pub user: &'a str,
    /// The active organization, if any.
    pub organization: Option<&'a str>,
    /// The role in it (defaults to `org:member`).
    pub role: Option<&'a str>,
    /// Its slug, as Clerk puts it in the token (`o.slg`), if any.
    pub organization_slug: Option<&'a str>,
    /// How long the token is valid.
    pub expires_in: Duration,
}

/// Signs a token with the PEM private key `private_key` (with or without `\n` escapes).
///
/// # Errors
/// [`DevError`] when the ids are not Clerk ids, a role comes without its organization, or the
/// key is unusable.
pub fn mint(private_key: &str, request: &TokenRequest<'_>) -> Result<String, DevError> {
    if request.user.is_empty() {
        return Err(DevError::EmptyUser);
    }
    if !request.user.starts_with("user_") {
        return Err(DevError::NotAUserId);
    }
    let now = chrono::Utc::now().timestamp();
    let lifetime =
        i64::try_from(request.expires_in.as_secs()).map_err(DevError::LifetimeTooLong)?;
    let mut claims = json!({
        "v": 2,
        "sub": request.user,
        "sid": random_id("sess_"),
        "iat": now,
        "nbf": now - 5,
        "exp": now + lifetime,
        "iss": "https://clerk-sync.dev.invalid",
        "azp": "http://localhost:3000",
    });
    if let Some(organization) = request.organization {
        if !organization.starts_with("org_") {
            return Err(DevError::NotAnOrganizationId);
        }
        let role = request.role.unwrap_or("org:member");
        // Version 2 tokens write the role without its `org:` prefix.
        let role = role.strip_prefix("org:").unwrap_or(role);
        claims["o"] = json!({"id": organization, "rol": role});
        if let Some(slug) = request.organization_slug {
            claims["o"]["slg"] = json!(slug);
        }
    } else if request.role.is_some() || request.organization_slug.is_some() {
        return Err(DevError::RoleWithoutOrganization);
    }
    sign(private_key, &claims)
}

fn sign(private_key: &str, claims: &Value) -> Result<String, DevError> {
    let key = EncodingKey::from_rsa_pem(unescape_pem(private_key).as_bytes())
        .map_err(DevError::InvalidKey)?;
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).map_err(DevError::Sign)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use rsa::RsaPrivateKey;
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};

    use super::*;

    fn claims_of(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap_or_default();
        let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[test]
    fn the_active_organization_carries_its_slug() {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .expect("a key")
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PEM")
            .to_string();
        let request = TokenRequest {
            user: "user_2abc",
            organization: Some("org_2def"),
            role: Some("org:admin"),
            organization_slug: Some("acme-development"),
            expires_in: Duration::from_secs(60),
        };
        let claims = claims_of(&mint(&key, &request).expect("a token"));
        assert_eq!(
            claims["o"],
            json!({"id": "org_2def", "rol": "admin", "slg": "acme-development"})
        );
        let empty = mint(
            &key,
            &TokenRequest {
                user: "",
                ..request
            },
        )
        .err();
        assert!(matches!(empty, Some(DevError::EmptyUser)), "{empty:?}");
        let message = empty.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.starts_with("--user is empty"), "{message}");
    }
}
