//! The parts of a list page: its query string, its columns with the orders they sort by (one
//! sort table per list), and pagination.

use clerk_sync_persistence::admin::{Direction, Page, PageRequest};
use serde::{Deserialize, Serialize};

use super::page::count;
use super::query::lenient;

/// The query string of a list page: the list's own filters `F`, then its order and page. It
/// is also how the page's links are written ([`ListQuery::link`]), in this order, leaving out
/// what is `None`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ListQuery<F> {
    /// The list's filters.
    #[serde(flatten)]
    pub filters: F,
    /// `sort`, as given: a key the list does not know sorts in its default order (and is
    /// kept, as given, in the page's links and form).
    #[serde(default, deserialize_with = "lenient::text")]
    pub sort: Option<String>,
    /// `dir`: `asc` or `desc`; else the list's default direction.
    #[serde(
        default,
        deserialize_with = "lenient::direction",
        serialize_with = "lenient::write_direction"
    )]
    pub dir: Option<Direction>,
    /// `page`, from 1; else the first.
    #[serde(default, deserialize_with = "lenient::page")]
    pub page: Option<u32>,
}

impl<F: Clone + Serialize> ListQuery<F> {
    /// The page asked for.
    pub fn page_request(&self) -> PageRequest {
        PageRequest::new(self.page.unwrap_or(1), PageRequest::default().per_page)
    }

    /// `dir` as the page's form carries it on: `asc`, `desc` or empty.
    pub fn dir_text(&self) -> String {
        self.dir
            .map(lenient::direction_name)
            .unwrap_or_default()
            .to_owned()
    }

    /// A link to `path` with this query, changed by `change`; the page is reset unless
    /// `change` sets it.
    pub fn link(&self, path: &str, change: impl FnOnce(&mut Self)) -> String {
        let mut query = self.clone();
        query.page = None;
        change(&mut query);
        // The query types hold flat text, numbers and flags, which always serialize; were
        // one not to, the link would lead to the unfiltered list.
        match serde_urlencoded::to_string(&query) {
            Ok(text) if !text.is_empty() => format!("{path}?{text}"),
            _ => path.to_owned(),
        }
    }
}

/// A list's column: its header and, when it sorts, the key that names its order in the
/// address and the order itself (`S`, the list's sort type in persistence).
#[derive(Debug)]
pub struct Column<S> {
    label: &'static str,
    sort: Option<(&'static str, S)>,
}

impl<S> Column<S> {
    /// A column that sorts the list by `sort`, named `key` in the address.
    pub const fn sorted(label: &'static str, key: &'static str, sort: S) -> Self {
        Self {
            label,
            sort: Some((key, sort)),
        }
    }

    /// A column that does not sort.
    pub const fn plain(label: &'static str) -> Self {
        Self { label, sort: None }
    }
}

/// A list's sort table: its columns, in order, and the order it takes unless the address
/// names another.
#[derive(Debug)]
pub struct SortTable<S: 'static> {
    /// The columns.
    pub columns: &'static [Column<S>],
    /// The order without (or with an unknown) `sort`.
    pub default: S,
    /// The direction without (or with an unknown) `dir`.
    pub direction: Direction,
}

/// The order a list is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sorting<S> {
    /// What it is sorted by.
    pub sort: S,
    /// In which direction.
    pub direction: Direction,
}

impl<S: Copy + PartialEq> SortTable<S> {
    /// The order `query` asks for: its `sort` when this table has that key, else the
    /// default; its `dir`, else the default direction.
    pub fn sorting<F>(&self, query: &ListQuery<F>) -> Sorting<S> {
        let sort = query
            .sort
            .as_deref()
            .and_then(|wanted| {
                self.columns
                    .iter()
                    .find_map(|column| column.sort.filter(|(key, _)| *key == wanted))
            })
            .map_or(self.default, |(_, sort)| sort);
        Sorting {
            sort,
            direction: query.dir.unwrap_or(self.direction),
        }
    }

    /// The header row of the list at `path` shown in `sorting`: each sortable column links
    /// to the list sorted by it (or in the other direction when it already is), and the
    /// current one says so (for `aria-sort` and the arrow).
    pub fn headers<F: Clone + Serialize>(
        &self,
        query: &ListQuery<F>,
        path: &str,
        sorting: Sorting<S>,
    ) -> Vec<Header> {
        self.columns
            .iter()
            .map(|column| {
                let Some((key, sort)) = column.sort else {
                    return Header {
                        label: column.label,
                        href: String::new(),
                        sorted: "none",
                    };
                };
                let current = sort == sorting.sort;
                let next = match (current, sorting.direction) {
                    (true, Direction::Asc) => Direction::Desc,
                    _ => Direction::Asc,
                };
                Header {
                    label: column.label,
                    href: query.link(path, |query| {
                        query.sort = Some(key.to_owned());
                        query.dir = Some(next);
                    }),
                    sorted: match (current, sorting.direction) {
                        (false, _) => "none",
                        (true, Direction::Asc) => "ascending",
                        (true, Direction::Desc) => "descending",
                    },
                }
            })
            .collect()
    }
}

