//! Hostile clients: a flood of channel names, connections that never finish a
//! request or sit idle, too many connections from one address, cross-site and
//! DNS-rebinding calls to the control API, malformed or trailing request bytes,
//! slow but honest readers, and ids at the end of their range.

mod support;

use reqwest::Method;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connects to the bridge with a plain socket.
async fn connect(bridge: &mock_bridge::RunningBridge) -> TcpStream {
    TcpStream::connect(bridge.addr).await.expect("connect")
}

/// Connects and sends `bytes` (a request, or part of one).
async fn request(bridge: &mock_bridge::RunningBridge, bytes: &[u8]) -> TcpStream {
    let mut socket = connect(bridge).await;
    socket.write_all(bytes).await.expect("send");
    socket
}

/// Reads until the peer closes (or `within` passes, which fails the test);
/// returns what was read.
async fn read_to_close(socket: &mut TcpStream, within: Duration) -> String {
    let mut all = Vec::new();
    let read = tokio::time::timeout(within, socket.read_to_end(&mut all)).await;
    match read {
        Ok(_) => String::from_utf8_lossy(&all).into_owned(),
        Err(_) => panic!(
            "the bridge kept the connection open for {within:?}; it sent {:?}",
            String::from_utf8_lossy(&all)
        ),
    }
}

