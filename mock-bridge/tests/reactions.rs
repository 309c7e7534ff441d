//! Bounded reactions (issue 31, defect 3): at most 20 different emoji a
//! message; every reaction entry on the wire carries its exact `count` and
//! at most the newest 20 `users`; a reader's own state stays exact (`me` in
//! answers computed for them, `user` and `added` on events); the history
//! file keeps reaction changes as deltas, so it grows linearly.

mod support;

use serde_json::{json, Value};
use support::*;

fn reaction_path(id: &str, emoji: &str) -> String {
    let emoji: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
    format!("/internal/channels/general/messages/{id}/reactions/{emoji}")
}

async fn react(
    bridge: &mock_bridge::RunningBridge,
    id: &str,
    emoji: &str,
    user: &str,
) -> (u16, Value) {
    react_with(&reqwest::Client::new(), bridge, id, emoji, user).await
}

/// As [`react`], on a client that keeps its connection alive.
async fn react_with(
    http: &reqwest::Client,
    bridge: &mock_bridge::RunningBridge,
    id: &str,
    emoji: &str,
    user: &str,
) -> (u16, Value) {
    let url = url(bridge, &reaction_path(id, emoji));
    answer(http.put(url).json(&json!({ "user": user }))).await
}

async fn history(bridge: &mock_bridge::RunningBridge, query: &str) -> Value {
    let path = format!("/api/channels/general/messages{query}");
    let (status, body) = call(bridge, reqwest::Method::GET, &path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_message_takes_at_most_twenty_different_emoji() {
    let bridge = start(&[]).await;
    let id = inject(&bridge, "general", "react to me").await;
    for n in 0..20 {
        assert_eq!(react(&bridge, &id, &format!("e{n}"), "ann").await.0, 200);
    }
    let (status, refused) = react(&bridge, &id, "one-too-many", "ann").await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("20"),
        "{refused}"
    );
    // Adding yourself to an emoji already there is fine.
    assert_eq!(react(&bridge, &id, "e0", "bob").await.0, 200);
    let held = history(&bridge, "").await;
    let reactions = held[0]["reactions"].as_array().unwrap();
    assert_eq!(reactions.len(), 20, "nothing changed");
    assert_eq!(
        reactions[0],
        json!({ "emoji": "e0", "count": 2, "users": ["ann", "bob"] })
    );
    // An emoji is 1 to 64 characters, no control characters; a user, a name.
    assert_eq!(react(&bridge, &id, &"x".repeat(65), "ann").await.0, 400);
    assert_eq!(react(&bridge, &id, "a\u{7}", "ann").await.0, 400);
    assert_eq!(react(&bridge, &id, "e1", &"u".repeat(101)).await.0, 400);
}

/// A message with thousands of reactors: each `reaction` event stays a few
/// hundred bytes (the newest 20 names, the exact count), and the history
/// file grows by about the same for each (a delta), not by the whole list.
#[tokio::test]
async fn thousands_of_reactors_keep_events_small_and_the_file_linear() {
    const REACTORS: usize = 2_100;
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let bridge = start(&["--history-file", file.to_str().unwrap()]).await;
    let id = inject(&bridge, "general", "popular").await;
    let mut stream = Stream::open(&bridge, "/api/channels/general/events", None).await;
    let size = || std::fs::metadata(&file).unwrap().len();
    let mut sizes = vec![size()];
    let mut largest = 0;
    let http = reqwest::Client::new();
    for n in 0..REACTORS {
        let user = format!("user-{n:04}");
        let (status, body) = react_with(&http, &bridge, &id, "👍", &user).await;
        assert_eq!(status, 200, "{body}");
        if n % (REACTORS / 3) == REACTORS / 3 - 1 {
            sizes.push(size());
        }
    }
    let mut frames = Vec::new();
    while frames.len() < REACTORS {
        let frame = stream.next_non_heartbeat().await;
        if frame.event.as_deref() == Some("reaction") {
            largest = largest.max(frame.raw.len());
            frames.push(frame.json());
        }
    }
    let growth: Vec<u64> = sizes.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        growth[2] < growth[0] + growth[0] / 5 && largest < 2_048,
        "the file grew by {growth:?} bytes for each third of the reactions (linear?), \
         and the largest reaction frame is {largest} bytes"
    );
    for (at, data) in frames.iter().enumerate() {
        let seen = at + 1;
        assert_eq!(data["count"], seen, "{data}");
        let users = data["users"].as_array().unwrap();
        assert_eq!(users.len(), seen.min(20));
        assert_eq!(users.last().unwrap(), &json!(format!("user-{at:04}")));
        assert_eq!(data["reactions"][0]["count"], seen);
        assert_eq!(
            (data["user"].clone(), data["added"].clone()),
            (json!(format!("user-{at:04}")), json!(true))
        );
    }
    let held = history(&bridge, "").await;
    let entry = &held[0]["reactions"][0];
    assert_eq!(entry["count"], REACTORS);
    assert_eq!(entry["users"].as_array().unwrap().len(), 20);
}

