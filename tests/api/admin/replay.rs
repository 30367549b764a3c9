//! The Replay button of a rejected webhook event: staff only, CSRF-protected, applied through
//! the exactly-once path, and a no-op once the event is no longer rejected.

use clerk_sync_persistence::schema::users;
use clerk_sync_persistence::webhook_events as log;
use diesel::prelude::*;

use super::*;
use crate::replay::{grace_created, kept_rejected};

/// The local id, outcome and attempts of a log entry.
fn logged(server: &TestServer, svix_id: &str) -> (i64, String, i32) {
    let mut conn = server.conn();
    let row = log::find(&mut conn, svix_id)
        .expect("query")
        .expect("logged");
    (row.id, row.outcome, row.attempts)
}

fn graces(server: &TestServer) -> i64 {
    let mut conn = server.conn();
    users::table
        .filter(users::clerk_id.eq("user_2GraceHopper"))
        .count()
        .get_result(&mut *conn)
        .expect("count")
}

/// Opens an event's page as `token`'s user: its body and the form's CSRF token.
async fn open_event_as(server: &TestServer, token: &str, id: i64) -> (String, String) {
    let response = server
        .client
        .get(server.url(&format!("/admin/webhook-events/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.expect("body");
    let csrf = hidden(&body, "csrf_token").expect("the form carries the token");
    (body, csrf)
}

/// Opens an event's page as the admin (session `sess_test`).
async fn open_event(server: &TestServer, id: i64) -> (String, String) {
    open_event_as(server, &token_for(ADMIN), id).await
}

/// A session token of `user` for the session `sid`.
fn session_token(user: &str, sid: &str) -> String {
    let mut claims = claims(user);
    claims["sid"] = serde_json::json!(sid);
    sign(&claims)
}

/// Posts the replay form of event `id` with the session `token`, from the server's own origin
/// unless `headers` say otherwise; the status and `Location`.
async fn press_replay_with(
    server: &TestServer,
    token: &str,
    id: i64,
    fields: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut request = client
        .post(server.url(&format!("/admin/webhook-events/{id}/replay")))
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(fields.to_owned());
    if !headers.iter().any(|(name, _)| *name == "origin") {
        request = request.header("origin", &server.base);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("answers");
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (response.status().as_u16(), location)
}

/// Posts the replay form of event `id` as `as_user` (session `sess_test`).
async fn press_replay(server: &TestServer, as_user: &str, id: i64, fields: &str) -> (u16, String) {
    press_replay_with(server, &token_for(as_user), id, fields, &[]).await
}

const REPLAY_FORM: &str = "/replay\">";

server_tests!(
    the_replay_button_needs_this_sessions_token_and_staff,
    staff_replay_a_rejected_event_and_see_what_it_became,
);

async fn the_replay_button_needs_this_sessions_token_and_staff(server: TestServer) {
    seed(&server).await;
    kept_rejected(
        &mut server.conn(),
        "msg_grace",
        "user.created",
        &grace_created(),
    );
    let (id, _, _) = logged(&server, "msg_grace");
    let (body, csrf) = open_event(&server, id).await;
    assert!(
        body.contains(REPLAY_FORM) && body.contains(">Replay</button>"),
        "{body}"
    );
    let form = format!("csrf_token={csrf}");
    let admin = token_for(ADMIN);
    assert_eq!(
        press_replay(&server, ADMIN, id, "").await.0,
        403,
        "no token"
    );
    assert_eq!(
        press_replay(
            &server,
            ADMIN,
            id,
            "csrf_token=forgedforgedforgedforgedforged"
        )
        .await
        .0,
        403,
        "another token"
    );
    assert_eq!(
        press_replay_with(&server, &session_token(ADMIN, "sess_other"), id, &form, &[])
            .await
            .0,
        403,
        "the token of another session"
    );
    assert_eq!(
        press_replay_with(
            &server,
            &admin,
            id,
            &form,
            &[("sec-fetch-site", "cross-site")]
        )
        .await
        .0,
        403,
        "from another site"
    );
    assert_eq!(
        press_replay_with(
            &server,
            &admin,
            id,
            &form,
            &[("origin", "https://evil.example")]
        )
        .await
        .0,
        403,
        "from another origin"
    );
    assert_eq!(
        press_replay(&server, "user_2BobBrown", id, &form).await.0,
        403,
        "not staff"
    );
    assert_eq!(
        logged(&server, "msg_grace"),
        (id, "rejected".to_owned(), 1),
        "nothing was replayed"
    );
    assert_eq!(graces(&server), 0);
}

async fn staff_replay_a_rejected_event_and_see_what_it_became(server: TestServer) {
    seed(&server).await;
    kept_rejected(
        &mut server.conn(),
        "msg_grace",
        "user.created",
        &grace_created(),
    );
    let (id, _, _) = logged(&server, "msg_grace");
    let (_, csrf) = open_event(&server, id).await;
    let form = format!("csrf_token={csrf}");
    let (status, location) = press_replay(&server, ADMIN, id, &form).await;
    assert_eq!(
        (status, location.as_str()),
        (
            303,
            format!("/admin/webhook-events/{id}?replayed=applied").as_str()
        )
    );
    assert_eq!(logged(&server, "msg_grace"), (id, "applied".to_owned(), 2));
    assert_eq!(graces(&server), 1, "the mirror has the user");
    let page = admin_get(&server, &location).await;
    assert!(
        page.body.contains("Replayed: the delivery is now applied."),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(REPLAY_FORM),
        "no button for an applied event"
    );
    // Pressed again (a second tab, a resubmitted form): left alone.
    let (status, location) = press_replay(&server, ADMIN, id, &form).await;
    assert_eq!(
        (status, location.as_str()),
        (
            303,
            format!("/admin/webhook-events/{id}?replayed=not-rejected").as_str()
        )
    );
    assert_eq!(
        logged(&server, "msg_grace"),
        (id, "applied".to_owned(), 2),
        "not counted again"
    );
    assert!(
        admin_get(&server, &location)
            .await
            .body
            .contains("Not replayed: this delivery is applied")
    );

    // The seed's delivery the server rejected still cannot be parsed: it stays rejected.
    let (broken, _, _) = logged(&server, "msg_broken");
    let (status, location) = press_replay(&server, ADMIN, broken, &form).await;
    assert_eq!(
        (status, location.as_str()),
        (
            303,
            format!("/admin/webhook-events/{broken}?replayed=rejected").as_str()
        )
    );
    assert_eq!(
        logged(&server, "msg_broken"),
        (broken, "rejected".to_owned(), 2)
    );
    let page = admin_get(&server, &location).await;
    assert!(
        page.body.contains("it still cannot be applied") && page.body.contains("`data.id`"),
        "{}",
        page.body
    );
    assert!(page.body.contains(REPLAY_FORM), "still offered");
    assert_eq!(press_replay(&server, ADMIN, 999_999, &form).await.0, 404);
}
