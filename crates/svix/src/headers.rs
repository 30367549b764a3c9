//! Reading the three Svix headers without depending on any HTTP crate.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;

/// Read access to request headers by name.
///
/// Implement it for your HTTP library's header map with a small wrapper (the orphan rule forbids
/// implementing it on a foreign map directly). HTTP header names are case-insensitive; making
/// lookups so is the implementation's job. The implementations provided here match names ignoring
/// ASCII case and return the first match: for slices, arrays and `Vec`s of `(name, value)`
/// pairs and for `HashMap`s, of anything that is `AsRef<str>`.
///
/// A wrapper for an HTTP library's header list, as the `welcome-mailer` example does for
/// tiny_http's:
///
/// ```
/// use clerk_sync_svix::Headers;
///
/// /// Stands in for a library's header type.
/// struct Header { name: String, value: String }
///
/// struct RequestHeaders<'a>(&'a [Header]);
///
/// impl Headers for RequestHeaders<'_> {
///     fn get(&self, name: &str) -> Option<&str> {
///         self.0
///             .iter()
///             .find(|h| h.name.eq_ignore_ascii_case(name))
///             .map(|h| h.value.as_str())
///     }
/// }
///
/// let list = [Header { name: "Svix-Id".into(), value: "msg_1".into() }];
/// assert_eq!(RequestHeaders(&list).get("svix-id"), Some("msg_1"));
/// // The provided implementations ignore case too.
/// assert_eq!(Headers::get(&[("SVIX-ID", "msg_1")], "svix-id"), Some("msg_1"));
/// ```
pub trait Headers {
    /// The value of the header `name`, if present. `name` is given in lower case.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use clerk_sync_svix::Headers;
    ///
    /// // `Headers::get` rather than the map's own `get`, which is case-sensitive.
    /// let headers = HashMap::from([("Svix-Timestamp", "1614265330")]);
    /// assert_eq!(Headers::get(&headers, "svix-timestamp"), Some("1614265330"));
    /// assert_eq!(Headers::get(&headers, "svix-id"), None);
    /// ```
    fn get(&self, name: &str) -> Option<&str>;
}

impl<T: Headers + ?Sized> Headers for &T {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn get(&self, name: &str) -> Option<&str> {
        find(self.iter().map(|(k, v)| (k, v)), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> Headers for [(K, V); N] {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn get(&self, name: &str) -> Option<&str> {
        Headers::get(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, S: BuildHasher> Headers for HashMap<K, V, S> {
    fn get(&self, name: &str) -> Option<&str> {
        find(self.iter(), name)
    }
}

fn find<'a, K: AsRef<str> + 'a, V: AsRef<str> + 'a>(
    mut pairs: impl Iterator<Item = (&'a K, &'a V)>,
    name: &str,
) -> Option<&'a str> {
    pairs
        .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref())
}

/// One of the three headers a Svix delivery carries; [`WebhookError::MissingHeader`] names it.
///
/// ```
/// use clerk_sync_svix::HeaderKind;
///
/// assert_eq!(HeaderKind::Id.to_string(), "svix-id");
/// assert_eq!(HeaderKind::Signature.unbranded_name(), "webhook-signature");
/// ```
///
/// [`WebhookError::MissingHeader`]: crate::WebhookError::MissingHeader
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    /// `svix-id` / `webhook-id`: the message id, stable across retries.
    Id,
    /// `svix-timestamp` / `webhook-timestamp`: when the attempt was signed, Unix seconds.
    Timestamp,
    /// `svix-signature` / `webhook-signature`: the space-separated signature list.
    Signature,
}

impl HeaderKind {
    /// The Svix-branded name, for example `svix-id`; it wins when both names are present.
    ///
    /// ```
    /// assert_eq!(clerk_sync_svix::HeaderKind::Timestamp.svix_name(), "svix-timestamp");
    /// ```
    #[must_use]
    pub const fn svix_name(self) -> &'static str {
        match self {
            Self::Id => "svix-id",
            Self::Timestamp => "svix-timestamp",
            Self::Signature => "svix-signature",
        }
    }

    /// The unbranded Standard Webhooks name, for example `webhook-id`.
    ///
    /// ```
    /// assert_eq!(clerk_sync_svix::HeaderKind::Id.unbranded_name(), "webhook-id");
    /// ```
    #[must_use]
    pub const fn unbranded_name(self) -> &'static str {
        match self {
            Self::Id => "webhook-id",
            Self::Timestamp => "webhook-timestamp",
            Self::Signature => "webhook-signature",
        }
    }

    /// Looks this header up, under its Svix name first, then its unbranded name. Each header falls
    /// back on its own, so a mix of the two families is accepted (as the Rust, JavaScript and
    /// Python Svix libraries do). An empty value counts as present.
    pub(crate) fn lookup<H: Headers + ?Sized>(self, headers: &H) -> Option<&str> {
        headers
            .get(self.svix_name())
            .or_else(|| headers.get(self.unbranded_name()))
    }
}

impl fmt::Display for HeaderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.svix_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_lookup_ignores_ascii_case_and_returns_first_match() {
        let headers = [("Svix-Id", "first"), ("svix-id", "second")];
        assert_eq!(Headers::get(&headers, "svix-id"), Some("first"));
        assert_eq!(Headers::get(&headers, "svix-timestamp"), None);
    }

    #[test]
    fn hash_map_lookup_ignores_ascii_case() {
        let headers = HashMap::from([("SVIX-SIGNATURE".to_owned(), "v1,x".to_owned())]);
        assert_eq!(Headers::get(&headers, "svix-signature"), Some("v1,x"));
    }

    #[test]
    fn each_header_falls_back_to_its_unbranded_name_on_its_own() {
        let headers = [("webhook-id", "unbranded"), ("svix-timestamp", "1")];
        assert_eq!(HeaderKind::Id.lookup(&headers), Some("unbranded"));
        assert_eq!(HeaderKind::Timestamp.lookup(&headers), Some("1"));
        assert_eq!(HeaderKind::Signature.lookup(&headers), None);
    }

    #[test]
    fn svix_name_wins_over_unbranded_name() {
        let headers = [("webhook-id", "unbranded"), ("svix-id", "branded")];
        assert_eq!(HeaderKind::Id.lookup(&headers), Some("branded"));
    }

    #[test]
    fn empty_value_counts_as_present() {
        let headers = [("svix-id", ""), ("webhook-id", "unbranded")];
        assert_eq!(HeaderKind::Id.lookup(&headers), Some(""));
    }
}
