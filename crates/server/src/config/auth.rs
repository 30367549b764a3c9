//! `[auth]`: how session tokens are verified. Every setting can be overridden by the
//! environment variable named in `config/default.toml` (the table of `layers`).

use std::time::Duration;

use clerk_sync_http::auth::{JwksOptions, KeySource, TokenPolicy, TokenVerifier};
use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// `[auth]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Clock difference tolerated on `exp`, `nbf` and `iat`, in seconds
    /// (`CLERK_JWT_LEEWAY_SECONDS`).
    pub leeway_seconds: u64,
    /// The JWKS endpoint, used when no PEM key is set (`CLERK_JWKS_URL`).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// How long fetched keys are used before a refresh (`CLERK_JWKS_CACHE_TTL_SECONDS`).
    pub jwks_cache_ttl_seconds: u64,
    /// The least time between refetches caused by an unknown `kid`
    /// (`CLERK_JWKS_REFETCH_INTERVAL_SECONDS`).
    pub jwks_refetch_interval_seconds: u64,
    /// How long one JWKS fetch may take (`CLERK_JWKS_TIMEOUT_SECONDS`).
    pub jwks_timeout_seconds: u64,
    /// The expected `iss`, pinning the Clerk instance (`CLERK_ISSUER`); unset checks nothing.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The accepted `azp` origins (`CLERK_AUTHORIZED_PARTIES`, comma-separated); unset checks
    /// nothing.
    #[serde(default)]
    pub authorized_parties: Option<Vec<String>>,
    /// Accept sessions whose status is `pending` (`CLERK_ACCEPT_PENDING_SESSIONS`).
    pub accept_pending_sessions: bool,
    /// The most verified tokens remembered, so that each token's signature is checked once
    /// (`CLERK_TOKEN_CACHE_SIZE`); 0 checks it on every request.
    pub token_cache_size: usize,
}

/// Origins and issuers are compared exactly; a trailing slash in the setting is not meant.
fn origin(value: &str) -> String {
    value.trim().trim_end_matches('/').to_owned()
}

