//! The endpoint signing secret: parsing, redaction and signing.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::WebhookError;

/// The prefix Svix puts in front of endpoint secrets; it is optional when parsing.
const PREFIX: &str = "whsec_";

/// An endpoint's signing secret, ready to compute HMAC-SHA256 signatures.
///
/// Parsed from the `whsec_…` string shown in the Clerk dashboard (the prefix is optional): the
/// rest is standard padded base64 and its decoded bytes are the HMAC key. `Debug` never shows the
/// key.
///
/// ```
/// use clerk_sync_svix::WebhookSecret;
///
/// let secret: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse()?;
/// assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
/// # Ok::<(), clerk_sync_svix::WebhookError>(())
/// ```
#[derive(Clone)]
pub struct WebhookSecret {
    /// HMAC state already keyed with the secret; cloned for every signature.
    mac: Hmac<Sha256>,
}

impl WebhookSecret {
    /// Parses an endpoint secret such as `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`.
    ///
    /// ```
    /// use clerk_sync_svix::{WebhookError, WebhookSecret};
    ///
    /// assert!(WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// // The prefix is optional.
    /// assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// assert!(matches!(WebhookSecret::parse("whsec_not base64"), Err(WebhookError::InvalidSecret)));
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookError::InvalidSecret`] if the text after the optional `whsec_` prefix is not
    /// standard padded base64; [`WebhookError::EmptySecret`] if it decodes to zero bytes.
    pub fn parse(secret: &str) -> Result<Self, WebhookError> {
        let encoded = secret.strip_prefix(PREFIX).unwrap_or(secret);
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::InvalidSecret)?;
        if key.is_empty() {
            return Err(WebhookError::EmptySecret);
        }
        // HMAC accepts keys of any length, so this error cannot happen; mapping it keeps the
        // code free of panics.
        let mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| WebhookError::InvalidSecret)?;
        Ok(Self { mac })
    }

    /// The `svix-signature` header value for a delivery: `v1,<base64 of HMAC-SHA256>` over
    /// `{msg_id}.{timestamp}.{body}`. Meant for tests and tools that play the sender.
    ///
    /// ```
    /// let secret = clerk_sync_svix::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let body = br#"{"test": 2432232314}"#;
    /// let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
    /// assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /// # Ok::<(), clerk_sync_svix::WebhookError>(())
    /// ```
    #[must_use]
    pub fn sign(&self, msg_id: &str, timestamp: u64, body: &[u8]) -> String {
        format!(
            "v1,{}",
            self.signature(msg_id, &timestamp.to_string(), body)
        )
    }

    /// All three headers of a signed delivery, `svix-id`, `svix-timestamp` and `svix-signature`,
    /// in a form that implements [`Headers`](crate::Headers). A test of a webhook receiver sends
    /// these with its request:
    ///
    /// ```
    /// let secret = clerk_sync_svix::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let body = br#"{"type":"user.created","data":{}}"#;
    /// for (name, value) in secret.signed_headers("msg_1", 1_614_265_330, body) {
    ///     // request = request.header(name, value);
    ///     assert!(name.starts_with("svix-") && !value.is_empty());
    /// }
    /// # Ok::<(), clerk_sync_svix::WebhookError>(())
    /// ```
    #[must_use]
    pub fn signed_headers(
        &self,
        msg_id: &str,
        timestamp: u64,
        body: &[u8],
    ) -> [(&'static str, String); 3] {
        [
            ("svix-id", msg_id.to_owned()),
            ("svix-timestamp", timestamp.to_string()),
            ("svix-signature", self.sign(msg_id, timestamp, body)),
        ]
    }

    /// The bare base64 signature over `{msg_id}.{timestamp}.{body}`, with `timestamp` exactly as
    /// it appears in the header.
    pub(crate) fn signature(&self, msg_id: &str, timestamp: &str, body: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

impl FromStr for WebhookSecret {
    type Err = WebhookError;

    /// Same as [`WebhookSecret::parse`].
    fn from_str(secret: &str) -> Result<Self, Self::Err> {
        Self::parse(secret)
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn debug_redacts_the_key() -> Result<(), WebhookError> {
        let printed = format!("{:?}", WebhookSecret::parse(SECRET)?);
        assert_eq!(printed, "WebhookSecret(<redacted>)");
        assert!(!printed.contains("MfKQ9r8G"));
        Ok(())
    }

    #[test]
    fn prefix_is_optional() -> Result<(), WebhookError> {
        let with = WebhookSecret::parse(SECRET)?.sign("msg", 1, b"{}");
        let without = WebhookSecret::parse(&SECRET[PREFIX.len()..])?.sign("msg", 1, b"{}");
        assert_eq!(with, without);
        Ok(())
    }

    #[test]
    fn refuses_bad_secrets() {
        let parse = |s: &str| WebhookSecret::parse(s).map(|_| ());
        assert_eq!(parse(""), Err(WebhookError::EmptySecret));
        assert_eq!(parse("whsec_"), Err(WebhookError::EmptySecret));
        assert_eq!(parse("whsec_not-base64!"), Err(WebhookError::InvalidSecret));
        // Unpadded and URL-safe base64 are not the standard alphabet with padding.
        assert_eq!(parse("whsec_AAE"), Err(WebhookError::InvalidSecret));
        assert_eq!(parse("whsec_-_8="), Err(WebhookError::InvalidSecret));
    }

    #[test]
    fn errors_do_not_echo_the_secret() {
        let message = WebhookSecret::parse("whsec_s3cr3t!").map(|_| ());
        let message = message.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(!message.is_empty());
        assert!(!message.contains("s3cr3t"));
    }

    #[test]
    fn sign_known_answer() -> Result<(), WebhookError> {
        let secret = WebhookSecret::parse(SECRET)?;
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        Ok(())
    }
}
