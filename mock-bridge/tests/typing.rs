//! Who is typing (issue 34): `POST …/typing` answers 204 and sends a
//! `typing` event `{"channel_id","user","until"}` (8 s on), at most one per
//! person and channel per 2 s; a message from that person ends their typing
//! (their next signal goes out at once); the control API signals for tests.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::*;

/// The next `typing` event, skipping anything else.
async fn next_typing(stream: &mut Stream) -> Value {
    loop {
        let frame = stream.next().await;
        if frame.event.as_deref() == Some("typing") {
            assert_eq!(frame.id, None, "typing is never replayed");
            return frame.json();
        }
    }
}

async fn type_as(bridge: &mock_bridge::RunningBridge, channel: &str, author: &str) -> u16 {
    let path = format!("/api/channels/{channel}/typing");
    let body = json!({ "author": author });
    call(bridge, reqwest::Method::POST, &path, Some(body))
        .await
        .0
}

/// Milliseconds since the Unix epoch of an RFC 3339 time the bridge wrote
/// (`YYYY-MM-DDTHH:MM:SS.mmmZ`), by days from the civil date.
fn unix_ms(text: &str) -> i64 {
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (y, m, d) = (number(0..4), number(5..7), number(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = number(11..13) * 3_600 + number(14..16) * 60 + number(17..19);
    (days * 86_400 + seconds) * 1_000 + number(20..23)
}

fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.unwrap().as_millis() as i64
}

#[tokio::test]
async fn a_signal_shows_its_person_for_eight_seconds_and_repeats_within_two_are_dropped() {
    let bridge = start(&["--heartbeat-interval", "60"]).await;
    let mut stream = Stream::open(&bridge, "/api/channels/doc/events?as=Cy", None).await;
    let before = now_ms();
    assert_eq!(type_as(&bridge, "doc", "Ann").await, 204);
    let shown = next_typing(&mut stream).await;
    assert_eq!(shown["channel_id"], "doc");
    assert_eq!(shown["user"], "Ann");
    let until = unix_ms(shown["until"].as_str().unwrap());
    assert!(
        (before + 8_000..=now_ms() + 8_000).contains(&until),
        "until {} is not 8 s from the signal",
        shown["until"]
    );
    // Ann keeps typing: answered, but not shown again within 2 s; Bob is.
    for _ in 0..5 {
        assert_eq!(type_as(&bridge, "doc", "Ann").await, 204);
    }
    assert_eq!(type_as(&bridge, "doc", "Bob").await, 204);
    assert_eq!(next_typing(&mut stream).await["user"], "Bob");
    // Nothing of Ann's repeats sits between: the next event is the marker.
    inject(&bridge, "doc", "marker").await;
    loop {
        let frame = stream.next().await;
        match frame.event.as_deref() {
            Some("typing") => panic!("a throttled signal went out: {}", frame.data),
            Some("message") => break,
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_message_ends_its_authors_typing_and_drops_a_signal_racing_it() {
    let bridge = start(&["--heartbeat-interval", "60"]).await;
    let mut stream = Stream::open(&bridge, "/api/channels/doc/events", None).await;
    type_as(&bridge, "doc", "Ann").await;
    next_typing(&mut stream).await;
    // A reply from Ann. A signal sent just before it that arrives just
    // after it (the two requests raced) is dropped: Bob's comes first.
    let body = json!({ "content": "done", "client_id": "c-1", "author": "Ann" });
    let (status, _) = call(
        &bridge,
        reqwest::Method::POST,
        "/api/channels/doc/messages",
        Some(body),
    )
    .await;
    assert_eq!(status, 201);
    type_as(&bridge, "doc", "Ann").await;
    type_as(&bridge, "doc", "Bob").await;
    assert_eq!(next_typing(&mut stream).await["user"], "Bob");
    // Her next message begun shows within the second after it, not after
    // the 2 s throttle: signals (as a composer sends them while she types)
    // until one goes out.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let again = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Ann never shown typing again"
        );
        type_as(&bridge, "doc", "Ann").await;
        let next = tokio::time::timeout(Duration::from_millis(200), next_typing(&mut stream));
        if let Ok(frame) = next.await {
            break frame;
        }
    };
    assert_eq!(again["user"], "Ann");
    // The same through the control API (a Discord user).
    let control = json!({ "user": "Zed" });
    let (status, _) = call(
        &bridge,
        reqwest::Method::POST,
        "/internal/channels/doc/typing",
        Some(control.clone()),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(next_typing(&mut stream).await["user"], "Zed");
    client(&bridge)
        .post_message("doc", "Zed", "sent")
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let again = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Zed never shown typing again"
        );
        let path = "/internal/channels/doc/typing";
        call(&bridge, reqwest::Method::POST, path, Some(control.clone())).await;
        let next = tokio::time::timeout(Duration::from_millis(200), next_typing(&mut stream));
        if let Ok(frame) = next.await {
            break frame;
        }
    };
    assert_eq!(again["user"], "Zed");
}

#[tokio::test]
async fn a_waiting_poll_hears_typing_as_news() {
    let bridge = start(&["--heartbeat-interval", "60"]).await;
    let poll = tokio::spawn(reqwest::get(url(
        &bridge,
        "/api/poll?channels=doc&wait=10000",
    )));
    eventually("the poll to wait", || async {
        bridge.hub.listeners("doc") == 1
    })
    .await;
    type_as(&bridge, "doc", "Ann").await;
    let answer: Value = poll.await.unwrap().unwrap().json().await.unwrap();
    let events = answer["events"].as_array().unwrap();
    let typing = events
        .iter()
        .find(|e| e["event"] == "typing")
        .expect("a typing event");
    let data: Value = serde_json::from_str(typing["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["user"], "Ann");
}

#[tokio::test]
async fn typing_needs_a_name_a_valid_channel_and_with_users_a_token() {
    let bridge = start(&[]).await;
    for (path, body) in [
        ("/api/channels/doc/typing", None),
        ("/api/channels/doc/typing", Some(json!({ "author": " " }))),
        (
            "/api/channels/doc/typing",
            Some(json!({ "author": "x".repeat(101) })),
        ),
        (
            "/api/channels/doc/typing",
            Some(json!({ "author": "Ann", "extra": 1 })),
        ),
        ("/api/channels/d.c/typing", Some(json!({ "author": "Ann" }))),
        ("/internal/channels/doc/typing", Some(json!({}))),
    ] {
        let (status, answer) = call(&bridge, reqwest::Method::POST, path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body:?}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|s| s.len() > 10),
            "{answer}"
        );
    }
    assert_eq!(bridge.hub.typing.remembered(), 0);
    let users = "ann-token Ann\n";
    let bridge = start_with_users(users, &[]).await;
    let typing = url(&bridge, "/api/channels/doc/typing");
    let client = reqwest::Client::new();
    assert_eq!(client.post(&typing).send().await.unwrap().status(), 401);
    let signed = client
        .post(&typing)
        .bearer_auth("ann-token")
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 204);
    assert_eq!(bridge.hub.typing.remembered(), 1);
}
