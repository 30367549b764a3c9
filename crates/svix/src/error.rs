//! The one error type of the crate: why a secret was refused or a delivery was rejected.

use crate::HeaderKind;

/// Why a signing secret could not be loaded or a webhook delivery was rejected.
///
/// Messages say what happened and what to do; they never contain the secret, a signature or the
/// body. The HTTP layer is expected to answer every verification failure with the same generic
/// 400 and log the message, so a sender learns nothing from the difference.
///
/// Every variant is a unit or carries a [`HeaderKind`], so callers can `match` on the reason
/// (for a metric label, say) without reading message text:
///
/// ```
/// use clerk_sync_svix::{HeaderKind, Verifier, WebhookError, WebhookSecret};
///
/// let verifier = Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse()?);
/// let refused = verifier.verify_at(b"{}", &[("svix-id", "msg_1")], 1_614_265_330);
/// let label = match refused {
///     Err(WebhookError::MissingHeader(HeaderKind::Signature)) => "unsigned",
///     Err(WebhookError::TimestampTooOld | WebhookError::TimestampTooNew) => "clock",
///     Err(_) => "invalid",
///     Ok(_) => "ok",
/// };
/// assert_eq!(label, "unsigned");
/// assert!(matches!(WebhookSecret::parse("whsec_"), Err(WebhookError::EmptySecret)));
/// # Ok::<(), WebhookError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret, after removing an optional `whsec_` prefix, is not standard padded base64.
    #[error(
        "the webhook signing secret is not valid base64; copy the `whsec_…` value of the \
         endpoint from the Clerk dashboard without changing it"
    )]
    InvalidSecret,

    /// The secret decodes to zero bytes (for example it is empty or just `whsec_`).
    #[error(
        "the webhook signing secret is empty; set it to the `whsec_…` value of the endpoint \
         from the Clerk dashboard"
    )]
    EmptySecret,

    /// A required header is absent under both of its names.
    #[error(
        "the webhook request has no `{}` (or `{}`) header; deliveries must come from Svix with \
         their headers passed through unchanged",
        .0.svix_name(),
        .0.unbranded_name()
    )]
    MissingHeader(HeaderKind),

    /// The timestamp header is not a base-10 integer of Unix seconds (fractions, signs, other
    /// text and out-of-range values are all refused).
    #[error(
        "the webhook timestamp header is not integer Unix seconds; the delivery was not sent by \
         Svix or was altered on the way"
    )]
    InvalidTimestamp,

    /// The timestamp is further in the past than the tolerance allows.
    #[error(
        "the webhook timestamp is older than the allowed tolerance, so the delivery is refused \
         as a possible replay; if genuine deliveries fail, check this server's clock"
    )]
    TimestampTooOld,

    /// The timestamp is further in the future than the tolerance allows.
    #[error(
        "the webhook timestamp is further in the future than the allowed tolerance; if genuine \
         deliveries fail, check this server's clock"
    )]
    TimestampTooNew,

    /// No `v1` entry of the signature header matches the expected signature.
    #[error(
        "no webhook signature matches; check that the signing secret belongs to this endpoint \
         and that the body is verified exactly as received"
    )]
    InvalidSignature,
}
