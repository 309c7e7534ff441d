//! Edits, deletions and reactions: each a change with its own id from the
//! one id space, streamed as `message_update`, `message_delete` and
//! `reaction` events, replayed after `Last-Event-ID` in id order, coalesced by
//! the catch-up route, kept across restarts, and refused (403) on someone
//! else's message.

mod support;

use serde_json::{json, Value};
use support::*;

async fn control(
    bridge: &mock_bridge::RunningBridge,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call(bridge, method, path, body).await
}

#[tokio::test]
async fn edits_deletions_and_reactions_stream_with_their_change_ids() {
    let bridge = start(&[]).await;
    let first = inject(&bridge, "general", "frist").await;
    let second = inject(&bridge, "general", "spam").await;
    let mut stream = Stream::open(&bridge, "/api/channels/general/events", Some(&second)).await;
    let base = format!("/internal/channels/general/messages/{first}");
    let (status, edited) = control(
        &bridge,
        reqwest::Method::PATCH,
        &base,
        Some(json!({ "content": "first" })),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["content"], "first");
    assert!(edited["edited_at"].is_string());
    let version: u64 = edited["version"].as_str().unwrap().parse().unwrap();
    assert!(
        version > second.parse().unwrap(),
        "a change gets a new, larger id"
    );
    let (status, reaction) = control(
        &bridge,
        reqwest::Method::PUT,
        &format!("{base}/reactions/%F0%9F%91%8D"),
        Some(json!({ "user": "bob" })),
    )
    .await;
    assert_eq!(status, 200, "{reaction}");
    let reaction_id = reaction["version"].as_str().unwrap().to_owned();
    assert!(reaction_id.parse::<u64>().unwrap() > version);
    assert_eq!(
        reaction,
        json!({ "message_id": first, "channel_id": "general", "emoji": "👍", "count": 1, "users": ["bob"],
                "user": "bob", "added": true,
                "reactions": [{ "emoji": "👍", "count": 1, "users": ["bob"] }], "version": reaction_id })
    );
    let (status, deleted) = control(
        &bridge,
        reqwest::Method::DELETE,
        &format!("/internal/channels/general/messages/{second}"),
        None,
    )
    .await;
    assert_eq!((status, deleted), (200, json!({ "deleted": second })));
    // Live, in id order, each with its change id.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let frame = stream.next_non_heartbeat().await;
        if let Some(event) = frame.event.clone().filter(|e| e != "status") {
            seen.push((
                event,
                frame.id.clone().unwrap().parse::<u64>().unwrap(),
                frame.json(),
            ));
        }
    }
    assert_eq!(seen[0].0, "message_update");
    assert_eq!(seen[0].1, version);
    assert_eq!(seen[0].2["content"], "first");
    assert_eq!(seen[1].0, "reaction");
    assert_eq!(seen[1].2["count"], 1);
    assert_eq!(seen[2].0, "message_delete");
    assert_eq!(seen[2].2, json!({ "id": second, "channel_id": "general" }));
    assert!(seen[0].1 < seen[1].1 && seen[1].1 < seen[2].1, "{seen:?}");
    // History: each message as it now is; the deleted one is gone.
    let (_, history) = control(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/messages",
        None,
    )
    .await;
    let history = history.as_array().unwrap().clone();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["content"], "first");
    assert_eq!(
        history[0]["reactions"],
        json!([{ "emoji": "👍", "count": 1, "users": ["bob"] }])
    );
    assert_eq!(history[0]["reactions_version"], json!(reaction_id));
    // A replay after the second message's id has every change, in id order.
    let mut replay = Stream::open(&bridge, "/api/events?channels=general", Some(&second)).await;
    let mut replayed = Vec::new();
    while replayed.len() < 3 {
        let frame = replay.next_non_heartbeat().await;
        if let Some(id) = frame.id.clone() {
            replayed.push((frame.event.clone().unwrap(), id.parse::<u64>().unwrap()));
        }
    }
    let names: Vec<&str> = replayed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["message_update", "reaction", "message_delete"]);
    // Unknown messages are a 404 with a sentence.
    let (status, body) = control(
        &bridge,
        reqwest::Method::PATCH,
        "/internal/channels/general/messages/1",
        Some(json!({ "content": "x" })),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("no message"),
        "{body}"
    );
}

