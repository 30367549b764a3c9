//! Debian's Caddy with `deploy/caddy/Caddyfile`, in front of the real clerk-sync and an
//! echoing upstream.

use super::*;

const CADDY: &str = "/usr/bin/caddy";

#[actix_web::test]
async fn caddy_passes_only_identities_clerk_sync_verified() {
    let Some(binary) = find_proxy(CADDY, "CLERK_SYNC_REQUIRE_CADDY", "apt-get install caddy")
    else {
        return;
    };
    let server = TestServer::sqlite().await;
    let upstream = EchoUpstream::start();
    let dir = proxy_dir("caddy");
    let port = free_port();
    let upstream_address = format!("127.0.0.1:{}", upstream.port);
    let mut command = Command::new(binary);
    command
        .arg("run")
        .arg("--adapter")
        .arg("caddyfile")
        .arg("--config")
        .arg(deploy("caddy/Caddyfile"))
        .env_clear()
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", &dir)
        .env("XDG_CONFIG_HOME", &dir)
        .env("CLERK_SYNC", server.base.trim_start_matches("http://"))
        .env("API", &upstream_address)
        .env("FRONTEND", &upstream_address)
        .env("SITE", format!("http://127.0.0.1:{port}"));
    let log = dir.join("caddy.log");
    let proxy = Proxy::start(command, port, dir, log);
    check_proxy(
        &server,
        &upstream,
        &proxy,
        "/api/things",
        "/api/admin/things",
    )
    .await;
}
