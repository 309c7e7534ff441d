//! Helpers for the bridge's integration tests: a bridge on port 0, an SSE frame
//! reader over a real socket, and deadline waits.

#![allow(dead_code)]

use bridge_client::{BridgeClient, ConnectionsReport};
use clap::Parser;
use futures_util::StreamExt;
use mock_bridge::config::Config;
use mock_bridge::RunningBridge;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub const SOON: Duration = Duration::from_secs(5);

/// Starts a bridge in-process on a free loopback port with `args`.
pub async fn start(args: &[&str]) -> RunningBridge {
    let mut argv = vec!["mock-bridge", "--listen", "127.0.0.1:0"];
    if !args.contains(&"--heartbeat-interval") {
        argv.extend(["--heartbeat-interval", "0.2"]);
    }
    argv.extend_from_slice(args);
    let config = Config::try_parse_from(argv).expect("valid test flags");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    mock_bridge::spawn(config, listener, CancellationToken::new()).expect("bridge starts")
}

/// Starts a bridge that signs readers in with these `token name` lines
/// (read once, at the start).
pub async fn start_with_users(users: &str, args: &[&str]) -> RunningBridge {
    let scratch = scratch();
    let path = scratch.path().join("users.txt");
    std::fs::write(&path, users).expect("a users file");
    let mut argv = vec!["--users", path.to_str().expect("a UTF-8 path")];
    argv.extend_from_slice(args);
    start(&argv).await
}

/// A folder for one test's files, removed when it drops, whether the test
/// passed or not.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("mock-bridge-test-")
        .tempdir()
        .expect("a temporary folder")
}

/// Sends `request`: its status, and its JSON answer (`Null` without one).
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.expect("the bridge answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

pub fn url(bridge: &RunningBridge, path: &str) -> String {
    format!("http://{}{path}", bridge.addr)
}

/// One parsed SSE frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frame {
    pub raw: String,
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
    pub retry: Option<String>,
}

impl Frame {
    fn parse(raw: &str) -> Frame {
        let mut frame = Frame {
            raw: raw.to_owned(),
            ..Frame::default()
        };
        for line in raw.lines() {
            let (field, value) = line.split_once(": ").unwrap_or((line, ""));
            match field {
                "event" => frame.event = Some(value.to_owned()),
                "id" => frame.id = Some(value.to_owned()),
                "data" => frame.data.push_str(value),
                "retry" => frame.retry = Some(value.to_owned()),
                _ => {}
            }
        }
        frame
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or(serde_json::Value::Null)
    }
}

/// An open event stream, read frame by frame.
pub struct Stream {
    pub headers: reqwest::header::HeaderMap,
    frames: mpsc::UnboundedReceiver<Frame>,
    pub ended: CancellationToken,
    reader: tokio::task::JoinHandle<()>,
}

/// How a stream is served is chosen by how it is asked for: as the first
/// request of a new connection (`Direct`), or on a connection that served
/// another request first (`Router`).
pub use mock_bridge::streams::Served;

impl Stream {
    /// Opens `/api/channels/{channel}/events` on a new connection.
    pub async fn open(bridge: &RunningBridge, path: &str, last_event_id: Option<&str>) -> Stream {
        Stream::open_served(bridge, path, last_event_id, Served::Direct, None).await
    }

    /// Opens a stream so that it is served as `served` says, with optional
    /// headers, and checks it was (a direct stream closes its connection at the
    /// end; the router's is chunked).
    pub async fn open_served(
        bridge: &RunningBridge,
        path: &str,
        last_event_id: Option<&str>,
        served: Served,
        origin: Option<&str>,
    ) -> Stream {
        let client = reqwest::Client::new();
        if served == Served::Router {
            let warm = client.get(url(bridge, "/healthz")).send().await.unwrap();
            warm.bytes().await.unwrap(); // back in the pool, ready for reuse
        }
        let mut request = client.get(url(bridge, path));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let response = request.send().await.expect("stream request");
        assert_eq!(response.status(), 200, "stream refused");
        let headers = response.headers().clone();
        let chunked = headers
            .get("transfer-encoding")
            .is_some_and(|v| v == "chunked");
        let closes = headers.get("connection").is_some_and(|v| v == "close");
        match served {
            Served::Direct => assert!(closes && !chunked, "not served directly: {headers:?}"),
            Served::Router => assert!(chunked && !closes, "not served by the router: {headers:?}"),
        }
        let (sender, frames) = mpsc::unbounded_channel();
        let ended = CancellationToken::new();
        let done = ended.clone();
        let reader = tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut buffer = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let raw: String = buffer.drain(..end + 2).collect();
                    let _ = sender.send(Frame::parse(&raw));
                }
            }
            done.cancel();
        });
        Stream {
            headers,
            frames,
            ended,
            reader,
        }
    }

    /// The next frame, within `SOON`.
    pub async fn next(&mut self) -> Frame {
        tokio::time::timeout(SOON, self.frames.recv())
            .await
            .expect("a frame in time")
            .expect("stream still open")
    }

    /// The next frame that is not a heartbeat.
    pub async fn next_non_heartbeat(&mut self) -> Frame {
        loop {
            let frame = self.next().await;
            if frame.event.as_deref() != Some("heartbeat") {
                return frame;
            }
        }
    }

    /// Message ids until `count` messages have arrived.
    pub async fn message_ids(&mut self, count: usize) -> Vec<String> {
        let mut ids = Vec::new();
        while ids.len() < count {
            let frame = self.next().await;
            if frame.event.as_deref() == Some("message") {
                ids.push(frame.id.clone().expect("message frames carry an id"));
            }
        }
        ids
    }

    /// Waits for the server to end the stream.
    pub async fn wait_ended(&self) {
        tokio::time::timeout(SOON, self.ended.cancelled())
            .await
            .expect("the stream ended in time");
    }

    /// Stops reading and closes the connection.
    pub fn close(self) {
        self.reader.abort();
    }
}

/// Posts a message through the control API as is; returns status and body.
pub async fn post(
    bridge: &RunningBridge,
    channel: &str,
    content: &str,
) -> (u16, serde_json::Value) {
    let path = format!("/internal/channels/{channel}/messages");
    let body = serde_json::json!({ "author": "tester", "content": content });
    call(bridge, reqwest::Method::POST, &path, Some(body)).await
}

/// The typed client of `bridge`'s API.
pub fn client(bridge: &RunningBridge) -> BridgeClient {
    BridgeClient::new(url(bridge, ""))
}

/// Posts a message through the control API, which must store it; returns its id.
pub async fn inject(bridge: &RunningBridge, channel: &str, content: &str) -> String {
    client(bridge)
        .inject(channel, "tester", content)
        .await
        .expect("stored")
}

/// Sends a JSON request as is, for tests of the HTTP surface itself (statuses,
/// error bodies); returns status and body.
pub async fn call(
    bridge: &RunningBridge,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, url(bridge, path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// Polls `check` until it holds, or panics after `SOON`.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + SOON;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `/internal/connections` report.
pub async fn report(bridge: &RunningBridge) -> ConnectionsReport {
    client(bridge).connections().await.expect("the report")
}

/// Stops a bridge and waits until it has let go of everything it held (its
/// history file's lock among them), so that another may start on its file.
pub async fn stop(bridge: RunningBridge) {
    bridge.shutdown.cancel();
    bridge
        .task
        .await
        .expect("the server task")
        .expect("the server stops cleanly");
    let hub = bridge.hub;
    eventually("the bridge's last task to let go of it", || {
        let alone = std::sync::Arc::strong_count(&hub) == 1;
        async move { alone }
    })
    .await;
}