/// The reader's own state: `me` in the history and changes answered for
/// them (`as=` without `--users`), even when they are not among the 20
/// names shown; `user` and `added` on events; the same after a restart,
/// rebuilt from the file's deltas.
#[tokio::test]
async fn a_readers_own_reactions_stay_exact() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let bridge = start(&args).await;
    let id = inject(&bridge, "general", "hi").await;
    for user in std::iter::once("ann".to_owned()).chain((0..30).map(|n| format!("u{n}"))) {
        assert_eq!(react(&bridge, &id, "🎉", &user).await.0, 200);
    }
    // Ann's own toggle, as a reader: the answer says it is hers.
    let reader = format!("/api/channels/general/messages/{id}/reactions/%F0%9F%91%8D");
    let (status, own) = call(
        &bridge,
        reqwest::Method::PUT,
        &reader,
        Some(json!({ "author": "ann" })),
    )
    .await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(
        (own["me"].clone(), own["user"].clone(), own["added"].clone()),
        (json!(true), json!("ann"), json!(true))
    );
    let (_, changes) = call(
        &bridge,
        reqwest::Method::GET,
        &format!("/api/channels/general/changes?after={id}&as=ann"),
        None,
    )
    .await;
    assert_eq!(
        changes["messages"][0]["reactions"][0]["me"], true,
        "{changes}"
    );
    let bridge = {
        bridge.shutdown.cancel();
        bridge.task.await.unwrap().unwrap();
        start(&args).await
    };
    for (query, mine) in [("?as=ann", true), ("?as=zed", false), ("", false)] {
        let held = history(&bridge, query).await;
        let party = &held[0]["reactions"][0];
        assert_eq!(party["count"], 31, "{query}: {party}");
        assert_eq!(party["users"].as_array().unwrap().len(), 20);
        assert!(!party["users"].as_array().unwrap().contains(&json!("ann")));
        assert_eq!(party.get("me").is_some(), mine, "{query}: {party}");
        assert_eq!(held[0]["reactions"][1].get("me").is_some(), mine, "{query}");
    }
    // Ann takes hers back after the restart: exact, though never shown.
    let (_, off) = call(
        &bridge,
        reqwest::Method::DELETE,
        &reaction_path(&id, "🎉"),
        Some(json!({ "user": "ann" })),
    )
    .await;
    assert_eq!(
        (off["count"].clone(), off["added"].clone()),
        (json!(30), json!(false))
    );
    let held = history(&bridge, "?as=ann").await;
    assert_eq!(held[0]["reactions"][0].get("me"), None);
}

/// With `--users`, the reader is the token's user (`as=` is not trusted).
#[tokio::test]
async fn signed_in_the_reader_is_the_tokens_user() {
    let bridge = start_with_users("tok-ann Ann\ntok-bob Bob\n", &[]).await;
    let id = inject(&bridge, "general", "hi").await;
    assert_eq!(react(&bridge, &id, "👍", "Ann").await.0, 200);
    let http = reqwest::Client::new();
    let history = url(&bridge, "/api/channels/general/messages?as=Ann");
    let (_, as_bob) = answer(http.get(&history).bearer_auth("tok-bob")).await;
    assert_eq!(as_bob[0]["reactions"][0].get("me"), None, "{as_bob}");
    let (_, as_ann) = answer(http.get(&history).bearer_auth("tok-ann")).await;
    assert_eq!(as_ann[0]["reactions"][0]["me"], true, "{as_ann}");
}

/// A history file written before reaction deltas (each reaction line the
/// emoji's whole state, each edit the whole message) still loads.
#[tokio::test]
async fn a_history_file_with_whole_state_reaction_lines_still_loads() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let lines = [
        r#"{"id":"10","channel_id":"general","author":"ann","content":"old","timestamp":"2024-01-01T00:00:00.000Z"}"#,
        r#"{"change":"reaction","id":"11","message_id":"10","channel_id":"general","emoji":"ok","count":1,"users":["bob"]}"#,
        r#"{"change":"reaction","id":"12","message_id":"10","channel_id":"general","emoji":"ok","count":2,"users":["bob","cy"],"reactions":[{"emoji":"ok","count":2,"users":["bob","cy"]}]}"#,
        r#"{"change":"update","id":"13","message":{"id":"10","channel_id":"general","author":"ann","content":"new","timestamp":"2024-01-01T00:00:00.000Z","edited_at":"2024-01-01T00:00:01.000Z","version":"13","reactions":[{"emoji":"ok","count":2,"users":["bob","cy"]}],"reactions_version":"12"}}"#,
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let bridge = start(&["--history-file", file.to_str().unwrap()]).await;
    let held = history(&bridge, "?as=cy").await;
    assert_eq!(held[0]["content"], "new");
    assert_eq!(held[0]["version"], "13");
    assert_eq!(held[0]["reactions_version"], "12");
    assert_eq!(
        held[0]["reactions"],
        json!([{ "emoji": "ok", "count": 2, "users": ["bob", "cy"], "me": true }])
    );
    let (_, off) = call(
        &bridge,
        reqwest::Method::DELETE,
        &reaction_path("10", "ok"),
        Some(json!({ "user": "bob" })),
    )
    .await;
    assert_eq!(
        (off["count"].clone(), off["users"].clone()),
        (json!(1), json!(["cy"]))
    );
}
