//! Debian's nginx with `deploy/nginx/site.conf` and `deploy/nginx/clerk-sync-auth.conf`, in
//! front of the real clerk-sync and an echoing upstream.

use super::*;

const NGINX: &str = "/usr/sbin/nginx";

/// The committed site, pointed at this test's ports and snippet, inside a minimal nginx.conf
/// whose state lives in `dir`.
fn configure(dir: &Path, port: u16, clerk_sync: &str, upstream: u16) -> PathBuf {
    let site = std::fs::read_to_string(deploy("nginx/site.conf")).expect("deploy/nginx/site.conf");
    let snippet = deploy("nginx/clerk-sync-auth.conf");
    let site = substitute(
        &site,
        "server clerk-sync:8000;",
        &format!("server {clerk_sync};"),
    );
    let site = substitute(
        &site,
        "server frontend:3000;",
        &format!("server 127.0.0.1:{upstream};"),
    );
    let site = substitute(
        &site,
        "server api:8080;",
        &format!("server 127.0.0.1:{upstream};"),
    );
    let site = substitute(&site, "listen 80;", &format!("listen 127.0.0.1:{port};"));
    let site = substitute(
        &site,
        "include /etc/nginx/snippets/clerk-sync-auth.conf;",
        &format!("include {};", snippet.display()),
    );
    std::fs::write(dir.join("site.conf"), site).expect("writes site.conf");
    let state = dir.display();
    let main = format!(
        "worker_processes 1;\n\
         pid {state}/nginx.pid;\n\
         error_log {state}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n\
           access_log off;\n\
           client_body_temp_path {state}/body;\n\
           proxy_temp_path {state}/proxy;\n\
           fastcgi_temp_path {state}/fastcgi;\n\
           uwsgi_temp_path {state}/uwsgi;\n\
           scgi_temp_path {state}/scgi;\n\
           include {state}/site.conf;\n\
         }}\n"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, main).expect("writes nginx.conf");
    path
}

fn start_nginx(binary: &Path, clerk_sync: &str, upstream: u16) -> Proxy {
    let dir = proxy_dir("nginx");
    let port = free_port();
    let conf = configure(&dir, port, clerk_sync, upstream);
    let mut command = Command::new(binary);
    command
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .arg("-g")
        .arg("daemon off;");
    let log = dir.join("stderr.log");
    Proxy::start(command, port, dir, log)
}

#[actix_web::test]
async fn nginx_passes_only_identities_clerk_sync_verified() {
    let Some(binary) = find_proxy(NGINX, "CLERK_SYNC_REQUIRE_NGINX", "apt-get install nginx")
    else {
        return;
    };
    let server = TestServer::sqlite().await;
    let upstream = EchoUpstream::start();
    let clerk_sync = server.base.trim_start_matches("http://").to_owned();
    let proxy = start_nginx(&binary, &clerk_sync, upstream.port);
    check_proxy(
        &server,
        &upstream,
        &proxy,
        "/api/things",
        "/api/admin/things",
    )
    .await;

    // The internal verify location cannot be called from outside, and clerk-sync's own
    // routes are passed on.
    let client = reqwest::Client::new();
    let before = upstream.hits();
    let response = through(&client, &proxy.url("/_clerk_sync/verify"), None, &[]).await;
    assert_eq!(response.status().as_u16(), 404);
    let response = through(&client, &proxy.url("/api/v1/health"), None, &[]).await;
    assert_eq!(response.status().as_u16(), 200);
    let response = through(&client, &proxy.url("/"), None, &[]).await;
    assert_eq!(response.status().as_u16(), 200, "the front end is public");
    assert_eq!(upstream.hits(), before + 1);
}

/// docker-compose.yml's profile "proxy" runs the configuration this file tests, at the path
/// the site's `include` names.
#[test]
fn the_compose_proxy_profile_uses_the_tested_configuration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let compose: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root.join("docker-compose.yml")).expect("docker-compose.yml"),
    )
    .expect("YAML");
    let services = &compose["services"];
    let volumes: Vec<&str> = services["nginx"]["volumes"]
        .as_sequence()
        .expect("the nginx service mounts its configuration")
        .iter()
        .filter_map(serde_yaml::Value::as_str)
        .collect();
    assert!(
        volumes.contains(&"./deploy/nginx/site.conf:/etc/nginx/conf.d/default.conf:ro"),
        "{volumes:?}"
    );
    assert!(
        volumes.contains(
            &"./deploy/nginx/clerk-sync-auth.conf:/etc/nginx/snippets/clerk-sync-auth.conf:ro"
        ),
        "{volumes:?}"
    );
    let site = std::fs::read_to_string(deploy("nginx/site.conf")).expect("site.conf");
    assert!(site.contains("include /etc/nginx/snippets/clerk-sync-auth.conf;"));
    for (service, upstream) in [
        ("clerk-sync", "clerk-sync:8000"),
        ("frontend", "frontend:3000"),
        ("api", "api:8080"),
    ] {
        assert!(
            services[service].is_mapping(),
            "the compose file has no service {service}"
        );
        assert!(site.contains(&format!("server {upstream};")), "{upstream}");
        let profiles = &services[service]["profiles"];
        assert!(
            profiles.is_null()
                || profiles
                    .as_sequence()
                    .is_some_and(|p| p.iter().any(|p| p.as_str() == Some("proxy"))),
            "{service} does not start with the profile proxy"
        );
    }
    assert!(
        services["api"]["ports"].is_null(),
        "the API must be reachable only through nginx"
    );
}
