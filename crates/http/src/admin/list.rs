//! The parts of a list page: its query parameters, sortable column headers and pagination.

use actix_web::HttpRequest;
use clerk_sync_persistence::admin::{Direction, Page, PageRequest};

use super::page::count;

/// The query string of a list page, read leniently: an unknown or malformed value falls back
/// to the default rather than failing the page.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// The parameters of a request.
    pub fn of(request: &HttpRequest) -> Self {
        Self {
            pairs: serde_urlencoded::from_str(request.query_string()).unwrap_or_default(),
        }
    }

    /// A parameter, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// A parameter, or an empty string (for form fields).
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// `yes` → `Some(true)`, `no` → `Some(false)`, anything else → `None`.
    pub fn yes_no(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        }
    }

    /// A positive number, e.g. an id filter.
    pub fn id(&self, name: &str) -> Option<i64> {
        self.get(name)
            .and_then(|value| value.parse().ok())
            .filter(|id| *id > 0)
    }

    /// The page asked for (`page`, from 1).
    pub fn page(&self) -> PageRequest {
        let page = self.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        PageRequest::new(page, PageRequest::default().per_page)
    }

    /// The sort key (`sort`): `default` or one of `others`; and the direction (`dir`, else
    /// `default_direction`).
    pub fn sort<T: Copy>(
        &self,
        default: (&'static str, T),
        others: &[(&'static str, T)],
        default_direction: Direction,
    ) -> (Sorting, T) {
        let (key, value) = self
            .get("sort")
            .and_then(|wanted| others.iter().find(|(key, _)| *key == wanted))
            .copied()
            .unwrap_or(default);
        let direction = match self.get("dir") {
            Some("asc") => Direction::Asc,
            Some("desc") => Direction::Desc,
            _ => default_direction,
        };
        (Sorting { key, direction }, value)
    }

    /// `path` with these parameters, `changes` applied (`None` removes one), and the page
    /// reset unless a change sets it.
    pub fn href(&self, path: &str, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .filter(|(key, value)| {
                !value.trim().is_empty()
                    && key != "page"
                    && !changes.iter().any(|(changed, _)| changed == key)
            })
            .map(|(key, value)| (key.as_str(), value.trim()))
            .collect();
        pairs.extend(
            changes
                .iter()
                .filter_map(|(key, value)| value.map(|value| (*key, value))),
        );
        match serde_urlencoded::to_string(&pairs) {
            Ok(query) if !query.is_empty() => format!("{path}?{query}"),
            _ => path.to_owned(),
        }
    }
}

/// The current sort key and direction.
#[derive(Clone, Copy, Debug)]
pub struct Sorting {
    key: &'static str,
    direction: Direction,
}

impl Sorting {
    /// The direction.
    pub fn direction(self) -> Direction {
        self.direction
    }
}

/// A column header: a link that sorts by the column (or flips the direction when it already
/// does), with an arrow on the current one.
#[derive(Debug)]
pub struct Column {
    /// Header text.
    pub label: &'static str,
    /// Where clicking leads; empty for a column that does not sort.
    pub href: String,
    /// `ascending`, `descending` or `none` (for `aria-sort` and the arrow).
    pub sorted: &'static str,
}

/// The header row of a table: `(label, sort key)` per column, `""` for no sort.
pub fn columns(
    params: &Params,
    path: &str,
    sorting: Sorting,
    headers: &[(&'static str, &'static str)],
) -> Vec<Column> {
    headers
        .iter()
        .map(|(label, key)| {
            if key.is_empty() {
                return Column {
                    label,
                    href: String::new(),
                    sorted: "none",
                };
            }
            let current = *key == sorting.key;
            let next = match (current, sorting.direction) {
                (true, Direction::Asc) => "desc",
                _ => "asc",
            };
            Column {
                label,
                href: params.href(path, &[("sort", Some(key)), ("dir", Some(next))]),
                sorted: match (current, sorting.direction) {
                    (false, _) => "none",
                    (true, Direction::Asc) => "ascending",
                    (true, Direction::Desc) => "descending",
                },
            }
        })
        .collect()
}

/// The pagination bar under a table.
#[derive(Debug)]
pub struct Pager {
    /// E.g. "51–100 of 100,000".
    pub summary: String,
    /// E.g. "Page 2 of 2,000".
    pub position: String,
    /// Links; empty when there is no such page.
    pub first: String,
    /// Previous page.
    pub previous: String,
    /// Next page.
    pub next: String,
    /// Last page.
    pub last: String,
}

impl Pager {
    /// The bar for `page` of a listing at `path`.
    pub fn new<T>(params: &Params, path: &str, page: &Page<T>) -> Self {
        let pages = page.pages();
        let link = |target: u32, exists: bool| {
            if exists {
                params.href(path, &[("page", Some(&target.to_string()))])
            } else {
                String::new()
            }
        };
        let start = i64::from(page.page - 1) * i64::from(page.per_page);
        let summary = if page.total == 0 {
            "No results".to_owned()
        } else {
            let shown = i64::try_from(page.items.len()).unwrap_or_default();
            format!(
                "{}–{} of {}",
                count(start + 1),
                count(start + shown),
                count(page.total)
            )
        };
        Self {
            summary,
            position: format!(
                "Page {} of {}",
                count(page.page.into()),
                count(pages.into())
            ),
            first: link(1, page.page > 1),
            previous: link(page.page.saturating_sub(1), page.page > 1),
            next: link(page.page + 1, page.page < pages),
            last: link(pages, page.page < pages),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn params(query: &str) -> Params {
        Params::of(
            &TestRequest::get()
                .uri(&format!("/admin/users?{query}"))
                .to_http_request(),
        )
    }

    #[test]
    fn links_keep_the_filters_and_reset_the_page() {
        let p = params("q=ada%40x&staff=yes&page=3&sort=email&empty=");
        assert_eq!(
            p.href("/admin/users", &[("staff", None)]),
            "/admin/users?q=ada%40x&sort=email"
        );
        assert_eq!(
            p.href("/admin/users", &[("page", Some("4"))]),
            "/admin/users?q=ada%40x&staff=yes&sort=email&page=4"
        );
    }

    #[test]
    fn unknown_values_fall_back_to_defaults() {
        let p = params("sort=password&dir=sideways&page=-2&staff=maybe");
        let (sorting, value) = p.sort(("email", 1), &[("joined", 2)], Direction::Asc);
        assert_eq!(
            (sorting.key, value, sorting.direction()),
            ("email", 1, Direction::Asc)
        );
        assert_eq!((p.page().page, p.yes_no("staff")), (1, None));
    }

    #[test]
    fn the_current_column_flips_its_direction() {
        let p = params("sort=email&dir=asc");
        let (sorting, _) = p.sort(("email", ()), &[("joined", ())], Direction::Asc);
        let cols = columns(
            &p,
            "/u",
            sorting,
            &[("Email", "email"), ("Joined", "joined"), ("Staff", "")],
        );
        assert_eq!(cols[0].href, "/u?sort=email&dir=desc");
        assert_eq!(cols[0].sorted, "ascending");
        assert_eq!(
            (cols[1].href.as_str(), cols[1].sorted),
            ("/u?sort=joined&dir=asc", "none")
        );
        assert!(cols[2].href.is_empty());
    }

    #[test]
    fn the_pager_says_where_you_are() {
        let page = Page {
            items: vec![(); 50],
            total: 100_000,
            page: 2,
            per_page: 50,
        };
        let pager = Pager::new(&params("q=a"), "/u", &page);
        assert_eq!(
            (pager.summary.as_str(), pager.position.as_str()),
            ("51–100 of 100,000", "Page 2 of 2,000")
        );
        assert_eq!(
            (pager.previous.as_str(), pager.last.as_str()),
            ("/u?q=a&page=1", "/u?q=a&page=2000")
        );
        let empty: Page<()> = Page {
            items: vec![],
            total: 0,
            page: 1,
            per_page: 50,
        };
        let pager = Pager::new(&params(""), "/u", &empty);
        assert_eq!(
            (pager.summary.as_str(), pager.next.as_str()),
            ("No results", "")
        );
    }
}
