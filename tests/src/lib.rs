//! The end-to-end harness: the real bridge as a process, the real panel in
//! headless Chromium driven over WebDriver.
//!
//! - [`bridge`]: starts, kills and restarts `mock-bridge`, and calls its control API.
//! - [`browser`]: a chromedriver and a Chromium session per test.
//! - [`panel`]: reads what the page shows and waits for it, with deadlines.
//! - [`nginx`]: a real nginx in front of the bridge, with `deploy/nginx.conf`.
//! - [`network`]: a page's requests, from Chromium's DevTools protocol events.
//!
//! Every process a test starts is owned by a value that kills it on drop, so a
//! failing test leaves nothing behind.

pub mod bridge;
pub mod browser;
pub mod network;
pub mod nginx;
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

/// Serves `dist/` on a free loopback port, as a host page's own web server
/// would (another origin than the bridge's), until the test ends; returns the
/// port. Plain files, no headers beyond the content type.
pub async fn serve_dist() -> u16 {
    serve_dir(workspace_root().join("dist")).await
}

/// Serves the files of `dist` as [`serve_dist`] does `dist/`.
pub async fn serve_dir(dist: PathBuf) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a host port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let dist = dist.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split(' ').nth(1).unwrap_or("/");
                let path = path
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .trim_start_matches('/');
                let file = dist.join(if path.is_empty() { "index.html" } else { path });
                let (status, body) = match std::fs::read(&file) {
                    Ok(body) if !path.contains("..") => ("200 OK", body),
                    _ => ("404 Not Found", b"not found".to_vec()),
                };
                let kind = match file.extension().and_then(|e| e.to_str()) {
                    Some("html") => "text/html; charset=utf-8",
                    Some("js") => "text/javascript",
                    Some("wasm") => "application/wasm",
                    Some("css") => "text/css",
                    _ => "application/octet-stream",
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    port
}
