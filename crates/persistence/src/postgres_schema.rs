//! The PostgreSQL schema the mirror's tables live in, when it is not the connection's default,
//! and how PostgreSQL connections are prepared for it.

use std::fmt;

use crate::{SchemaProblem, StoreError};

/// PostgreSQL's longest identifier, in bytes (`NAMEDATALEN - 1`); longer names are truncated
/// by the server, so two configured names could silently meet.
const MAX_LEN: usize = 63;

/// A schema name, used exactly as written: it is always quoted, so `Clerk` and `clerk` are two
/// schemas, and `clerk-mirror` needs no care from whoever configures it.
///
/// Allowed: 1 to 63 ASCII letters, digits, `_` and `-`, except PostgreSQL's own names (`pg_…`
/// and `information_schema`). Narrower than what PostgreSQL accepts when quoted, on purpose:
/// a name an application must write in its own queries is better without spaces or quotes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PostgresSchema(String);

impl PostgresSchema {
    /// Parses a schema name.
    ///
    /// # Errors
    /// [`StoreError::InvalidSchema`] with the rule the name breaks.
    pub fn parse(name: &str) -> Result<Self, StoreError> {
        if name.is_empty() || name.len() > MAX_LEN {
            return Err(SchemaProblem::Length.into());
        }
        if let Some(character) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            return Err(SchemaProblem::Character { character }.into());
        }
        if name.starts_with("pg_") || name == "information_schema" {
            return Err(SchemaProblem::Reserved.into());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier (`"clerk"`), fit for a statement's text.
    pub fn quoted(&self) -> String {
        // Doubling quotes is what makes any text a safe identifier; `parse` admits none today.
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }
}

impl fmt::Debug for PostgresSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

impl fmt::Display for PostgresSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How PostgreSQL connections are prepared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The schema every connection works in (its `search_path` is that schema alone), created
    /// by the migrations when missing. `None` leaves the server's `search_path` as it is
    /// (normally `"$user", public`), as before the setting existed.
    pub schema: Option<PostgresSchema>,
}

impl PostgresOptions {
    /// The statement each new connection runs, when a schema is set.
    ///
    /// The search path is the schema alone, without `public`: a mirror table that is missing
    /// must be an error, never a table of the same name in the application's namespace.
    /// PostgreSQL's own functions and types (`pg_catalog`) are always found.
    pub(crate) fn setup_statement(&self) -> Option<String> {
        self.schema
            .as_ref()
            .map(|schema| format!("SET search_path TO {}", schema.quoted()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(name: &str) -> Option<SchemaProblem> {
        match PostgresSchema::parse(name) {
            Err(StoreError::InvalidSchema(problem)) => Some(problem),
            _ => None,
        }
    }

    #[test]
    fn accepts_names_that_need_quoting_and_keeps_them_as_written() {
        for name in [
            "clerk",
            "Clerk",
            "clerk-mirror",
            "_x",
            "2026",
            &"a".repeat(63),
        ] {
            let schema = PostgresSchema::parse(name).ok();
            assert_eq!(schema.as_ref().map(PostgresSchema::as_str), Some(name));
        }
        let schema = PostgresSchema::parse("Clerk-Mirror").ok();
        assert_eq!(
            schema.map(|s| s.quoted()).as_deref(),
            Some("\"Clerk-Mirror\"")
        );
    }

    #[test]
    fn refuses_what_would_be_truncated_injected_or_is_postgresqls_own() {
        assert_eq!(problem(""), Some(SchemaProblem::Length));
        assert_eq!(problem(&"a".repeat(64)), Some(SchemaProblem::Length));
        for (name, character) in [
            ("clerk\"; DROP SCHEMA public; --", '"'),
            ("clerk mirror", ' '),
            ("clerk.users", '.'),
            ("clérk", 'é'),
        ] {
            assert_eq!(problem(name), Some(SchemaProblem::Character { character }));
        }
        for name in ["pg_catalog", "pg_mirror", "information_schema"] {
            assert_eq!(problem(name), Some(SchemaProblem::Reserved), "{name}");
        }
    }

    #[test]
    fn the_search_path_is_the_quoted_schema_alone() {
        let options = PostgresOptions {
            schema: PostgresSchema::parse("Clerk-Mirror").ok(),
        };
        assert_eq!(
            options.setup_statement().as_deref(),
            Some("SET search_path TO \"Clerk-Mirror\"")
        );
        assert_eq!(PostgresOptions::default().setup_statement(), None);
    }
}
