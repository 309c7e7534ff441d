//! The event stream over real sockets: framing, lifecycle, heartbeats, replay,
//! fan-out, slow clients, cleanup and shutdown.

mod support;

use std::time::{Duration, Instant};
use support::*;

#[tokio::test]
async fn lifecycle_and_exact_framing() {
    lifecycle_and_exact_framing_served(Served::Direct).await;
}

#[tokio::test]
async fn lifecycle_and_exact_framing_on_a_reused_connection() {
    lifecycle_and_exact_framing_served(Served::Router).await;
}

async fn lifecycle_and_exact_framing_served(served: Served) {
    let bridge = start(&["--retry-ms", "1500"]).await;
    let mut stream =
        Stream::open_served(&bridge, "/api/channels/general/events", None, served, None).await;
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(stream.headers["cache-control"], "no-cache");
    assert_eq!(stream.headers["x-accel-buffering"], "no");
    assert!(stream.headers.get("content-encoding").is_none());

    let retry = stream.next().await;
    assert_eq!(retry.raw, "retry: 1500\n\n");
    let status = stream.next().await;
    assert_eq!(
        status.raw,
        "event: status\ndata: {\"gateway\":\"connected\",\"heartbeat_interval_ms\":200}\n\n"
    );
    // Who is here, this anonymous reader alone.
    let presence = stream.next().await;
    assert_eq!(
        presence.raw,
        "event: presence\ndata: {\"channel_id\":\"general\",\"users\":[],\"count\":1}\n\n"
    );

    let id = inject(&bridge, "general", "hello").await;
    let message = stream.next_non_heartbeat().await;
    assert!(
        message
            .raw
            .starts_with(&format!("id: {id}\nevent: message\ndata: {{")),
        "{:?}",
        message.raw
    );
    assert!(message.raw.ends_with("}\n\n"));
    assert_eq!(message.json()["content"], "hello");
    assert_eq!(message.json()["id"], id.as_str(), "ids travel as strings");

    let heartbeat = loop {
        let frame = stream.next().await;
        if frame.event.as_deref() == Some("heartbeat") {
            break frame;
        }
    };
    assert!(
        heartbeat
            .raw
            .starts_with("event: heartbeat\ndata: {\"ts\":")
            && heartbeat.raw.ends_with("}\n\n")
    );
    assert!(heartbeat.json()["ts"].as_u64().is_some());

    let (status, body) = call(
        &bridge,
        reqwest::Method::POST,
        "/internal/disconnect",
        Some(serde_json::json!({ "channel": "general" })),
    )
    .await;
    assert_eq!((status, body["closed"].as_u64()), (200, Some(1)));
    stream.wait_ended().await;
    eventually("the record to go", || async {
        report(&bridge).await.active.is_empty()
    })
    .await;
    let closed = report(&bridge).await.closed;
    assert_eq!((closed.server_closed, closed.kicked), (1, 1));
}

#[tokio::test]
async fn heartbeats_keep_their_interval_pause_and_resume() {
    let bridge = start(&["--heartbeat-interval", "0.1"]).await;
    let mut stream = Stream::open(&bridge, "/api/channels/hb/events", None).await;
    stream.next().await; // retry
    stream.next().await; // status
    let started = Instant::now();
    let mut count = 0;
    while started.elapsed() < Duration::from_secs(1) {
        if stream.next().await.event.as_deref() == Some("heartbeat") {
            count += 1;
        }
    }
    assert!(
        (6..=14).contains(&count),
        "{count} heartbeats in a second at 0.1 s"
    );

    call(
        &bridge,
        reqwest::Method::PUT,
        "/internal/heartbeats",
        Some(serde_json::json!({ "paused": true })),
    )
    .await;
    // Drain what was already in flight, then expect silence.
    tokio::time::sleep(Duration::from_millis(150)).await;
    while tokio::time::timeout(Duration::from_millis(10), stream.next())
        .await
        .is_ok()
    {}
    let silent = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
    assert!(
        silent.is_err(),
        "a frame arrived while heartbeats were paused: {silent:?}"
    );
    assert!(
        report(&bridge).await.active.len() == 1,
        "the zombie stays open"
    );

    call(
        &bridge,
        reqwest::Method::PUT,
        "/internal/heartbeats",
        Some(serde_json::json!({ "paused": false })),
    )
    .await;
    assert_eq!(stream.next().await.event.as_deref(), Some("heartbeat"));
}

