//! Just enough of a W3C WebDriver client to drive headless Chromium through chromedriver:
//! navigate, find, click, type, read the page, take screenshots. (The protocol is JSON over
//! HTTP; `reqwest`, already here for the API tests, speaks it without another dependency.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::common::free_port;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium session, and the chromedriver that runs it (killed on `Drop`).
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    profile: PathBuf,
}

/// Where the browser and its driver are, when both are installed.
pub fn find_browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            [
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ]
            .iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
        })?;
    let driver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")))
        .filter(|path| path.exists())?;
    chromium.exists().then_some((chromium, driver))
}

/// Says on the terminal (past the test harness's capture) that the browser test is skipped.
pub fn announce_skip() {
    let _ignored = writeln!(
        std::io::stderr(),
        "\nNOTE: the admin browser test was SKIPPED: Chromium and chromedriver were not found \
         (install Debian's chromium and chromium-driver packages, or set CHROMIUM and \
         CHROMEDRIVER). Set CLERK_SYNC_REQUIRE_BROWSER=1 to make this an error.\n"
    );
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile and a laptop-sized
    /// window.
    pub async fn start(chromium: &Path, driver: &Path) -> Self {
        let port = free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile =
            std::env::temp_dir().join(format!("clerk-sync-chromium-{port}-{}", std::process::id()));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            let status = http.get(format!("{base}/status")).send().await;
            if let Ok(response) = status {
                let body: Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == json!(true) {
                    ready = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not become ready on port {port}");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1366,900",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let response: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        let id = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {response}"));
        let browser = Self {
            http,
            session: format!("{base}/session/{id}"),
            driver,
            profile,
        };
        // Element lookups wait for the element (a page may still be loading on a busy machine).
        browser
            .command(
                reqwest::Method::POST,
                "/timeouts",
                Some(json!({"implicit": 10_000})),
            )
            .await;
        browser
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("JSON");
        if let Some(error) = response["value"]["error"].as_str() {
            panic!(
                "WebDriver {path}: {error}: {}",
                response["value"]["message"]
            );
        }
        response["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Sets a cookie for the current page's site.
    pub async fn add_cookie(&self, name: &str, value: &str) {
        let cookie = json!({"cookie": {"name": name, "value": value, "path": "/", "httpOnly": true, "sameSite": "Lax"}});
        self.command(reqwest::Method::POST, "/cookie", Some(cookie))
            .await;
    }

    async fn find_by(&self, using: &str, value: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": using, "value": value})),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {value}"))
            .to_owned()
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        self.find_by("css selector", css).await
    }

    async fn click_element(&self, element: &str) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.click_element(&element).await;
    }

    /// Clicks the link whose text is exactly `text`.
    pub async fn click_link(&self, text: &str) {
        let element = self.find_by("link text", text).await;
        self.click_element(&element).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> String {
        self.command(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the page (its address or its HTML) contains `needle`, and returns the
    /// HTML: a click that navigates may return before the next page is there.
    pub async fn wait_for(&self, needle: &str) -> String {
        let mut source = String::new();
        for _ in 0..100 {
            source = self.source().await;
            if source.contains(needle) || self.current_url().await.contains(needle) {
                return source;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never showed {needle:?}: {source}");
    }

    pub async fn current_url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves a PNG of the window.
    pub async fn screenshot(&self, path: &Path) {
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        std::fs::write(path, png)
            .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    }

    pub async fn quit(mut self) {
        let _ignored = self.http.delete(&self.session).send().await;
        let _ignored = self.driver.kill();
        let _ignored = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ignored = self.driver.kill();
        let _ignored = self.driver.wait();
        let _ignored = std::fs::remove_dir_all(&self.profile);
    }
}
