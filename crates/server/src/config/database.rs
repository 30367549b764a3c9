//! `[database]`: where the mirror lives, and the one place every command opens it from.

use std::time::Duration;

use anyhow::Context;
use clerk_sync_persistence::{
    Database, DatabaseUrl, DbConnection, PoolOptions, PostgresOptions, PostgresSchema,
    SqliteOptions, SqliteSynchronous, StoreError,
};
use serde::Deserialize;

use super::{ConfigError, invalid};

/// The setting of the schema name, as its errors name it.
const SCHEMA_SETTING: &str = "database.schema (DATABASE_SCHEMA)";

/// `[database]` as written in the file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DatabaseFile {
    url: String,
    #[serde(default)]
    schema: Option<String>,
    pool_size: u32,
    connection_timeout_seconds: u64,
    sqlite_busy_timeout_ms: u64,
    sqlite_synchronous: String,
}

/// `[database]`, parsed.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// Where the mirror lives (`DATABASE_URL`).
    pub url: DatabaseUrl,
    /// Pool settings, with the PostgreSQL schema (`DATABASE_SCHEMA`) in `pool.postgres`.
    pub pool: PoolOptions,
}

impl DatabaseSettings {
    /// Opens and migrates the database for the server, whose pool keeps a connection idle.
    ///
    /// # Errors
    /// When the database cannot be opened or migrated; the message names the database.
    pub fn open_for_server(&self) -> anyhow::Result<Database> {
        Database::connect(&self.url, &self.pool).with_context(|| self.cannot_open())
    }

    /// Opens and migrates the database for a command that exits when its work is done (see
    /// [`PoolOptions::for_command`]).
    ///
    /// # Errors
    /// As [`DatabaseSettings::open_for_server`].
    pub fn open_for_command(&self) -> anyhow::Result<Database> {
        Database::connect(&self.url, &self.pool.for_command()).with_context(|| self.cannot_open())
    }

    /// Opens one connection, no pool, after migrating the database.
    ///
    /// # Errors
    /// As [`DatabaseSettings::open_for_server`].
    pub fn open_connection(&self) -> anyhow::Result<DbConnection> {
        Database::open_connection(&self.url, &self.pool).with_context(|| self.cannot_open())
    }

    fn cannot_open(&self) -> String {
        let schema = match &self.pool.postgres.schema {
            Some(schema) => format!(", schema {}", schema.quoted()),
            None => String::new(),
        };
        format!(
            "cannot open the database at {}{schema} (DATABASE_URL); is it running and reachable?",
            self.url.redacted()
        )
    }
}

pub(super) fn parse_database(file: DatabaseFile) -> Result<DatabaseSettings, ConfigError> {
    let url = DatabaseUrl::parse(&file.url).map_err(|err| match err {
        StoreError::InvalidUrl(problem) => invalid("DATABASE_URL", problem.to_string()),
        other => invalid("DATABASE_URL", other.to_string()),
    })?;
    if file.pool_size == 0 {
        return Err(invalid("database.pool_size", "must be at least 1"));
    }
    let synchronous = match file.sqlite_synchronous.as_str() {
        "full" => SqliteSynchronous::Full,
        "normal" => SqliteSynchronous::Normal,
        _ => {
            return Err(invalid(
                "database.sqlite_synchronous",
                "expected `full` or `normal`",
            ));
        }
    };
    let schema = file
        .schema
        .as_deref()
        .map(|name| parse_schema(name, &url))
        .transpose()?;
    Ok(DatabaseSettings {
        url,
        pool: PoolOptions {
            max_size: file.pool_size,
            connection_timeout: Duration::from_secs(file.connection_timeout_seconds),
            sqlite: SqliteOptions {
                busy_timeout: Duration::from_millis(file.sqlite_busy_timeout_ms),
                synchronous,
            },
            postgres: PostgresOptions { schema },
            ..PoolOptions::default()
        },
    })
}

