//! Readers for the fields of Clerk's JSON that the mirror stores: they refuse, through serde so
//! that the error carries the field's path, values that parse as JSON but that no database
//! column could hold or order.

use serde::Deserialize;
use serde::de::{Deserializer, Error, Unexpected};

/// The latest time accepted, in Unix milliseconds: 9999-12-31T23:59:59.999Z.
///
/// ```
/// use clerk_sync_domain::{EventEnvelope, MAX_UNIX_MILLIS};
///
/// let late = format!(r#"{{"type":"user.deleted","timestamp":{},"data":{{"id":"user_1"}}}}"#, MAX_UNIX_MILLIS + 1);
/// assert!(EventEnvelope::parse(late.as_bytes()).is_err());
/// ```
pub const MAX_UNIX_MILLIS: i64 = 253_402_300_799_999;

/// The longest name or slug accepted, in bytes. These columns are indexed, and PostgreSQL
/// refuses an index entry over about 2.7 kB; Clerk's own limits are far lower.
///
/// ```
/// use clerk_sync_domain::{MAX_TEXT_BYTES, parse_organization};
///
/// let name = "n".repeat(MAX_TEXT_BYTES + 1);
/// let json = format!(r#"{{"id":"org_1","name":"{name}","updated_at":1}}"#);
/// assert!(parse_organization(&json).is_err());
/// ```
pub const MAX_TEXT_BYTES: usize = 1024;

const MILLIS_EXPECTED: &str = "Unix milliseconds from 0 to 253402300799999 (years 1970 to 9999)";

/// Clerk's `updated_at` and the envelope's `timestamp`: an integer of Unix milliseconds
/// between 1970 and 9999. A negative or far-future value would order versions wrongly forever.
pub(crate) fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    check_millis(i64::deserialize(deserializer)?)
}

/// [`millis`], for a field that may be absent or null.
pub(crate) fn optional_millis<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    Option::<i64>::deserialize(deserializer)?
        .map(check_millis)
        .transpose()
}

fn check_millis<E: Error>(value: i64) -> Result<i64, E> {
    if (0..=MAX_UNIX_MILLIS).contains(&value) {
        Ok(value)
    } else {
        Err(E::invalid_value(
            Unexpected::Signed(value),
            &MILLIS_EXPECTED,
        ))
    }
}

/// A name or slug: at most [`MAX_TEXT_BYTES`] and without NUL, which PostgreSQL cannot store.
pub(crate) fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    check_text(String::deserialize(deserializer)?, Some(MAX_TEXT_BYTES))
}

/// [`text`], for a field that may be absent or null.
pub(crate) fn optional_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| check_text(text, Some(MAX_TEXT_BYTES)))
        .transpose()
}

/// A list of names (a membership's permissions): each as [`text`]; `null` reads as empty.
pub(crate) fn text_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    Option::<Vec<String>>::deserialize(deserializer)?
        .unwrap_or_default()
        .into_iter()
        .map(|text| check_text(text, Some(MAX_TEXT_BYTES)))
        .collect()
}

/// An image URL: without NUL. Not indexed, so only the body size limits its length.
pub(crate) fn optional_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| check_text(text, None))
        .transpose()
}

fn check_text<E: Error>(text: String, max_bytes: Option<usize>) -> Result<String, E> {
    if text.contains('\0') {
        return Err(E::invalid_value(
            Unexpected::Other("text with a NUL character"),
            &"text without NUL characters",
        ));
    }
    match max_bytes {
        Some(max) if text.len() > max => {
            Err(E::invalid_length(text.len(), &"text of at most 1024 bytes"))
        }
        _ => Ok(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_state_the_limits_in_force() {
        assert!(MILLIS_EXPECTED.contains(&MAX_UNIX_MILLIS.to_string()));
        let refused: Result<String, serde_json::Error> =
            check_text("x".repeat(MAX_TEXT_BYTES + 1), Some(MAX_TEXT_BYTES));
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains(&format!("at most {MAX_TEXT_BYTES} bytes")),
            "{message}"
        );
    }
}
