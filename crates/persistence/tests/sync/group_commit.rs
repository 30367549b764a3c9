//! Group commit on both backends: deliveries that arrive together in one transaction, each in a
//! savepoint of its own.

use crate::common::*;
use clerk_sync_domain::{EventEnvelope, Outcome};
use clerk_sync_persistence::schema::users;
use clerk_sync_persistence::testing::TestDatabase;
use clerk_sync_persistence::{
    Backend, BatchedDelivery, DbConnection, Delivery, DeliveryWork, backend_tests,
    process_deliveries, webhook_events,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;

backend_tests!(
    a_message_id_twice_in_one_batch_is_applied_once,
    a_failing_delivery_is_answered_alone_and_the_others_are_kept,
    a_batch_applies_its_deliveries_in_order,
    a_rejection_retried_in_the_same_batch_is_applied_and_logged_once,
    an_update_that_keeps_the_addresses_does_not_rewrite_them,
);

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn a_message_id_twice_in_one_batch_is_applied_once(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let created = user(
        "user.created",
        "user_twice",
        Some("twice@example.com"),
        "T",
        1,
    );
    let outcomes = deliver_batch(
        &mut conn,
        &ids(&["msg_twice", "msg_other", "msg_twice"]),
        &[
            created.clone(),
            user("user.created", "user_other", None, "O", 1),
            created,
        ],
    );
    assert_eq!(
        outcomes,
        [Outcome::Applied, Outcome::Applied, Outcome::Duplicate]
    );
    let row = webhook_events::find(&mut conn, "msg_twice")
        .expect("query")
        .expect("logged");
    assert_eq!((row.outcome.as_str(), row.attempts), ("applied", 2));
    // A later batch sees what this one committed.
    let outcomes = deliver_batch(
        &mut conn,
        &ids(&["msg_other", "msg_new"]),
        &[
            user("user.created", "user_other", None, "O", 1),
            user("user.updated", "user_twice", None, "T2", 2),
        ],
    );
    assert_eq!(outcomes, [Outcome::Duplicate, Outcome::Applied]);
}

fn a_batch_applies_its_deliveries_in_order(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    // Created, updated, an older version and a deletion of one user, then its resurrection
    // attempt, all in one transaction: each sees what the ones before it wrote.
    let outcomes = deliver_batch(
        &mut conn,
        &ids(&["msg_1", "msg_2", "msg_3", "msg_4", "msg_5"]),
        &[
            user("user.created", "user_seq", Some("seq@example.com"), "A", 1),
            user("user.updated", "user_seq", Some("seq@example.com"), "B", 3),
            user(
                "user.updated",
                "user_seq",
                Some("seq@example.com"),
                "Old",
                2,
            ),
            deleted("user.deleted", "user_seq", 4),
            user(
                "user.updated",
                "user_seq",
                Some("seq@example.com"),
                "Back",
                5,
            ),
        ],
    );
    assert_eq!(
        outcomes,
        [
            Outcome::Applied,
            Outcome::Applied,
            Outcome::Stale,
            Outcome::Applied,
            Outcome::Tombstoned
        ]
    );
    let left: i64 = users::table
        .filter(users::clerk_id.eq("user_seq"))
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(left, 0, "the deletion holds");
}

/// A trigger that refuses one Clerk id, so that the database itself fails one delivery.
fn poison(conn: &mut DbConnection, backend: Backend, clerk_id: &str) {
    let sql = match backend {
        Backend::Sqlite => format!(
            "CREATE TRIGGER poison BEFORE INSERT ON users WHEN NEW.clerk_id = '{clerk_id}' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
        ),
        Backend::Postgres => format!(
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.clerk_id = '{clerk_id}' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER poison BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION poison();"
        ),
    };
    conn.batch_execute(&sql).expect("the trigger");
}

fn a_failing_delivery_is_answered_alone_and_the_others_are_kept(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    poison(&mut conn, database.backend(), "user_poison");
    let bodies: Vec<Value> = ["user_before", "user_poison", "user_after"]
        .iter()
        .map(|id| user("user.created", id, None, "P", 1))
        .collect();
    let payloads: Vec<String> = bodies.iter().map(Value::to_string).collect();
    let envelopes: Vec<EventEnvelope> = payloads
        .iter()
        .map(|payload| EventEnvelope::parse(payload.as_bytes()).expect("an event"))
        .collect();
    let svix_ids = ids(&["msg_before", "msg_poison", "msg_after"]);
    let batch: Vec<BatchedDelivery<'_>> = (0..3)
        .map(|i| BatchedDelivery {
            delivery: Delivery {
                svix_id: &svix_ids[i],
                event_type: "user.created",
                clerk_object_id: envelopes[i].event.object_id(),
                payload: &payloads[i],
                received_at: now(),
            },
            work: DeliveryWork::Apply(&envelopes[i]),
        })
        .collect();
    let results = process_deliveries(&mut conn, &batch).expect("the batch commits");
    assert!(matches!(results[0], Ok(Outcome::Applied)), "{results:?}");
    assert!(
        results[1].is_err(),
        "the refused delivery fails: {results:?}"
    );
    assert!(matches!(results[2], Ok(Outcome::Applied)), "{results:?}");
    let kept: Vec<String> = users::table
        .select(users::clerk_id.assume_not_null())
        .order(users::clerk_id)
        .load(&mut conn)
        .expect("users");
    assert_eq!(kept, ["user_after", "user_before"]);
    assert!(
        webhook_events::find(&mut conn, "msg_poison")
            .expect("query")
            .is_none(),
        "nothing of the failed delivery is logged: its retry processes it anew"
    );
    // Once the database accepts it, the retry applies it.
    conn.batch_execute("DROP TRIGGER poison ON users")
        .or_else(|_| conn.batch_execute("DROP TRIGGER poison"))
        .expect("the trigger dropped");
    let results = process_deliveries(&mut conn, &batch[1..]).expect("the batch commits");
    assert!(
        matches!(results[..], [Ok(Outcome::Applied), Ok(Outcome::Duplicate)]),
        "{results:?}"
    );
}

fn a_rejection_retried_in_the_same_batch_is_applied_and_logged_once(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let payload = user("user.created", "user_retried", None, "R", 1).to_string();
    let envelope = EventEnvelope::parse(payload.as_bytes()).expect("an event");
    let delivery = Delivery {
        svix_id: "msg_retried",
        event_type: "user.created",
        clerk_object_id: envelope.event.object_id(),
        payload: &payload,
        received_at: now(),
    };
    let batch = [
        BatchedDelivery {
            delivery,
            work: DeliveryWork::Reject("refused the first time"),
        },
        BatchedDelivery {
            delivery,
            work: DeliveryWork::Apply(&envelope),
        },
        BatchedDelivery {
            delivery,
            work: DeliveryWork::Apply(&envelope),
        },
    ];
    let results = process_deliveries(&mut conn, &batch).expect("the batch commits");
    assert!(
        matches!(
            results[..],
            [
                Ok(Outcome::Rejected),
                Ok(Outcome::Applied),
                Ok(Outcome::Duplicate)
            ]
        ),
        "{results:?}"
    );
    let row = webhook_events::find(&mut conn, "msg_retried")
        .expect("query")
        .expect("logged");
    assert_eq!(
        (row.outcome.as_str(), row.error, row.attempts),
        ("applied", None, 3)
    );
}

/// Counts the rows deleted from `user_email_addresses` into a table `address_deletes`.
fn count_address_deletes(conn: &mut DbConnection, backend: Backend) {
    let sql = match backend {
        Backend::Sqlite => {
            "CREATE TABLE address_deletes (n INTEGER); \
             CREATE TRIGGER count_deletes AFTER DELETE ON user_email_addresses \
             BEGIN INSERT INTO address_deletes VALUES (1); END;"
        }
        Backend::Postgres => {
            "CREATE TABLE address_deletes (n INTEGER); \
             CREATE FUNCTION count_deletes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             INSERT INTO address_deletes VALUES (1); RETURN OLD; END $$; \
             CREATE TRIGGER count_deletes AFTER DELETE ON user_email_addresses FOR EACH ROW \
             EXECUTE FUNCTION count_deletes();"
        }
    };
    conn.batch_execute(sql).expect("the trigger");
}

fn address_deletes(conn: &mut DbConnection) -> i64 {
    rows_in(conn, "address_deletes")
}

/// How many rows the counting table `table` holds.
fn rows_in(conn: &mut DbConnection, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .expect("the count")
        .n
}

/// A `user.updated` that leaves the user's addresses as they are (a new name, new metadata)
/// writes the user and leaves the address rows; one that changes them still replaces them, also
/// when a later delivery of the same batch changes them back.
fn an_update_that_keeps_the_addresses_does_not_rewrite_them(db: TestDatabase) {
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let created = user(
        "user.created",
        "user_keep",
        Some("keep@example.com"),
        "A",
        10,
    );
    assert_eq!(deliver(&mut conn, "msg_k1", &created), Outcome::Applied);
    count_address_deletes(&mut conn, database.backend());

    let renamed = user(
        "user.updated",
        "user_keep",
        Some("keep@example.com"),
        "B",
        11,
    );
    assert_eq!(deliver(&mut conn, "msg_k2", &renamed), Outcome::Applied);
    let renamed_again = user(
        "user.updated",
        "user_keep",
        Some("keep@example.com"),
        "C",
        12,
    );
    let other = user(
        "user.created",
        "user_other",
        Some("other@example.com"),
        "O",
        12,
    );
    assert_eq!(
        deliver_batch(
            &mut conn,
            &ids(&["msg_k3", "msg_k4"]),
            &[other, renamed_again]
        ),
        [Outcome::Applied, Outcome::Applied]
    );
    assert_eq!(address_deletes(&mut conn), 0, "no address was rewritten");
    assert_eq!(first_name(&mut conn, "user_keep").as_deref(), Some("C"));

    let moved = user(
        "user.updated",
        "user_keep",
        Some("moved@example.com"),
        "D",
        13,
    );
    let back = user(
        "user.updated",
        "user_keep",
        Some("keep@example.com"),
        "E",
        14,
    );
    assert_eq!(
        deliver_batch(&mut conn, &ids(&["msg_k5", "msg_k6"]), &[moved, back]),
        [Outcome::Applied, Outcome::Applied]
    );
    assert_eq!(
        address_deletes(&mut conn),
        2,
        "both changes replaced the address"
    );
    assert_eq!(
        user_email(&mut conn, "user_keep").as_deref(),
        Some("keep@example.com")
    );
    let held: Vec<String> = clerk_sync_persistence::schema::user_email_addresses::table
        .inner_join(users::table)
        .filter(users::clerk_id.eq("user_keep"))
        .select(clerk_sync_persistence::schema::user_email_addresses::email_address)
        .load(&mut conn)
        .expect("the addresses");
    assert_eq!(held, ["keep@example.com"]);
}

fn first_name(conn: &mut DbConnection, clerk_id: &str) -> Option<String> {
    users::table
        .filter(users::clerk_id.eq(clerk_id))
        .select(users::first_name)
        .first::<Option<String>>(conn)
        .expect("the user")
}

/// On PostgreSQL a batch writes its new versions of stored users in one UPDATE (a second
/// version of the same user in the batch writes the held ones first, so the later version
/// wins), where each delivery once sent its own, planned anew every time.
#[test]
fn a_batch_updates_its_users_in_one_statement_on_postgres() {
    let Some(db) = TestDatabase::postgres().expect("a test database") else {
        return;
    };
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    let names = ["user_one", "user_two", "user_three"];
    let created: Vec<Value> = names
        .iter()
        .map(|id| user("user.created", id, None, "A", 10))
        .collect();
    assert_eq!(
        deliver_batch(&mut conn, &ids(&["msg_c1", "msg_c2", "msg_c3"]), &created),
        [Outcome::Applied; 3]
    );
    conn.batch_execute(
        "CREATE TABLE user_updates (n INTEGER); \
         CREATE FUNCTION count_updates() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         INSERT INTO user_updates VALUES (1); RETURN NULL; END $$; \
         CREATE TRIGGER count_updates AFTER UPDATE ON users FOR EACH STATEMENT \
         EXECUTE FUNCTION count_updates();",
    )
    .expect("the trigger");

    let updates = [
        user("user.updated", "user_one", None, "B", 11),
        user("user.updated", "user_two", None, "B", 11),
        user("user.updated", "user_one", None, "C", 12),
        user("user.updated", "user_three", None, "B", 11),
    ];
    assert_eq!(
        deliver_batch(
            &mut conn,
            &ids(&["msg_u1", "msg_u2", "msg_u3", "msg_u4"]),
            &updates
        ),
        [Outcome::Applied; 4]
    );
    let statements = rows_in(&mut conn, "user_updates");
    assert_eq!(
        statements, 2,
        "two UPDATEs for four versions: user_one's second version writes the first two"
    );
    let stored: Vec<Option<String>> = names.iter().map(|id| first_name(&mut conn, id)).collect();
    assert_eq!(
        stored,
        [Some("C".into()), Some("B".into()), Some("B".into())]
    );
}

/// A write transaction plans its statements generically on PostgreSQL, and only it: the
/// setting ends with the transaction.
#[test]
fn write_transactions_use_generic_plans_on_postgres() {
    let Some(db) = TestDatabase::postgres().expect("a test database") else {
        return;
    };
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        plan_cache_mode: String,
    }
    let mode = |conn: &mut DbConnection| {
        diesel::sql_query("SHOW plan_cache_mode")
            .get_result::<Setting>(conn)
            .expect("the setting")
            .plan_cache_mode
    };
    let inside = clerk_sync_persistence::write_transaction(&mut conn, &[], |conn| Ok(mode(conn)))
        .expect("the transaction");
    assert_eq!(inside, "force_generic_plan");
    assert_eq!(mode(&mut conn), "auto");
}

