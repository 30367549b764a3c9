//! What every admin page shares: the layout's data, and the HTML response with its headers.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use askama::Template;
use chrono::NaiveDateTime;

use super::Staff;

/// The stylesheet's address; the version makes browsers fetch a new one after an upgrade.
pub const STYLESHEET: &str = concat!("/admin/static/admin.css?v=", env!("CARGO_PKG_VERSION"));

/// No scripts at all, styles and forms from this origin only, never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The sections of the navigation bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The overview.
    Home,
    /// Users.
    Users,
    /// Organizations.
    Organizations,
    /// Memberships.
    Memberships,
    /// The webhook log.
    WebhookEvents,
    /// An error page: no navigation.
    None,
}

/// The data of `base.html`.
#[derive(Debug)]
pub struct Layout {
    /// The page's title.
    pub title: String,
    /// The highlighted section.
    pub section: Section,
    /// Who is signed in (email, else Clerk id); empty on pages shown to anyone.
    pub signed_in: String,
    /// The stylesheet's address.
    pub stylesheet: &'static str,
}

impl Layout {
    /// The layout of a page shown to a signed-in staff user.
    pub fn new(title: impl Into<String>, section: Section, staff: &Staff) -> Self {
        Self {
            title: title.into(),
            section,
            signed_in: staff.label(),
            stylesheet: STYLESHEET,
        }
    }

    /// The layout of a page shown to anyone (errors): no navigation, no user.
    pub fn bare(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            section: Section::None,
            signed_in: String::new(),
            stylesheet: STYLESHEET,
        }
    }

    /// Whether `name` is the highlighted section (for the navigation bar).
    pub fn is(&self, name: &str) -> bool {
        let current = match self.section {
            Section::Home => "home",
            Section::Users => "users",
            Section::Organizations => "organizations",
            Section::Memberships => "memberships",
            Section::WebhookEvents => "webhook-events",
            Section::None => "",
        };
        current == name
    }
}

/// A rendered page with the headers every admin page carries: no caching (the pages show
/// personal data), a strict content security policy, no framing, no sniffing.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    let body = match page.render() {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "an admin template failed to render");
            return HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal server error");
        }
    };
    let mut response = crate::html::html_page(status, CONTENT_SECURITY_POLICY, "same-origin");
    response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    response.body(body)
}

/// A timestamp of the mirror (UTC), as pages show it.
pub fn timestamp(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Clerk's Unix milliseconds, as pages show them.
pub fn clerk_time(millis: Option<i64>) -> String {
    millis
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(String::new, |at| timestamp(at.naive_utc()))
}

/// JSON as pages show it: indented, keys in alphabetical order; text that is not JSON as it
/// is. The template escapes it like any other text.
pub fn pretty_json(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|json| serde_json::to_string_pretty(&json).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// A JSON value synced from Clerk, shown read-only under a label.
pub struct JsonField {
    /// What it is (`Public metadata`, …).
    pub label: &'static str,
    /// Its pretty-printed text.
    pub json: String,
}

impl JsonField {
    /// `json` pretty-printed under `label`.
    pub fn new(label: &'static str, json: &str) -> Self {
        Self {
            label,
            json: pretty_json(json),
        }
    }
}

/// A count with thousands separators: 100000 → "100,000".
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        let shown: Vec<String> = [0, 999, 1000, 100_000, 1_234_567, -4200]
            .into_iter()
            .map(count)
            .collect();
        assert_eq!(
            shown,
            ["0", "999", "1,000", "100,000", "1,234,567", "-4,200"]
        );
    }

    #[test]
    fn json_is_indented_and_other_text_kept() {
        assert_eq!(
            pretty_json(r#"{"plan":"pro","tags":["a"]}"#),
            "{\n  \"plan\": \"pro\",\n  \"tags\": [\n    \"a\"\n  ]\n}"
        );
        assert_eq!(pretty_json("{}"), "{}");
        assert_eq!(pretty_json("not json <b>"), "not json <b>");
    }

    #[test]
    fn clerk_times_are_utc() {
        assert_eq!(
            clerk_time(Some(1_700_000_000_000)),
            "2023-11-14 22:13:20 UTC"
        );
        assert_eq!(clerk_time(None), "");
    }
}
