//! `[database] schema` (`DATABASE_SCHEMA`): on PostgreSQL the mirror's tables, and its
//! migration record, live in a schema of their own, out of the application's `public`, for the
//! server and every command; an unusable name, or the setting on SQLite, is refused before
//! anything is written.

use clerk_sync_persistence::testing::TestDatabase;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::binary::*;
use crate::common::*;

/// The ones a test checks by name; the migrations may add others.
const MIRROR_TABLES: &[&str] = &[
    "__diesel_schema_migrations",
    "organization_memberships",
    "organizations",
    "users",
    "webhook_events",
];

/// A connection to the test's database that sets no search path (the server's default:
/// `"$user", public`), as an application's own connection would.
fn application_connection(url: &str) -> PgConnection {
    PgConnection::establish(url).expect("connects to the test database")
}

/// Every table outside PostgreSQL's own schemas, as (schema, table), sorted.
fn tables(url: &str) -> Vec<(String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        schemaname: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        tablename: String,
    }
    diesel::sql_query(
        "SELECT schemaname::text, tablename::text FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )
    .load::<Table>(&mut application_connection(url))
    .expect("lists the tables")
    .into_iter()
    .map(|table| (table.schemaname, table.tablename))
    .collect()
}

fn tables_in(url: &str, schema: &str) -> Vec<String> {
    tables(url)
        .into_iter()
        .filter(|(in_schema, _)| in_schema == schema)
        .map(|(_, table)| table)
        .collect()
}

/// Schemas other than PostgreSQL's own.
fn schemas(url: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Schema {
        #[diesel(sql_type = diesel::sql_types::Text)]
        nspname: String,
    }
    diesel::sql_query(
        "SELECT nspname::text FROM pg_namespace \
         WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
    )
    .load::<Schema>(&mut application_connection(url))
    .expect("lists the schemas")
    .into_iter()
    .map(|schema| schema.nspname)
    .collect()
}

/// The application's own `public.users`, made before the mirror is: same name, other columns.
fn create_application_users_table(url: &str) {
    application_connection(url)
        .batch_execute(
            "CREATE TABLE public.users (id serial PRIMARY KEY, nickname text NOT NULL); \
             INSERT INTO public.users (nickname) VALUES ('the application''s row');",
        )
        .expect("creates the application's table");
}

/// The application's `public.users` as it was made: its columns and its one row.
fn assert_application_users_table_untouched(url: &str) {
    #[derive(diesel::QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    let mut conn = application_connection(url);
    let columns: Vec<String> = diesel::sql_query(
        "SELECT column_name::text AS text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'users' ORDER BY ordinal_position",
    )
    .load::<Text>(&mut conn)
    .expect("lists the columns")
    .into_iter()
    .map(|row| row.text)
    .collect();
    assert_eq!(columns, ["id", "nickname"]);
    let rows: Vec<String> = diesel::sql_query("SELECT nickname AS text FROM public.users")
        .load::<Text>(&mut conn)
        .expect("reads the rows")
        .into_iter()
        .map(|row| row.text)
        .collect();
    assert_eq!(rows, ["the application's row"]);
}

fn assert_mirror_tables_in(url: &str, schema: &str) {
    let mirror = tables_in(url, schema);
    for table in MIRROR_TABLES {
        assert!(
            mirror.iter().any(|t| t == table),
            "{table} in {schema}: {mirror:?}"
        );
    }
}

/// Delivers `user.created` (Ada) and asks `/me` for her.
async fn sync_ada_and_ask_me(server: &TestServer) {
    let (status, outcome) = server
        .deliver_json("msg_schema_user", &event_fixture("user.created"))
        .await;
    assert_eq!((status, outcome.as_str()), (200, "applied"));
    let (status, me) = server
        .get_as(
            "/api/v1/auth/me/",
            &token_for("user_2VpUG6M2aNvZUuqG2SgEAZ5kNKE"),
        )
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "ada.lovelace@example.com", "{me}");
}

