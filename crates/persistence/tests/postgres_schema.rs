//! A configured PostgreSQL schema (`PostgresOptions::schema`): the migrations create it and
//! run in it, every pooled connection works in it, replicas starting together create it once,
//! and a role that was given the schema but may not create schemas still migrates.

#![expect(clippy::expect_used, reason = "test bodies fail the test by panicking")]

use std::sync::{Arc, Barrier};

use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{Database, DatabaseUrl};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

fn text(conn: &mut clerk_sync_persistence::DbConnection, query: &str) -> String {
    diesel::sql_query(query)
        .get_result::<Text>(conn)
        .expect("a query")
        .text
}

/// The schemas holding a table named `table`, sorted.
fn schemas_with(url: &str, table: &str) -> Vec<String> {
    let mut conn = PgConnection::establish(url).expect("connects");
    diesel::sql_query(
        "SELECT schemaname::text AS text FROM pg_tables WHERE tablename = $1 ORDER BY 1",
    )
    .bind::<diesel::sql_types::Text, _>(table)
    .load::<Text>(&mut conn)
    .expect("lists tables")
    .into_iter()
    .map(|row| row.text)
    .collect()
}

#[test]
fn every_pooled_connection_works_in_the_configured_schema() {
    let Some(db) = TestDatabase::postgres_database("Clerk-Mirror").expect("a test database") else {
        return;
    };
    let database = db.connect().expect("connects and migrates");
    // Held together, so that each is a connection of its own, opened by the pool.
    let mut held: Vec<_> = (0..4)
        .map(|_| database.get().expect("a connection"))
        .collect();
    for conn in &mut held {
        assert_eq!(
            text(conn, "SELECT current_schema()::text AS text"),
            "Clerk-Mirror"
        );
        assert_eq!(
            text(conn, "SELECT current_setting('search_path') AS text"),
            "\"Clerk-Mirror\""
        );
    }
    let url = db.url_string();
    assert_eq!(schemas_with(&url, "users"), ["Clerk-Mirror"]);
    assert_eq!(
        schemas_with(&url, "__diesel_schema_migrations"),
        ["Clerk-Mirror"]
    );
}

#[test]
fn replicas_starting_together_create_the_schema_once() {
    let Some(db) = TestDatabase::postgres_database("clerk").expect("a test database") else {
        return;
    };
    let db = Arc::new(db);
    let start = Arc::new(Barrier::new(6));
    let replicas: Vec<_> = (0..6)
        .map(|_| {
            let (db, start) = (Arc::clone(&db), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                db.connect().map(drop).map_err(|err| format!("{err:#?}"))
            })
        })
        .collect();
    for replica in replicas {
        replica
            .join()
            .expect("the replica's thread")
            .expect("every replica migrates");
    }
    assert_eq!(schemas_with(&db.url_string(), "users"), ["clerk"]);
}

/// A login role, dropped on `Drop` (after the test database that holds its objects).
struct Role {
    admin_url: String,
    name: String,
}

impl Drop for Role {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ignored = admin.batch_execute(&format!("DROP ROLE IF EXISTS {}", self.name));
        }
    }
}

/// `url` with its user replaced by `user:password`.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}:{password}@{host}")
}

#[test]
fn a_role_given_its_schema_but_not_create_on_the_database_migrates() {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!(
        "cs_testrole_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let role = Role { admin_url, name };
    let Some(db) = TestDatabase::postgres_database("clerk").expect("a test database") else {
        return;
    };
    let mut admin = PgConnection::establish(&db.url_string()).expect("connects as admin");
    // PostgreSQL gives PUBLIC no CREATE on a database: the role may not create schemas.
    admin
        .batch_execute(&format!(
            "CREATE ROLE {0} LOGIN PASSWORD 'schema-test'; \
             CREATE SCHEMA clerk AUTHORIZATION {0};",
            role.name
        ))
        .expect("an administrator prepares the role and its schema");
    let url = DatabaseUrl::Postgres(as_user(&db.url_string(), &role.name, "schema-test"));
    let database = Database::connect(&url, &db.pool_options())
        .expect("the role migrates in the schema it was given");
    let mut conn = database.get().expect("a connection");
    assert_eq!(
        text(&mut conn, "SELECT current_user::text AS text"),
        role.name
    );
    assert_eq!(schemas_with(&db.url_string(), "users"), ["clerk"]);
    drop((conn, database, admin));
    drop(db);
}
