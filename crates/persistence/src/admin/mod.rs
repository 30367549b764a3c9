//! What the admin pages read and write: lists with search, filters, sorting and pagination
//! done in the database, detail rows, and the local flags (`is_staff`, `is_active`).
//!
//! Search is a case-insensitive prefix match, so that it can be answered from an index on
//! both backends (the `admin_indexes` and `admin_search_fields` migrations): `ada` finds
//! `ada@example.com`, `user_2Vp` finds `user_2VpUG6M2…`. Pages are `LIMIT`/`OFFSET` over an indexed order with the local id
//! as the tie-breaker, so that a row never appears on two pages of one listing.

pub mod memberships;
pub mod organizations;
pub mod users;
pub mod webhook_events;

use diesel::dsl::{AsExprOf, Asc, Desc, sql};
use diesel::expression::SqlLiteral;
use diesel::expression::UncheckedBind;
use diesel::query_dsl::methods::OrderDsl;
use diesel::sql_types::{Bool, Nullable, Text};
use diesel::{Connection, ExpressionMethods};

use crate::{Backend, DbConnection};

/// The query backend of [`DbConnection`], for boxed queries.
pub(crate) type Db = <DbConnection as Connection>::Backend;

/// Rows per page unless the caller asks for another size.
pub const DEFAULT_PER_PAGE: u32 = 50;
/// The most rows one page may hold.
pub const MAX_PER_PAGE: u32 = 500;

/// Which page of a listing to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number; past the last page reads the last page.
    pub page: u32,
    /// Rows per page, between 1 and [`MAX_PER_PAGE`].
    pub per_page: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl PageRequest {
    /// A request for `page` of `per_page` rows, both brought into range.
    pub fn new(page: u32, per_page: u32) -> Self {
        Self {
            page: page.max(1),
            per_page: per_page.clamp(1, MAX_PER_PAGE),
        }
    }

    /// The page actually read when `total` rows match: never past the last page.
    fn clamped(self, total: i64) -> Self {
        let per_page = i64::from(self.per_page);
        let last = ((total + per_page - 1) / per_page).max(1);
        let page = i64::from(self.page).min(last);
        Self {
            page: u32::try_from(page).unwrap_or(1),
            per_page: self.per_page,
        }
    }

    fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }

    fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

/// One page of a listing.
#[derive(Debug)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows matching the filters, on all pages.
    pub total: i64,
    /// The page read (1-based).
    pub page: u32,
    /// Rows per page.
    pub per_page: u32,
}

impl<T> Page<T> {
    /// How many pages the listing has (at least 1).
    pub fn pages(&self) -> u32 {
        let per_page = i64::from(self.per_page.max(1));
        u32::try_from(((self.total + per_page - 1) / per_page).max(1)).unwrap_or(u32::MAX)
    }
}

/// Sort direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Orders `query` by `key` in `direction`, ties broken by the local id `id` in the same
/// direction, so that a row never appears on two pages of one listing.
pub(crate) fn sorted<Q, K, I>(query: Q, key: K, id: I, direction: Direction) -> Q
where
    K: ExpressionMethods,
    I: ExpressionMethods,
    Q: OrderDsl<(Asc<K>, Asc<I>), Output = Q> + OrderDsl<(Desc<K>, Desc<I>), Output = Q>,
{
    match direction {
        Direction::Asc => OrderDsl::order(query, (key.asc(), id.asc())),
        Direction::Desc => OrderDsl::order(query, (key.desc(), id.desc())),
    }
}

/// Orders `query` by `key` in `direction`, for a key whose values are unique (a local id, a
/// Clerk id), which needs no tie-breaker.
pub(crate) fn sorted_by_unique<Q, K>(query: Q, key: K, direction: Direction) -> Q
where
    K: ExpressionMethods,
    Q: OrderDsl<Asc<K>, Output = Q> + OrderDsl<Desc<K>, Output = Q>,
{
    match direction {
        Direction::Asc => OrderDsl::order(query, key.asc()),
        Direction::Desc => OrderDsl::order(query, key.desc()),
    }
}

