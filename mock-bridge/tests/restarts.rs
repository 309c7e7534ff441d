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
