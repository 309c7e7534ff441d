//! Connect and disconnect callbacks (issue 34, the gateway brief): a real
//! HTTP receiver (axum on port 0) hears every stream open (and may refuse
//! it: 403; a slow or dead receiver: 503) and every opened stream end, with
//! the reason produced by its real cause: the client closing, a write to it
//! failing, a client that stops reading, the control API, an expired
//! sign-in, and shutdown. Signed callbacks are verified here as a receiver
//! would.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// How the receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Never: the request hangs.
    Hang,
}

/// One callback as the receiver got it.
#[derive(Debug)]
struct Call {
    json: Value,
    body: String,
    signature: Option<String>,
}

struct Receiver {
    url: String,
    calls: mpsc::UnboundedReceiver<Call>,
    answer: Arc<Mutex<Answer>>,
}

type Shared = (mpsc::UnboundedSender<Call>, Arc<Mutex<Answer>>);

async fn hook(
    State((calls, answer)): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let signature = (headers.get("x-bridge-signature")).map(|v| v.to_str().unwrap().to_owned());
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    let _ = calls.send(Call {
        json,
        body,
        signature,
    });
    let answer = *answer.lock().unwrap();
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::Hang => std::future::pending().await,
    }
}

/// An application that hears callbacks at `/hook`.
async fn receiver(answer: Answer) -> Receiver {
    let (sender, calls) = mpsc::unbounded_channel();
    let answer = Arc::new(Mutex::new(answer));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state((sender, answer.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, calls, answer }
}

impl Receiver {
    async fn next(&mut self) -> Call {
        tokio::time::timeout(SOON, self.calls.recv())
            .await
            .expect("a callback in time")
            .expect("the receiver runs")
    }

    /// The next disconnect callback (connects before it are skipped).
    async fn disconnect(&mut self) -> Value {
        loop {
            let call = self.next().await;
            if call.json["type"] == "disconnect" {
                return call.json;
            }
        }
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }
}

async fn bridge_calling(receiver: &Receiver, extra: &[&str]) -> mock_bridge::RunningBridge {
    let mut args = vec![
        "--callback-url",
        receiver.url.as_str(),
        "--callback-timeout-ms",
        "500",
    ];
    args.extend_from_slice(extra);
    start(&args).await
}

#[tokio::test]
async fn a_stream_opens_after_its_connect_callback_and_its_close_calls_back_client_closed() {
    let mut app = receiver(Answer::Status(204)).await;
    let bridge = bridge_calling(&app, &[]).await;
    let stream = Stream::open(&bridge, "/api/events?channels=doc,notes&as=Ann", None).await;
    let connect = app.next().await.json;
    let id = report(&bridge).await.active[0].id.to_string();
    assert_eq!(connect["type"], "connect");
    assert_eq!(connect["connection_id"], id.as_str());
    assert_eq!(connect["user"], "Ann");
    assert_eq!(connect["channels"], json!(["doc", "notes"]));
    assert!(
        connect["remote"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{connect}"
    );
    assert!(connect["at"].as_str().unwrap().ends_with('Z'), "{connect}");
    stream.close();
    let gone = app.disconnect().await;
    assert_eq!(gone["connection_id"], id.as_str());
    assert_eq!(gone["reason"], "client_closed");
    assert_eq!(
        (gone["user"].clone(), gone["channels"].clone()),
        (json!("Ann"), json!(["doc", "notes"]))
    );
    assert!(gone["duration_ms"].as_u64().is_some(), "{gone}");
    // An anonymous stream through the router: the same, with no user.
    let stream = Stream::open_served(
        &bridge,
        "/api/channels/doc/events",
        None,
        Served::Router,
        None,
    )
    .await;
    assert_eq!(app.next().await.json["user"], Value::Null);
    stream.close();
    assert_eq!(app.disconnect().await["reason"], "client_closed");
}

#[tokio::test]
async fn kicked_and_an_expired_sign_in_call_back_with_their_reasons() {
    let mut app = receiver(Answer::Status(200)).await;
    let scratch = scratch();
    let users = scratch.path().join("users.txt");
    std::fs::write(&users, "ann-token Ann\n").unwrap();
    let bridge = bridge_calling(&app, &["--users", users.to_str().unwrap()]).await;
    let kicked = Stream::open(
        &bridge,
        "/api/channels/doc/events?access_token=ann-token",
        None,
    )
    .await;
    app.next().await;
    client(&bridge).disconnect(Some("doc")).await.unwrap();
    kicked.wait_ended().await;
    let gone = app.disconnect().await;
    assert_eq!(
        (gone["reason"].as_str(), gone["user"].as_str()),
        (Some("kicked"), Some("Ann"))
    );
    let signed = Stream::open(
        &bridge,
        "/api/channels/doc/events?access_token=ann-token",
        None,
    )
    .await;
    app.next().await;
    let revoke = json!({ "token": "ann-token" });
    call(
        &bridge,
        reqwest::Method::DELETE,
        "/internal/users",
        Some(revoke),
    )
    .await;
    signed.wait_ended().await;
    assert_eq!(app.disconnect().await["reason"], "auth_expired");
    eventually("both counted", || async {
        let closed = report(&bridge).await.closed;
        closed.kicked == 1 && closed.auth_expired == 1
    })
    .await;
}

/// A client that reads nothing, behind a small window, while big frames
/// flow: with a long `--client-stall` the bridge's write waits; the client
/// then resets the connection, and that waiting write fails (`error`). With
/// a short one, the bridge gives up on it first (`lagged`).
async fn stuck_reader(app: &mut Receiver, stall: &str, reset: bool) -> Value {
    let bridge = bridge_calling(app, &["--client-stall", stall]).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stuck = socket.connect(bridge.addr).await.unwrap();
    stuck
        .write_all(b"GET /api/channels/big/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    app.next().await;
    let mut head = [0u8; 64];
    assert!(stuck.read(&mut head).await.unwrap() > 0);
    let content = "y".repeat(3_900);
    // Enough to fill both socket buffers, so that a write waits (but less
    // than the broadcast ring, so that the stream is not behind on it when
    // it is to fail); to be dropped as lagged, as many as it takes.
    let most = if reset { 600 } else { 5_000 };
    for _ in 0..most {
        let new = mock_bridge::message::NewMessage {
            author: "a".into(),
            content: content.clone(),
            ..Default::default()
        };
        bridge.hub.publish("big", new).unwrap();
        if report(&bridge).await.active.is_empty() {
            break;
        }
    }
    if reset {
        stuck.set_zero_linger().unwrap(); // a reset, not a close
        drop(stuck);
    } else {
        // Kept open and unread until the bridge gives up on it.
        tokio::spawn(async move {
            tokio::time::sleep(SOON * 2).await;
            drop(stuck);
        });
    }
    app.disconnect().await
}

#[tokio::test]
async fn a_write_that_fails_calls_back_error() {
    let mut app = receiver(Answer::Status(200)).await;
    let gone = stuck_reader(&mut app, "60", true).await;
    assert_eq!(gone["reason"], "error", "{gone}");
}

#[tokio::test]
async fn a_client_that_stops_reading_calls_back_lagged() {
    let mut app = receiver(Answer::Status(200)).await;
    let gone = stuck_reader(&mut app, "0.3", false).await;
    assert_eq!(gone["reason"], "lagged", "{gone}");
}

#[tokio::test]
async fn shutdown_calls_back_shutdown_for_every_open_stream() {
    let mut app = receiver(Answer::Status(200)).await;
    let bridge = bridge_calling(&app, &[]).await;
    let _one = Stream::open(&bridge, "/api/channels/a/events?as=Ann", None).await;
    let _two = Stream::open_served(
        &bridge,
        "/api/channels/b/events",
        None,
        Served::Router,
        None,
    )
    .await;
    app.next().await;
    app.next().await;
    bridge.shutdown.cancel();
    let reasons = [app.disconnect().await, app.disconnect().await];
    assert!(
        reasons.iter().all(|gone| gone["reason"] == "shutdown"),
        "{reasons:?}"
    );
}

fn verify(secret: &str, call: &Call) -> Result<(), String> {
    let header = call.signature.as_deref().ok_or("no signature")?;
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .ok_or(format!("not t=…,v1=…: {header}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let age = now
        .as_secs()
        .abs_diff(t.parse::<u64>().map_err(|e| e.to_string())?);
    if age > 60 {
        return Err(format!("t is {age} s away: a replay"));
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", call.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if expected == v1 {
        Ok(())
    } else {
        Err(format!("v1 {v1} is not {expected}"))
    }
}

#[tokio::test]
async fn with_a_secret_every_callback_is_signed_over_its_time_and_body() {
    let mut app = receiver(Answer::Status(200)).await;
    let bridge = bridge_calling(&app, &["--callback-secret", "s3cret"]).await;
    let stream = Stream::open(&bridge, "/api/channels/doc/events?as=Ann", None).await;
    let connect = app.next().await;
    assert_eq!(verify("s3cret", &connect), Ok(()));
    assert!(
        verify("other", &connect).is_err(),
        "a wrong secret verifies"
    );
    stream.close();
    let disconnect = app.next().await;
    assert_eq!(disconnect.json["type"], "disconnect");
    assert_eq!(verify("s3cret", &disconnect), Ok(()));
    let tampered = Call {
        body: disconnect.body.replace("client_closed", "kicked"),
        ..disconnect
    };
    assert!(
        verify("s3cret", &tampered).is_err(),
        "a changed body verifies"
    );
    // Without a secret, nothing is signed.
    let mut plain = receiver(Answer::Status(200)).await;
    let bridge = bridge_calling(&plain, &[]).await;
    let _stream = Stream::open(&bridge, "/api/channels/doc/events", None).await;
    assert_eq!(plain.next().await.signature, None);
}

/// A stream request as is, on a new connection or (`reuse`) on one that
/// served `/healthz` first: its status and JSON body.
async fn ask(bridge: &mock_bridge::RunningBridge, path: &str, reuse: bool) -> (u16, Value) {
    let client = reqwest::Client::new();
    if reuse {
        client
            .get(url(bridge, "/healthz"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let response = client.get(url(bridge, path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_refusing_receiver_refuses_the_stream_with_403_and_hears_no_disconnect() {
    let mut app = receiver(Answer::Status(401)).await;
    let bridge = bridge_calling(&app, &[]).await;
    for reuse in [false, true] {
        let (status, body) = ask(&bridge, "/api/channels/doc/events?as=Eve", reuse).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("refused"),
            "{body}"
        );
        assert_eq!(app.next().await.json["user"], "Eve");
    }
    let report = report(&bridge).await;
    assert!(report.active.is_empty());
    assert_eq!(report.opened_total, 0, "a refused stream never opened");
    assert_eq!(bridge.hub.channel_count(), 0, "nothing kept for it");
    // The next callback after those refusals is a new stream's connect, not
    // a disconnect of a refused one.
    app.answer(Answer::Status(200));
    let stream = Stream::open(&bridge, "/api/channels/doc/events?as=Ann", None).await;
    let next = app.next().await.json;
    assert_eq!(
        (next["type"].as_str(), next["user"].as_str()),
        (Some("connect"), Some("Ann"))
    );
    stream.close();
    assert_eq!(app.disconnect().await["user"], "Ann");
}

#[tokio::test]
async fn a_slow_or_dead_receiver_refuses_the_stream_with_503() {
    let slow = receiver(Answer::Hang).await;
    let bridge = bridge_calling(&slow, &[]).await;
    for reuse in [false, true] {
        let (status, body) = ask(&bridge, "/api/channels/doc/events", reuse).await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("in time"),
            "{body}"
        );
    }
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    let bridge = start(&["--callback-url", &dead_url]).await;
    for reuse in [false, true] {
        let (status, body) = ask(&bridge, "/api/channels/doc/events", reuse).await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("could not be reached"),
            "{body}"
        );
    }
    assert!(report(&bridge).await.active.is_empty());
}

/// A receiver that stops answering cannot hold the bridge's exit: the
/// disconnect callbacks of its streams get one callback timeout, then the
/// process exits (code 0) all the same.
#[tokio::test]
async fn shutdown_does_not_wait_on_a_dead_receiver() {
    let app = receiver(Answer::Status(200)).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mock-bridge"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--callback-url", &app.url, "--callback-timeout-ms", "1000"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/api/channels/x/events");
    let client = reqwest::Client::new();
    let mut streams = Vec::new();
    while streams.len() < 3 {
        if let Ok(response) = client.get(&url).send().await {
            assert_eq!(response.status(), 200);
            streams.push(response);
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    app.answer(Answer::Hang);
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("the bridge exits although its receiver hangs")
    .unwrap()
    .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A client that leaves while its stream's connect callback is pending, on
/// a connection that served a request before (the router's path): hyper
/// drops the handler mid-wait, and everything the stream had set up went
/// with nothing to undo it (the review of the people branch): its record
/// listed as active for ever, its channel and its inbox kept.
#[tokio::test]
async fn a_client_that_leaves_while_its_connect_callback_is_pending_leaves_nothing_behind() {
    let mut app = receiver(Answer::Hang).await;
    let bridge = start(&["--callback-url", &app.url, "--callback-timeout-ms", "20000"]).await;
    let mut socket = tokio::net::TcpStream::connect(bridge.addr).await.unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: bridge\r\n\r\n")
        .await
        .unwrap();
    let mut reply = vec![0u8; 4096];
    let n = socket.read(&mut reply).await.unwrap();
    assert!(reply[..n].starts_with(b"HTTP/1.1 200"), "healthz answered");
    socket
        .write_all(b"GET /api/channels/doc/events?as=Ann HTTP/1.1\r\nHost: bridge\r\n\r\n")
        .await
        .unwrap();
    let call = app.next().await;
    assert_eq!(call.json["type"], "connect");
    drop(socket);
    eventually("nothing left of the stream that never opened", || async {
        report(&bridge).await.active.is_empty() && bridge.hub.channel_count() == 0
    })
    .await;
}

/// A receiver that answers a redirect: the contract lets only a 2xx open
/// the stream, and the signed body goes nowhere else (the client followed
/// redirects, turning a 302 into a GET of wherever it pointed).
#[tokio::test]
async fn a_redirect_from_the_receiver_refuses_the_stream_and_is_not_followed() {
    let followed = Arc::new(Mutex::new(0u32));
    let count = followed.clone();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(|| async {
                (StatusCode::FOUND, [(axum::http::header::LOCATION, "/ok")])
            }),
        )
        .route(
            "/ok",
            axum::routing::any(move || {
                let count = count.clone();
                async move {
                    *count.lock().unwrap() += 1;
                    StatusCode::OK
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let bridge = start(&["--callback-url", &hook]).await;
    let (status, body) = ask(&bridge, "/api/channels/doc/events?as=Eve", false).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(*followed.lock().unwrap(), 0, "the redirect was followed");
}
