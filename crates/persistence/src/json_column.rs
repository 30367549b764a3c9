//! JSON columns: `jsonb` on PostgreSQL (so applications can query and index them), JSON text
//! on SQLite (queried with `json_extract`). diesel sees one SQL type, [`ClerkJson`].

use std::io::Write;

use clerk_sync_domain::RawJson;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Text};
use diesel::sqlite::{Sqlite, SqliteValue};

use crate::connection::MultiBackend;
use crate::schema::sql_types::ClerkJson;

/// The version byte that starts PostgreSQL's binary `jsonb` format, followed by JSON text.
const JSONB_VERSION: u8 = 1;

/// JSON text, read from or written to a [`ClerkJson`] column.
#[derive(Clone, Debug, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = ClerkJson)]
pub struct JsonText(pub String);

impl From<&RawJson> for JsonText {
    fn from(json: &RawJson) -> Self {
        Self(json.as_str().to_owned())
    }
}

impl ToSql<ClerkJson, Pg> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(&[JSONB_VERSION])?;
        out.write_all(self.0.as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<ClerkJson, Pg> for JsonText {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match value.as_bytes().split_first() {
            Some((&JSONB_VERSION, text)) => Ok(Self(String::from_utf8(text.to_vec())?)),
            _ => Err("unsupported jsonb format: expected version 1".into()),
        }
    }
}

impl ToSql<ClerkJson, Sqlite> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

impl FromSql<ClerkJson, Sqlite> for JsonText {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, Sqlite>>::from_sql(value).map(Self)
    }
}

impl HasSqlType<ClerkJson> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        Self::lookup_sql_type::<ClerkJson>(lookup)
    }
}

impl FromSql<ClerkJson, MultiBackend> for JsonText {
    fn from_sql(
        bytes: <MultiBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, ClerkJson>()
    }
}

impl ToSql<ClerkJson, MultiBackend> for JsonText {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((ClerkJson, self));
        Ok(IsNull::No)
    }
}