/// On PostgreSQL the statements a batch sends once, whatever its size (its locks, its users'
/// UPDATE), are prepared once per connection, not parsed and planned on every batch.
#[test]
fn a_batchs_lock_and_update_statements_are_prepared_on_postgres() {
    let Some(db) = TestDatabase::postgres().expect("a test database") else {
        return;
    };
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    for round in 0..3 {
        let created = user("user.created", &format!("user_p{round}"), None, "A", 10);
        let updates = [
            user("user.updated", "user_p0", None, "B", 100 + 2 * round),
            user(
                "user.updated",
                &format!("user_p{round}"),
                None,
                "C",
                101 + 2 * round,
            ),
        ];
        assert_eq!(
            deliver(&mut conn, &format!("msg_pc{round}"), &created),
            Outcome::Applied
        );
        let ids = ids(&[&format!("msg_pa{round}"), &format!("msg_pb{round}")]);
        assert_eq!(
            deliver_batch(&mut conn, &ids, &updates),
            [Outcome::Applied; 2]
        );
    }
    #[derive(QueryableByName)]
    struct Statement {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement: String,
    }
    let prepared: Vec<String> = diesel::sql_query("SELECT statement FROM pg_prepared_statements")
        .load::<Statement>(&mut conn)
        .expect("the connection's prepared statements")
        .into_iter()
        .map(|row| row.statement)
        .collect();
    for start in ["SELECT pg_advisory_xact_lock", "UPDATE users AS u SET"] {
        let count = prepared.iter().filter(|sql| sql.starts_with(start)).count();
        assert_eq!(count, 1, "{start}… prepared once: {prepared:#?}");
    }
}