#[tokio::test]
async fn ping_stop_after_silences_heartbeats_but_keeps_streams() {
    let bridge = start(&["--heartbeat-interval", "0.05", "--ping-stop-after", "0.4"]).await;
    let mut stream = Stream::open(&bridge, "/api/channels/ps/events", None).await;
    let mut last_heartbeat = None;
    let deadline = Instant::now() + Duration::from_millis(1_500);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(100), stream.next()).await {
            Ok(frame) if frame.event.as_deref() == Some("heartbeat") => {
                last_heartbeat = Some(Instant::now())
            }
            _ => {}
        }
    }
    let last = last_heartbeat.expect("heartbeats before the stop");
    assert!(
        last.elapsed() >= Duration::from_millis(700),
        "heartbeats continued past the stop"
    );
    let id = inject(&bridge, "ps", "the stream is still open").await;
    assert_eq!(stream.next().await.id, Some(id));
}

#[tokio::test]
async fn replay_after_last_event_id_has_no_gap_and_no_duplicate() {
    let bridge = start(&[]).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(inject(&bridge, "r", &format!("m{i}")).await);
    }
    // Query form, as a fresh EventSource sends it.
    let mut by_query = Stream::open(
        &bridge,
        &format!("/api/channels/r/events?last_event_id={}", ids[1]),
        None,
    )
    .await;
    // Header form wins over the query, as a browser reconnecting by itself sends it.
    let mut by_header = Stream::open(
        &bridge,
        &format!("/api/channels/r/events?last_event_id={}", ids[0]),
        Some(&ids[3]),
    )
    .await;
    let live = inject(&bridge, "r", "live").await;
    assert_eq!(
        by_query.message_ids(4).await,
        [&ids[2], &ids[3], &ids[4], &live].map(String::clone)
    );
    assert_eq!(
        by_header.message_ids(2).await,
        [&ids[4], &live].map(String::clone)
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), by_header.message_ids(1))
            .await
            .is_err(),
        "a duplicate followed"
    );
}

#[tokio::test]
async fn an_id_older_than_retained_history_gets_a_resync() {
    let bridge = start(&["--history-per-channel", "3"]).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(inject(&bridge, "g", &format!("m{i}")).await);
    }
    let mut stream = Stream::open(&bridge, "/api/channels/g/events", Some(&ids[0])).await;
    stream.next().await;
    stream.next().await;
    let resync = stream.next_non_heartbeat().await;
    assert_eq!(
        resync.raw,
        "event: resync\ndata: {\"reason\":\"history_gap\"}\n\n"
    );
    // Within what is retained, replay works.
    let mut ok = Stream::open(&bridge, "/api/channels/g/events", Some(&ids[3])).await;
    assert_eq!(
        ok.message_ids(2).await,
        [&ids[4], &ids[5]].map(String::clone)
    );
}

#[tokio::test]
async fn a_hundred_streams_each_get_every_message_once() {
    let bridge = start(&[]).await;
    let mut streams = Vec::new();
    for _ in 0..100 {
        streams.push(Stream::open(&bridge, "/api/channels/fan/events", None).await);
    }
    let mut expected = Vec::new();
    for i in 0..20 {
        expected.push(inject(&bridge, "fan", &format!("m{i}")).await);
    }
    for stream in &mut streams {
        assert_eq!(stream.message_ids(20).await, expected);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), stream.message_ids(1))
                .await
                .is_err()
        );
    }
    assert_eq!(report(&bridge).await.active.len(), 100);
}

