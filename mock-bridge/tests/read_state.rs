//! Where each reader left off (issue 35): one marker per person and
//! channel, forward only unless marked unread, kept across restarts in the
//! history file, and sent as `read` events to that person's own streams and
//! polls only; every bad request is a 4xx with a sentence.

mod support;

use serde_json::{json, Value};
use support::*;

async fn put(bridge: &mock_bridge::RunningBridge, channel: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/channels/{channel}/read");
    call(bridge, reqwest::Method::PUT, &path, Some(body)).await
}

async fn get(bridge: &mock_bridge::RunningBridge, channel: &str, reader: &str) -> Value {
    let path = format!("/api/channels/{channel}/read?as={reader}");
    let (status, body) = call(bridge, reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The next `read` event, skipping anything else.
async fn next_read(stream: &mut Stream) -> Value {
    loop {
        let frame = stream.next().await;
        if frame.event.as_deref() == Some("read") {
            assert_eq!(frame.id, None, "read is never replayed by id");
            return frame.json();
        }
    }
}

#[tokio::test]
async fn a_marker_per_person_moves_forward_only_unless_marked_unread() {
    let bridge = start(&[]).await;
    let mut ids = Vec::new();
    for content in ["one", "two", "three", "four"] {
        ids.push(inject(&bridge, "doc", content).await);
    }
    assert_eq!(
        get(&bridge, "doc", "Ann").await,
        json!({ "last_read": null })
    );
    let ann = |id: &str| json!({ "last_read": id, "author": "Ann" });
    assert_eq!(
        put(&bridge, "doc", ann(&ids[2])).await,
        (200, json!({ "last_read": ids[2] }))
    );
    // Back is no move: the answer is where the marker stays.
    assert_eq!(
        put(&bridge, "doc", ann(&ids[0])).await,
        (200, json!({ "last_read": ids[2] }))
    );
    assert_eq!(
        get(&bridge, "doc", "Ann").await,
        json!({ "last_read": ids[2] })
    );
    // Bob's is his own.
    assert_eq!(
        get(&bridge, "doc", "Bob").await,
        json!({ "last_read": null })
    );
    // Mark unread: exactly there, backwards too.
    let unread = json!({ "last_read": ids[0], "unread": true, "author": "Ann" });
    assert_eq!(
        put(&bridge, "doc", unread).await,
        (200, json!({ "last_read": ids[0] }))
    );
    assert_eq!(
        get(&bridge, "doc", "Ann").await,
        json!({ "last_read": ids[0] })
    );
    assert_eq!(
        put(&bridge, "doc", ann(&ids[3])).await.1,
        json!({ "last_read": ids[3] })
    );
}

#[tokio::test]
async fn a_change_reaches_that_persons_own_streams_and_polls_only() {
    let bridge = start(&["--heartbeat-interval", "60"]).await;
    let first = inject(&bridge, "doc", "one").await;
    let second = inject(&bridge, "doc", "two").await;
    let mut ann_tab = Stream::open(&bridge, "/api/channels/doc/events?as=Ann", None).await;
    let mut ann_shared = Stream::open(&bridge, "/api/events?channels=notes,doc&as=Ann", None).await;
    let mut ann_elsewhere = Stream::open(&bridge, "/api/channels/notes/events?as=Ann", None).await;
    let mut bob = Stream::open(&bridge, "/api/channels/doc/events?as=Bob", None).await;
    let mut nobody = Stream::open(&bridge, "/api/channels/doc/events", None).await;
    let ann_poll = tokio::spawn(reqwest::get(url(
        &bridge,
        "/api/poll?channels=doc&as=Ann&wait=10000",
    )));
    let bob_poll = tokio::spawn(reqwest::get(url(
        &bridge,
        "/api/poll?channels=doc&as=Bob&wait=1000",
    )));
    eventually("both polls waiting", || async {
        bridge.hub.listeners("doc") == 6
    })
    .await;
    let (status, _) = put(
        &bridge,
        "doc",
        json!({ "last_read": first, "author": "Ann" }),
    )
    .await;
    assert_eq!(status, 200);
    let expected = json!({ "channel_id": "doc", "last_read": first });
    assert_eq!(next_read(&mut ann_tab).await, expected);
    assert_eq!(next_read(&mut ann_shared).await, expected);
    let answer: Value = ann_poll.await.unwrap().unwrap().json().await.unwrap();
    let reads: Vec<&Value> = (answer["events"].as_array().unwrap().iter())
        .filter(|e| e["event"] == "read")
        .collect();
    assert_eq!(reads.len(), 1, "{answer}");
    let data: Value = serde_json::from_str(reads[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data, expected);
    // Unchanged: no event. Then a real change; only Ann's streams saw any.
    put(
        &bridge,
        "doc",
        json!({ "last_read": first, "author": "Ann" }),
    )
    .await;
    put(
        &bridge,
        "doc",
        json!({ "last_read": second, "author": "Ann" }),
    )
    .await;
    assert_eq!(next_read(&mut ann_tab).await["last_read"], second.as_str());
    inject(&bridge, "doc", "marker").await;
    inject(&bridge, "notes", "marker").await;
    for (who, stream) in [
        ("Bob", &mut bob),
        ("nobody", &mut nobody),
        ("Ann in notes", &mut ann_elsewhere),
    ] {
        loop {
            let frame = stream.next().await;
            match frame.event.as_deref() {
                Some("read") => panic!("{who} got someone else's read event: {}", frame.data),
                Some("message") => break,
                _ => {}
            }
        }
    }
    let bob_answer: Value = bob_poll.await.unwrap().unwrap().json().await.unwrap();
    let events = bob_answer["events"].as_array().unwrap();
    assert!(events.iter().all(|e| e["event"] != "read"), "{bob_answer}");
    // A stream that opens carries the marker as it is, after the presence.
    let mut later = Stream::open(&bridge, "/api/channels/doc/events?as=Ann", None).await;
    assert_eq!(next_read(&mut later).await["last_read"], second.as_str());
}

#[tokio::test]
async fn markers_survive_restarts_and_compaction() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = [
        "--history-file",
        file.to_str().unwrap(),
        "--history-per-channel",
        "2",
    ];
    let bridge = start(&args).await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(inject(&bridge, "doc", &format!("m{n}")).await);
    }
    for (who, id) in [("Ann", &ids[1]), ("Ann", &ids[3]), ("Bob", &ids[2])] {
        put(&bridge, "doc", json!({ "last_read": id, "author": who })).await;
    }
    put(
        &bridge,
        "doc",
        json!({ "last_read": ids[0], "author": "Bob", "unread": true }),
    )
    .await;
    let bridge = restart(bridge, &args).await;
    let bridge = restart(bridge, &args).await;
    assert_eq!(
        get(&bridge, "doc", "Ann").await,
        json!({ "last_read": ids[3] })
    );
    assert_eq!(
        get(&bridge, "doc", "Bob").await,
        json!({ "last_read": ids[0] })
    );
    // Compaction kept one line per marker.
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.matches("\"read\"").count(), 2, "{text}");
}