#[actix_web::test]
async fn the_mirror_lives_in_its_schema_for_the_server_and_every_command() {
    let Some(db) = TestDatabase::postgres_database("clerk").expect("a test database") else {
        return;
    };
    let url = db.url_string();
    create_application_users_table(&url);
    let server = TestServer::start(db, &[]).await;
    sync_ada_and_ask_me(&server).await;

    // Other processes, configured alike, see the same mirror: a command that opened `public`
    // instead would fail to migrate there (its `users` is the application's) or find no Ada.
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("DATABASE_SCHEMA", "clerk"),
        ("RUST_LOG", "warn"),
    ];
    let bin = Binary::new("schema-commands");
    let promoted = bin.run(&["promote-staff", "ada.lovelace@example.com"], &env);
    assert!(promoted.status.success(), "{}", stderr(&promoted));
    assert!(
        stdout(&promoted).contains("is now staff"),
        "{}",
        stdout(&promoted)
    );
    assert_eq!(
        server.count("users WHERE is_staff"),
        1,
        "the server sees it"
    );
    let migrated = bin.run(&["migrate"], &env);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(
        stdout(&migrated).contains("schema \"clerk\""),
        "{}",
        stdout(&migrated)
    );
    let replayed = bin.run(&["events", "replay", "--dry-run"], &env);
    assert!(replayed.status.success(), "{}", stderr(&replayed));

    // The members count is kept by a trigger function, which must find the mirror's
    // `organizations` in the schema it was created in, and the application reads it there.
    let (status, outcome) = server
        .deliver_json(
            "msg_schema_member",
            &event_fixture("organizationMembership.created"),
        )
        .await;
    assert_eq!((status, outcome.as_str()), (200, "applied"));
    assert_eq!(members_count_in(&url, "clerk"), 1);

    assert_mirror_tables_in(&url, "clerk");
    assert_eq!(tables_in(&url, "public"), ["users"], "{:?}", tables(&url));
    assert_application_users_table_untouched(&url);
}

/// The members count of the one organization, read by an application naming the schema.
fn members_count_in(url: &str, schema: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        members_count: i64,
    }
    diesel::sql_query(format!("SELECT members_count FROM {schema}.organizations"))
        .get_result::<Count>(&mut application_connection(url))
        .expect("reads the count")
        .members_count
}

#[actix_web::test]
async fn a_schema_name_that_needs_quoting_is_used_as_written() {
    let Some(db) = TestDatabase::postgres_database("Clerk-Mirror").expect("a test database") else {
        return;
    };
    let url = db.url_string();
    let bin = Binary::new("schema-quoted");
    let migrated = bin.run(
        &["migrate"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("DATABASE_SCHEMA", "Clerk-Mirror"),
        ],
    );
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert_eq!(schemas(&url), ["Clerk-Mirror", "public"]);
    assert_mirror_tables_in(&url, "Clerk-Mirror");
    assert_eq!(tables_in(&url, "public"), Vec::<String>::new());

    let server = TestServer::start(db, &[]).await;
    sync_ada_and_ask_me(&server).await;
    assert_eq!(server.count("\"Clerk-Mirror\".users"), 1);
}

#[test]
fn an_unusable_schema_name_is_refused_before_anything_is_written() {
    let Some(db) = TestDatabase::postgres_database("clerk").expect("a test database") else {
        return;
    };
    let url = db.url_string();
    let bin = Binary::new("schema-invalid");
    for name in ["clerk\"; DROP TABLE users; --", "pg_clerk", "clerk.mirror"] {
        let env = [("DATABASE_URL", url.as_str()), ("DATABASE_SCHEMA", name)];
        for command in [
            &["migrate"][..],
            &["serve"],
            &["promote-staff", "ada.lovelace@example.com"],
            &["events", "replay"],
            &["resync"],
        ] {
            let output = bin.run(command, &env);
            assert_eq!(output.status.code(), Some(2), "{command:?} {name}");
            let stderr = stderr(&output);
            assert!(
                stderr.contains("configuration error: database.schema (DATABASE_SCHEMA): ")
                    && stderr.contains("1 to 63 ASCII letters, digits, `_` or `-`"),
                "{command:?} {name}: {stderr}"
            );
        }
    }
    assert_eq!(schemas(&url), ["public"]);
    assert_eq!(tables(&url), Vec::<(String, String)>::new());
}

#[test]
fn a_schema_on_sqlite_is_refused() {
    let bin = Binary::new("schema-sqlite");
    let output = bin.run(
        &["migrate"],
        &[
            ("DATABASE_URL", "sqlite://data/mirror.sqlite3"),
            ("DATABASE_SCHEMA", "clerk"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "database.schema (DATABASE_SCHEMA): PostgreSQL only, and DATABASE_URL is a SQLite file"
        ),
        "{}",
        stderr(&output)
    );
    assert!(!bin.dir.join("data").exists(), "nothing was created");
}

#[test]
fn check_config_shows_the_schema_and_where_it_came_from() {
    let bin = Binary::new("schema-check");
    let output = bin.run(
        &["check-config"],
        &[
            ("DATABASE_URL", "postgres://app@db/clerk"),
            ("DATABASE_SCHEMA", "clerk"),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("schema = \"clerk\""), "{text}");
    assert!(
        text.contains("environment (DATABASE_URL, DATABASE_SCHEMA)"),
        "{text}"
    );
}