/// Reads until `needle` has arrived.
async fn read_until(socket: &mut TcpStream, needle: &str) -> String {
    let mut all = Vec::new();
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(SOON, async {
        while !String::from_utf8_lossy(&all).contains(needle) {
            let n = socket.read(&mut chunk).await.expect("read");
            assert!(
                n > 0,
                "closed before {needle:?}: {:?}",
                String::from_utf8_lossy(&all)
            );
            all.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in time: {:?}", String::from_utf8_lossy(&all)));
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn a_flood_of_channel_names_leaves_nothing_behind() {
    let bridge = start(&[]).await;
    for index in 0..200 {
        let mut stream = Stream::open(
            &bridge,
            &format!("/api/channels/flood-{index}/events"),
            None,
        )
        .await;
        assert_eq!(
            stream.next_non_heartbeat().await.retry.as_deref(),
            Some("2000")
        );
        assert_eq!(
            stream.next_non_heartbeat().await.event.as_deref(),
            Some("status")
        );
        stream.close();
        let (status, _) = call(
            &bridge,
            Method::GET,
            &format!("/api/channels/read-{index}/messages"),
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    eventually("every stream to close", || async {
        bridge.hub.streams.active_count() == 0
    })
    .await;
    assert_eq!(
        bridge.hub.channel_count(),
        0,
        "channels kept for names nobody uses"
    );
    // A channel with messages stays; one with a listener stays while it listens.
    inject(&bridge, "kept", "hello").await;
    let listener = Stream::open(&bridge, "/api/channels/listened/events", None).await;
    assert_eq!(bridge.hub.channel_count(), 2);
    listener.close();
    eventually("the listened channel to go", || async {
        bridge.hub.channel_count() == 1
    })
    .await;
}

#[tokio::test]
async fn channels_are_capped() {
    let bridge = start(&["--max-channels", "2"]).await;
    inject(&bridge, "one", "a").await;
    let _two = Stream::open(&bridge, "/api/channels/two/events", None).await;
    let (status, body) = call(&bridge, Method::GET, "/api/channels/three/events", None).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("2 channels"),
        "{body}"
    );
    let (status, body) = post(&bridge, "three", "b").await;
    assert_eq!(status, 503, "{body}");
    // Existing channels keep working.
    let _again = Stream::open(&bridge, "/api/channels/one/events", None).await;
    inject(&bridge, "two", "still fine").await;
}

#[tokio::test]
async fn a_half_sent_request_head_is_answered_408_and_closed_within_the_head_timeout() {
    let bridge = start(&[]).await; // the default, 10 s
    let mut silent = connect(&bridge).await;
    let mut half = request(
        &bridge,
        b"GET /api/channels/c/events HTTP/1.1\r\nHost: x\r\n",
    )
    .await;
    let answer = read_to_close(&mut half, Duration::from_secs(15)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("\"error\""), "{answer:?}");
    // Nothing sent at all: closed without a word (no request to answer).
    assert_eq!(read_to_close(&mut silent, Duration::from_secs(5)).await, "");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_and_so_is_a_slow_head_on_it() {
    let bridge = start(&["--idle-timeout", "0.5", "--head-timeout", "0.5"]).await;
    let mut socket = request(&bridge, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    read_until(&mut socket, "\"ok\":true").await;
    // Idle after its first request: closed.
    assert_eq!(read_to_close(&mut socket, Duration::from_secs(5)).await, "");
    // A second request whose head never completes, on a reused connection.
    let mut socket = request(&bridge, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    read_until(&mut socket, "\"ok\":true").await;
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let rest = read_to_close(&mut socket, Duration::from_secs(5)).await;
    assert!(
        rest.is_empty() || rest.starts_with("HTTP/1.1 408"),
        "{rest:?}"
    );
}

#[tokio::test]
async fn each_address_may_hold_only_so_many_connections() {
    let bridge = start(&["--max-connections-per-client", "3"]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut socket = request(
            &bridge,
            b"GET /api/channels/c/events HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        read_until(&mut socket, "event: status").await;
        held.push(socket);
    }
    let mut fourth = connect(&bridge).await;
    let _ = fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = read_to_close(&mut fourth, SOON).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    assert!(answer.contains("3 open connections"), "{answer:?}");
    drop(held.pop());
    eventually("a slot to free up", || async {
        call(&bridge, Method::GET, "/healthz", None).await.0 == 200
    })
    .await;
}

/// A control call with the given `Host` and `Origin`; returns the status.
async fn control_call(
    bridge: &mock_bridge::RunningBridge,
    host: &str,
    origin: Option<&str>,
    token: Option<&str>,
) -> (u16, String) {
    let mut socket = connect(bridge).await;
    let body = r#"{"channel":"c"}"#;
    let mut head = format!(
        "POST /internal/disconnect HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(origin) = origin {
        head.push_str(&format!("Origin: {origin}\r\n"));
    }
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    socket.write_all(head.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut socket, SOON).await;
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

#[tokio::test]
async fn the_open_control_api_refuses_other_sites_and_rebound_names() {
    let bridge = start(&[]).await;
    let own = format!("http://{}", bridge.addr);
    let port = bridge.addr.port();
    for host in [
        bridge.addr.to_string(),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "127.0.0.2".to_owned(),
    ] {
        assert_eq!(
            control_call(&bridge, &host, None, None).await.0,
            200,
            "{host}"
        );
    }
    assert_eq!(
        control_call(&bridge, &bridge.addr.to_string(), Some(&own), None)
            .await
            .0,
        200
    );
    for (host, origin) in [
        (bridge.addr.to_string(), Some("https://evil.example")),
        (bridge.addr.to_string(), Some("null")),
        (bridge.addr.to_string(), Some("http://localhost:9999")),
        ("rebind.evil.example".to_owned(), None),
        (
            format!("rebind.evil.example:{port}"),
            Some("http://rebind.evil.example"),
        ),
        ("127.0.0.1.evil.example".to_owned(), None),
    ] {
        let (status, answer) = control_call(&bridge, &host, origin, None).await;
        assert_eq!(status, 403, "{host} {origin:?}: {answer}");
        assert!(answer.contains("\"error\""), "{answer}");
    }
    // With a token, the token is what counts.
    let guarded = start(&["--control-token", "s3cret"]).await;
    assert_eq!(
        control_call(&guarded, "rebind.evil.example", None, Some("s3cret"))
            .await
            .0,
        200
    );
    assert_eq!(control_call(&guarded, "127.0.0.1", None, None).await.0, 401);
}

#[tokio::test]
async fn a_head_ending_in_bare_newlines_is_served_at_once() {
    let bridge = start(&[]).await;
    let mut socket = request(&bridge, b"GET /api/channels/c/events HTTP/1.1\nHost: x\n\n").await;
    let answer = read_until(&mut socket, "event: status").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_served() {
    let bridge = start(&[]).await;
    let mut socket = connect(&bridge).await;
    for byte in b"GET /api/channels/c/events HTTP/1.1\r\nHost: x\r\n\r\n" {
        socket.write_all(&[*byte]).await.unwrap();
    }
    read_until(&mut socket, "event: status").await;
}

#[tokio::test]
async fn duplicate_content_lengths_are_not_served_as_a_stream() {
    let bridge = start(&[]).await;
    let mut socket = request(&bridge, b"GET /api/channels/c/events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n").await;
    let answer = read_to_close(&mut socket, SOON).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    assert_eq!(report(&bridge).await.opened_total, 0);
}

#[tokio::test]
async fn a_stream_client_that_sends_bytes_after_its_head_is_closed() {
    let bridge = start(&[]).await;
    let mut socket = request(
        &bridge,
        b"GET /api/channels/c/events HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    read_until(&mut socket, "event: status").await;
    socket.write_all(&[b'x'; 4096]).await.unwrap();
    read_to_close(&mut socket, SOON).await;
    eventually("the stream to be counted as an error", || async {
        report(&bridge).await.closed.error == 1
    })
    .await;
}

#[tokio::test]
async fn a_slow_reader_that_keeps_reading_gets_a_large_replay() {
    // 8,000 messages of 1,000 characters: about 9 MB of replay, more than the
    // socket buffers hold (256 KiB here, up to 4 MiB at the bridge), read at
    // about 3 MB/s. (A receive buffer below loopback's 64 KiB segment size
    // would stall the sender on TCP's persist timer instead: not a test of
    // the bridge.)
    let bridge = start(&[
        "--client-stall",
        "0.5",
        "--history-per-channel",
        "10000",
        "--max-replay",
        "10000",
    ])
    .await;
    let content = "x".repeat(1_000);
    for _ in 0..8_000 {
        bridge
            .hub
            .publish(
                "big",
                mock_bridge::message::NewMessage {
                    author: "a".into(),
                    content: content.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(256 * 1024).unwrap();
    let mut socket = socket.connect(bridge.addr).await.unwrap();
    socket
        .write_all(b"GET /api/channels/big/events?last_event_id=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut received = 0usize;
    let mut messages = 0usize;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut tail = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while messages < 8_000 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "too slow: {messages} messages"
        );
        let n = tokio::time::timeout(SOON, socket.read(&mut chunk))
            .await
            .expect("bytes in time")
            .unwrap();
        if n == 0 {
            panic!(
                "dropped after {received} bytes, {messages} messages: {:?}",
                report(&bridge).await
            );
        }
        received += n;
        tail.extend_from_slice(&chunk[..n]);
        messages += tail
            .windows(15)
            .filter(|w| w == b"event: message\n")
            .count();
        let keep = tail.len().saturating_sub(14);
        tail.drain(..keep);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(report(&bridge).await.closed.lagged, 0);
}

#[tokio::test]
async fn a_reader_dropped_mid_frame_gets_no_resync_glued_into_the_frame() {
    let bridge = start(&["--client-stall", "0.3"]).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4 * 1024).unwrap();
    let mut socket = socket.connect(bridge.addr).await.unwrap();
    socket
        .write_all(b"GET /api/channels/stuck/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let content = "y".repeat(3_900);
    // Enough to fill both socket buffers; the client reads nothing meanwhile.
    for _ in 0..2_000 {
        if report(&bridge).await.closed.lagged == 1 {
            break;
        }
        bridge
            .hub
            .publish(
                "stuck",
                mock_bridge::message::NewMessage {
                    author: "a".into(),
                    content: content.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    eventually("the stuck reader to be dropped", || async {
        report(&bridge).await.closed.lagged == 1
    })
    .await;
    let all = read_to_close(&mut socket, SOON).await;
    let body = &all[all.find("\r\n\r\n").unwrap() + 4..];
    // Every complete frame is well-formed, and a resync only ever starts a frame.
    for frame in body.split_inclusive("\n\n").filter(|f| f.ends_with("\n\n")) {
        let first = frame.lines().next().unwrap_or_default();
        assert!(
            ["retry:", "event:", "id:"]
                .iter()
                .any(|field| first.starts_with(field)),
            "a frame starts with {first:?}"
        );
        assert!(
            !frame.contains("resync") || frame.starts_with("event: resync"),
            "{frame:.120}"
        );
    }
}

#[tokio::test]
async fn a_replay_longer_than_the_limit_is_a_resync_and_a_finished_replay_holds_nothing() {
    let bridge = start(&["--max-replay", "3", "--history-per-channel", "5"]).await;
    for n in 0..5 {
        inject(&bridge, "r", &format!("m{n}")).await;
    }
    let all: Vec<_> = bridge
        .hub
        .history(
            "r",
            mock_bridge::history::HistoryQuery {
                limit: 10,
                after: None,
                before: None,
            },
            None,
        )
        .into_iter()
        .map(|answered| answered.message)
        .collect();
    let mut far = Stream::open(&bridge, "/api/channels/r/events", Some("1")).await;
    far.next_non_heartbeat().await; // retry
    far.next_non_heartbeat().await; // status
    let resync = far.next_non_heartbeat().await;
    assert_eq!(resync.event.as_deref(), Some("resync"));
    assert_eq!(resync.json()["reason"], "history_gap");
    let from = all[1].id.to_string();
    let mut near = Stream::open(&bridge, "/api/channels/r/events", Some(&from)).await;
    let replayed = near.message_ids(3).await;
    assert_eq!(
        replayed,
        all[2..]
            .iter()
            .map(|m| m.id.to_string())
            .collect::<Vec<_>>()
    );
    // Five newer messages push the replayed ones out of the log: then nothing
    // holds them but this test, though the stream that replayed them is open.
    for n in 5..10 {
        inject(&bridge, "r", &format!("m{n}")).await;
    }
    near.message_ids(5).await;
    for message in &all {
        assert_eq!(
            std::sync::Arc::strong_count(message),
            1,
            "message {} still held",
            message.id
        );
    }
}

#[tokio::test]
async fn ids_at_the_end_of_their_range_refuse_new_messages_with_503() {
    let scratch = scratch();
    let dir = scratch.path();
    let file = dir.join("history.jsonl");
    std::fs::write(
        &file,
        "{\"id\":\"18446744073709551615\",\"channel_id\":\"c\",\"author\":\"a\",\"content\":\"last\",\"timestamp\":\"t\"}\n",
    )
    .unwrap();
    let bridge = start(&["--history-file", file.to_str().unwrap()]).await;
    let (status, body) = post(&bridge, "c", "one more").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("ids"), "{body}");
    let (_, history) = call(&bridge, Method::GET, "/api/channels/c/messages", None).await;
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
}
