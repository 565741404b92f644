//! A real headless Chromium for end-to-end tests, driven over the W3C WebDriver protocol by
//! Debian's `chromedriver` (started here on a free loopback port). Nothing is downloaded: the
//! test setup installs `chromium` and `chromium-driver`; their paths can be set with
//! `TAIZHANG_CHROMIUM` and `TAIZHANG_CHROMEDRIVER`.

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use reqwest::Client;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// axe-core, vendored (see `vendor/axe-core/README.md`).
const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");

/// How often a wait looks again, 100 ms apart: 15 s, for a machine that runs the other tests
/// at the same time.
const WAIT_TRIES: usize = 150;

/// The W3C name of an element reference in a WebDriver answer.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The screen a test looks through.
#[derive(Debug, Clone, Copy)]
pub enum Screen {
    /// A phone, 375×812 CSS pixels at twice the density, with touch (Chromium's mobile emulation).
    Phone,
    /// A desk: a 1366×900 window.
    Desk,
}

impl Screen {
    fn label(self) -> &'static str {
        match self {
            Screen::Phone => "375",
            Screen::Desk => "1366",
        }
    }
}

pub struct Browser {
    http: Client,
    session: String,
    driver: Child,
    port: u16,
    screen: Screen,
}

/// Where screenshots go: `browser-shots` under the target directory, kept as CI artefacts.
pub fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-shots")
}

