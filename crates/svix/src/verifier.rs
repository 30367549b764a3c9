//! Verifying a delivery: headers, timestamp tolerance, then signature.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::signature::{constant_time_eq, v1_signatures};
use crate::{HeaderKind, Headers, WebhookError, WebhookSecret};

/// How far a delivery's timestamp may be from the current time, either way: 5 minutes, as in the
/// Svix libraries.
///
/// ```
/// use clerk_sync_svix::{DEFAULT_TOLERANCE, Verifier};
///
/// let verifier = Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse()?);
/// assert_eq!(verifier.tolerance(), DEFAULT_TOLERANCE);
/// assert_eq!(DEFAULT_TOLERANCE.as_secs(), 300);
/// # Ok::<(), clerk_sync_svix::WebhookError>(())
/// ```
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The longest message id a receiver should key its records by: Svix's ids are about 30
/// characters, and clerk-sync refuses a signed delivery whose `svix-id` is empty or longer (the
/// verifier itself accepts any id the sender signed).
///
/// ```
/// use clerk_sync_svix::{MAX_MESSAGE_ID_LEN, VerifiedMessage};
///
/// let message = VerifiedMessage { id: "msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned(), timestamp: 0 };
/// assert!(!message.id.is_empty() && message.id.len() <= MAX_MESSAGE_ID_LEN);
/// ```
pub const MAX_MESSAGE_ID_LEN: usize = 256;

/// What a successful verification established about a delivery.
///
/// ```
/// use clerk_sync_svix::{VerifiedMessage, Verifier, WebhookSecret};
///
/// let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let headers = secret.signed_headers("msg_1", 1_614_265_330, b"{}");
/// let message = Verifier::new(secret).verify_at(b"{}", &headers, 1_614_265_330)?;
/// assert_eq!(message, VerifiedMessage { id: "msg_1".to_owned(), timestamp: 1_614_265_330 });
/// # Ok::<(), clerk_sync_svix::WebhookError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMessage {
    /// The `svix-id`: identical on every retry of the same message, so it is the idempotency
    /// key. Not parsed further; it may even be empty if the sender signed it so.
    pub id: String,
    /// The `svix-timestamp`, Unix seconds: when this attempt was signed.
    pub timestamp: u64,
}

/// Checks the signatures of webhook deliveries made to one endpoint.
///
/// Build one at start from the endpoint's secret and share it (it is `Clone`, and
/// [`Verifier::verify`] takes `&self`):
///
/// ```
/// use clerk_sync_svix::{Verifier, WebhookError};
///
/// let verifier = Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse()?);
/// // A request without the Svix headers is refused.
/// let headers: [(&str, &str); 0] = [];
/// assert!(matches!(verifier.verify(b"{}", &headers), Err(WebhookError::MissingHeader(_))));
/// # Ok::<(), WebhookError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    secret: WebhookSecret,
    tolerance_secs: u64,
}

impl Verifier {
    /// A verifier for the endpoint with this secret, with the [`DEFAULT_TOLERANCE`].
    ///
    /// ```
    /// let secret = clerk_sync_svix::WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let verifier = clerk_sync_svix::Verifier::new(secret);
    /// assert_eq!(verifier.tolerance().as_secs(), 300);
    /// # Ok::<(), clerk_sync_svix::WebhookError>(())
    /// ```
    #[must_use]
    pub const fn new(secret: WebhookSecret) -> Self {
        Self {
            secret,
            tolerance_secs: DEFAULT_TOLERANCE.as_secs(),
        }
    }

