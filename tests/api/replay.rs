//! `clerk-sync events replay`, as a user runs it, on both backends: a dry run that writes
//! nothing, by type, by Svix id, all, the exit status, and output without personal data.

use clerk_sync_persistence::schema::{users, webhook_events};
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{DbConnection, webhook_events as log};
use diesel::prelude::*;
use serde_json::json;

use crate::binary::*;

/// Leaves a rejected log entry as an older clerk-sync, whose parser refused `body`, did.
pub fn kept_rejected(conn: &mut DbConnection, svix_id: &str, event_type: &str, body: &str) {
    let at = chrono::Utc::now().naive_utc() - chrono::Duration::hours(1);
    diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::svix_id.eq(svix_id),
            webhook_events::event_type.eq(event_type),
            webhook_events::outcome.eq("rejected"),
            webhook_events::error.eq("an older version's reason"),
            webhook_events::payload.eq(body),
            webhook_events::attempts.eq(1),
            webhook_events::received_at.eq(at),
            webhook_events::last_received_at.eq(at),
        ))
        .execute(conn)
        .expect("inserted");
}

pub fn grace_created() -> String {
    json!({
        "type": "user.created", "object": "event", "timestamp": 1_700_000_100_000_i64,
        "data": {
            "id": "user_2GraceHopper", "object": "user",
            "email_addresses": [{"id": "idn_grace", "email_address": "grace@navy.example", "object": "email_address",
                                 "verification": {"status": "verified", "strategy": "email_code"}}],
            "primary_email_address_id": "idn_grace",
            "first_name": "Grace", "last_name": "Hopper", "image_url": null,
            "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_000_000_i64,
        }
    })
    .to_string()
}

fn outcome(conn: &mut DbConnection, svix_id: &str) -> (String, i32) {
    let row = log::find(conn, svix_id).expect("query").expect("logged");
    (row.outcome, row.attempts)
}

fn user_count(conn: &mut DbConnection) -> i64 {
    users::table.count().get_result(conn).expect("count")
}

fn replays_rejected_deliveries_from_the_command_line(db: &TestDatabase, name: &str) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let org = json!({"type": "organization.created", "object": "event", "data": {
        "id": "org_2Navy", "object": "organization", "name": "Navy", "slug": "navy",
        "created_at": 1_700_000_000_000_i64, "updated_at": 1_700_000_000_000_i64}})
    .to_string();
    kept_rejected(&mut conn, "msg_grace", "user.created", &grace_created());
    kept_rejected(&mut conn, "msg_navy", "organization.created", &org);
    kept_rejected(
        &mut conn,
        "msg_broken",
        "user.created",
        r#"{"type":"user.created","data":{"id":42}}"#,
    );
    let bin = Binary::new(name);
    let url = db.url_string();
    let env = [("DATABASE_URL", url.as_str())];
    let replay = |args: &[&str]| {
        let mut all = vec!["events", "replay"];
        all.extend_from_slice(args);
        let output = bin.run(&all, &env);
        let (out, err) = (stdout(&output), stderr(&output));
        for private in ["grace@navy.example", "Grace", "Hopper"] {
            assert!(
                !out.contains(private) && !err.contains(private),
                "{private} leaked: {out}{err}"
            );
        }
        assert!(
            output.status.code().is_some(),
            "{args:?} ended by {:?}: {out}{err}",
            std::os::unix::process::ExitStatusExt::signal(&output.status)
        );
        (output.status.code(), out, err)
    };

    let (code, out, err) = replay(&["--dry-run"]);
    assert_eq!(code, Some(1), "one would stay rejected: {out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "msg_grace  user.created  rejected → would be applied",
            "msg_navy  organization.created  rejected → would be applied",
            "msg_broken  user.created  rejected → would stay rejected: malformed user.created event: `data.id`: invalid type, expected a string (line 1, column 8)",
        ],
        "{out}"
    );
    assert_eq!(
        lines[3],
        "dry run, nothing written: of 3, 2 applied, 1 still rejected (what a replay would do now)"
    );
    assert!(
        err.contains("1 delivery would stay rejected: the lines above say why"),
        "{err}"
    );
    assert_eq!(user_count(&mut conn), 0, "the dry run wrote nothing");
    assert_eq!(outcome(&mut conn, "msg_grace"), ("rejected".to_owned(), 1));

    let (code, out, _) = replay(&["--type", "organization.created"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        out,
        "msg_navy  organization.created  rejected → applied\nreplayed 1: 1 applied\n"
    );
    assert_eq!(outcome(&mut conn, "msg_navy"), ("applied".to_owned(), 2));
    assert_eq!(
        outcome(&mut conn, "msg_grace").0,
        "rejected",
        "not of that type"
    );

    let (code, out, err) = replay(&["--id", "msg_grace", "--id", "msg_never_seen"]);
    assert_eq!(code, Some(1), "an unknown id is an error");
    assert!(
        out.starts_with("msg_grace  user.created  rejected → applied\n"),
        "{out}"
    );
    assert!(
        err.contains("not in the webhook log (never received, or purged): msg_never_seen"),
        "{err}"
    );
    assert_eq!(user_count(&mut conn), 1, "the mirror has Grace");
    assert_eq!(outcome(&mut conn, "msg_grace"), ("applied".to_owned(), 2));

    let (code, out, err) = replay(&[]);
    assert_eq!(code, Some(1));
    assert!(
        out.starts_with("msg_broken  user.created  rejected → rejected: malformed")
            && out.ends_with("replayed 1: 1 still rejected\n"),
        "only the one still rejected is left: {out}"
    );
    assert!(err.contains("1 delivery stays rejected"), "{err}");
    assert_eq!(outcome(&mut conn, "msg_broken"), ("rejected".to_owned(), 2));

    let (code, out, _) = replay(&["--id", "msg_grace"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        out,
        "msg_grace  user.created  applied: not rejected, left alone\nreplayed 1: 1 not rejected\n"
    );
    assert_eq!(
        outcome(&mut conn, "msg_grace"),
        ("applied".to_owned(), 2),
        "left alone"
    );

    let (code, out, _) = replay(&["--type", "organization.created"]);
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "no rejected deliveries to replay\n")
    );
}

#[test]
fn events_replay_on_sqlite() {
    let db = TestDatabase::sqlite().expect("db");
    replays_rejected_deliveries_from_the_command_line(&db, "replay-sqlite");
}

#[test]
fn events_replay_on_postgres() {
    let Some(db) = TestDatabase::postgres().expect("db") else {
        return;
    };
    replays_rejected_deliveries_from_the_command_line(&db, "replay-postgres");
}
