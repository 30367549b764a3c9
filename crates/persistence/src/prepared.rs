//! PostgreSQL statements of fixed text whose parameters are arrays, prepared once per
//! connection: diesel prepares neither `sql_query` nor any UPDATE, so PostgreSQL would parse
//! and plan those anew on every execution. A [`Prepared`] is cached by diesel under its text.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamp};
use diesel::{PgConnection, QueryResult, RunQueryDsl};

/// One array parameter, sent with its type (`$1::int8[]`).
pub(crate) enum ArrayBind<'a> {
    Int8(Vec<i64>),
    NullableInt8(Vec<Option<i64>>),
    Text(Vec<Option<&'a str>>),
    Bool(Vec<bool>),
    Timestamp(Vec<NaiveDateTime>),
}

/// `head`, the parameters separated by commas, `tail`: for `… unnest($1::text[], …) …`.
pub(crate) struct Prepared<'a> {
    head: &'static str,
    binds: Vec<ArrayBind<'a>>,
    tail: &'static str,
}

impl<'a> Prepared<'a> {
    pub(crate) fn new(head: &'static str, binds: Vec<ArrayBind<'a>>, tail: &'static str) -> Self {
        Self { head, binds, tail }
    }

    /// Runs it, answering the number of rows it changed (or returned).
    pub(crate) fn execute(self, pg: &mut PgConnection) -> QueryResult<usize> {
        RunQueryDsl::execute(self, pg)
    }
}

impl QueryId for Prepared<'_> {
    type QueryId = ();
    // Cached by its SQL text and parameter types instead of a type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.head);
        for (index, bind) in self.binds.iter().enumerate() {
            if index > 0 {
                out.push_sql(", ");
            }
            match bind {
                ArrayBind::Int8(values) => {
                    out.push_bind_param::<Array<BigInt>, _>(values)?;
                    out.push_sql("::int8[]");
                }
                ArrayBind::NullableInt8(values) => {
                    out.push_bind_param::<Array<Nullable<BigInt>>, _>(values)?;
                    out.push_sql("::int8[]");
                }
                ArrayBind::Text(values) => {
                    out.push_bind_param::<Array<Nullable<Text>>, _>(values)?;
                    out.push_sql("::text[]");
                }
                ArrayBind::Bool(values) => {
                    out.push_bind_param::<Array<Bool>, _>(values)?;
                    out.push_sql("::bool[]");
                }
                ArrayBind::Timestamp(values) => {
                    out.push_bind_param::<Array<Timestamp>, _>(values)?;
                    out.push_sql("::timestamp[]");
                }
            }
        }
        out.push_sql(self.tail);
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for Prepared<'_> {}
