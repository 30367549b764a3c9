//! Query parameters as Clerk's Backend API reads them: arrays repeat the name (`email_address=a&
//! email_address=b`, `email_address[]=…` too), `limit` 1–500 (10 unless given), `offset` ≥ 0,
//! `order_by` a field with `+`/`-` (`+` implied; only the first `order_by` counts). A name the
//! operation does not answer, or a value it cannot, is a [`HandOver`], never a guess.

use actix_web::HttpRequest;
use clerk_sync_persistence::admin::Direction;
use clerk_sync_persistence::clerk_objects::IdFilter;

use super::HandOver;

/// Clerk's default page size.
const DEFAULT_LIMIT: i64 = 10;
/// The largest page Clerk serves.
const MAX_LIMIT: i64 = 500;
/// The most values Clerk accepts for one array parameter.
const MAX_VALUES: usize = 100;

/// The query of one request, decoded.
#[derive(Debug)]
pub(super) struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// The query of `request`; one that does not decode hands the request over.
    pub(super) fn of(request: &HttpRequest) -> Result<Self, HandOver> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(request.query_string())
            .map_err(|_undecodable| HandOver::Parameter("query string".to_owned()))?;
        let pairs = pairs
            .into_iter()
            .map(|(name, value)| match name.strip_suffix("[]") {
                Some(base) => (base.to_owned(), value),
                None => (name, value),
            })
            .collect();
        Ok(Self { pairs })
    }

    /// Hands over when a parameter is not one of `answered`.
    pub(super) fn only(&self, answered: &[&str]) -> Result<(), HandOver> {
        match self
            .pairs
            .iter()
            .find(|(name, _)| !answered.contains(&name.as_str()))
        {
            Some((name, _)) => Err(HandOver::Parameter(name.clone())),
            None => Ok(()),
        }
    }

    /// Every value of an array parameter; more than Clerk accepts (100) is handed over.
    pub(super) fn values(&self, name: &str) -> Result<Vec<String>, HandOver> {
        let values: Vec<String> = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
            .collect();
        if values.len() > MAX_VALUES {
            return Err(HandOver::ParameterValue(name.to_owned()));
        }
        Ok(values)
    }

    /// The values of an array parameter whose ids may carry `+` (include) or `-` (exclude);
    /// a `+` written unencoded arrives as a space, and is read as the `+` it was.
    pub(super) fn signed_ids(&self, name: &str) -> Result<IdFilter, HandOver> {
        let mut filter = IdFilter::default();
        for value in self.values(name)? {
            match value.strip_prefix(' ') {
                Some(id) => filter.include.push(id.to_owned()),
                None => filter.push_signed(&value),
            }
        }
        Ok(filter)
    }

    /// The first value of a parameter.
    pub(super) fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// `limit`: 1–500, 10 unless given.
    pub(super) fn limit(&self) -> Result<i64, HandOver> {
        self.integer("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT)
    }

    /// `offset`: 0 or more, 0 unless given.
    pub(super) fn offset(&self) -> Result<i64, HandOver> {
        self.integer("offset", 0, 0..=i64::MAX)
    }

    fn integer(
        &self,
        name: &str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, HandOver> {
        let Some(text) = self.first(name) else {
            return Ok(default);
        };
        text.parse::<i64>()
            .ok()
            .filter(|value| range.contains(value))
            .ok_or_else(|| HandOver::ParameterValue(name.to_owned()))
    }

    /// A boolean flag, false unless given.
    pub(super) fn flag(&self, name: &str) -> Result<bool, HandOver> {
        match self.first(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(HandOver::ParameterValue(name.to_owned())),
        }
    }

    /// `order_by`, its field read by `key`; `default` unless given.
    pub(super) fn order<K>(
        &self,
        key: fn(&str) -> Option<K>,
        default: (K, Direction),
    ) -> Result<(K, Direction), HandOver> {
        let Some(text) = self.first("order_by") else {
            return Ok(default);
        };
        parse_order(text, key).ok_or_else(|| HandOver::ParameterValue("order_by".to_owned()))
    }
}

/// `-field` descending, `+field` or `field` ascending. A `+` written unencoded in a URL
/// arrives as a space, and is read as the `+` it was.
fn parse_order<K>(text: &str, key: fn(&str) -> Option<K>) -> Option<(K, Direction)> {
    let (direction, field) = match text.as_bytes().first() {
        Some(b'-') => (Direction::Desc, &text[1..]),
        Some(b'+' | b' ') => (Direction::Asc, &text[1..]),
        _ => (Direction::Asc, text),
    };
    key(field).map(|key| (key, direction))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn params(query: &str) -> QueryParams {
        QueryParams::of(&TestRequest::with_uri(&format!("/x?{query}")).to_http_request())
            .expect("a query")
    }

    fn field(text: &str) -> Option<&'static str> {
        ["name", "created_at"]
            .into_iter()
            .find(|known| *known == text)
    }

    #[test]
    fn arrays_repeat_the_name_with_or_without_brackets() {
        let query = params("email_address=a%40x.io&email_address[]=b%40x.io&limit=5");
        assert_eq!(
            query.values("email_address"),
            Ok(vec!["a@x.io".to_owned(), "b@x.io".to_owned()])
        );
        let many = vec!["username=x"; 101].join("&");
        assert_eq!(
            params(&many).values("username"),
            Err(HandOver::ParameterValue("username".to_owned()))
        );
        assert_eq!(
            params(&many[..many.len() - 11])
                .values("username")
                .map(|v| v.len()),
            Ok(100)
        );
        assert_eq!(query.only(&["email_address", "limit"]), Ok(()));
        assert_eq!(
            query.only(&["limit"]),
            Err(HandOver::Parameter("email_address".to_owned()))
        );
    }

    #[test]
    fn limits_and_offsets_out_of_range_are_handed_over() {
        assert_eq!(params("").limit(), Ok(10));
        assert_eq!(params("limit=500").limit(), Ok(500));
        for bad in ["limit=0", "limit=501", "limit=ten", "limit="] {
            assert_eq!(
                params(bad).limit(),
                Err(HandOver::ParameterValue("limit".to_owned())),
                "{bad}"
            );
        }
        assert_eq!(params("offset=3").offset(), Ok(3));
        assert!(params("offset=-1").offset().is_err());
    }

    #[test]
    fn orders_take_a_sign_and_only_the_first_counts() {
        let default = ("created_at", Direction::Desc);
        assert_eq!(params("").order(field, default), Ok(default));
        assert_eq!(
            params("order_by=-name&order_by=created_at").order(field, default),
            Ok(("name", Direction::Desc))
        );
        assert_eq!(
            params("order_by=%2Bname").order(field, default),
            Ok(("name", Direction::Asc))
        );
        assert_eq!(
            params("order_by=+name").order(field, default),
            Ok(("name", Direction::Asc))
        );
        assert_eq!(
            params("order_by=name").order(field, default),
            Ok(("name", Direction::Asc))
        );
        assert_eq!(
            params("order_by=-phone_number").order(field, default),
            Err(HandOver::ParameterValue("order_by".to_owned()))
        );
    }

    #[test]
    fn signed_ids_split_into_included_and_excluded() {
        let ids = params("user_id=%2Buser_a&user_id=user_b&user_id=-user_c")
            .signed_ids("user_id")
            .expect("ids");
        assert_eq!(ids.include, ["user_a", "user_b"]);
        assert_eq!(ids.exclude, ["user_c"]);
    }
}
