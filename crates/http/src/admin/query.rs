//! Reading an admin page's query string, and its forms, into typed structs, leniently: a
//! hand-edited address shows the page (with defaults) rather than an error.

use std::collections::HashSet;
use std::convert::Infallible;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde::de::value::MapDeserializer;

/// An admin page's query string, as `T`. Read leniently: a value that does not parse is as
/// if it were absent (each field reads any text, see [`lenient`]), and of a parameter given
/// twice the first counts. (`web::Query` would answer 400 to a parameter given twice, or to
/// a value of the wrong type.)
#[derive(Debug, Default)]
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned + Default> PageQuery<T> {
    /// The query string `query`, read as `T`.
    pub fn parse(query: &str) -> Self {
        // Splitting text into pairs cannot fail: what is not UTF-8 becomes U+FFFD.
        Self(first_of_each(
            serde_urlencoded::from_str(query).unwrap_or_default(),
        ))
    }
}

impl<T: DeserializeOwned + Default> FromRequest for PageQuery<T> {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::parse(request.query_string())))
    }
}

/// A form's body (`application/x-www-form-urlencoded`), as `T`, read as [`PageQuery`] reads a
/// query string. Whatever the body holds, it is read: a body that is not a form has no
/// fields, so it carries no CSRF token, and the form is refused for that.
pub fn read_form<T: DeserializeOwned + Default>(body: &[u8]) -> T {
    // As for a query string, splitting into pairs cannot fail.
    first_of_each(serde_urlencoded::from_bytes(body).unwrap_or_default())
}

/// `pairs` as `T`, the first of each name counting.
fn first_of_each<T: DeserializeOwned + Default>(pairs: Vec<(String, String)>) -> T {
    let mut seen = HashSet::new();
    let first = pairs
        .into_iter()
        .filter(|(name, _)| seen.insert(name.clone()));
    // The fields of the pages' query and form types read any text (or none), so nothing is
    // left to fail; were a field added that could, the page would show its defaults.
    T::deserialize(MapDeserializer::<_, serde::de::value::Error>::new(first)).unwrap_or_default()
}

/// Field readers for [`PageQuery`] types: each takes any text, and what it cannot use is
/// `None` (the parameter's default).
pub mod lenient {
    use clerk_sync_persistence::admin::Direction;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Text, trimmed; `None` when blank.
    ///
    /// # Errors
    /// Only when the input is not text at all (never in a query string).
    pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        let text = String::deserialize(deserializer)?;
        let text = text.trim();
        Ok((!text.is_empty()).then(|| text.to_owned()))
    }

    /// The text as sent, even when blank (a form's hidden field).
    ///
    /// # Errors
    /// As [`text`].
    pub fn raw<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        String::deserialize(deserializer).map(Some)
    }

    /// Whether the field is there at all, whatever its value (a ticked checkbox).
    ///
    /// # Errors
    /// As [`text`].
    pub fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
    }

    /// `yes` → `Some(true)`, `no` → `Some(false)`, anything else → `None`.
    ///
    /// # Errors
    /// As [`text`].
    pub fn yes_no<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
        Ok(match text(deserializer)?.as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        })
    }

    /// Writes a [`yes_no`] value back.
    ///
    /// # Errors
    /// The serializer's.
    pub fn write_yes_no<S: Serializer>(
        value: &Option<bool>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(true) => serializer.serialize_str("yes"),
            Some(false) => serializer.serialize_str("no"),
            None => serializer.serialize_none(),
        }
    }

    /// A local id: a number above 0.
    ///
    /// # Errors
    /// As [`text`].
    pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Ok(text(deserializer)?
            .and_then(|text| text.parse().ok())
            .filter(|id| *id > 0))
    }

    /// A page number (from 1; 0 reads as 1).
    ///
    /// # Errors
    /// As [`text`].
    pub fn page<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
        Ok(text(deserializer)?.and_then(|text| text.parse().ok()))
    }

    /// `asc` or `desc`.
    ///
    /// # Errors
    /// As [`text`].
    pub fn direction<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Direction>, D::Error> {
        Ok(match text(deserializer)?.as_deref() {
            Some("asc") => Some(Direction::Asc),
            Some("desc") => Some(Direction::Desc),
            _ => None,
        })
    }

    /// `asc` or `desc`, as [`direction`] reads it.
    pub fn direction_name(direction: Direction) -> &'static str {
        match direction {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        }
    }

    /// Writes a [`direction`] value back.
    ///
    /// # Errors
    /// The serializer's.
    pub fn write_direction<S: Serializer>(
        value: &Option<Direction>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(direction) => serializer.serialize_str(direction_name(*direction)),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq, Eq)]
    #[serde(default)]
    struct Form {
        #[serde(deserialize_with = "lenient::raw")]
        token: Option<String>,
        #[serde(deserialize_with = "lenient::present")]
        ticked: bool,
        #[serde(deserialize_with = "lenient::present")]
        unticked: bool,
    }

    #[test]
    fn forms_keep_values_as_sent_and_ticked_boxes_are_present() {
        let form: Form = read_form(b"token=+a+&ticked=&token=b&other=1");
        assert_eq!(
            form,
            Form {
                token: Some(" a ".to_owned()),
                ticked: true,
                unticked: false,
            }
        );
        assert_eq!(read_form::<Form>(b"\xff\x00=%zz"), Form::default());
    }
}
