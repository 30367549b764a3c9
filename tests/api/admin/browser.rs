//! End to end in a real headless Chromium: sign in with a staff `__session` cookie, search a
//! user, open an organization, toggle `is_staff`, with a screenshot of each page in
//! `target/admin-screenshots/`; and the API docs page (`/docs`) rendered by Swagger UI.

use std::path::PathBuf;

use clerk_sync_persistence::schema::users;
use diesel::prelude::*;

use super::webdriver::{Browser, announce_skip, find_browser};
use super::*;

/// `target/admin-screenshots`, next to the test binary's profile folder.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/api-<hash>
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the target folder")
        .to_path_buf();
    let dir = target.join("admin-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

fn carol_is_staff(server: &TestServer) -> bool {
    let mut conn = server.conn();
    users::table
        .filter(users::clerk_id.eq("user_2CarolChen"))
        .select(users::is_staff)
        .first(&mut *conn)
        .expect("Carol")
}

#[actix_web::test]
async fn a_staff_user_finds_a_user_opens_an_organization_and_grants_staff_in_chromium() {
    let Some((chromium, driver)) = find_browser() else {
        assert!(
            std::env::var("CLERK_SYNC_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "CLERK_SYNC_REQUIRE_BROWSER=1 but Chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
        );
        announce_skip();
        return;
    };
    let server = TestServer::sqlite().await;
    seed(&server).await;
    let shots = screenshot_dir();
    let browser = Browser::start(&chromium, &driver).await;

    browser.goto(&server.url("/admin")).await;
    assert!(browser.source().await.contains("Sign in to continue"));
    browser.screenshot(&shots.join("01-sign-in.png")).await;

    browser.add_cookie("__session", &token_for(ADMIN)).await;
    browser.goto(&server.url("/admin/")).await;
    let overview = browser.source().await;
    assert!(
        overview.contains("Overview") && overview.contains(ADMIN_EMAIL),
        "{overview}"
    );
    browser.screenshot(&shots.join("02-overview.png")).await;

    browser
        .type_into("form.search input[name=q]", "carol")
        .await;
    browser.click("form.search button[type=submit]").await;
    let results = browser.wait_for("/admin/users?q=carol").await;
    assert!(
        results.contains("carol@acme.test") && !results.contains("dave@acme.test"),
        "{results}"
    );
    browser.screenshot(&shots.join("03-user-search.png")).await;

    browser.click("nav a[href='/admin/organizations']").await;
    browser.wait_for("<h1>Organizations</h1>").await;
    browser
        .type_into("form.filters input[name=q]", "acme")
        .await;
    browser.click("form.filters button[type=submit]").await;
    browser.wait_for("/admin/organizations?q=acme").await;
    browser
        .click("table tbody a[href^='/admin/organizations/']")
        .await;
    let organization = browser.wait_for("Members").await;
    assert!(
        organization.contains("Acme Corp") && organization.contains("org:billing"),
        "{organization}"
    );
    browser.screenshot(&shots.join("04-organization.png")).await;

    browser.click_link("carol@acme.test").await;
    let user = browser.wait_for("Local settings").await;
    assert!(
        user.contains("Carol Chen") && user.contains("synced from Clerk"),
        "{user}"
    );
    assert!(!carol_is_staff(&server));
    browser.click("input[name=is_staff]").await;
    browser.screenshot(&shots.join("05-user-edit.png")).await;
    browser.click("form[method=post] button[type=submit]").await;
    browser.wait_for("Saved.").await;
    assert!(
        carol_is_staff(&server),
        "the form toggled is_staff in the database"
    );
    browser.screenshot(&shots.join("06-user-saved.png")).await;

    browser
        .goto(&server.url("/admin/memberships?sort=organization&dir=asc"))
        .await;
    browser.screenshot(&shots.join("07-memberships.png")).await;
    browser.goto(&server.url("/admin/webhook-events")).await;
    browser
        .screenshot(&shots.join("08-webhook-events.png"))
        .await;
    browser
        .goto(&server.url("/admin/webhook-events?outcome=rejected"))
        .await;
    browser
        .click("table tbody a[href^='/admin/webhook-events/']")
        .await;
    assert!(browser.wait_for("Payload").await.contains("rejected"));
    browser
        .screenshot(&shots.join("09-webhook-event.png"))
        .await;
    browser.quit().await;
}

/// `/docs` in Chromium: Swagger UI starts under the page's Content-Security-Policy, from the
/// assets the server serves, and shows every documented operation.
#[actix_web::test]
async fn the_api_docs_render_every_operation_in_chromium() {
    let Some((chromium, driver)) = find_browser() else {
        assert!(
            std::env::var("CLERK_SYNC_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "CLERK_SYNC_REQUIRE_BROWSER=1 but Chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
        );
        announce_skip();
        return;
    };
    let server = TestServer::sqlite().await;
    let browser = Browser::start(&chromium, &driver).await;
    browser.goto(&server.url("/docs")).await;
    // Swagger UI renders each operation with its path in `data-path`.
    browser
        .find(".opblock-summary-path[data-path='/api/v1/auth/me/']")
        .await;
    let page = browser.wait_for("/api/v1/auth/clerk_webhook/").await;
    for route in clerk_sync_http::routing::all().filter(|route| route.is_documented()) {
        let method = format!("opblock-{}", route.method.as_str().to_lowercase());
        assert!(
            page.contains(&format!("data-path=\"{}\"", route.path)) && page.contains(&method),
            "Swagger UI does not show {} {}",
            route.method,
            route.path
        );
    }
    browser
        .screenshot(&screenshot_dir().join("10-api-docs.png"))
        .await;
    browser.quit().await;
}