/// Stops a bridge and starts another on its file (compacting it).
async fn restart(bridge: mock_bridge::RunningBridge, args: &[&str]) -> mock_bridge::RunningBridge {
    stop(bridge).await;
    start(args).await
}

#[tokio::test]
async fn bad_requests_are_refused_with_sentences() {
    let bridge = start(&[]).await;
    let id = inject(&bridge, "doc", "one").await;
    let next = (id.parse::<u64>().unwrap() + 1).to_string();
    for (channel, body, status) in [
        ("doc", json!({ "last_read": id }), 400),
        ("doc", json!({ "last_read": "ten", "author": "Ann" }), 400),
        ("doc", json!({ "last_read": 5, "author": "Ann" }), 400),
        (
            "doc",
            json!({ "last_read": id, "author": "Ann", "extra": true }),
            400,
        ),
        ("d.c", json!({ "last_read": id, "author": "Ann" }), 400),
        ("doc", json!({ "last_read": next, "author": "Ann" }), 404),
        ("empty", json!({ "last_read": "1", "author": "Ann" }), 404),
    ] {
        let (got, answer) = put(&bridge, channel, body.clone()).await;
        assert_eq!(got, status, "{channel} {body}: {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|s| s.contains(' ')),
            "{answer}"
        );
    }
    let (status, answer) = call(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/doc/read",
        None,
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        bridge.hub.channel_count(),
        1,
        "nothing kept for the unknown channel"
    );
    // Signed in: the token's person, whatever the body says; none is a 401.
    let bridge = start_with_users("ann-token Ann\n", &[]).await;
    let id = inject(&bridge, "doc", "one").await;
    let client = reqwest::Client::new();
    let read = url(&bridge, "/api/channels/doc/read");
    let body = json!({ "last_read": id, "author": "Mallory" });
    let refused = client.put(&read).json(&body).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let refused: Value = refused.json().await.unwrap();
    assert!(
        refused["error"].as_str().unwrap().contains("token"),
        "{refused}"
    );
    let ok = client
        .put(&read)
        .bearer_auth("ann-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let mine = client
        .get(&read)
        .bearer_auth("ann-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        mine.json::<Value>().await.unwrap(),
        json!({ "last_read": id })
    );
    let as_mallory = format!("{read}?as=Mallory");
    let theirs = client
        .get(&as_mallory)
        .bearer_auth("ann-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        theirs.json::<Value>().await.unwrap(),
        json!({ "last_read": id }),
        "as= is ignored signed in"
    );
}
