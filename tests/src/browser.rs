//! A chromedriver process and one headless Chromium session; both end on drop.

use crate::{free_port, wait_until_answers, Error};
use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A browser for one test.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_port: u16,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with the flags this machine needs.
    pub async fn start() -> Result<Browser, Error> {
        Browser::start_with(&[]).await
    }

    /// The same, with more Chromium flags (`--ignore-certificate-errors` for
    /// a test's own TLS certificate).
    pub async fn start_with(extra: &[&str]) -> Result<Browser, Error> {
        Browser::launch(extra, false).await
    }

    /// The same, recording the DevTools protocol's `Network.*` events of
    /// every tab, which [`Browser::network_log`] hands over (for benchmarks
    /// that need each request's timing, initiator and bytes on the wire).
    pub async fn start_logging_network(extra: &[&str]) -> Result<Browser, Error> {
        Browser::launch(extra, true).await
    }

    async fn launch(extra: &[&str], log_network: bool) -> Result<Browser, Error> {
        let port = free_port();
        let driver_path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start {driver_path} (scripts/setup.sh installs it): {e}")
            })?;
        let profile = std::env::temp_dir().join(format!("e2e-chromium-{port}"));
        let mut browser_guard = DriverGuard(Some(driver));
        let url = format!("http://127.0.0.1:{port}");
        wait_until_answers(
            &format!("{url}/status"),
            Duration::from_secs(10),
            "chromedriver to answer",
        )
        .await?;
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
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
            "--window-size=1100,700",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let args: Vec<&str> = args.iter().copied().chain(extra.iter().copied()).collect();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        let mut options = json!({ "binary": binary, "args": args });
        if log_network {
            options["perfLoggingPrefs"] = json!({ "enableNetwork": true, "enablePage": false });
            capabilities.insert("goog:loggingPrefs".into(), json!({ "performance": "ALL" }));
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&url)
            .await
            .map_err(|e| format!("cannot open a Chromium session: {e}"))?;
        let session = client.session_id().await.ok().flatten().unwrap_or_default();
        let driver = browser_guard.0.take().expect("guard holds the driver");
        Ok(Browser {
            client,
            driver,
            driver_port: port,
            session,
            profile,
        })
    }

    /// Takes this browser off the network, or puts it back, the way DevTools'
    /// "Offline" does: requests fail with `ERR_INTERNET_DISCONNECTED`,
    /// `navigator.onLine` turns false, and the page gets `offline` / `online`.
    /// Starts recording every label the panel shows, with when it appeared (ms
    /// since the Unix epoch, see [`crate::epoch_ms`]), in the page itself: no
    /// short-lived state is missed by polling.
    pub async fn record_labels(&self) -> Result<(), Error> {
        self.client
            .execute(
                r#"const el = document.querySelector('[data-connection-status]');
                   const now = () => performance.timeOrigin + performance.now();
                   window.__labels = [[now(), el.getAttribute('data-connection-status')]];
                   new MutationObserver(() => {
                     const label = el.getAttribute('data-connection-status');
                     if (window.__labels[window.__labels.length - 1][1] !== label) window.__labels.push([now(), label]);
                   }).observe(el, { attributes: true, attributeFilter: ['data-connection-status'] });"#,
                vec![],
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("recording labels: {e}"))
    }

    /// The labels shown since [`Browser::record_labels`]: when, and which.
    pub async fn label_timeline(&self) -> Result<Vec<(f64, String)>, Error> {
        let value = self
            .client
            .execute("return window.__labels || [];", vec![])
            .await
            .map_err(|e| format!("reading the labels: {e}"))?;
        serde_json::from_value(value).map_err(|e| format!("unexpected label timeline: {e}"))
    }

    pub async fn set_offline(&self, offline: bool) -> Result<(), Error> {
        let rules = if offline {
            json!([{ "urlPattern": "", "offline": true, "latency": 0,
                     "downloadThroughput": -1, "uploadThroughput": -1 }])
        } else {
            json!([])
        };
        // Requests are governed by the rules (Chromium 13x on), the navigator's
        // state and its events by the override.
        self.cdp("Network.enable", json!({})).await?;
        self.cdp(
            "Network.emulateNetworkConditionsByRule",
            json!({ "matchedNetworkConditions": rules }),
        )
        .await?;
        self.cdp(
            "Network.overrideNetworkState",
            json!({ "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await
    }

    /// Runs one DevTools protocol command on the page, through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: serde_json::Value) -> Result<(), Error> {
        self.cdp_value(cmd, params).await.map(|_| ())
    }

    /// Runs one DevTools protocol command on the current tab; returns its result.
    pub async fn cdp_value(
        &self,
        cmd: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        let url = format!(
            "http://127.0.0.1:{}/session/{}/goog/cdp/execute",
            self.driver_port, self.session
        );
        let response = reqwest::Client::new()
            .post(&url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("{cmd}: {e}"))?;
        if !response.status().is_success() {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            return Err(format!("{cmd} refused ({status}): {text}"));
        }
        let body: serde_json::Value = response.json().await.map_err(|e| format!("{cmd}: {e}"))?;
        Ok(body["value"].clone())
    }

    /// The DevTools protocol events recorded since the last call (each a
    /// `{method, params}`), for a browser started with
    /// [`Browser::start_logging_network`].
    pub async fn network_log(&self) -> Result<Vec<serde_json::Value>, Error> {
        let url = format!(
            "http://127.0.0.1:{}/session/{}/se/log",
            self.driver_port, self.session
        );
        let response = reqwest::Client::new()
            .post(&url)
            .json(&json!({ "type": "performance" }))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| format!("the performance log: {e}"))?;
        let body: serde_json::Value =
            (response.json().await).map_err(|e| format!("the performance log: {e}"))?;
        let entries =
            (body["value"].as_array()).ok_or_else(|| format!("no performance log: {body}"))?;
        // Each entry's message is the event as JSON text: {"message": {...}}.
        Ok((entries.iter())
            .filter_map(|entry| entry["message"].as_str())
            .filter_map(|text| serde_json::from_str::<serde_json::Value>(text).ok())
            .map(|event| event["message"].clone())
            .collect())
    }

    /// Saves a screenshot to `tests/artifacts/<name>.png`; returns the path.
    pub async fn screenshot(&self, name: &str) -> Option<PathBuf> {
        let png = self.client.screenshot().await.ok()?;
        let dir = crate::workspace_root().join("tests").join("artifacts");
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).ok()?;
        Some(path)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask chromedriver to end the session (it closes Chromium), synchronously
        // because drop cannot wait on the runtime; then make sure nothing is left.
        use std::io::{Read, Write};
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.driver_port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(format!("user-data-dir={}", self.profile.display()))
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Watches a page from before its own scripts run (see [`Browser::watch_page`]):
/// keeps every uncaught error, unhandled rejection and `console.error` line in
/// `window.__problems`, counts the Content-Security-Policy violations in
/// `window.__csp`, and counts the `Intl` date and relative-time formatters
/// the page builds in `window.__intl` (through a wrapped constructor).
pub const WATCH_PAGE: &str = r#"
window.__problems = [];
window.__csp = 0;
window.__intl = 0;
addEventListener('error', (e) => window.__problems.push('error: ' + (e.message || e)));
addEventListener('unhandledrejection', (e) => window.__problems.push('unhandled rejection: ' + e.reason));
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp++;
  window.__problems.push('CSP violation: ' + e.violatedDirective);
});
const error = console.error;
console.error = (...args) => { window.__problems.push('console.error: ' + args.join(' ')); error.apply(console, args); };
for (const name of ['DateTimeFormat', 'RelativeTimeFormat']) {
  Intl[name] = new Proxy(Intl[name], {
    construct(target, args) { window.__intl++; return Reflect.construct(target, args); },
  });
}
"#;