/// How a misbehaving client reads its stream.
#[derive(Clone, Copy, Debug)]
enum SlowReader {
    /// Sends its request, then never reads a byte.
    Never,
    /// Reads one byte a second: alive, but far slower than the channel.
    OneBytePerSecond,
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_as_lagged_and_others_keep_flowing() {
    a_slow_reader_is_dropped_as_lagged_and_others_keep_flowing(SlowReader::Never, Served::Direct)
        .await;
}

#[tokio::test]
async fn a_client_that_stops_reading_on_a_reused_connection_is_dropped_as_lagged() {
    a_slow_reader_is_dropped_as_lagged_and_others_keep_flowing(SlowReader::Never, Served::Router)
        .await;
}

#[tokio::test]
async fn a_client_reading_one_byte_a_second_is_dropped_as_lagged_and_others_keep_flowing() {
    let reader = SlowReader::OneBytePerSecond;
    a_slow_reader_is_dropped_as_lagged_and_others_keep_flowing(reader, Served::Direct).await;
}

#[tokio::test]
async fn a_many_channel_client_that_stops_reading_is_dropped_as_lagged() {
    let reader = SlowReader::Never;
    a_slow_reader_of_path_is_dropped_as_lagged(reader, Served::Direct, MANY).await;
}

#[tokio::test]
async fn a_many_channel_client_that_stops_reading_on_a_reused_connection_is_dropped_as_lagged() {
    let reader = SlowReader::Never;
    a_slow_reader_of_path_is_dropped_as_lagged(reader, Served::Router, MANY).await;
}

/// A multi-channel stream that carries the slow channel.
const MANY: &str = "/api/events?channels=quiet,slow";

async fn a_slow_reader_is_dropped_as_lagged_and_others_keep_flowing(
    reader: SlowReader,
    served: Served,
) {
    let path = "/api/channels/slow/events";
    a_slow_reader_of_path_is_dropped_as_lagged(reader, served, path).await;
}

async fn a_slow_reader_of_path_is_dropped_as_lagged(
    reader: SlowReader,
    served: Served,
    path: &str,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bridge = start(&["--client-backlog", "16", "--client-stall", "0.5"]).await;
    // A client with a tiny receive window.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stuck = socket.connect(bridge.addr).await.unwrap();
    if served == Served::Router {
        // One whole request and answer first, so the stream shares the connection.
        stuck
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(b"{\"ok\":true}") {
            let mut chunk = [0u8; 256];
            let read = stuck.read(&mut chunk).await.unwrap();
            assert!(read > 0, "the connection closed after the first request");
            answer.extend_from_slice(&chunk[..read]);
        }
    }
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    stuck.write_all(request.as_bytes()).await.unwrap();
    // The trickling reader counts what it reads, to show it really was reading.
    let trickled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let reading = match reader {
        SlowReader::Never => None,
        SlowReader::OneBytePerSecond => {
            let trickled = trickled.clone();
            Some(tokio::spawn(async move {
                let mut byte = [0u8; 1];
                let mut pace = tokio::time::interval(Duration::from_secs(1));
                loop {
                    pace.tick().await;
                    match stuck.read(&mut byte).await {
                        Ok(1) => trickled.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                        _ => return,
                    };
                }
            }))
        }
    };
    let mut healthy = Stream::open(&bridge, "/api/channels/slow/events", None).await;
    eventually("both streams registered", || async {
        report(&bridge).await.active.len() == 2
    })
    .await;
    let mut paths: Vec<String> = (report(&bridge).await.active.into_iter())
        .map(|stream| stream.served)
        .collect();
    paths.sort();
    let expected = match served {
        Served::Direct => ["direct", "direct"],
        Served::Router => ["direct", "router"],
    };
    assert_eq!(paths, expected, "the stuck stream took the path under test");

    // Publish in rounds, each when the healthy client has read the last one: it
    // never falls behind, while the stuck client's socket buffers fill (≈ 8 MB).
    let content = "x".repeat(3_900);
    let mut rounds = 0;
    while report(&bridge).await.closed.lagged != 1 {
        rounds += 1;
        assert!(rounds <= 60, "the stuck client was never dropped");
        let mut expected = Vec::new();
        for _ in 0..100 {
            let new = mock_bridge::message::NewMessage {
                author: "a".into(),
                content: content.clone(),
                ..Default::default()
            };
            expected.push(bridge.hub.publish("slow", new).unwrap().id.to_string());
        }
        assert_eq!(
            healthy.message_ids(100).await,
            expected,
            "the healthy client got every message, in order"
        );
    }
    eprintln!("the stuck client was dropped after {rounds} rounds of 100 messages of 4 KB");
    assert_eq!(
        report(&bridge).await.active.len(),
        1,
        "the healthy stream is still open"
    );
    let id = inject(&bridge, "slow", "still flowing").await;
    assert_eq!(healthy.message_ids(1).await, [id]);
    if let Some(reading) = reading {
        assert!(
            trickled.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "the trickling client read nothing: the test did not test a slow reader"
        );
        // What the kernel still buffers would take it hours to drain.
        reading.abort();
    }
}

#[tokio::test]
async fn records_are_forgotten_when_clients_leave() {
    // No heartbeats while the test runs: a client's leaving must be noticed
    // without a failed write, on both paths.
    let bridge = start(&["--heartbeat-interval", "3600"]).await;
    let streams: Vec<Stream> = futures_util::future::join_all((0..20).map(|i| {
        let path = format!("/api/channels/c{}/events", i % 3);
        let bridge = &bridge;
        let served = if i % 2 == 0 {
            Served::Direct
        } else {
            Served::Router
        };
        async move { Stream::open_served(bridge, &path, None, served, None).await }
    }))
    .await;
    assert_eq!(report(&bridge).await.active.len(), 20);
    for stream in streams {
        stream.close();
    }
    eventually("every record gone", || async {
        report(&bridge).await.active.is_empty()
    })
    .await;
    let report = report(&bridge).await;
    assert_eq!(report.closed.client_closed, 20);
    assert_eq!(report.opened_total, 20);
}

#[tokio::test]
async fn graceful_shutdown_ends_open_streams_promptly() {
    let bridge = start(&[]).await;
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(Stream::open(&bridge, "/api/channels/s/events", None).await);
    }
    let started = Instant::now();
    bridge.shutdown.cancel();
    for stream in &streams {
        stream.wait_ended().await;
    }
    tokio::time::timeout(Duration::from_secs(2), bridge.task)
        .await
        .expect("server stops within 2 s")
        .unwrap()
        .unwrap();
    assert_eq!(bridge.hub.streams.report()["closed"]["shutdown"], 50);
    eprintln!(
        "50 streams ended and the server stopped in {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn faults_reject_or_stall_new_streams() {
    let bridge = start(&[]).await;
    let (status, _) = call(
        &bridge,
        reqwest::Method::PUT,
        "/internal/sse-fault",
        Some(serde_json::json!({ "mode": "reject", "status": 503 })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/f/events",
        None,
    )
    .await;
    assert_eq!(status, 503);
    assert!(body["error"].as_str().unwrap().contains("injected fault"));

    call(
        &bridge,
        reqwest::Method::PUT,
        "/internal/sse-fault",
        Some(serde_json::json!({ "mode": "stall" })),
    )
    .await;
    let stalled = tokio::time::timeout(
        Duration::from_millis(500),
        reqwest::Client::new()
            .get(url(&bridge, "/api/channels/f/events"))
            .send(),
    )
    .await;
    assert!(
        stalled.is_err(),
        "a stalled stream must not even send headers"
    );

    call(
        &bridge,
        reqwest::Method::PUT,
        "/internal/sse-fault",
        Some(serde_json::json!({ "mode": "none" })),
    )
    .await;
    let mut stream = Stream::open(&bridge, "/api/channels/f/events", None).await;
    assert!(stream.next().await.retry.is_some());
}
