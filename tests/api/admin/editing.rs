//! Editing the local flags: CSRF-protected forms, one transaction, and no silent lock-out.

use clerk_sync_persistence::schema::users;
use diesel::prelude::*;

use super::*;

struct Form {
    path: String,
    cookie: String,
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

/// Opens a user's page as `as_user` and reads its form: the CSRF cookie and hidden token.
async fn open_form(server: &TestServer, as_user: &str, clerk_id: &str) -> Form {
    let path = format!("/admin/users/{}", local_id(server, clerk_id));
    let response = server
        .client
        .get(server.url(&path))
        .bearer_auth(token_for(as_user))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a CSRF cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    let body = response.text().await.expect("body");
    let token = hidden(&body, "csrf_token").expect("the form carries the token");
    assert_eq!(cookie, format!("clerk_sync_csrf={token}"));
    Form {
        path,
        cookie,
        token,
    }
}

async fn post(
    server: &TestServer,
    as_user: &str,
    form: &Form,
    cookie: Option<&str>,
    fields: &str,
) -> (u16, String, String) {
    let mut request = no_redirects()
        .post(server.url(&form.path))
        .bearer_auth(token_for(as_user))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(fields.to_owned());
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
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

server_tests! {
    a_form_without_this_browsers_token_is_refused(server) {
        seed(&server).await;
        let form = open_form(&server, ADMIN, "user_2BobBrown").await;
        let grant = format!("csrf_token={}&is_staff=on&is_active=on", form.token);
        let (status, _, body) = post(&server, ADMIN, &form, None, &grant).await;
        assert_eq!(status, 403, "no cookie");
        assert!(body.contains("The form could not be accepted"), "{body}");
        let (status, _, _) = post(&server, ADMIN, &form, Some(&form.cookie), "is_staff=on&is_active=on").await;
        assert_eq!(status, 403, "no token");
        let (status, _, _) = post(&server, ADMIN, &form, Some("clerk_sync_csrf=forgedforgedforgedforgedforgedforged"), &grant).await;
        assert_eq!(status, 403, "another token");
        let response = no_redirects().post(server.url(&form.path)).bearer_auth(token_for(ADMIN))
            .header("cookie", &form.cookie).header("sec-fetch-site", "cross-site")
            .header("content-type", "application/x-www-form-urlencoded").body(grant.clone()).send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 403, "from another site");
        assert_eq!(flags(&server, "user_2BobBrown"), (false, true), "nothing was written");
        let (status, _, _) = post(&server, "user_2BobBrown", &form, Some(&form.cookie), &grant).await;
        assert_eq!(status, 403, "a non-staff user cannot post even with a token");
        assert_eq!(flags(&server, "user_2BobBrown"), (false, true));
    }

    staff_grant_staff_and_deactivate_users(server) {
        seed(&server).await;
        let form = open_form(&server, ADMIN, "user_2BobBrown").await;
        let (status, location, _) = post(&server, ADMIN, &form, Some(&form.cookie), &format!("csrf_token={}&is_staff=on&is_active=on", form.token)).await;
        assert_eq!((status, location), (303, format!("{}?saved=1", form.path)));
        assert_eq!(flags(&server, "user_2BobBrown"), (true, true));
        let page = get(&server, &format!("{}?saved=1", form.path), Auth::Bearer(&token_for("user_2BobBrown"))).await;
        assert_eq!(page.status, 200, "Bob is staff now");
        assert!(page.body.contains("Saved."));
        let eve = open_form(&server, ADMIN, "user_2EveEvans").await;
        let (status, _, _) = post(&server, ADMIN, &eve, Some(&eve.cookie), &format!("csrf_token={}", eve.token)).await;
        assert_eq!(status, 303);
        assert_eq!(flags(&server, "user_2EveEvans"), (false, false), "unticked boxes clear the flags");
    }

    removing_your_own_access_needs_confirmation_and_another_staff_user(server) {
        seed(&server).await;
        let form = open_form(&server, ADMIN, ADMIN).await;
        let page = admin_get(&server, &form.path).await;
        assert!(page.body.contains("This is your own user"));
        let drop_staff = format!("csrf_token={}&is_active=on", form.token);
        let (status, _, body) = post(&server, ADMIN, &form, Some(&form.cookie), &drop_staff).await;
        assert_eq!(status, 409);
        assert!(body.contains("remove your own access"), "{body}");
        assert_eq!(flags(&server, ADMIN), (true, true));
        let confirmed = format!("{drop_staff}&confirm_lockout=on");
        let (status, _, body) = post(&server, ADMIN, &form, Some(&form.cookie), &confirmed).await;
        assert_eq!(status, 409, "the last staff user cannot leave");
        assert!(body.contains("last active staff user"), "{body}");
        assert_eq!(flags(&server, ADMIN), (true, true));
        promote(&server, "bob@example.com");
        let (status, _, _) = post(&server, ADMIN, &form, Some(&form.cookie), &confirmed).await;
        assert_eq!(status, 303);
        assert_eq!(flags(&server, ADMIN), (false, true));
        assert_eq!(get(&server, "/admin", Auth::Bearer(&token_for(ADMIN))).await.status, 403);
    }
}
