//! `clerk-sync dev token`: a session token signed with the development key, shaped like the
//! tokens Clerk issues (version 2 claims).

use std::time::Duration;

use anyhow::{Context, bail};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use clerk_sync_domain::ClerkOrgId;
use clerk_sync_persistence::{Database, DatabaseUrl, organizations};

use super::{random_id, unescape_pem};
use crate::Settings;

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
/// When the ids are not Clerk ids or the key is unusable.
pub fn mint(private_key: &str, request: &TokenRequest<'_>) -> anyhow::Result<String> {
    if request.user.is_empty() {
        bail!(
            "--user is empty: give a Clerk user id (user_…); did the `dev send … --print-id` that was to set it fail?"
        );
    }
    if !request.user.starts_with("user_") {
        bail!("--user must be a Clerk user id (user_…)");
    }
    let now = chrono::Utc::now().timestamp();
    let lifetime =
        i64::try_from(request.expires_in.as_secs()).context("--expires-in is too long")?;
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
            bail!("--org must be a Clerk organization id (org_…)");
        }
        let role = request.role.unwrap_or("org:member");
        // Version 2 tokens write the role without its `org:` prefix.
        let role = role.strip_prefix("org:").unwrap_or(role);
        claims["o"] = json!({"id": organization, "rol": role});
        if let Some(slug) = request.organization_slug {
            claims["o"]["slg"] = json!(slug);
        }
    } else if request.role.is_some() || request.organization_slug.is_some() {
        bail!("--role and --org-slug need --org: they describe the active organization");
    }
    sign(private_key, &claims)
}

/// The slug the mirror holds for `org`, for `dev token`; `None`, with a note saying so, when
/// the mirror cannot tell.
pub fn mirrored_slug(settings: &Settings, org: &str) -> Option<String> {
    let note = |why: &str| {
        eprintln!("note: {why}: the token's organization has no slug; pass --org-slug to give one");
        None
    };
    let Ok(id) = ClerkOrgId::parse(org) else {
        return None;
    };
    let url = &settings.database.url;
    if let DatabaseUrl::Sqlite(path) = url
        && !path.exists()
    {
        return note(&format!("the mirror {} does not exist yet", path.display()));
    }
    let mut pool = settings.database.pool.clone();
    pool.max_size = 1;
    let found = Database::connect(url, &pool)
        .map_err(anyhow::Error::from)
        .and_then(|database| Ok(database.get()?))
        .and_then(|mut conn| Ok(organizations::find_by_clerk_id(&mut conn, &id)?));
    match found {
        Ok(Some(organization)) => organization.slug,
        Ok(None) => note(&format!(
            "{org} is not in the mirror (send organization.created for it first)"
        )),
        Err(err) => note(&format!(
            "cannot read the mirror at {}: {err:#}",
            url.redacted()
        )),
    }
}

fn sign(private_key: &str, claims: &Value) -> anyhow::Result<String> {
    let key = EncodingKey::from_rsa_pem(unescape_pem(private_key).as_bytes())
        .context("CLERK_DEV_PRIVATE_KEY is not an RSA private key in PEM format; run `clerk-sync dev init --force`")?;
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key)
        .context("cannot sign the token")
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
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(empty.starts_with("--user is empty"), "{empty}");
    }
}