/// The backend a connection speaks to.
pub(crate) fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Postgres(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}

/// `text` as a LIKE pattern that matches values starting with it: wildcards in the text are
/// escaped (with `\`), and ASCII letters are lower-cased (the PostgreSQL side compares
/// lower-cased text; SQLite's LIKE ignores ASCII case).
pub(crate) fn prefix_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c.to_ascii_lowercase());
    }
    pattern.push('%');
    pattern
}

/// A searchable text column, and how each backend compares and orders it so that one index
/// serves both the prefix search and the order (the `*_search_idx` indexes):
///
/// - SQLite: `column COLLATE NOCASE`. Its LIKE ignores ASCII case and uses an index only
///   when the index has the NOCASE collation; ordering by the same collation lets that index
///   deliver rows in order, so a page stops after its rows.
/// - PostgreSQL: `column COLLATE "C"` (or `lower(column) COLLATE "C"`). A LIKE prefix uses a
///   B-tree only under the C collation, whatever the database's collation; ordering by the
///   same expression again reads the index in order. Without this, the planner scans the
///   whole table in the order of another index, filtering, because it cannot know that the
///   rows a prefix matches are next to each other in that order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TextKey {
    /// The qualified column, e.g. `users.email`: fixed SQL text, never user input.
    pub column: &'static str,
    /// Whether PostgreSQL compares `lower(column)` (mixed-case text); false for columns that
    /// hold lower-cased text already (emails).
    pub lower: bool,
}

impl TextKey {
    fn sql(self, backend: Backend) -> String {
        match backend {
            Backend::Sqlite => format!("{} COLLATE NOCASE", self.column),
            Backend::Postgres if self.lower => format!("lower({}) COLLATE \"C\"", self.column),
            Backend::Postgres => format!("{} COLLATE \"C\"", self.column),
        }
    }

    /// The expression to order by.
    pub fn order(self, backend: Backend) -> SqlLiteral<Nullable<Text>> {
        sql::<Nullable<Text>>(&self.sql(backend))
    }

    /// A predicate: the column starts with `pattern` (from [`prefix_pattern`]).
    pub fn starts_with(
        self,
        backend: Backend,
        pattern: &str,
    ) -> SqlLiteral<Bool, UncheckedBind<SqlLiteral<Bool>, AsExprOf<String, Text>>> {
        // PostgreSQL's default LIKE escape is `\`; SQLite has none unless told.
        let escape = match backend {
            Backend::Sqlite => " ESCAPE '\\'",
            Backend::Postgres => "",
        };
        sql::<Bool>(&format!("{} LIKE ", self.sql(backend)))
            .bind::<Text, _>(pattern.to_owned())
            .sql(escape)
    }
}

/// A filter on a boolean column that is rarely true (staff): written so that SQLite, which
/// has no statistics unless `ANALYZE` runs, still reads the small partial index instead of
/// scanning the table in the order of the page.
pub(crate) fn rarely_true(backend: Backend, column: &'static str) -> SqlLiteral<Bool> {
    match backend {
        Backend::Sqlite => sql::<Bool>(&format!("likelihood({column}, 0.001)")),
        Backend::Postgres => sql::<Bool>(column),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards_and_match_prefixes() {
        assert_eq!(prefix_pattern(" Ada_50%\\x "), "ada\\_50\\%\\\\x%");
        assert_eq!(prefix_pattern("User_2Vp"), "user\\_2vp%");
    }

    #[test]
    fn pages_stay_in_range() {
        assert_eq!(
            PageRequest::new(0, 0),
            PageRequest {
                page: 1,
                per_page: 1
            }
        );
        assert_eq!(PageRequest::new(3, 10_000).per_page, MAX_PER_PAGE);
        let request = PageRequest::new(9, 50);
        assert_eq!(request.clamped(120).page, 3);
        assert_eq!(request.clamped(0).page, 1);
        assert_eq!(request.clamped(120).offset(), 100);
        let page: Page<()> = Page {
            items: vec![],
            total: 101,
            page: 1,
            per_page: 50,
        };
        assert_eq!(page.pages(), 3);
    }
}
