//! docs/schema.md's queries, run on the backend each is written for, against the users the
//! page describes: each returns exactly the Clerk ids its `Returns:` line names.

use crate::common::*;
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{Backend, DbConnection, backend_tests};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use serde_json::{Value, json};

backend_tests!(the_documented_queries_return_what_the_page_says);

/// One statement of a documented block, with the Clerk ids a query must return.
struct Statement {
    sql: String,
    returns: Option<Vec<String>>,
}

/// The statements of the page's ```sql blocks written for `backend`.
fn documented_statements(backend: &str) -> Vec<Statement> {
    let path = format!("{}/../../docs/schema.md", env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(path).expect("docs/schema.md");
    let mut statements = Vec::new();
    let mut block: Option<String> = None;
    for line in page.lines() {
        match (&mut block, line.strip_prefix("```")) {
            (None, Some(info)) if info.starts_with("sql") => {
                let backends: Vec<&str> = info.split_whitespace().skip(1).collect();
                assert!(
                    !backends.is_empty(),
                    "a sql block names its backends: {info}"
                );
                if backends.contains(&backend) {
                    block = Some(String::new());
                }
            }
            (Some(text), Some("")) => {
                statements.extend(split(text));
                block = None;
            }
            (Some(text), _) => {
                text.push_str(line);
                text.push('\n');
            }
            _ => {}
        }
    }
    statements
}

fn split(block: &str) -> Vec<Statement> {
    block
        .split_inclusive(";\n")
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let returns = part
                .lines()
                .find_map(|line| line.trim().strip_prefix("-- Returns:"))
                .map(|ids| ids.split(',').map(|id| id.trim().to_owned()).collect());
            let sql = part
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            Statement {
                sql: sql.trim().trim_end_matches(';').to_owned(),
                returns,
            }
        })
        .collect()
}

#[derive(QueryableByName)]
struct ClerkId {
    #[diesel(sql_type = Nullable<Text>)]
    clerk_id: Option<String>,
}

fn user(id: &str, metadata: Value, extra: Value) -> Value {
    let mut data = json!({
        "id": id, "first_name": id, "updated_at": 10, "public_metadata": metadata,
        "email_addresses": [{"id": format!("idn_{id}"), "email_address": format!("{id}@example.com"),
                             "verification": {"status": "verified"}}],
        "primary_email_address_id": format!("idn_{id}"),
    });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    json!({"type": "user.created", "timestamp": 11, "data": data})
}

fn seed(conn: &mut DbConnection) {
    deliver(
        conn,
        "msg_1",
        &user("user_free", json!({"plan": "free"}), json!({})),
    );
    let pro_addresses = json!({"email_addresses": [
        {"id": "idn_p1", "email_address": "pro@example.com", "verification": {"status": "verified"}},
        {"id": "idn_p2", "email_address": "pro@work.example", "verification": {"status": "verified"}},
        {"id": "idn_p3", "email_address": "free@work.example", "verification": null},
    ], "primary_email_address_id": "idn_p1"});
    deliver(
        conn,
        "msg_2",
        &user(
            "user_pro",
            json!({"plan": "pro", "seats": 5}),
            pro_addresses,
        ),
    );
    let team = json!({"username": "team_lead"});
    deliver(
        conn,
        "msg_3",
        &user("user_team", json!({"plan": "team", "seats": 20}), team),
    );
    let org = json!({"id": "org_acme", "name": "Acme", "slug": "acme", "updated_at": 1});
    for (i, (member, role)) in [("user_pro", "org:admin"), ("user_team", "org:member")]
        .into_iter()
        .enumerate()
    {
        let body = membership(
            "organizationMembership.created",
            &format!("orgmem_{i}"),
            member,
            org.clone(),
            role,
            5,
            6,
        );
        deliver(conn, &format!("msg_m{i}"), &body);
    }
}

fn the_documented_queries_return_what_the_page_says(db: TestDatabase) {
    let database = db.connect().expect("connect");
    let backend = match database.backend() {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
    };
    let mut conn = database.get().expect("a connection");
    seed(&mut conn);
    let statements = documented_statements(backend);
    let queries = statements.iter().filter(|s| s.returns.is_some()).count();
    assert!(
        queries >= 5,
        "{backend}: only {queries} documented queries found"
    );
    for statement in statements {
        let Some(expected) = statement.returns else {
            diesel::sql_query(&statement.sql)
                .execute(&mut conn)
                .unwrap_or_else(|err| panic!("{backend}: {}: {err}", statement.sql));
            continue;
        };
        let wrapped = format!("SELECT clerk_id FROM ({}) AS documented", statement.sql);
        let rows: Vec<ClerkId> = diesel::sql_query(&wrapped)
            .load(&mut conn)
            .unwrap_or_else(|err| panic!("{backend}: {}: {err}", statement.sql));
        let mut ids: Vec<String> = rows.into_iter().filter_map(|row| row.clerk_id).collect();
        ids.sort();
        assert_eq!(ids, expected, "{backend}: {}", statement.sql);
    }
}
