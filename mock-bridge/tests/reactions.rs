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
    stop(bridge).await;
    let bridge = start(&args).await;
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

/// A reader's reaction `PUT` through the reader's route: status and answer.
async fn react_as_reader(
    bridge: &mock_bridge::RunningBridge,
    method: reqwest::Method,
    id: &str,
    emoji: &str,
    author: &str,
) -> (u16, Value) {
    let emoji: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
    let path = format!("/api/channels/general/messages/{id}/reactions/{emoji}");
    call(bridge, method, &path, Some(json!({ "author": author }))).await
}

/// Issue 31's review, finding 6: a toggle that changes nothing (a `PUT` of
/// a reaction already there, a `DELETE` of one that is not) makes no
/// change: no change id, no history line, no event; it answers the state
/// as it is, with the reader's own `me`.
#[tokio::test]
async fn a_toggle_that_changes_nothing_makes_no_change() {
    use reqwest::Method;
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let bridge = start(&["--history-file", file.to_str().unwrap()]).await;
    let id = inject(&bridge, "general", "hi").await;
    let mut stream = Stream::open(&bridge, "/api/channels/general/events", None).await;
    let (status, first) = react_as_reader(&bridge, Method::PUT, &id, "👍", "ann").await;
    assert_eq!((status, first["me"].clone()), (200, json!(true)), "{first}");
    let lines = std::fs::read_to_string(&file).unwrap().lines().count();
    // Ann again, and Cy takes back what he never gave.
    let (status, again) = react_as_reader(&bridge, Method::PUT, &id, "👍", "ann").await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (
            &again["count"],
            &again["users"],
            &again["me"],
            &again["added"]
        ),
        (&json!(1), &json!(["ann"]), &json!(true), &json!(true)),
        "{again}"
    );
    assert_eq!(again["version"], first["version"], "no new change: {again}");
    let (status, never) = react_as_reader(&bridge, Method::DELETE, &id, "🎉", "cy").await;
    assert_eq!(status, 200, "{never}");
    assert_eq!(
        (&never["count"], &never["me"], &never["added"]),
        (&json!(0), &json!(false), &json!(false)),
        "{never}"
    );
    assert_eq!(
        never["reactions"],
        json!([{ "emoji": "👍", "count": 1, "users": ["ann"] }])
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        lines,
        "a toggle that changed nothing wrote a line"
    );
    // The stream: Ann's reaction, then Bob's, nothing between.
    let (status, _) = react_as_reader(&bridge, Method::PUT, &id, "👍", "bob").await;
    assert_eq!(status, 200);
    let mut reactions = Vec::new();
    while reactions.len() < 2 {
        let frame = stream.next_non_heartbeat().await;
        if frame.event.as_deref() == Some("reaction") {
            reactions.push(frame.json());
        }
    }
    let who: Vec<&Value> = reactions.iter().map(|r| &r["user"]).collect();
    assert_eq!(who, [&json!("ann"), &json!("bob")], "{reactions:?}");
    // And a poll starts at Bob's change: nothing came after it.
    let (_, poll) = call(
        &bridge,
        Method::GET,
        "/api/poll?channels=general&wait=0",
        None,
    )
    .await;
    assert_eq!(poll["cursor"], reactions[1]["version"], "{poll}");
}

/// Issue 31's review, finding 1: names and emoji are bounded in bytes as
/// well as characters, so that twenty emoji with twenty names each cannot
/// make an event larger than the panel takes. A name (a message's author, a
/// reacting user, the reader of `as=`, a signed-in user) is 1 to 32
/// characters and at most 64 bytes, none of them a control character; an
/// emoji is 1 to 64 characters and at most 64 bytes.
#[tokio::test]
async fn names_and_emoji_are_bounded_in_bytes_and_characters() {
    use reqwest::Method;
    let bridge = start(&[]).await;
    let id = inject(&bridge, "general", "hi").await;
    let longest = "n".repeat(32);
    let widest = "\"".repeat(22) + &"😀".repeat(10); // 32 characters, 62 bytes
    for good in [longest.as_str(), widest.as_str(), "ann"] {
        let (status, body) = react_as_reader(&bridge, Method::PUT, &id, "ok", good).await;
        assert_eq!(status, 200, "{good:?}: {body}");
    }
    let too_long = "n".repeat(33);
    let too_wide = "😀".repeat(17); // 17 characters, 68 bytes
    for bad in [too_long.as_str(), too_wide.as_str(), "a\u{1}b", "  "] {
        let (status, body) = react_as_reader(&bridge, Method::PUT, &id, "ok", bad).await;
        assert_eq!(status, 400, "{bad:?}: {body}");
        assert!(body["error"].as_str().unwrap().contains("32"), "{body}");
        let (status, _) = react(&bridge, &id, "ok", bad).await;
        assert_eq!(status, 400, "the control API's user {bad:?}");
        let post = json!({ "author": bad, "content": "hello", "client_id": "c-1" });
        let (status, _) = call(
            &bridge,
            Method::POST,
            "/api/channels/general/messages",
            Some(post),
        )
        .await;
        assert_eq!(status, 400, "a reply's author {bad:?}");
        let inject = json!({ "author": bad, "content": "hello" });
        let (status, _) = call(
            &bridge,
            Method::POST,
            "/internal/channels/general/messages",
            Some(inject),
        )
        .await;
        assert_eq!(status, 400, "a message's author {bad:?}");
        if !bad.trim().is_empty() {
            // (A blank `as` is no reader at all.)
            let encoded: String = bad.bytes().map(|b| format!("%{b:02X}")).collect();
            let path = format!("/api/channels/general/messages?as={encoded}");
            assert_eq!(
                call(&bridge, Method::GET, &path, None).await.0,
                400,
                "as={bad:?}"
            );
        }
    }
    let emoji_longest = "e".repeat(64);
    let emoji_widest = "😀".repeat(16); // 64 bytes
    for good in [emoji_longest.as_str(), emoji_widest.as_str()] {
        assert_eq!(react(&bridge, &id, good, "ann").await.0, 200, "{good:?}");
    }
    let emoji_too_wide = "😀".repeat(17); // 17 characters, 68 bytes
    let (status, body) = react(&bridge, &id, &emoji_too_wide, "ann").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("64 bytes"),
        "{body}"
    );
}