/// A schema name for a PostgreSQL URL. Refused on SQLite rather than ignored: whoever set it
/// expects the tables somewhere they would not be.
fn parse_schema(name: &str, url: &DatabaseUrl) -> Result<PostgresSchema, ConfigError> {
    if let DatabaseUrl::Sqlite(_) = url {
        return Err(invalid(
            SCHEMA_SETTING,
            "PostgreSQL only, and DATABASE_URL is a SQLite file (SQLite has no schemas): \
             remove the setting, or use a postgres:// DATABASE_URL",
        ));
    }
    PostgresSchema::parse(name).map_err(|err| match err {
        StoreError::InvalidSchema(problem) => invalid(
            SCHEMA_SETTING,
            format!(
                "{problem}; expected a PostgreSQL schema name of 1 to 63 ASCII letters, digits, \
                 `_` or `-`, e.g. `clerk` (used exactly as written: case matters)"
            ),
        ),
        other => invalid(SCHEMA_SETTING, other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::{ConfigError, Settings};

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::load(&|name| vars.get(name).cloned())
    }

    fn error(vars: &[(&str, &str)]) -> String {
        load(vars).err().map(|e| e.to_string()).unwrap_or_default()
    }

    const POSTGRES: (&str, &str) = ("DATABASE_URL", "postgres://app@db/clerk");

    #[test]
    fn the_schema_is_unset_by_default_and_set_by_database_schema() {
        let settings = load(&[POSTGRES]).expect("loads");
        assert_eq!(settings.database.pool.postgres.schema, None);
        assert!(
            !settings.effective["database"]
                .as_table()
                .is_some_and(|table| table.contains_key("schema"))
        );
        let settings = load(&[POSTGRES, ("DATABASE_SCHEMA", "Clerk-Mirror")]).expect("loads");
        let schema = settings.database.pool.postgres.schema.clone();
        assert_eq!(
            schema.as_ref().map(|s| s.as_str()),
            Some("Clerk-Mirror"),
            "kept as written"
        );
        assert_eq!(
            settings.database.pool.for_command().postgres.schema,
            schema,
            "commands use it too"
        );
        assert_eq!(
            settings.effective["database"]["schema"].as_str(),
            Some("Clerk-Mirror"),
            "check-config shows it"
        );
        assert!(
            settings
                .sources
                .iter()
                .any(|source| source.contains("DATABASE_SCHEMA")),
            "{:?}",
            settings.sources
        );
    }

    #[test]
    fn an_invalid_schema_name_is_refused_with_what_is_allowed() {
        for (name, problem) in [
            ("clerk mirror", "` ` is not allowed"),
            ("clerk\";drop", "`\"` is not allowed"),
            ("pg_clerk", "names starting with `pg_`"),
            (&"a".repeat(64), "a schema name has 1 to 63 characters"),
        ] {
            let err = error(&[POSTGRES, ("DATABASE_SCHEMA", name)]);
            assert!(
                err.starts_with(&format!("database.schema (DATABASE_SCHEMA): {problem}")),
                "{name}: {err}"
            );
            assert!(
                err.contains("1 to 63 ASCII letters, digits, `_` or `-`"),
                "{err}"
            );
        }
    }

    #[test]
    fn an_overlay_file_may_set_the_schema() {
        let dir =
            std::env::temp_dir().join(format!("clerk-sync-config-{}-schema", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("mirror.toml"),
            "[database]\nurl = \"postgres://app@db/clerk\"\nschema = \"clerk\"\n",
        )
        .expect("overlay");
        let settings = Settings::load_from(
            &|name| (name == "CLERK_SYNC_ENV").then(|| "mirror".to_owned()),
            &dir,
        )
        .expect("loads");
        assert_eq!(
            settings
                .database
                .pool
                .postgres
                .schema
                .as_ref()
                .map(|s| s.as_str()),
            Some("clerk")
        );
    }

    #[test]
    fn a_schema_on_sqlite_is_refused_not_ignored() {
        let err = error(&[("DATABASE_SCHEMA", "clerk")]);
        assert!(
            err.starts_with("database.schema (DATABASE_SCHEMA): PostgreSQL only"),
            "{err}"
        );
    }
}