    /// Replaces the tolerance; it is counted in whole seconds (any fraction is dropped).
    ///
    /// ```
    /// use std::time::Duration;
    /// use clerk_sync_svix::{Verifier, WebhookSecret};
    ///
    /// let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let verifier = Verifier::new(secret).with_tolerance(Duration::from_millis(60_500));
    /// assert_eq!(verifier.tolerance(), Duration::from_secs(60));
    /// # Ok::<(), clerk_sync_svix::WebhookError>(())
    /// ```
    #[must_use]
    pub const fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance_secs = tolerance.as_secs();
        self
    }

    /// The tolerance in use.
    ///
    /// ```
    /// use clerk_sync_svix::{DEFAULT_TOLERANCE, Verifier, WebhookSecret};
    ///
    /// let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(Verifier::new(secret).tolerance(), DEFAULT_TOLERANCE);
    /// # Ok::<(), clerk_sync_svix::WebhookError>(())
    /// ```
    #[must_use]
    pub const fn tolerance(&self) -> Duration {
        Duration::from_secs(self.tolerance_secs)
    }

    /// Verifies a delivery against the system clock; see [`Verifier::verify_at`]. This is the
    /// call a webhook endpoint makes, with the raw body and the request's headers:
    ///
    /// ```
    /// use std::time::{SystemTime, UNIX_EPOCH};
    /// use clerk_sync_svix::{Verifier, WebhookSecret};
    ///
    /// let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    /// let body = br#"{"type":"user.created","data":{}}"#;
    /// let headers = secret.signed_headers("msg_1", now, body);
    ///
    /// let message = Verifier::new(secret).verify(body, &headers)?;
    /// assert_eq!(message.id, "msg_1"); // the idempotency key
    /// # Ok::<(), clerk_sync_svix::WebhookError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify_at`]. A clock set before 1970 counts as 1970, so every delivery is
    /// then [`WebhookError::TimestampTooNew`].
    pub fn verify<H: Headers + ?Sized>(
        &self,
        body: &[u8],
        headers: &H,
    ) -> Result<VerifiedMessage, WebhookError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since_epoch| since_epoch.as_secs());
        self.verify_at(body, headers, now)
    }

    /// Verifies a delivery: `body` is the raw request body exactly as received (not re-serialized),
    /// `now` the current time in Unix seconds.
    ///
    /// The timestamp is checked before the signature, so a stale delivery reports its age even
    /// when its signature is also wrong. The signature covers the timestamp text as sent.
    ///
    /// ```
    /// use clerk_sync_svix::{Verifier, WebhookError, WebhookSecret};
    ///
    /// let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let headers = secret.signed_headers("msg_1", 1_614_265_330, b"{}");
    /// let verifier = Verifier::new(secret);
    /// assert!(verifier.verify_at(b"{}", &headers, 1_614_265_330 + 300).is_ok());
    /// let late = verifier.verify_at(b"{}", &headers, 1_614_265_330 + 301);
    /// assert_eq!(late, Err(WebhookError::TimestampTooOld));
    /// # Ok::<(), WebhookError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`WebhookError::MissingHeader`] for the first header missing, in the order id,
    ///   signature, timestamp (the order of the Svix Rust crate);
    /// - [`WebhookError::InvalidTimestamp`] if the timestamp is not base-10 digits that fit a
    ///   `u64` (so no sign, fraction or spaces);
    /// - [`WebhookError::TimestampTooOld`] / [`WebhookError::TimestampTooNew`] if it is more than
    ///   the tolerance before / after `now` (exactly the tolerance is accepted);
    /// - [`WebhookError::InvalidSignature`] if no `v1` entry of the signature list matches.
    pub fn verify_at<H: Headers + ?Sized>(
        &self,
        body: &[u8],
        headers: &H,
        now: u64,
    ) -> Result<VerifiedMessage, WebhookError> {
        let header = |kind: HeaderKind| {
            kind.lookup(headers)
                .ok_or(WebhookError::MissingHeader(kind))
        };
        let id = header(HeaderKind::Id)?;
        let signatures = header(HeaderKind::Signature)?;
        let timestamp_text = header(HeaderKind::Timestamp)?;

        let timestamp = parse_timestamp(timestamp_text)?;
        if now.saturating_sub(timestamp) > self.tolerance_secs {
            return Err(WebhookError::TimestampTooOld);
        }
        if timestamp.saturating_sub(now) > self.tolerance_secs {
            return Err(WebhookError::TimestampTooNew);
        }

        let expected = self.secret.signature(id, timestamp_text, body);
        if v1_signatures(signatures)
            .any(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()))
        {
            Ok(VerifiedMessage {
                id: id.to_owned(),
                timestamp,
            })
        } else {
            Err(WebhookError::InvalidSignature)
        }
    }
}