#[tokio::test]
async fn the_catch_up_coalesces_and_says_when_it_cannot() {
    let bridge = start(&["--history-per-channel", "4"]).await;
    let a = inject(&bridge, "general", "a").await;
    let b = inject(&bridge, "general", "b").await;
    let path = |id: &str| format!("/internal/channels/general/messages/{id}");
    for text in ["a1", "a2", "a3"] {
        control(
            &bridge,
            reqwest::Method::PATCH,
            &path(&a),
            Some(json!({ "content": text })),
        )
        .await;
    }
    control(&bridge, reqwest::Method::DELETE, &path(&b), None).await;
    let (status, page) = control(
        &bridge,
        reqwest::Method::GET,
        &format!("/api/channels/general/changes?after={b}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "each touched message once: {page}");
    assert_eq!(messages[0]["content"], "a3", "its newest version");
    assert_eq!(page["deleted"], json!([b]));
    assert_eq!(page["more"], false);
    // Paged: two changes at a time.
    let (_, first) = control(
        &bridge,
        reqwest::Method::GET,
        &format!("/api/channels/general/changes?after={b}&limit=2"),
        None,
    )
    .await;
    assert_eq!(first["more"], true);
    let (_, rest) = control(
        &bridge,
        reqwest::Method::GET,
        &format!(
            "/api/channels/general/changes?after={}&limit=2",
            first["last"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(rest["more"], false, "{rest}");
    assert_eq!(rest["deleted"], json!([b]));
    // More changes than are kept (4): from the start, it says so.
    for text in ["a4", "a5"] {
        control(
            &bridge,
            reqwest::Method::PATCH,
            &path(&a),
            Some(json!({ "content": text })),
        )
        .await;
    }
    let (_, gap) = control(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/changes?after=0",
        None,
    )
    .await;
    assert_eq!(gap, json!({ "resync": "history_gap" }));
    let (status, _) = control(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/changes?after=x",
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn readers_change_their_own_messages_and_toggle_their_reactions() {
    let bridge = start_with_users("tok-alice Alice\ntok-bob Bob\n", &[]).await;
    let http = reqwest::Client::new();
    let messages = url(&bridge, "/api/channels/general/messages");
    let body = json!({ "content": "hello", "client_id": "c-hello" });
    let (_, alices) = answer(http.post(&messages).bearer_auth("tok-alice").json(&body)).await;
    let id = alices["id"].as_str().unwrap().to_owned();
    let message_url = format!("{messages}/{id}");
    // Bob may not edit nor delete it: 403 with a sentence.
    let hijack = json!({ "content": "hijacked" });
    let (status, body) = answer(
        http.patch(&message_url)
            .bearer_auth("tok-bob")
            .json(&hijack),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("someone else's"),
        "{body}"
    );
    let (status, _) = answer(http.delete(&message_url).bearer_auth("tok-bob")).await;
    assert_eq!(status, 403);
    // Alice may.
    let fixed = json!({ "content": "hello, all" });
    let (_, edited) = answer(
        http.patch(&message_url)
            .bearer_auth("tok-alice")
            .json(&fixed),
    )
    .await;
    assert_eq!(edited["content"], "hello, all");
    // Bob reacts, twice is still once, and takes it back.
    let reaction_url = format!("{message_url}/reactions/%F0%9F%8E%89");
    for _ in 0..2 {
        let (_, state) = answer(http.put(&reaction_url).bearer_auth("tok-bob")).await;
        assert_eq!(
            (state["count"].clone(), state["users"].clone()),
            (json!(1), json!(["Bob"]))
        );
    }
    let (_, state) = answer(http.delete(&reaction_url).bearer_auth("tok-bob")).await;
    assert_eq!(state["count"], 0);
    let (status, _) = answer(http.delete(&message_url).bearer_auth("tok-alice")).await;
    assert_eq!(status, 200);
    let (_, history) = answer(http.get(&messages).bearer_auth("tok-bob")).await;
    assert_eq!(history, json!([]));
}

#[tokio::test]
async fn versions_reactions_and_deletions_survive_restarts() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let bridge = start(&args).await;
    let keep = inject(&bridge, "general", "typo").await;
    let drop_me = inject(&bridge, "general", "spam").await;
    let path = |id: &str| format!("/internal/channels/general/messages/{id}");
    let (_, edited) = control(
        &bridge,
        reqwest::Method::PATCH,
        &path(&keep),
        Some(json!({ "content": "fixed" })),
    )
    .await;
    control(
        &bridge,
        reqwest::Method::PUT,
        &format!("{}/reactions/ok", path(&keep)),
        Some(json!({ "user": "bob" })),
    )
    .await;
    let (_, deleted) = control(&bridge, reqwest::Method::DELETE, &path(&drop_me), None).await;
    assert_eq!(deleted["deleted"], drop_me);
    let (_, before) = control(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/messages",
        None,
    )
    .await;
    // One bridge on the file at a time: the first stops before the next starts.
    stop(bridge).await;
    for round in 0..2 {
        bridge_restart_check(&args, &before, &edited, &keep, round).await;
    }
}

async fn bridge_restart_check(
    args: &[&str],
    before: &Value,
    edited: &Value,
    keep: &str,
    round: usize,
) {
    let bridge = start(args).await;
    let (_, after) = call(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/messages",
        None,
    )
    .await;
    assert_eq!(&after, before, "restart {round}: the messages as they were");
    assert_eq!(after[0]["version"], edited["version"]);
    // A replay from before the changes cannot be made from the file: resync.
    let mut stream = Stream::open(&bridge, "/api/channels/general/events", Some(keep)).await;
    let resync = loop {
        let frame = stream.next_non_heartbeat().await;
        if !matches!(frame.event.as_deref(), None | Some("status")) {
            break frame;
        }
    };
    assert_eq!(
        resync.event.as_deref(),
        Some("resync"),
        "restart {round}: {resync:?}"
    );
    // New ids go on above every change ever made.
    let next: u64 = inject(&bridge, "general", "after").await.parse().unwrap();
    assert!(next > edited["version"].as_str().unwrap().parse::<u64>().unwrap());
    let (_, id) = (0, next.to_string());
    call(
        &bridge,
        reqwest::Method::DELETE,
        &format!("/internal/channels/general/messages/{id}"),
        None,
    )
    .await;
    stop(bridge).await;
}

/// A reply posted again (its answer was lost) after it was deleted is not
/// stored a second time: 410 with a sentence, so the panel drops it from its
/// outbox instead of showing it again. One edited since comes back as it is now.
#[tokio::test]
async fn a_reply_posted_again_answers_as_it_is_now() {
    let bridge = start(&[]).await;
    let post = json!({ "content": "hello", "client_id": "c-1", "author": "ann" });
    let path = "/api/channels/general/messages";
    let (status, stored) = control(&bridge, reqwest::Method::POST, path, Some(post.clone())).await;
    assert_eq!(status, 201, "{stored}");
    let id = stored["id"].as_str().unwrap().to_owned();
    let message = format!("/internal/channels/general/messages/{id}");
    let edit = Some(json!({ "content": "hello!" }));
    assert_eq!(
        control(&bridge, reqwest::Method::PATCH, &message, edit)
            .await
            .0,
        200
    );
    let (status, again) = control(&bridge, reqwest::Method::POST, path, Some(post.clone())).await;
    assert_eq!((status, again["content"].clone()), (200, json!("hello!")));
    assert_eq!(
        control(&bridge, reqwest::Method::DELETE, &message, None)
            .await
            .0,
        200
    );
    let (status, gone) = control(&bridge, reqwest::Method::POST, path, Some(post)).await;
    assert_eq!(status, 410, "{gone}");
    assert!(
        gone["error"].as_str().unwrap().contains("deleted"),
        "{gone}"
    );
    let (_, history) = control(&bridge, reqwest::Method::GET, path, None).await;
    assert_eq!(history, json!([]), "never stored twice");
}

/// A reader's edit or deletion retried with its `client_id` (its answer was
/// lost) is made once: the retry gets the first answer, and no second change.
#[tokio::test]
async fn a_readers_change_retried_with_its_client_id_is_made_once() {
    let bridge = start(&[]).await;
    let post = json!({ "content": "draft", "client_id": "p-1", "author": "ann" });
    let path = "/api/channels/general/messages";
    let (_, stored) = control(&bridge, reqwest::Method::POST, path, Some(post)).await;
    let id = stored["id"].as_str().unwrap().to_owned();
    let message = format!("{path}/{id}");
    let edit = json!({ "content": "final", "client_id": "e-1", "author": "ann" });
    let (status, first) = control(
        &bridge,
        reqwest::Method::PATCH,
        &message,
        Some(edit.clone()),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = control(&bridge, reqwest::Method::PATCH, &message, Some(edit)).await;
    assert_eq!(
        (status, &again),
        (200, &first),
        "the retry answers as the first did"
    );
    let (_, changes) = control(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/changes?after=0",
        None,
    )
    .await;
    assert_eq!(changes["last"], first["version"], "one edit: {changes}");
    // Someone else's client id for another message is refused.
    let other = json!({ "content": "x", "client_id": "e-1", "author": "ann" });
    let post2 = json!({ "content": "second", "client_id": "p-2", "author": "ann" });
    let (_, second) = control(&bridge, reqwest::Method::POST, path, Some(post2)).await;
    let second = format!("{path}/{}", second["id"].as_str().unwrap());
    assert_eq!(
        control(&bridge, reqwest::Method::PATCH, &second, Some(other))
            .await
            .0,
        409
    );
    // A deletion retried: the same answer, though the message is gone.
    let delete = json!({ "client_id": "d-1", "author": "ann" });
    let (status, deleted) = control(
        &bridge,
        reqwest::Method::DELETE,
        &message,
        Some(delete.clone()),
    )
    .await;
    assert_eq!((status, deleted["deleted"].clone()), (200, json!(id)));
    let (status, again) = control(&bridge, reqwest::Method::DELETE, &message, Some(delete)).await;
    assert_eq!((status, again["deleted"].clone()), (200, json!(id)));
}

/// Issue 31, defect 2: a channel whose every message was deleted still
/// remembers the deletions when its last listener leaves (a polling panel
/// lets go at every poll): a reader who was away hears of them on resuming.
#[tokio::test]
async fn deletions_outlive_the_last_listener_of_an_emptied_channel() {
    let bridge = start(&[]).await;
    let id = inject(&bridge, "quiet", "soon gone").await;
    let message = format!("/internal/channels/quiet/messages/{id}");
    assert_eq!(
        control(&bridge, reqwest::Method::DELETE, &message, None)
            .await
            .0,
        200
    );
    let poll = format!("/api/poll?channels=quiet&after={id}&wait=0");
    let (status, answer) = control(&bridge, reqwest::Method::GET, &poll, None).await;
    assert_eq!(status, 200, "{answer}");
    eventually("the poll to let go", || async {
        bridge.hub.listeners("quiet") == 0
    })
    .await;
    let changes = format!("/api/channels/quiet/changes?after={id}");
    let (_, page) = control(&bridge, reqwest::Method::GET, &changes, None).await;
    assert_eq!(page["deleted"], json!([id]), "{page}");
    let mut stream = Stream::open(&bridge, "/api/channels/quiet/events", Some(&id)).await;
    let replayed = loop {
        let frame = stream.next_non_heartbeat().await;
        if !matches!(frame.event.as_deref(), None | Some("status")) {
            break frame;
        }
    };
    assert_eq!(
        replayed.event.as_deref(),
        Some("message_delete"),
        "{replayed:?}"
    );
    stream.close();
    // A name that never held anything still leaves nothing behind.
    let before = bridge.hub.channel_count();
    let (status, _) = control(
        &bridge,
        reqwest::Method::GET,
        "/api/poll?channels=never-used&wait=0",
        None,
    )
    .await;
    assert_eq!(status, 200);
    eventually("the made-up channel to go", || async {
        bridge.hub.channel_count() == before
    })
    .await;
}

/// Issue 31, defect 5: a bulk deletion is all or nothing, checked and made
/// under one lock: a repeated id counts once, and a request that answers 404
/// deleted nothing, even while other deletions race it.
#[tokio::test]
async fn a_bulk_deletion_is_all_or_nothing() {
    let bridge = start(&[]).await;
    let bulk = "/internal/channels/general/messages/bulk-delete";
    let a = inject(&bridge, "general", "a").await;
    let b = inject(&bridge, "general", "b").await;
    let (status, deleted) = control(
        &bridge,
        reqwest::Method::POST,
        bulk,
        Some(json!({ "ids": [a, a] })),
    )
    .await;
    assert_eq!((status, deleted), (200, json!({ "deleted": [a] })));
    let (status, _) = control(
        &bridge,
        reqwest::Method::POST,
        bulk,
        Some(json!({ "ids": [b, "99999"] })),
    )
    .await;
    assert_eq!(status, 404);
    assert!(bridge.hub.holds("general", b.parse().unwrap()), "b kept");
    // Racing deletions of overlapping sets: every message deleted is in
    // exactly one 200 answer.
    let mut ids = vec![b];
    for n in 0..60 {
        ids.push(inject(&bridge, "general", &format!("m{n}")).await);
    }
    let mut racers = Vec::new();
    for start in (0..ids.len()).step_by(3) {
        let chosen: Vec<String> = ids.iter().cycle().skip(start).take(9).cloned().collect();
        let url = url(&bridge, bulk);
        racers.push(tokio::spawn(async move {
            answer(
                reqwest::Client::new()
                    .post(url)
                    .json(&json!({ "ids": chosen })),
            )
            .await
        }));
    }
    let mut claimed = Vec::new();
    for racer in racers {
        let (status, body) = racer.await.unwrap();
        match status {
            200 => claimed.extend(
                (body["deleted"].as_array().unwrap().iter())
                    .map(|id| id.as_str().unwrap().to_owned()),
            ),
            404 => {}
            other => panic!("{other}: {body}"),
        }
    }
    let held = client(&bridge).history_ids("general").await.unwrap();
    let deleted = ids.len() - held.len();
    claimed.sort();
    let unique = {
        let mut unique = claimed.clone();
        unique.dedup();
        unique.len()
    };
    assert_eq!(
        unique,
        claimed.len(),
        "a message claimed twice: {claimed:?}"
    );
    assert_eq!(
        deleted,
        claimed.len(),
        "deleted {deleted}, but the 200 answers name {}: a 404 deleted some",
        claimed.len()
    );
}