/// On PostgreSQL the large values every delivery writes, the stored Clerk object and the
/// logged payload, are compressed with lz4 (when the server has it) rather than the slower
/// pglz.
#[test]
fn large_values_are_compressed_with_lz4_on_postgres() {
    let Some(db) = TestDatabase::postgres().expect("a test database") else {
        return;
    };
    let database = db.connect().expect("database");
    let mut conn = database.get().expect("connection");
    if conn
        .batch_execute("BEGIN; SET LOCAL default_toast_compression = lz4; ROLLBACK")
        .is_err()
    {
        eprintln!("skipped: this PostgreSQL has no lz4");
        return;
    }
    // Large enough for PostgreSQL to compress the row's values (over about 2 kB).
    let mut created = user("user.created", "user_large", None, "L", 1);
    created["data"]["unsafe_metadata"] =
        serde_json::json!({ "notes": "a line of notes. ".repeat(200) });
    assert_eq!(
        deliver_batch(&mut conn, &ids(&["msg_large"]), &[created]),
        [Outcome::Applied]
    );
    #[derive(QueryableByName)]
    struct Compressions {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        object: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        payload: Option<String>,
    }
    let found: Compressions = diesel::sql_query(
        "SELECT pg_column_compression(u.clerk_object) AS object, \
         pg_column_compression(e.payload) AS payload \
         FROM users u, webhook_events e \
         WHERE u.clerk_id = 'user_large' AND e.svix_id = 'msg_large'",
    )
    .get_result(&mut conn)
    .expect("the compression of both values");
    assert_eq!(
        (found.object.as_deref(), found.payload.as_deref()),
        (Some("lz4"), Some("lz4"))
    );
}
