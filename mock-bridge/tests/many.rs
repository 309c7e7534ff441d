//! One stream for many channels, `GET /api/events?channels=a,b,c`, over real
//! sockets and on both serving paths: framing, id order across channels, one
//! cursor for replay, `resync` naming its channels, refusals, records and
//! cleanup.

mod support;

use reqwest::Method;
use support::*;

/// Message frames (their ids and channels) until `count` have arrived;
/// anything else but heartbeats and a stream's opening frames is a failure.
async fn messages(stream: &mut Stream, count: usize) -> Vec<(String, String)> {
    let mut got = Vec::new();
    while got.len() < count {
        let frame = stream.next_non_heartbeat().await;
        if frame.retry.is_some() || frame.event.as_deref() == Some("status") {
            continue;
        }
        assert_eq!(frame.event.as_deref(), Some("message"), "{:?}", frame.raw);
        let channel = frame.json()["channel_id"].as_str().unwrap().to_owned();
        got.push((frame.id.clone().unwrap(), channel));
    }
    got
}

#[tokio::test]
async fn a_stream_of_many_channels_carries_each_frame_once_in_id_order() {
    carries_each_frame_once(Served::Direct).await;
}

#[tokio::test]
async fn a_stream_of_many_channels_on_a_reused_connection_carries_each_frame_once() {
    carries_each_frame_once(Served::Router).await;
}

async fn carries_each_frame_once(served: Served) {
    let bridge = start(&["--retry-ms", "1500"]).await;
    // Commas as URLSearchParams writes them, a repeat, and a name that is also
    // streamed alone elsewhere.
    let path = "/api/events?channels=alpha%2Cbeta,gamma,alpha";
    let mut many = Stream::open_served(&bridge, path, None, served, None).await;
    assert_eq!(many.headers["content-type"], "text/event-stream");
    let mut alone = Stream::open(&bridge, "/api/channels/beta/events", None).await;
    assert_eq!(many.next().await.raw, "retry: 1500\n\n");
    assert_eq!(many.next().await.event.as_deref(), Some("status"));

    let listed = report(&bridge).await;
    let record = (listed.active.iter())
        .find(|stream| stream.channel.is_none())
        .expect("the multi-channel stream is listed");
    assert_eq!(record.channels, ["alpha", "beta", "gamma"]);
    assert_eq!(listed.active.len(), 2, "{listed:?}");

    // Interleaved across channels, and one the stream does not carry.
    let mut expected = Vec::new();
    for (index, channel) in ["gamma", "alpha", "delta", "beta", "alpha", "gamma"]
        .into_iter()
        .enumerate()
    {
        let id = inject(&bridge, channel, &format!("m{index}")).await;
        if channel != "delta" {
            expected.push((id, channel.to_owned()));
        }
    }
    assert_eq!(messages(&mut many, 5).await, expected);

    // A status change arrives once, not once per channel; so does a heartbeat.
    client(&bridge)
        .set_gateway(bridge_client::Gateway::Reconnecting)
        .await
        .unwrap();
    let status = many.next_non_heartbeat().await;
    assert_eq!(status.json()["gateway"], "reconnecting", "{:?}", status.raw);
    let mut heartbeats = Vec::new();
    while heartbeats.len() < 2 {
        let frame = many.next().await;
        if frame.event.as_deref() == Some("presence") {
            continue; // who is here: a frame per channel, as it should be
        }
        assert_eq!(frame.event.as_deref(), Some("heartbeat"), "{:?}", frame.raw);
        heartbeats.push(frame.json()["ts"].as_u64().unwrap());
    }
    assert_ne!(heartbeats[0], heartbeats[1], "a heartbeat came twice");
    let last = inject(&bridge, "beta", "after").await;
    assert_eq!(
        messages(&mut many, 1).await,
        [(last.clone(), "beta".into())]
    );
    assert_eq!(
        alone.message_ids(2).await[1],
        last,
        "the single stream of beta is unaffected"
    );

    // Disconnecting one of its channels ends it.
    let (status, body) = call(
        &bridge,
        Method::POST,
        "/internal/disconnect",
        Some(serde_json::json!({ "channel": "gamma" })),
    )
    .await;
    assert_eq!((status, body["closed"].as_u64()), (200, Some(1)));
    many.wait_ended().await;
    eventually("its record to go", || async {
        report(&bridge).await.active.len() == 1
    })
    .await;
}

