//! Editing the local flags: forms protected by a CSRF token bound to the session and by an
//! Origin check, one transaction, and no silent lock-out.

use clerk_sync_persistence::schema::users;
use diesel::prelude::*;

use super::*;

struct Form {
    path: String,
    token: String,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

fn flags(server: &TestServer, clerk_id: &str) -> (bool, bool) {
    let mut conn = server.conn();
    users::table
        .filter(users::clerk_id.eq(clerk_id))
        .select((users::is_staff, users::is_active))
        .first(&mut *conn)
        .expect("the user")
}

fn local_id(server: &TestServer, clerk_id: &str) -> i64 {
    let mut conn = server.conn();
    users::table
        .filter(users::clerk_id.eq(clerk_id))
        .select(users::id)
        .first(&mut *conn)
        .expect("the user")
}

/// A session token of `user` for the session `sid`.
fn session_token(user: &str, sid: &str) -> String {
    let mut claims = claims(user);
    claims["sid"] = json!(sid);
    sign(&claims)
}

/// Opens a user's page with `token` and reads its form's hidden CSRF token.
async fn open_form_as(server: &TestServer, token: &str, clerk_id: &str) -> Form {
    let path = format!("/admin/users/{}", local_id(server, clerk_id));
    let response = server
        .client
        .get(server.url(&path))
        .bearer_auth(token)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let body = response.text().await.expect("body");
    let token = hidden(&body, "csrf_token").expect("the form carries the token");
    Form { path, token }
}

/// Opens a user's page as `as_user` (session `sess_test`) and reads its form.
async fn open_form(server: &TestServer, as_user: &str, clerk_id: &str) -> Form {
    open_form_as(server, &token_for(as_user), clerk_id).await
}

/// Where a POST says it comes from.
enum Source<'a> {
    /// `Origin` of the server itself, as a browser sends it for the server's own form.
    SameOrigin,
    /// These headers (name, value) instead.
    Headers(&'a [(&'a str, &'a str)]),
}

async fn post_from(
    server: &TestServer,
    token: &str,
    form: &Form,
    from: Source<'_>,
    fields: &str,
) -> (u16, String, String) {
    let mut request = no_redirects()
        .post(server.url(&form.path))
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(fields.to_owned());
    match from {
        Source::SameOrigin => request = request.header("origin", &server.base),
        Source::Headers(headers) => {
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
        }
    }
    let response = request.send().await.expect("answers");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location, response.text().await.unwrap_or_default())
}

/// Posts `fields` to the form as `as_user`, from the server's own origin.
async fn post(
    server: &TestServer,
    as_user: &str,
    form: &Form,
    fields: &str,
) -> (u16, String, String) {
    post_from(
        server,
        &token_for(as_user),
        form,
        Source::SameOrigin,
        fields,
    )
    .await
}

server_tests!(
    a_form_without_this_sessions_token_is_refused,
    the_form_token_is_the_sessions_own,
    staff_grant_staff_and_deactivate_users,
    removing_your_own_access_needs_confirmation_and_another_staff_user,
);

async fn a_form_without_this_sessions_token_is_refused(server: TestServer) {
    seed(&server).await;
    let form = open_form(&server, ADMIN, "user_2BobBrown").await;
    let grant = |token: &str| format!("csrf_token={token}&is_staff=on&is_active=on");
    let admin = token_for(ADMIN);
    let pair = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let cookie = format!("clerk_sync_csrf={pair}");
    let (status, _, body) = post_from(
        &server,
        &admin,
        &form,
        Source::Headers(&[("origin", &server.base), ("cookie", &cookie)]),
        &grant(pair),
    )
    .await;
    assert_eq!(
        status, 403,
        "an equal cookie and field of one's choosing: {body}"
    );
    assert!(body.contains("The form could not be accepted"), "{body}");
    let (status, _, _) = post(&server, ADMIN, &form, "is_staff=on&is_active=on").await;
    assert_eq!(status, 403, "no token");
    let other_session = session_token(ADMIN, "sess_other");
    let (status, _, _) = post_from(
        &server,
        &other_session,
        &form,
        Source::SameOrigin,
        &grant(&form.token),
    )
    .await;
    assert_eq!(status, 403, "the token of another session of the same user");
    let evil = Source::Headers(&[("origin", "https://evil.example")]);
    let (status, _, _) = post_from(&server, &admin, &form, evil, &grant(&form.token)).await;
    assert_eq!(status, 403, "from another origin");
    let evil_referer = "https://evil.example/admin/users/1".to_owned();
    let (status, _, _) = post_from(
        &server,
        &admin,
        &form,
        Source::Headers(&[("referer", &evil_referer)]),
        &grant(&form.token),
    )
    .await;
    assert_eq!(status, 403, "referred by another origin");
    let (status, _, _) = post_from(
        &server,
        &admin,
        &form,
        Source::Headers(&[]),
        &grant(&form.token),
    )
    .await;
    assert_eq!(status, 403, "neither Origin nor Referer");
    let (status, _, _) = post_from(
        &server,
        &admin,
        &form,
        Source::Headers(&[("origin", "null")]),
        &grant(&form.token),
    )
    .await;
    assert_eq!(status, 403, "an opaque origin");
    let cross_site = Source::Headers(&[("origin", &server.base), ("sec-fetch-site", "cross-site")]);
    let (status, _, _) = post_from(&server, &admin, &form, cross_site, &grant(&form.token)).await;
    assert_eq!(status, 403, "from another site");
    assert_eq!(
        flags(&server, "user_2BobBrown"),
        (false, true),
        "nothing was written"
    );
    let (status, _, _) = post(&server, "user_2BobBrown", &form, &grant(&form.token)).await;
    assert_eq!(
        status, 403,
        "a non-staff user cannot post even with a token"
    );
    assert_eq!(flags(&server, "user_2BobBrown"), (false, true));
    let own_referer = format!("{}{}", server.base, form.path);
    let (status, _, _) = post_from(
        &server,
        &admin,
        &form,
        Source::Headers(&[("referer", &own_referer)]),
        &grant(&form.token),
    )
    .await;
    assert_eq!(
        status, 303,
        "a Referer of the server's own origin stands in for Origin"
    );
    assert_eq!(flags(&server, "user_2BobBrown"), (true, true));
}