/// Parses integer Unix seconds: ASCII digits only. `u64::from_str` alone would also take a
/// leading `+`, which no sender writes.
fn parse_timestamp(text: &str) -> Result<u64, WebhookError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::InvalidTimestamp);
    }
    text.parse().map_err(|_| WebhookError::InvalidTimestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use WebhookError::{InvalidSignature, InvalidTimestamp, TimestampTooNew, TimestampTooOld};

    const NOW: u64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"user.created"}"#;

    /// Verifies `BODY` signed at `signed_at` against the clock `now`.
    fn check(
        verifier: &Verifier,
        signed_at: u64,
        now: u64,
    ) -> Result<VerifiedMessage, WebhookError> {
        let headers = verifier.secret.signed_headers("msg_1", signed_at, BODY);
        verifier.verify_at(BODY, &headers, now)
    }

    fn verifier() -> Result<Verifier, WebhookError> {
        Ok(Verifier::new(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".parse()?,
        ))
    }

    #[test]
    fn sign_then_verify_round_trip() -> Result<(), WebhookError> {
        let verifier = verifier()?;
        let expected = VerifiedMessage {
            id: "msg_1".to_owned(),
            timestamp: NOW,
        };
        assert_eq!(check(&verifier, NOW, NOW)?, expected);

        let headers = verifier.secret.signed_headers("msg_1", NOW, BODY);
        assert_eq!(
            verifier.verify_at(b"{}", &headers, NOW),
            Err(InvalidSignature)
        );
        Ok(())
    }

    #[test]
    fn verify_uses_the_system_clock() -> Result<(), WebhookError> {
        let verifier = verifier()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let fresh = verifier.secret.signed_headers("msg_1", now, BODY);
        assert!(verifier.verify(BODY, &fresh).is_ok());
        let stale = verifier.secret.signed_headers("msg_1", now - 3600, BODY);
        assert_eq!(verifier.verify(BODY, &stale), Err(TimestampTooOld));
        Ok(())
    }

    #[test]
    fn tolerance_is_configurable_whole_seconds_and_inclusive() -> Result<(), WebhookError> {
        assert_eq!(verifier()?.tolerance(), DEFAULT_TOLERANCE);
        let verifier = verifier()?.with_tolerance(Duration::from_millis(10_900));
        assert_eq!(verifier.tolerance(), Duration::from_secs(10));
        assert!(check(&verifier, NOW, NOW + 10).is_ok());
        assert!(check(&verifier, NOW, NOW - 10).is_ok());
        assert_eq!(check(&verifier, NOW, NOW + 11), Err(TimestampTooOld));
        assert_eq!(check(&verifier, NOW, NOW - 11), Err(TimestampTooNew));
        Ok(())
    }

    #[test]
    fn extreme_values_do_not_overflow() -> Result<(), WebhookError> {
        let verifier = verifier()?;
        assert_eq!(check(&verifier, u64::MAX, 0), Err(TimestampTooNew));
        assert_eq!(check(&verifier, 0, u64::MAX), Err(TimestampTooOld));
        Ok(())
    }

    #[test]
    fn timestamp_must_be_plain_digits() {
        assert_eq!(parse_timestamp("1614265330"), Ok(1_614_265_330));
        assert_eq!(parse_timestamp("0"), Ok(0));
        let bad = [
            "",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1.0",
            "1e9",
            "0x10",
            "99999999999999999999",
        ];
        for text in bad {
            assert_eq!(parse_timestamp(text), Err(InvalidTimestamp), "{text:?}");
        }
    }

    #[test]
    fn reports_the_first_missing_header_in_svix_order() -> Result<(), WebhookError> {
        use HeaderKind::{Id, Signature, Timestamp};
        let verifier = verifier()?;
        let missing = |headers: &[(&str, &str)]| verifier.verify_at(BODY, headers, NOW).err();
        let only_id = [("svix-id", "msg_1")];
        let only_timestamp = [("webhook-timestamp", "1")];
        assert_eq!(missing(&[]), Some(WebhookError::MissingHeader(Id)));
        assert_eq!(
            missing(&only_timestamp),
            Some(WebhookError::MissingHeader(Id))
        );
        assert_eq!(
            missing(&only_id),
            Some(WebhookError::MissingHeader(Signature))
        );
        let no_timestamp = [("svix-id", "msg_1"), ("webhook-signature", "v1,x")];
        assert_eq!(
            missing(&no_timestamp),
            Some(WebhookError::MissingHeader(Timestamp))
        );
        Ok(())
    }

    #[test]
    fn timestamp_is_checked_before_signature() -> Result<(), WebhookError> {
        let headers = [
            ("svix-id", "msg_1"),
            ("svix-timestamp", "1"),
            ("svix-signature", "v1,x"),
        ];
        assert_eq!(
            verifier()?.verify_at(BODY, &headers, NOW),
            Err(TimestampTooOld)
        );
        Ok(())
    }

    #[test]
    fn signature_covers_the_timestamp_text_as_sent() -> Result<(), WebhookError> {
        // A leading zero does not change the number but does change the signed content.
        let verifier = verifier()?;
        let signature = verifier.secret.sign("msg_1", NOW, BODY);
        let padded = format!("0{NOW}");
        let headers = [
            ("svix-id", "msg_1"),
            ("svix-timestamp", &padded),
            ("svix-signature", &signature),
        ];
        assert_eq!(
            verifier.verify_at(BODY, &headers, NOW),
            Err(InvalidSignature)
        );
        Ok(())
    }
}