impl Browser {
    pub async fn start(screen: Screen) -> Result<Browser> {
        let driver_bin = std::env::var("TAIZHANG_CHROMEDRIVER")
            .unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium =
            std::env::var("TAIZHANG_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = crate::postgres::free_port()?;
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start {driver_bin} (Debian's chromium-driver)"))?;
        let http = Client::builder().timeout(Duration::from_secs(60)).build()?;
        let mut b = Browser {
            http,
            session: String::new(),
            driver,
            port,
            screen,
        };
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = b.http.get(b.url("/status")).send().await {
                if r.status().is_success() {
                    ready = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ready {
            bail!("chromedriver did not answer on port {port}");
        }
        let mut options = json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--lang=zh-CN", "--no-first-run", "--disable-extensions"],
            "prefs": {"intl.accept_languages": "zh-CN,zh"},
        });
        match screen {
            Screen::Phone => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": {"width": 375, "height": 812, "pixelRatio": 2.0, "touch": true},
                    "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36",
                });
            }
            Screen::Desk => {
                options["args"]
                    .as_array_mut()
                    .ok_or_else(|| anyhow!("args"))?
                    .push(json!("--window-size=1366,900"));
            }
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options,
            "timeouts": {"implicit": 0, "pageLoad": 30000, "script": 30000},
        }}});
        let v = b
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await?;
        b.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session in {v}"))?
            .to_string();
        Ok(b)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut req = self.http.request(method.clone(), self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("webdriver {path}"))?;
        let status = r.status();
        let v: Value = r.json().await.context("webdriver answer")?;
        if !status.is_success() {
            bail!("webdriver {path}: {status} {}", v["value"]);
        }
        Ok(v["value"].clone())
    }

    async fn session_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        self.call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    pub async fn goto(&self, url: &str) -> Result<()> {
        self.session_call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await
            .map(|_| ())
    }

    pub async fn current_url(&self) -> Result<String> {
        let v = self
            .session_call(reqwest::Method::GET, "/url", None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The first element matching a CSS selector, waiting up to 15 s for it to appear.
    pub async fn find(&self, css: &str) -> Result<String> {
        let body = json!({"using": "css selector", "value": css});
        let mut last = String::new();
        for _ in 0..WAIT_TRIES {
            match self
                .session_call(reqwest::Method::POST, "/element", Some(body.clone()))
                .await
            {
                Ok(v) => match v[ELEMENT].as_str() {
                    Some(id) => return Ok(id.to_string()),
                    None => last = v.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "no element {css} on {}: {last}",
            self.current_url().await.unwrap_or_default()
        )
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.session_call(reqwest::Method::POST, &format!("/element/{id}/click"), None)
            .await
            .map(|_| ())
    }

    /// Types into a field as a user's keyboard would (one key event per character).
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.session_call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await
        .map(|_| ())
    }

    pub async fn clear(&self, css: &str) -> Result<()> {
        let id = self.find(css).await?;
        self.session_call(reqwest::Method::POST, &format!("/element/{id}/clear"), None)
            .await
            .map(|_| ())
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        let id = self.find(css).await?;
        let v = self
            .session_call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The text of the dialog the page opened (`confirm`), waiting up to 15 s for it.
    pub async fn dialog_text(&self) -> Result<String> {
        let mut last = String::new();
        for _ in 0..WAIT_TRIES {
            match self
                .session_call(reqwest::Method::GET, "/alert/text", None)
                .await
            {
                Ok(v) => return Ok(v.as_str().unwrap_or_default().to_string()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no dialog: {last}")
    }

    /// Answers the open dialog: OK when `accept`, else Cancel.
    pub async fn answer_dialog(&self, accept: bool) -> Result<()> {
        let path = if accept {
            "/alert/accept"
        } else {
            "/alert/dismiss"
        };
        self.session_call(reqwest::Method::POST, path, None)
            .await
            .map(|_| ())
    }

    /// Runs a script in the page (`arguments` as given) and returns what it returns.
    pub async fn script(&self, js: &str, args: Value) -> Result<Value> {
        self.session_call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": args})),
        )
        .await
    }

    /// Runs a script that answers later: it calls its last argument with the answer (as
    /// WebDriver's asynchronous scripts do), within the session's 30 s script timeout.
    pub async fn script_async(&self, js: &str, args: Value) -> Result<Value> {
        self.session_call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": js, "args": args})),
        )
        .await
    }

    /// Runs a script in every page this tab opens from now on, before the page's own scripts
    /// (Chromium's `Page.addScriptToEvaluateOnNewDocument`); answers its id for
    /// [`Browser::forget_before_pages`].
    pub async fn before_pages(&self, js: &str) -> Result<String> {
        let v = self
            .session_call(
                reqwest::Method::POST,
                "/goog/cdp/execute",
                Some(json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": js}})),
            )
            .await?;
        v["identifier"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| anyhow!("no script id in {v}"))
    }

    /// Stops running a script given to [`Browser::before_pages`] in the pages opened next.
    pub async fn forget_before_pages(&self, id: &str) -> Result<()> {
        self.session_call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": "Page.removeScriptToEvaluateOnNewDocument", "params": {"identifier": id}})),
        )
        .await
        .map(|_| ())
    }

    /// Waits up to 15 s for a script to return something other than null, false or "".
    pub async fn wait_for(&self, js: &str) -> Result<Value> {
        for _ in 0..WAIT_TRIES {
            let v = self.script(js, json!([])).await?;
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return Ok(v);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("waited 15 s for {js}")
    }

    /// How many CSS pixels the page is wider than the screen: 0 when nothing scrolls sideways.
    pub async fn sideways_overflow(&self) -> Result<i64> {
        let v = self
            .script(
                "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth;",
                json!([]),
            )
            .await?;
        v.as_i64().ok_or_else(|| anyhow!("overflow: {v}"))
    }

    /// Runs axe-core on the page and lists its serious and critical violations, each as
    /// `rule: help (n elements: first selector)`.
    pub async fn axe_violations(&self) -> Result<Vec<String>> {
        self.script(&format!("{AXE}\n;return typeof axe;"), json!([]))
            .await
            .context("load axe-core")?;
        let v = self
            .script_async(
                "const done = arguments[arguments.length - 1];
                    axe.run(document, {resultTypes: ['violations']})
                      .then(r => done(r.violations
                        .filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ': ' + v.nodes[0].target.join(' ') + ')')))
                      .catch(e => done(['axe failed: ' + e]));",
                json!([]),
            )
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Saves a PNG of the screen as `browser-shots/<name>-<width>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let v = self
            .session_call(reqwest::Method::GET, "/screenshot", None)
            .await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .context("screenshot base64")?;
        let dir = shots_dir();
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}-{}.png", self.screen.label()));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Logs in through the login form as a demo user.
    pub async fn login(&self, base: &str, username: &str) -> Result<()> {
        self.goto(&format!("{base}/login")).await?;
        self.type_into("input[name=username]", username).await?;
        self.type_into("input[name=password]", crate::PASSWORD)
            .await?;
        self.click("form button").await?;
        self.wait_for("return document.querySelector('header .brand') !== null")
            .await
            .with_context(|| format!("log in as {username}"))?;
        Ok(())
    }

    pub async fn quit(mut self) {
        let _ = self
            .call(
                reqwest::Method::DELETE,
                &format!("/session/{}", self.session),
                None,
            )
            .await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that fails before `quit` still leaves no browser behind: the session is ended
        // (which closes Chromium) by a plain blocking request, then the driver.
        if !self.session.is_empty() {
            use std::io::{Read, Write};
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = write!(
                    s,
                    "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.session
                );
                let _ = s.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
