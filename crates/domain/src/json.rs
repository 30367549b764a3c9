//! JSON kept as Clerk sent it: whole objects, so that a field nobody extracted is not lost,
//! and the metadata applications store in Clerk.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Error, Unexpected};
use serde_json::value::RawValue;

/// A JSON value as Clerk sent it: the same members in the same order, without the whitespace
/// between tokens (so a pretty-printed and a compact body keep the same text).
///
/// It never holds the escape `\u0000`: PostgreSQL's `jsonb` cannot store a NUL character, so a
/// value with one is refused when it is read (with the field's path), not when it is written.
///
/// ```
/// use clerk_sync_domain::RawJson;
///
/// let plan = RawJson::parse("{ \"plan\": \"pro plus\" }")?;
/// assert_eq!(plan.as_str(), r#"{"plan":"pro plus"}"#);
/// assert_eq!(RawJson::empty_object().as_str(), "{}");
/// assert!(RawJson::parse(r#"{"name":"a\u0000b"}"#).is_err());
/// assert!(RawJson::parse(r#"{"path":"C:\\u0000"}"#).is_ok(), "an escaped backslash, then text");
/// # Ok::<(), clerk_sync_domain::DomainError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(String);

impl RawJson {
    /// `{}`: metadata nobody has set.
    pub fn empty_object() -> Self {
        Self("{}".to_owned())
    }

    /// Checks that `text` is one JSON value that every backend can store.
    ///
    /// # Errors
    /// [`DomainError::InvalidJson`](crate::DomainError::InvalidJson) when it is not JSON, or
    /// holds a NUL character.
    pub fn parse(text: &str) -> Result<Self, crate::DomainError> {
        serde_json::from_str::<&RawValue>(text).map_err(|_| crate::DomainError::InvalidJson)?;
        Self::checked(text.to_owned()).map_err(|_| crate::DomainError::InvalidJson)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// `text`, known to be one JSON value, without whitespace between tokens, unless it holds
    /// an escaped NUL character.
    pub(crate) fn checked(text: String) -> Result<Self, &'static str> {
        compact(&text)
            .map(Self)
            .ok_or("JSON without NUL characters (\\u0000)")
    }
}

/// Metadata and objects can hold anything an application stored: `Debug` shows the size only.
impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({} bytes)", self.0.len())
    }
}

/// Valid JSON text without the whitespace between tokens; `None` when a string holds
/// `\u0000` (an escape: JSON forbids a NUL character unescaped).
fn compact(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '"' => in_string = false,
                '\\' => {
                    let escaped = chars.next()?;
                    out.push(escaped);
                    if escaped == 'u' {
                        let digits: String = chars.by_ref().take(4).collect();
                        if digits == "0000" {
                            return None;
                        }
                        out.push_str(&digits);
                    }
                }
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    Some(out)
}

/// A metadata object: as sent, with `null` or an absent field read as `{}`.
pub(crate) fn metadata<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RawJson, D::Error> {
    let raw = Option::<Box<RawValue>>::deserialize(deserializer)?;
    let Some(raw) = raw else {
        return Ok(RawJson::empty_object());
    };
    if !raw.get().trim_start().starts_with('{') {
        return Err(D::Error::invalid_type(
            Unexpected::Other("a JSON value other than an object"),
            &"a JSON object",
        ));
    }
    RawJson::checked(raw.get().to_owned()).map_err(|expected| {
        D::Error::invalid_value(Unexpected::Other("JSON with a NUL character"), &expected)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_nul_is_found_wherever_it_is() {
        let has_nul = |text: &str| compact(text).is_none();
        assert!(has_nul(r#""\u0000""#));
        assert!(has_nul(r#"{"\u0000":1}"#));
        assert!(has_nul(r#""\\\u0000""#), "a backslash, then NUL");
        assert!(!has_nul(r#""\\u0000""#), "a backslash, then text");
        assert!(!has_nul(r#""\u0001""#));
    }

    #[test]
    fn whitespace_goes_only_between_tokens() {
        let text = "{ \"a b\" : [ 1 , \"\\\" x\" ],\n\t\"c\": {} }";
        assert_eq!(
            compact(text).as_deref(),
            Some(r#"{"a b":[1,"\" x"],"c":{}}"#)
        );
    }
}