impl Browser {
    /// Installs [`WATCH_PAGE`] in every page this tab opens from now on.
    pub async fn watch_page(&self) -> Result<(), Error> {
        let source = json!({ "source": WATCH_PAGE });
        self.cdp("Page.addScriptToEvaluateOnNewDocument", source)
            .await
    }

    /// What [`WATCH_PAGE`] saw go wrong in the current page, in order.
    pub async fn page_problems(&self) -> Result<Vec<String>, Error> {
        let value = (self.client)
            .execute(
                "return window.__problems || ['the page is not watched'];",
                vec![],
            )
            .await
            .map_err(|e| format!("reading the page's problems: {e}"))?;
        serde_json::from_value(value).map_err(|e| format!("unexpected problems: {e}"))
    }
}

/// Kills chromedriver if starting the session fails half-way.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where scripts/setup.sh installs axe-core from npm (`AXE_CORE` names
/// another `axe.min.js`).
pub fn axe_path() -> PathBuf {
    if let Ok(path) = std::env::var("AXE_CORE") {
        return path.into();
    }
    let cache = std::env::var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache")
        });
    cache.join("discussion-panel/axe-core/node_modules/axe-core/axe.min.js")
}

/// Runs axe-core on the panel (not the demo page around it) for the rules
/// tagged WCAG 2.0, 2.1 and 2.2 A and AA; answers each violation as
/// `rule (impact): element: why`, none when it passes.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
axe.run(document.querySelector('.discussion-panel'), { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
  .then(r => done(r.violations.flatMap(v => v.nodes.map(n =>
    `${v.id} (${v.impact}): ${n.target.join(' ')} ${n.html.slice(0, 160)}: ${n.failureSummary}`))))
  .catch(e => done([`axe failed: ${e}`]));
"#;

impl Browser {
    /// axe-core's WCAG 2.x A/AA violations in the panel as it is now (see
    /// [`AXE_RUN`]); axe is put in the page through the DevTools protocol
    /// the first time.
    pub async fn axe_violations(&self) -> Result<Vec<String>, Error> {
        let loaded = (self
            .client
            .execute("return typeof window.axe;", vec![])
            .await)
            .map_err(|e| format!("reading the page: {e}"))?;
        if loaded != "object" {
            let path = axe_path();
            let source = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "axe-core is not at {} (scripts/setup.sh installs it): {e}",
                    path.display()
                )
            })?;
            self.cdp_value("Runtime.evaluate", json!({ "expression": source }))
                .await?;
        }
        let found = (self.client.execute_async(AXE_RUN, vec![]).await)
            .map_err(|e| format!("running axe: {e}"))?;
        serde_json::from_value(found).map_err(|e| format!("axe's answer: {e}"))
    }

    /// Emulates whether the reader asks for less motion
    /// (`prefers-reduced-motion`: `reduce` or `no-preference`).
    pub async fn emulate_motion(&self, motion: &str) -> Result<(), Error> {
        let features = json!([{ "name": "prefers-reduced-motion", "value": motion }]);
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": features }),
        )
        .await
    }

    /// Emulates the reader's preferences: `prefers-color-scheme` (`light`
    /// or `dark`) and `forced-colors` (`active` or `none`).
    pub async fn emulate(&self, scheme: &str, forced: &str) -> Result<(), Error> {
        let features = json!([
            { "name": "prefers-color-scheme", "value": scheme },
            { "name": "forced-colors", "value": forced },
        ]);
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": features }),
        )
        .await
    }
}

/// Types `text` into the panel's composer and presses Enter, as a reader does.
pub async fn type_reply(client: &fantoccini::Client, text: &str) -> Result<(), Error> {
    use fantoccini::{key::Key, Locator};
    let input = (client
        .find(Locator::Css(r#"textarea[data-action="compose"]"#))
        .await)
        .map_err(|e| format!("no composer: {e}"))?;
    (input
        .send_keys(&format!("{text}{}", char::from(Key::Enter)))
        .await)
        .map_err(|e| format!("typing: {e}"))
}

/// A script that keeps the panel's console lines (it logs each decision) in
/// `window.__panelLog`, where a test can read them.
pub const CAPTURE_PANEL_LOG: &str = r#"
window.__panelLog = [];
for (const level of ['info', 'warn', 'error']) {
  const original = console[level];
  console[level] = (...args) => { window.__panelLog.push(args.join(' ')); original.apply(console, args); };
}
"#;