/// The panel drops every event whose data is larger than this
/// (frontend/core/src/wire.rs, `MAX_PAYLOAD_BYTES`).
const PANEL_MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The widest of `candidates` (each `make(n)` for one person or emoji `n`)
/// that the bridge accepts, by how many bytes it takes in JSON: `accepts`
/// says whether it takes the first of them.
async fn widest<F, Fut>(candidates: &[&dyn Fn(usize) -> String], mut accepts: F) -> usize
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut ranked: Vec<usize> = (0..candidates.len()).collect();
    ranked.sort_by_key(|&at| std::cmp::Reverse(json!(candidates[at](0)).to_string().len()));
    for at in ranked {
        if accepts(candidates[at](0)).await {
            return at;
        }
    }
    panic!("none of the candidates is accepted");
}

/// Issue 31's review, finding 1: the bounds on reactions limited counts,
/// not bytes: twenty readers with 100-character names of 4-byte or escaped
/// characters on twenty 64-character emoji made a `reaction` event of
/// 69,766 bytes, which every panel drops (counts and edits freeze). Here
/// the worst case the bridge accepts: for each part, the widest of the
/// hostile candidates it takes (the review's among them), a message as
/// large as it takes, twenty emoji with twenty readers each; then an edit
/// as large as it takes. Every event it can emit for that message (each
/// `reaction`, the `message_update`, and all of them replayed, and polled)
/// is within the panel's cap.
#[tokio::test]
async fn every_event_of_a_message_fits_the_panels_cap_at_the_worst_case() {
    let bridge = start(&["--max-replay", "10000"]).await;
    let http = reqwest::Client::new();
    // Names: the review's (100 characters of quotes and emoji), one
    // character too many, and the widest the rule allows (quotes are two
    // bytes in JSON, emoji four); each varied by `n` so that all differ.
    let review = |n: usize| format!("{n:02}{}", "\"".repeat(48) + &"😀".repeat(50));
    let long = |n: usize| format!("{n:02}{}", "\"".repeat(21) + &"😀".repeat(10));
    let widest_name = |n: usize| {
        let mut name: Vec<char> = "\""
            .repeat(22)
            .chars()
            .chain("😀".repeat(10).chars())
            .collect();
        name.rotate_left(n % 32);
        name.swap(0, (n / 32) % 32 + 1);
        name.into_iter().collect::<String>()
    };
    let names: [&dyn Fn(usize) -> String; 3] = [&review, &long, &widest_name];
    let probe = inject(&bridge, "probe", "probe").await;
    let name = widest(&names, |name| {
        let http = http.clone();
        let path = url(
            &bridge,
            &format!("/api/channels/probe/messages/{probe}/reactions/ok"),
        );
        async move {
            answer(http.put(path).json(&json!({ "author": name })))
                .await
                .0
                == 200
        }
    })
    .await;
    let name = names[name];
    // Emoji: the review's (64 emoji), and 64 quotes and backslashes.
    let review_emoji = |n: usize| format!("{n:02}{}", "😀".repeat(62));
    let escaped = |n: usize| {
        (0..64)
            .map(|bit| if (n >> (bit % 8)) & 1 == 1 { '\\' } else { '"' })
            .collect::<String>()
    };
    let emoji: [&dyn Fn(usize) -> String; 2] = [&review_emoji, &escaped];
    let emoji = widest(&emoji, |emoji| {
        let http = http.clone();
        let encoded: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
        let path = url(
            &bridge,
            &format!("/api/channels/probe/messages/{probe}/reactions/{encoded}"),
        );
        async move {
            answer(http.put(path).json(&json!({ "author": "ann" })))
                .await
                .0
                == 200
        }
    })
    .await;
    let emoji = [&review_emoji as &dyn Fn(usize) -> String, &escaped][emoji];
    // The largest message: ten files with long addresses, and content of
    // control characters (six bytes each in JSON) as long as it is taken,
    // by the widest author.
    let files: Vec<Value> = (0..10)
        .map(|n| {
            json!({ "filename": format!("{n}{}", "\"".repeat(199)), "size": u64::MAX,
                         "url": format!("https://example.com/{}", "%22".repeat(500)) })
        })
        .collect();
    let inject_with = |count: usize| {
        let http = http.clone();
        let body = json!({ "author": name(0), "content": "\u{1}".repeat(count),
                           "attachments": files });
        let path = url(&bridge, "/internal/channels/general/messages");
        async move { answer(http.post(path).json(&body)).await }
    };
    let (mut low, mut high) = (1usize, 4_000);
    while low < high {
        let mid = (low + high).div_ceil(2);
        let (status, _) = inject_with(mid).await;
        if status == 201 {
            low = mid
        } else {
            high = mid - 1
        }
    }
    if low < 4_000 {
        // Refused past the bound with a sentence, not for its length in characters.
        let (status, refused) = inject_with(low + 1).await;
        assert_eq!(status, 413, "{refused}");
        assert!(
            refused["error"].as_str().unwrap().contains("bytes as JSON"),
            "{refused}"
        );
    }
    let (status, message) = inject_with(low).await;
    assert_eq!(status, 201, "{message}");
    let id = message["id"].as_str().unwrap().to_owned();
    let cursor = (id.parse::<u64>().unwrap() - 1).to_string();
    let mut stream = Stream::open(&bridge, "/api/channels/general/events", Some(&id)).await;
    for e in 0..20 {
        let encoded: String = emoji(e).bytes().map(|b| format!("%{b:02X}")).collect();
        let path = url(
            &bridge,
            &format!("/api/channels/general/messages/{id}/reactions/{encoded}"),
        );
        for r in 0..20 {
            let (status, body) = answer(http.put(&path).json(&json!({ "author": name(r) }))).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    // The largest edit taken (its own fields count too).
    let edit = |count: usize| {
        let http = http.clone();
        let path = url(
            &bridge,
            &format!("/internal/channels/general/messages/{id}"),
        );
        let body = json!({ "content": "\u{2}".repeat(count) });
        async move { answer(http.patch(path).json(&body)).await }
    };
    let (mut low, mut high) = (1usize, 4_000);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if edit(mid).await.0 == 200 {
            low = mid
        } else {
            high = mid - 1
        }
    }
    if low < 4_000 {
        let (status, refused) = edit(low + 1).await;
        assert_eq!(status, 413, "{refused}");
        assert!(
            refused["error"].as_str().unwrap().contains("bytes as JSON"),
            "{refused}"
        );
    }
    let (status, edited) = edit(low).await;
    assert_eq!(status, 200, "{edited}");
    let last = edited["version"].as_str().unwrap().to_owned();
    let mut largest: std::collections::BTreeMap<String, usize> = Default::default();
    let mut note = |what: &str, data: &str| {
        let size = largest.entry(what.to_owned()).or_default();
        *size = (*size).max(data.len());
    };
    // Live, then replayed from before the message: every frame up to the last edit.
    let mut replay = Stream::open(&bridge, "/api/channels/general/events", Some(&cursor)).await;
    for (how, stream) in [("live", &mut stream), ("replayed", &mut replay)] {
        loop {
            let frame = stream.next_non_heartbeat().await;
            if let Some(event) = frame.event.as_deref().filter(|e| *e != "status") {
                note(&format!("{how} {event}"), &frame.data);
            }
            if frame.id.as_deref() == Some(last.as_str()) {
                break;
            }
        }
    }
    let poll = format!("/api/poll?channels=general&after={cursor}&wait=0");
    let (_, polled) = call(&bridge, reqwest::Method::GET, &poll, None).await;
    for event in polled["events"].as_array().unwrap() {
        note(
            &format!("polled {}", event["event"].as_str().unwrap()),
            event["data"].as_str().unwrap(),
        );
    }
    eprintln!("the largest event data of each kind, in bytes: {largest:?} (a message of {low} control characters)");
    for (what, size) in &largest {
        assert!(
            *size <= PANEL_MAX_PAYLOAD_BYTES,
            "a {what} event's data is {size} bytes: every panel drops it (limit {PANEL_MAX_PAYLOAD_BYTES})"
        );
    }
    assert!(
        largest.keys().any(|k| k == "live message_update"),
        "{largest:?}"
    );
}