#[tokio::test]
async fn one_cursor_replays_every_channel_merged_in_id_order() {
    let bridge = start(&[]).await;
    let first = inject(&bridge, "a", "a1").await;
    let mut expected = Vec::new();
    for channel in ["b", "a", "other", "c", "b"] {
        let id = inject(&bridge, channel, channel).await;
        if channel != "other" {
            expected.push((id, channel.to_owned()));
        }
    }
    // The header, as a browser sends it when it reconnects by itself…
    let mut stream = Stream::open(&bridge, "/api/events?channels=a,b,c", Some(&first)).await;
    assert_eq!(messages(&mut stream, 4).await, expected);
    let live = inject(&bridge, "c", "live").await;
    assert_eq!(messages(&mut stream, 1).await, [(live.clone(), "c".into())]);
    // …and the query, as a fresh EventSource sets it.
    let path = format!("/api/events?channels=c,b,a&last_event_id={first}");
    let mut again = Stream::open(&bridge, &path, None).await;
    expected.push((live, "c".into()));
    assert_eq!(messages(&mut again, 5).await, expected);
}

#[tokio::test]
async fn a_replay_that_cannot_be_served_names_the_channels_to_catch_up() {
    let bridge = start(&["--history-per-channel", "3", "--max-replay", "4"]).await;
    let cursor = inject(&bridge, "full", "0").await;
    for index in 1..=5 {
        inject(&bridge, "full", &index.to_string()).await;
    }
    let kept = inject(&bridge, "fine", "kept").await;
    // `full` evicted a message above the cursor: it needs a catch-up; `fine` is replayed.
    let mut stream = Stream::open(&bridge, "/api/events?channels=fine,full", Some(&cursor)).await;
    stream.next().await; // retry
    stream.next().await; // status
    let resync = stream.next().await;
    assert_eq!(resync.event.as_deref(), Some("resync"), "{:?}", resync.raw);
    assert_eq!(
        resync.json(),
        serde_json::json!({ "reason": "history_gap", "channels": ["full"] })
    );
    assert_eq!(
        messages(&mut stream, 1).await,
        [(kept.clone(), "fine".into())]
    );

    // Together more than `--max-replay`: both are caught up by paging, nothing replayed.
    let cursor = inject(&bridge, "x", "cursor").await;
    for channel in ["x", "y", "x", "y", "x"] {
        inject(&bridge, channel, "m").await;
    }
    let mut stream = Stream::open(&bridge, "/api/events?channels=y,x", Some(&cursor)).await;
    stream.next().await;
    stream.next().await;
    let resync = stream.next().await;
    assert_eq!(
        resync.json(),
        serde_json::json!({ "reason": "history_gap", "channels": ["y", "x"] })
    );
    let live = inject(&bridge, "y", "live").await;
    assert_eq!(messages(&mut stream, 1).await, [(live, "y".into())]);
}

#[tokio::test]
async fn bad_channel_lists_are_refused_with_a_sentence() {
    let bridge = start(&[]).await;
    let many: Vec<String> = (0..65).map(|i| format!("c{i}")).collect();
    let cases = [
        ("/api/events".to_owned(), "name the channels"),
        ("/api/events?channels=".to_owned(), "name the channels"),
        ("/api/events?channels=a,,b".to_owned(), "invalid"),
        ("/api/events?channels=a,b%20c".to_owned(), "invalid"),
        (
            format!("/api/events?channels={}", many.join(",")),
            "at most 64",
        ),
        (
            "/api/events?channels=a&last_event_id=x".to_owned(),
            "not a decimal",
        ),
    ];
    for (path, sentence) in cases {
        let (status, body) = call(&bridge, Method::GET, &path, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(sentence), "{path}: {error}");
    }
    // 64 distinct names, repeated, are fine.
    let repeated = format!("{},{}", many[..64].join(","), many[..64].join(","));
    let stream = Stream::open(&bridge, &format!("/api/events?channels={repeated}"), None).await;
    assert_eq!(report(&bridge).await.active[0].channels.len(), 64);
    stream.close();
    // Nothing of the refused or closed requests stays behind.
    eventually("every channel to go", || async {
        bridge.hub.streams.active_count() == 0 && bridge.hub.channel_count() == 0
    })
    .await;
}

#[tokio::test]
async fn channels_are_capped_for_many_as_for_one() {
    let bridge = start(&["--max-channels", "3"]).await;
    inject(&bridge, "one", "a").await;
    let (status, body) = call(&bridge, Method::GET, "/api/events?channels=one,b,c,d", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        bridge.hub.channel_count(),
        1,
        "a refused stream left channels behind"
    );
    let _fits = Stream::open(&bridge, "/api/events?channels=one,b,c", None).await;
    assert_eq!(bridge.hub.channel_count(), 3);
}

#[tokio::test]
async fn many_channel_streams_count_against_the_per_client_limit() {
    let bridge = start(&["--max-streams-per-client", "1"]).await;
    let _held = Stream::open(&bridge, "/api/events?channels=a,b", None).await;
    let (status, body) = call(&bridge, Method::GET, "/api/events?channels=c", None).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        bridge.hub.channel_count(),
        2,
        "the refused stream's channel stayed"
    );
}