/// A column header as the page shows it: a link that sorts by the column, with an arrow on
/// the current one.
#[derive(Debug)]
pub struct Header {
    /// Header text.
    pub label: &'static str,
    /// Where clicking leads; empty for a column that does not sort.
    pub href: String,
    /// `ascending`, `descending` or `none` (for `aria-sort` and the arrow).
    pub sorted: &'static str,
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
    pub fn new<F: Clone + Serialize, T>(query: &ListQuery<F>, path: &str, page: &Page<T>) -> Self {
        let pages = page.pages();
        let link = |target: u32, exists: bool| {
            if exists {
                query.link(path, |query| query.page = Some(target))
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
    use super::super::query::PageQuery;
    use super::*;

    #[derive(Clone, Debug, Default, Deserialize, Serialize)]
    #[serde(default)]
    struct Filters {
        #[serde(deserialize_with = "lenient::text")]
        q: Option<String>,
        #[serde(
            deserialize_with = "lenient::yes_no",
            serialize_with = "lenient::write_yes_no"
        )]
        staff: Option<bool>,
        #[serde(deserialize_with = "lenient::id")]
        user: Option<i64>,
    }

    fn query(text: &str) -> ListQuery<Filters> {
        PageQuery::parse(text).0
    }

    const TABLE: SortTable<u8> = SortTable {
        columns: &[
            Column::sorted("Email", "email", 1),
            Column::sorted("Joined", "joined", 2),
            Column::plain("Staff"),
        ],
        default: 1,
        direction: Direction::Asc,
    };

    #[test]
    fn links_keep_the_filters_and_reset_the_page() {
        let q = query("q=ada%40x&staff=yes&page=3&sort=email&empty=");
        assert_eq!(
            q.link("/admin/users", |q| q.filters.staff = None),
            "/admin/users?q=ada%40x&sort=email"
        );
        assert_eq!(
            q.link("/admin/users", |q| q.page = Some(4)),
            "/admin/users?q=ada%40x&staff=yes&sort=email&page=4"
        );
    }

    #[test]
    fn unknown_values_fall_back_to_defaults() {
        let q = query("sort=password&dir=sideways&page=-2&staff=maybe&user=0");
        assert_eq!(
            TABLE.sorting(&q),
            Sorting {
                sort: 1,
                direction: Direction::Asc
            }
        );
        assert_eq!(
            (q.page_request().page, q.filters.staff, q.filters.user),
            (1, None, None)
        );
        assert_eq!(
            q.sort.as_deref(),
            Some("password"),
            "an unknown key is kept as given"
        );
        assert_eq!(q.dir_text(), "");
    }

    #[test]
    fn the_first_of_a_repeated_parameter_counts() {
        let q = query("q=+ada+&q=bob&staff=no&staff=yes&user=7&page=2&page=x");
        assert_eq!(q.filters.q.as_deref(), Some("ada"));
        assert_eq!((q.filters.staff, q.filters.user), (Some(false), Some(7)));
        assert_eq!(q.page_request().page, 2);
    }

    #[test]
    fn the_current_column_flips_its_direction() {
        let q = query("sort=email&dir=asc");
        let cols = TABLE.headers(&q, "/u", TABLE.sorting(&q));
        assert_eq!(cols[0].href, "/u?sort=email&dir=desc");
        assert_eq!(cols[0].sorted, "ascending");
        assert_eq!(
            (cols[1].href.as_str(), cols[1].sorted),
            ("/u?sort=joined&dir=asc", "none")
        );
        assert!(cols[2].href.is_empty());
        let q = query("sort=joined&dir=desc");
        let cols = TABLE.headers(&q, "/u", TABLE.sorting(&q));
        assert_eq!(
            (cols[1].href.as_str(), cols[1].sorted),
            ("/u?sort=joined&dir=asc", "descending")
        );
    }

    #[test]
    fn the_pager_says_where_you_are() {
        let page = Page {
            items: vec![(); 50],
            total: 100_000,
            page: 2,
            per_page: 50,
        };
        let pager = Pager::new(&query("q=a"), "/u", &page);
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
        let pager = Pager::new(&query(""), "/u", &empty);
        assert_eq!(
            (pager.summary.as_str(), pager.next.as_str()),
            ("No results", "")
        );
    }
}
