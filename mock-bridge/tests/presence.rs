//! Who is here (issue 34): a person is present in a channel while any of
//! their streams or polls lists it, however many (tabs, devices, a shared
//! stream); anonymous connections are counted, not named; leaving is
//! announced only after `--presence-grace`, so a reload never flaps; every
//! stream opens with each channel's presence after its `status`, and hears
//! each change once per quiet time; `GET …/presence` answers the same.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

/// The next `presence` event's data, skipping anything else.
async fn next_presence(stream: &mut Stream) -> Value {
    loop {
        let frame = stream.next().await;
        if frame.event.as_deref() == Some("presence") {
            return frame.json();
        }
    }
}

/// The next `presence` event whose data satisfies `wanted`.
async fn presence_until(stream: &mut Stream, mut wanted: impl FnMut(&Value) -> bool) -> Value {
    loop {
        let data = next_presence(stream).await;
        if wanted(&data) {
            return data;
        }
    }
}

async fn presence_of(bridge: &mock_bridge::RunningBridge, channel: &str) -> Value {
    let path = format!("/api/channels/{channel}/presence");
    let (status, body) = call(bridge, reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn names(data: &Value) -> Vec<String> {
    (data["users"].as_array().unwrap().iter())
        .map(|name| name.as_str().unwrap().to_owned())
        .collect()
}

/// Until every grace and every frame due so far has gone by.
async fn all_announced(bridge: &mock_bridge::RunningBridge) {
    eventually("every presence change to be announced", || async {
        bridge.hub.presence.timers_pending() == 0
    })
    .await;
}

#[tokio::test]
async fn one_person_in_many_streams_tabs_and_polls_is_one_and_anonymous_ones_are_counted() {
    let bridge = start(&["--presence-grace", "0.3"]).await;
    let ann = "/api/channels/general/events?as=Ann";
    let _tab_one = Stream::open(&bridge, ann, None).await;
    let _tab_two = Stream::open(&bridge, ann, None).await;
    let _keep_alive = Stream::open_served(&bridge, ann, None, Served::Router, None).await;
    let _shared = Stream::open(&bridge, "/api/events?channels=general,random&as=Ann", None).await;
    let _anonymous = Stream::open(&bridge, "/api/channels/general/events", None).await;
    // Bob only polls: a poll that waits holds him, as a stream would.
    let poll = reqwest::get(url(&bridge, "/api/poll?channels=general&as=Bob&wait=3000"));
    let poll = tokio::spawn(poll);
    eventually("Ann, Bob and one anonymous reader", || async {
        presence_of(&bridge, "general").await
            == json!({ "channel_id": "general", "users": ["Ann", "Bob"], "count": 3 })
    })
    .await;
    assert_eq!(
        presence_of(&bridge, "random").await,
        json!({ "channel_id": "random", "users": ["Ann"], "count": 1 })
    );
    // A stream that opens now starts with the set, right after its status.
    let mut late = Stream::open(&bridge, "/api/channels/general/events?as=Cy", None).await;
    let opening: Vec<Frame> = vec![late.next().await, late.next().await, late.next().await];
    assert_eq!(opening[0].retry.as_deref(), Some("2000"));
    assert_eq!(opening[1].event.as_deref(), Some("status"));
    assert_eq!(opening[2].event.as_deref(), Some("presence"), "{opening:?}");
    assert_eq!(opening[2].id, None, "presence is never replayed");
    assert_eq!(names(&opening[2].json()), ["Ann", "Bob", "Cy"]);
    assert_eq!(opening[2].json()["count"], 4);
    // The report names each stream's person, and no one for the anonymous.
    let report = report(&bridge).await;
    let mut users: Vec<Option<String>> = report.active.iter().map(|s| s.user.clone()).collect();
    users.sort();
    assert_eq!(
        users,
        [
            None,
            Some("Ann".into()),
            Some("Ann".into()),
            Some("Ann".into()),
            Some("Ann".into()),
            Some("Cy".into())
        ]
    );
    drop(poll);
}

#[tokio::test]
async fn a_multi_channel_stream_opens_with_one_presence_per_channel() {
    let bridge = start(&[]).await;
    let mut stream = Stream::open(&bridge, "/api/events?channels=a,b&as=Ann", None).await;
    stream.next().await; // retry
    assert_eq!(stream.next().await.event.as_deref(), Some("status"));
    let (a, b) = (stream.next().await.json(), stream.next().await.json());
    assert_eq!(
        a,
        json!({ "channel_id": "a", "users": ["Ann"], "count": 1 })
    );
    assert_eq!(
        b,
        json!({ "channel_id": "b", "users": ["Ann"], "count": 1 })
    );
}

#[tokio::test]
async fn a_reload_within_the_grace_never_shows_a_leave_and_a_real_leave_is_announced_after_it() {
    let grace = Duration::from_millis(1_500);
    let bridge = start(&["--presence-grace", "1.5"]).await;
    let mut watcher = Stream::open(&bridge, "/api/channels/doc/events?as=Watcher", None).await;
    let ann = "/api/channels/doc/events?as=Ann";
    let first = Stream::open(&bridge, ann, None).await;
    presence_until(&mut watcher, |d| names(d).contains(&"Ann".to_owned())).await;
    // A reload: the old stream goes, a new one comes.
    first.close();
    let second = Stream::open(&bridge, ann, None).await;
    // The old stream's grace runs out while the new one is open.
    all_announced(&bridge).await;
    inject(&bridge, "doc", "marker").await;
    loop {
        let frame = watcher.next().await;
        match frame.event.as_deref() {
            Some("presence") => assert!(
                names(&frame.json()).contains(&"Ann".to_owned()),
                "Ann was shown leaving during a reload: {}",
                frame.data
            ),
            Some("message") => break,
            _ => {}
        }
    }
    // A real leave: announced, and only once the grace is over.
    let closed = Instant::now();
    second.close();
    let gone = presence_until(&mut watcher, |d| !names(d).contains(&"Ann".to_owned())).await;
    assert!(
        closed.elapsed() >= grace,
        "left after {:?}",
        closed.elapsed()
    );
    assert_eq!(
        gone,
        json!({ "channel_id": "doc", "users": ["Watcher"], "count": 1 })
    );
}

#[tokio::test]
async fn a_polling_reader_stays_present_between_polls_and_leaves_after_the_last() {
    let bridge = start(&["--presence-grace", "0.2"]).await;
    let mut watcher = Stream::open(&bridge, "/api/channels/doc/events?as=Watcher", None).await;
    next_presence(&mut watcher).await;
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for _ in 0..5 {
        let poll = url(&bridge, "/api/poll?channels=doc&as=Bob&wait=0");
        let answer: Value = client.get(poll).send().await.unwrap().json().await.unwrap();
        answers.push(answer);
    }
    // Each answer carries the presence as of then, after the status.
    let events = answers[4]["events"].as_array().unwrap();
    assert_eq!(events[0]["event"], "status");
    assert_eq!(events[1]["event"], "presence");
    let data: Value = serde_json::from_str(events[1]["data"].as_str().unwrap()).unwrap();
    assert_eq!(names(&data), ["Bob", "Watcher"]);
    // Bob appears once, and leaves once after his last poll: never between.
    all_announced(&bridge).await;
    let mut shown: Vec<bool> = Vec::new();
    while shown != [true, false] {
        let data = next_presence(&mut watcher).await;
        let here = names(&data).contains(&"Bob".to_owned());
        if shown.last() != Some(&here) && (here || !shown.is_empty()) {
            shown.push(here);
        }
    }
    inject(&bridge, "doc", "marker").await;
    loop {
        let frame = watcher.next().await;
        match frame.event.as_deref() {
            Some("presence") => panic!("Bob flapped: came back after he left: {}", frame.data),
            Some("message") => break,
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_presence_route_names_no_one_for_an_unknown_channel_and_refuses_bad_names() {
    let bridge = start(&[]).await;
    assert_eq!(
        presence_of(&bridge, "nobody-here").await,
        json!({ "channel_id": "nobody-here", "users": [], "count": 0 })
    );
    let (status, body) = call(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/a.b/presence",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("channel"),
        "{body}"
    );
    let long = "x".repeat(33);
    for path in [
        format!("/api/channels/general/events?as={long}"),
        format!("/api/events?channels=a&as={long}"),
        format!("/api/poll?channels=a&as={long}&wait=0"),
    ] {
        let (status, body) = call(&bridge, reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("1 to 32 characters"),
            "{body}"
        );
    }
    assert_eq!(bridge.hub.channel_count(), 0);
}

#[tokio::test]
async fn signed_in_the_token_names_the_person_whatever_as_says() {
    let users = "ann-token Ann\nbob-token Bob\n";
    let bridge = start_with_users(users, &[]).await;
    let path = "/api/channels/general/events?access_token=ann-token&as=Mallory";
    let mut stream = Stream::open(&bridge, path, None).await;
    let data = next_presence(&mut stream).await;
    assert_eq!(
        data,
        json!({ "channel_id": "general", "users": ["Ann"], "count": 1 })
    );
    let answer = reqwest::Client::new()
        .get(url(&bridge, "/api/channels/general/presence"))
        .bearer_auth("bob-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.json::<Value>().await.unwrap()["users"],
        json!(["Ann"])
    );
    let unsigned = reqwest::get(url(&bridge, "/api/channels/general/presence"))
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
}

#[tokio::test]
async fn listeners_of_an_empty_channel_leave_nothing_behind_once_their_grace_is_over() {
    let bridge = start(&["--presence-grace", "0.1"]).await;
    let streams = [
        Stream::open(&bridge, "/api/channels/ghost/events?as=Ann", None).await,
        Stream::open(&bridge, "/api/channels/ghost/events", None).await,
        Stream::open(&bridge, "/api/events?channels=ghost,ghost2&as=Bob", None).await,
    ];
    for stream in streams {
        stream.close();
    }
    reqwest::get(url(&bridge, "/api/poll?channels=ghost3&as=Cy&wait=0"))
        .await
        .unwrap();
    eventually("nothing kept for the channels", || async {
        bridge.hub.channel_count() == 0
            && bridge.hub.presence.channel_count() == 0
            && bridge.hub.inboxes.people() == 0
    })
    .await;
}

#[tokio::test]
async fn a_burst_of_arrivals_is_announced_in_a_few_frames_not_one_per_arrival() {
    let bridge = start(&["--heartbeat-interval", "60"]).await;
    let mut watcher = Stream::open(&bridge, "/api/channels/busy/events?as=Watcher", None).await;
    next_presence(&mut watcher).await;
    let started = Instant::now();
    // One after the other, each a change: without a quiet time between
    // frames, each would be a frame of its own.
    let mut held = Vec::new();
    for i in 0..200 {
        let path = format!("/api/channels/busy/events?as=p{i:03}");
        held.push(reqwest::get(url(&bridge, &path)).await.unwrap());
    }
    let mut frames = 0;
    let last = presence_until(&mut watcher, |d| {
        frames += 1;
        d["count"] == 201
    })
    .await;
    // At most one frame per quarter second, and the last one is whole.
    let quarters = started.elapsed().as_millis() / 250 + 2;
    assert!(
        (frames as u128) <= quarters,
        "{frames} frames in {:?}",
        started.elapsed()
    );
    assert_eq!(
        last["users"].as_array().unwrap().len(),
        100,
        "at most 100 names"
    );
    // In name order: capitals sort first.
    assert_eq!(last["users"][0], "Watcher");
    assert_eq!(last["users"][99], "p098");
}
