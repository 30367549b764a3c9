//! Who may open the admin pages: staff only, by cookie or bearer token; the others get a page
//! that says why and what to do.

use serde_json::json;

use super::*;

fn header<'a>(page: &'a Page, name: &str) -> &'a str {
    page.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

server_tests!(
    without_a_token_the_admin_gets_a_sign_in_page,
    refused_tokens_get_the_sign_in_page_with_the_reason,
    signed_in_users_who_are_not_staff_get_403,
    staff_get_in_by_cookie_or_by_bearer_token,
    an_inactive_staff_user_is_refused,
    the_stylesheet_is_public_and_unknown_pages_are_404,
);

async fn without_a_token_the_admin_gets_a_sign_in_page(server: TestServer) {
    seed(&server).await;
    for path in [
        "/admin",
        "/admin/",
        "/admin/users",
        "/admin/users/1",
        "/admin/webhook-events/1",
    ] {
        let page = get(&server, path, Auth::None).await;
        assert_eq!(page.status, 401, "{path}");
        assert!(
            header(&page, "content-type").starts_with("text/html"),
            "{path}"
        );
        assert_eq!(header(&page, "www-authenticate"), "Bearer");
        assert!(page.body.contains("Sign in to continue"), "{}", page.body);
        assert!(
            page.body.contains("__session"),
            "the page says how to sign in"
        );
        assert!(page.body.contains("promote-staff"));
        assert!(
            !page.body.contains("ada@example.com"),
            "nothing of the mirror leaks"
        );
    }
}

async fn refused_tokens_get_the_sign_in_page_with_the_reason(server: TestServer) {
    seed(&server).await;
    let now = unix_now();
    let expired =
        sign(&json!({"sub": ADMIN, "iat": now - 600, "nbf": now - 600, "exp": now - 300}));
    let foreign = sign_with(&claims(ADMIN), "tests/fixtures/keys/other_private.pem");
    for (token, reason) in [
        ("not-a-jwt", "Could not validate credentials"),
        (expired.as_str(), "Token has expired"),
        (foreign.as_str(), "Could not validate credentials"),
    ] {
        for auth in [Auth::Bearer(token), Auth::Cookie(token)] {
            let page = get(&server, "/admin/users", auth).await;
            assert_eq!(page.status, 401);
            assert!(page.body.contains(reason), "{reason}: {}", page.body);
        }
    }
}

async fn signed_in_users_who_are_not_staff_get_403(server: TestServer) {
    seed(&server).await;
    let page = get(
        &server,
        "/admin/users",
        Auth::Cookie(&token_for("user_2BobBrown")),
    )
    .await;
    assert_eq!(page.status, 403);
    assert!(
        page.body.contains("not an active staff user"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("carol@acme.test"));
    let page = get(
        &server,
        "/admin",
        Auth::Bearer(&token_for("user_2NeverSynced")),
    )
    .await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("has not been synced"), "{}", page.body);
}

async fn staff_get_in_by_cookie_or_by_bearer_token(server: TestServer) {
    seed(&server).await;
    let token = token_for(ADMIN);
    for auth in [Auth::Cookie(&token), Auth::Bearer(&token)] {
        let page = get(&server, "/admin/", auth).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Overview") && page.body.contains(ADMIN_EMAIL));
        assert_eq!(header(&page, "cache-control"), "no-store");
        assert!(header(&page, "content-security-policy").contains("default-src 'none'"));
        assert_eq!(header(&page, "x-frame-options"), "DENY");
    }
    let page = admin_get(&server, "/admin").await;
    assert!(
        page.body.contains("1 rejected"),
        "the overview counts rejected deliveries: {}",
        page.body
    );
    assert!(
        page.body.contains("1 webhook delivery was rejected"),
        "one delivery, in the singular: {}",
        page.body
    );
}

async fn an_inactive_staff_user_is_refused(server: TestServer) {
    seed(&server).await;
    promote(&server, "bob@example.com");
    assert_eq!(
        get(
            &server,
            "/admin",
            Auth::Bearer(&token_for("user_2BobBrown"))
        )
        .await
        .status,
        200
    );
    {
        use clerk_sync_persistence::schema::users;
        use diesel::prelude::*;
        let mut conn = server.conn();
        diesel::update(users::table.filter(users::clerk_id.eq("user_2BobBrown")))
            .set(users::is_active.eq(false))
            .execute(&mut *conn)
            .expect("deactivates");
    }
    assert_eq!(
        get(
            &server,
            "/admin",
            Auth::Bearer(&token_for("user_2BobBrown"))
        )
        .await
        .status,
        403
    );
}

async fn the_stylesheet_is_public_and_unknown_pages_are_404(server: TestServer) {
    let page = get(&server, "/admin/static/admin.css", Auth::None).await;
    assert_eq!(page.status, 200);
    assert!(header(&page, "content-type").starts_with("text/css"));
    assert!(page.body.contains(".topbar"));
    let page = get(&server, "/admin/nope", Auth::None).await;
    assert_eq!(page.status, 404);
    assert!(header(&page, "content-type").starts_with("text/html"));
    seed(&server).await;
    for path in [
        "/admin/users/999999",
        "/admin/users/abc",
        "/admin/organizations/0",
        "/admin/webhook-events/999999",
    ] {
        let token = token_for(ADMIN);
        let page = get(&server, path, Auth::Bearer(&token)).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("Not found"), "{path}");
    }
}
