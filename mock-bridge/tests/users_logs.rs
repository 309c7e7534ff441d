//! A sign-in token never reaches the bridge's logs, at any level. A test binary
//! of its own: it installs the process's log subscriber.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use support::*;

/// Collects every log line of the bridge while the test runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_token_never_reaches_the_logs() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter("mock_bridge=trace,tower_http=trace,axum=trace,hyper=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let bridge = start_with_users("alice-s3cret-token Alice\n", &[]).await;
    let stream = Stream::open(
        &bridge,
        "/api/channels/general/events?access_token=alice-s3cret-token",
        None,
    )
    .await;
    let client = reqwest::Client::new();
    let history = url(&bridge, "/api/channels/general/messages");
    for token in ["alice-s3cret-token", "wrong-s3cret-token"] {
        client
            .get(&history)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
    }
    let refused = url(
        &bridge,
        "/api/events?channels=a&access_token=wrong-s3cret-token",
    );
    assert_eq!(reqwest::get(refused).await.unwrap().status(), 401);
    client
        .delete(url(&bridge, "/internal/users"))
        .json(&serde_json::json!({ "token": "alice-s3cret-token" }))
        .send()
        .await
        .unwrap();
    tokio::time::timeout(SOON, stream.wait_ended())
        .await
        .unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("stream opened") && text.contains("revoked"),
        "the bridge's logs were not captured: {text}"
    );
    assert!(!text.contains("s3cret"), "a token in the logs:\n{text}");
}