impl AuthSettings {
    /// The settings with origins trimmed of a trailing slash, checked.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable of an unusable setting.
    pub(super) fn checked(mut self) -> Result<Self, ConfigError> {
        self.issuer = self.issuer.as_deref().map(origin);
        self.authorized_parties = self.authorized_parties.as_ref().map(|parties| {
            parties
                .iter()
                .map(|party| origin(party))
                .filter(|party| !party.is_empty())
                .collect()
        });
        if self.authorized_parties.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid(
                "CLERK_AUTHORIZED_PARTIES",
                "expected comma-separated origins such as https://app.example.com",
            ));
        }
        if self.jwks_timeout_seconds == 0 {
            return Err(invalid("CLERK_JWKS_TIMEOUT_SECONDS", "must be at least 1"));
        }
        self.jwks_options().transpose()?;
        Ok(self)
    }

    fn jwks_options(&self) -> Option<Result<JwksOptions, ConfigError>> {
        let url = self.jwks_url.as_deref()?;
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.has_host());
        Some(
            parsed
                .ok_or_else(|| {
                    invalid(
                        "CLERK_JWKS_URL",
                        "expected an http(s) URL such as https://<your Frontend API>/.well-known/jwks.json",
                    )
                })
                .map(|url| JwksOptions {
                    url,
                    ttl: Duration::from_secs(self.jwks_cache_ttl_seconds),
                    refetch_interval: Duration::from_secs(self.jwks_refetch_interval_seconds),
                    timeout: Duration::from_secs(self.jwks_timeout_seconds),
                }),
        )
    }

    /// The checks beyond the signature.
    pub fn policy(&self) -> TokenPolicy {
        TokenPolicy {
            leeway: Duration::from_secs(self.leeway_seconds),
            issuer: self.issuer.clone(),
            authorized_parties: self.authorized_parties.clone(),
            accept_pending: self.accept_pending_sessions,
        }
    }

    /// The verifier: the PEM key when one is given (no network needed), else the JWKS
    /// endpoint, else none. Built once, when the settings are loaded ([`super::Settings::tokens`]).
    ///
    /// # Errors
    /// [`ConfigError`] naming `CLERK_JWT_PUBLIC_KEY` or `CLERK_JWKS_URL` when unusable.
    pub(super) fn token_verifier(
        &self,
        pem: Option<&str>,
    ) -> Result<Option<TokenVerifier>, ConfigError> {
        let keys = if let Some(pem) = pem {
            KeySource::pem(pem).map_err(|err| invalid("CLERK_JWT_PUBLIC_KEY", err.to_string()))?
        } else if let Some(options) = self.jwks_options() {
            KeySource::jwks(options?).map_err(|err| invalid("CLERK_JWKS_URL", err))?
        } else {
            return Ok(None);
        };
        Ok(Some(
            TokenVerifier::new(keys, self.policy()).with_cache(self.token_cache_size),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clerk_sync_http::auth::KeySource;

    use crate::config::{ConfigError, Settings};

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load(&|name| vars.get(name).cloned())
    }

    const JWKS: &str = "https://clerk.example.com/.well-known/jwks.json";

    #[test]
    fn defaults_check_no_issuer_or_party_and_refuse_pending_sessions() {
        let settings = load(&[]).expect("loads");
        let auth = settings.auth;
        let policy = auth.policy();
        assert_eq!(policy.leeway.as_secs(), 5);
        assert_eq!((policy.issuer, policy.authorized_parties), (None, None));
        assert!(!policy.accept_pending);
        assert_eq!(
            (
                auth.jwks_cache_ttl_seconds,
                auth.jwks_refetch_interval_seconds
            ),
            (3600, 300)
        );
        assert_eq!(auth.token_cache_size, 4096);
        assert!(settings.tokens.is_none());
    }

    #[test]
    fn the_token_cache_is_on_by_default_and_off_at_zero() {
        let cached = load(&[("CLERK_JWKS_URL", JWKS)]).expect("loads");
        let verifier = cached.tokens.as_ref().expect("set");
        assert!(verifier.cache_stats().is_some());
        let uncached =
            load(&[("CLERK_JWKS_URL", JWKS), ("CLERK_TOKEN_CACHE_SIZE", "0")]).expect("loads");
        assert_eq!(uncached.auth.token_cache_size, 0);
        let verifier = uncached.tokens.as_ref().expect("set");
        assert_eq!(verifier.cache_stats(), None);
    }

    #[test]
    fn the_environment_sets_every_auth_setting() {
        let settings = load(&[
            ("CLERK_JWKS_URL", JWKS),
            ("CLERK_JWKS_CACHE_TTL_SECONDS", "60"),
            ("CLERK_JWKS_REFETCH_INTERVAL_SECONDS", "10"),
            ("CLERK_JWKS_TIMEOUT_SECONDS", "2"),
            ("CLERK_JWT_LEEWAY_SECONDS", "1"),
            ("CLERK_ISSUER", "https://clerk.example.com/"),
            (
                "CLERK_AUTHORIZED_PARTIES",
                " https://app.example.com/ ,http://localhost:3000,",
            ),
            ("CLERK_ACCEPT_PENDING_SESSIONS", "true"),
            ("CLERK_TOKEN_CACHE_SIZE", "100"),
        ])
        .expect("loads");
        assert_eq!(settings.auth.token_cache_size, 100);
        let auth = &settings.auth;
        let policy = auth.policy();
        assert_eq!(policy.issuer.as_deref(), Some("https://clerk.example.com"));
        assert_eq!(
            policy.authorized_parties,
            Some(vec![
                "https://app.example.com".to_owned(),
                "http://localhost:3000".to_owned()
            ])
        );
        assert!(policy.accept_pending);
        assert_eq!(policy.leeway.as_secs(), 1);
        assert_eq!(
            (
                auth.jwks_cache_ttl_seconds,
                auth.jwks_refetch_interval_seconds,
                auth.jwks_timeout_seconds
            ),
            (60, 10, 2)
        );
        let verifier = settings.tokens.as_ref().expect("set");
        let KeySource::Jwks(cache) = verifier.keys() else {
            panic!("JWKS expected");
        };
        let shown = format!("{cache:?}");
        assert!(
            shown.contains("ttl: 60s") && shown.contains("refetch_interval: 10s"),
            "{shown}"
        );
    }

    #[test]
    fn the_pem_key_is_preferred_over_the_jwks_url() {
        let pem = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/keys/test_public.pem"
        ))
        .expect("the test key");
        let settings =
            load(&[("CLERK_JWKS_URL", JWKS), ("CLERK_JWT_PUBLIC_KEY", &pem)]).expect("loads");
        let verifier = settings.tokens.as_ref().expect("set");
        assert!(matches!(verifier.keys(), KeySource::Pem(_)));
    }

    #[test]
    fn unusable_values_name_their_variable() {
        let cases = [
            (
                "CLERK_JWKS_URL",
                "clerk.example.com/jwks",
                "CLERK_JWKS_URL: expected an http(s) URL",
            ),
            (
                "CLERK_JWKS_URL",
                "ftp://clerk.example.com/jwks",
                "CLERK_JWKS_URL: expected an http(s) URL",
            ),
            (
                "CLERK_JWKS_CACHE_TTL_SECONDS",
                "an hour",
                "CLERK_JWKS_CACHE_TTL_SECONDS: expected a whole number",
            ),
            (
                "CLERK_JWKS_TIMEOUT_SECONDS",
                "0",
                "CLERK_JWKS_TIMEOUT_SECONDS: must be at least 1",
            ),
            (
                "CLERK_AUTHORIZED_PARTIES",
                ", ,",
                "CLERK_AUTHORIZED_PARTIES: expected comma-separated origins",
            ),
            (
                "CLERK_TOKEN_CACHE_SIZE",
                "-1",
                "CLERK_TOKEN_CACHE_SIZE: expected a whole number",
            ),
            (
                "CLERK_ACCEPT_PENDING_SESSIONS",
                "maybe",
                "CLERK_ACCEPT_PENDING_SESSIONS: expected `true` or `false`",
            ),
        ];
        for (name, value, expected) in cases {
            let err = load(&[(name, value)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with(expected), "{name}={value}: {err}");
        }
    }
}
