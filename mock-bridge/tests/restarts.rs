//! What a history file remembers across restarts beyond the messages it
//! retains: each channel's cut (a resume from before it is told to resync,
//! however many restarts later) and the posts it cut (a late retry gets its
//! original, never a copy).

mod support;

use serde_json::{json, Value};
use support::*;

async fn post_reply(bridge: &mock_bridge::RunningBridge, n: usize) -> (u16, Value) {
    let body =
        json!({ "content": format!("reply {n}"), "client_id": format!("c-{n}"), "author": "ann" });
    call(
        bridge,
        reqwest::Method::POST,
        "/api/channels/general/messages",
        Some(body),
    )
    .await
}

async fn restart(bridge: mock_bridge::RunningBridge, args: &[&str]) -> mock_bridge::RunningBridge {
    bridge.shutdown.cancel();
    bridge.task.await.unwrap().unwrap();
    start(args).await
}

#[tokio::test]
async fn a_second_restart_still_knows_the_cut_and_the_posts_it_cut() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = [
        "--history-file",
        file.to_str().unwrap(),
        "--history-per-channel",
        "3",
    ];
    let bridge = start(&args).await;
    let mut originals = Vec::new();
    for n in 0..5 {
        let (status, message) = post_reply(&bridge, n).await;
        assert_eq!(status, 201);
        originals.push(message);
    }
    // The first restart compacts the file to what is retained; the second
    // starts from that file alone.
    let bridge = restart(bridge, &args).await;
    let bridge = restart(bridge, &args).await;
    let first = originals[0]["id"].as_str().unwrap();
    let mut stream = Stream::open(&bridge, "/api/channels/general/events", Some(first)).await;
    // `retry:`, the status, then the resync.
    let resync = loop {
        let frame = stream.next_non_heartbeat().await;
        match frame.event.as_deref() {
            None | Some("status") => continue,
            _ => break frame,
        }
    };
    assert_eq!(resync.event.as_deref(), Some("resync"), "{resync:?}");
    assert_eq!(resync.json()["reason"], "history_gap");
    stream.close();
    // A late retry of a post that was cut gets the original back.
    let (status, again) = post_reply(&bridge, 0).await;
    assert_eq!((status, &again), (200, &originals[0]));
    let (_, held) = call(
        &bridge,
        reqwest::Method::GET,
        "/api/channels/general/messages",
        None,
    )
    .await;
    assert_eq!(held, json!(originals[2..]), "three retained, no copy");
    // And the ids go on above everything ever stored.
    let (status, next) = post_reply(&bridge, 5).await;
    assert_eq!(status, 201);
    let last: u64 = originals[4]["id"].as_str().unwrap().parse().unwrap();
    assert!(next["id"].as_str().unwrap().parse::<u64>().unwrap() > last);
}

async fn get(bridge: &mock_bridge::RunningBridge, path: &str) -> Value {
    let (status, body) = call(bridge, reqwest::Method::GET, path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Issue 31, defect 20: the deletion of a channel's last message, then a
/// restart: the cut the file keeps for it (all there is left of it) must
/// outlive the first listener that comes and goes, and the next restart.
#[tokio::test]
async fn the_deletion_of_a_channels_last_message_survives_restarts_and_listeners() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let bridge = start(&args).await;
    let id = inject(&bridge, "quiet", "the only one").await;
    let message = format!("/internal/channels/quiet/messages/{id}");
    assert_eq!(
        call(&bridge, reqwest::Method::DELETE, &message, None)
            .await
            .0,
        200
    );
    let changes = format!("/api/channels/quiet/changes?after={id}");
    let mut bridge = restart(bridge, &args).await;
    for round in 0..2 {
        // A polling panel: it listens, then lets go.
        get(
            &bridge,
            &format!("/api/poll?channels=quiet&after={id}&wait=0"),
        )
        .await;
        eventually("the poll to let go", || async {
            bridge.hub.listeners("quiet") == 0
        })
        .await;
        let page = get(&bridge, &changes).await;
        assert_eq!(
            page,
            json!({ "resync": "history_gap" }),
            "restart {round}: a reader who saw {id} must learn it is gone"
        );
        bridge = restart(bridge, &args).await;
    }
}

/// Issue 31, defect 4: what makes retries safe survives restarts and the
/// compaction they bring: a reply that was deleted stays gone (410), and a
/// reader's edit retried with its client id answers as the first try did,
/// never applied a second time over a newer edit.
#[tokio::test]
async fn retries_stay_safe_across_restarts() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap()];
    let bridge = start(&args).await;
    let (status, gone) = post_reply(&bridge, 0).await;
    assert_eq!(status, 201);
    let gone = format!(
        "/api/channels/general/messages/{}",
        gone["id"].as_str().unwrap()
    );
    let by_ann = json!({ "author": "ann" });
    assert_eq!(
        call(&bridge, reqwest::Method::DELETE, &gone, Some(by_ann))
            .await
            .0,
        200
    );
    let (status, kept) = post_reply(&bridge, 1).await;
    assert_eq!(status, 201);
    let kept = format!(
        "/api/channels/general/messages/{}",
        kept["id"].as_str().unwrap()
    );
    let first_edit = json!({ "content": "first edit", "client_id": "e-1", "author": "ann" });
    let (status, first) = call(
        &bridge,
        reqwest::Method::PATCH,
        &kept,
        Some(first_edit.clone()),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let newer = json!({ "content": "newer edit", "client_id": "e-2", "author": "ann" });
    let (status, newer) = call(&bridge, reqwest::Method::PATCH, &kept, Some(newer)).await;
    assert_eq!(status, 200, "{newer}");
    let mut bridge = bridge;
    for round in 0..3 {
        let (status, again) = post_reply(&bridge, 0).await;
        assert_eq!(
            status, 410,
            "restart {round}: the deleted reply came back: {again}"
        );
        let (status, again) = call(
            &bridge,
            reqwest::Method::PATCH,
            &kept,
            Some(first_edit.clone()),
        )
        .await;
        assert_eq!(
            (status, &again),
            (200, &first),
            "restart {round}: the retried edit answers as the first did"
        );
        let history = get(&bridge, "/api/channels/general/messages").await;
        assert_eq!(
            (history[0]["content"].clone(), history[0]["version"].clone()),
            (json!("newer edit"), newer["version"].clone()),
            "restart {round}: the newer edit stands"
        );
        bridge = restart(bridge, &args).await;
    }
}
