//! The end-to-end harness: the real bridge as a process, the real panel in
//! headless Chromium driven over WebDriver.
//!
//! - [`bridge`]: starts, kills and restarts `mock-bridge`, and calls its control API.
//! - [`browser`]: a chromedriver and a Chromium session per test.
//! - [`panel`]: reads what the page shows and waits for it, with deadlines.
//!
//! Every process a test starts is owned by a value that kills it on drop, so a
//! failing test leaves nothing behind.

pub mod bridge;
pub mod browser;
pub mod panel;

use std::path::PathBuf;
use std::time::Duration;

/// The workspace root (where `dist/` is).
/// Milliseconds since the Unix epoch, as the page's `performance.timeOrigin +
/// performance.now()` counts them, so that the test's and the page's times compare.
pub fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1_000.0)
        .unwrap_or(0.0)
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_owned()
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The error type of the harness: a sentence with what was seen.
pub type Error = String;

/// Polls `check` every 25 ms until it returns `Some`, or fails after `within`.
pub async fn wait_until<T, F, Fut>(within: Duration, what: &str, mut check: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("timed out after {within:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until `url` answers with a success status, or fails after `within`.
pub async fn wait_until_answers(url: &str, within: Duration, what: &str) -> Result<(), Error> {
    let http = reqwest::Client::new();
    wait_until(within, what, || {
        let (url, http) = (url.to_owned(), http.clone());
        async move {
            http.get(&url)
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
                .map(|_| ())
        }
    })
    .await
}