async fn the_form_token_is_the_sessions_own(server: TestServer) {
    seed(&server).await;
    let first = open_form_as(&server, &session_token(ADMIN, "sess_a"), "user_2BobBrown").await;
    let again = open_form_as(&server, &session_token(ADMIN, "sess_a"), "user_2EveEvans").await;
    let other = open_form_as(&server, &session_token(ADMIN, "sess_b"), "user_2BobBrown").await;
    assert_eq!(
        first.token, again.token,
        "one token per session, on every page"
    );
    assert_ne!(
        first.token, other.token,
        "another session has another token"
    );
    let grant = format!("csrf_token={}&is_staff=on&is_active=on", other.token);
    let (status, _, _) = post_from(
        &server,
        &session_token(ADMIN, "sess_b"),
        &other,
        Source::SameOrigin,
        &grant,
    )
    .await;
    assert_eq!(status, 303);
}

async fn staff_grant_staff_and_deactivate_users(server: TestServer) {
    seed(&server).await;
    let form = open_form(&server, ADMIN, "user_2BobBrown").await;
    let (status, location, _) = post(
        &server,
        ADMIN,
        &form,
        &format!("csrf_token={}&is_staff=on&is_active=on", form.token),
    )
    .await;
    assert_eq!((status, location), (303, format!("{}?saved=1", form.path)));
    assert_eq!(flags(&server, "user_2BobBrown"), (true, true));
    let page = get(
        &server,
        &format!("{}?saved=1", form.path),
        Auth::Bearer(&token_for("user_2BobBrown")),
    )
    .await;
    assert_eq!(page.status, 200, "Bob is staff now");
    assert!(page.body.contains("Saved."));
    let eve = open_form(&server, ADMIN, "user_2EveEvans").await;
    let (status, _, _) = post(&server, ADMIN, &eve, &format!("csrf_token={}", eve.token)).await;
    assert_eq!(status, 303);
    assert_eq!(
        flags(&server, "user_2EveEvans"),
        (false, false),
        "unticked boxes clear the flags"
    );
}

async fn removing_your_own_access_needs_confirmation_and_another_staff_user(server: TestServer) {
    seed(&server).await;
    let form = open_form(&server, ADMIN, ADMIN).await;
    let page = admin_get(&server, &form.path).await;
    assert!(page.body.contains("This is your own user"));
    let drop_staff = format!("csrf_token={}&is_active=on", form.token);
    let (status, _, body) = post(&server, ADMIN, &form, &drop_staff).await;
    assert_eq!(status, 409);
    assert!(body.contains("remove your own access"), "{body}");
    assert_eq!(flags(&server, ADMIN), (true, true));
    let confirmed = format!("{drop_staff}&confirm_lockout=on");
    let (status, _, body) = post(&server, ADMIN, &form, &confirmed).await;
    assert_eq!(status, 409, "the last staff user cannot leave");
    assert!(body.contains("last active staff user"), "{body}");
    assert_eq!(flags(&server, ADMIN), (true, true));
    promote(&server, "bob@example.com");
    let (status, _, _) = post(&server, ADMIN, &form, &confirmed).await;
    assert_eq!(status, 303);
    assert_eq!(flags(&server, ADMIN), (false, true));
    assert_eq!(
        get(&server, "/admin", Auth::Bearer(&token_for(ADMIN)))
            .await
            .status,
        403
    );
}
