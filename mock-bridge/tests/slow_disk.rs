//! A slow disk never stalls the streams: with fsync on and every write to
//! the history file slowed down, posts that keep the disk busy leave the
//! heartbeats of an open stream on time (gaps within 2 intervals), and every
//! post is stored once.

mod support;

use std::time::{Duration, Instant};
use support::*;

/// Posters, each posting its posts one after another: a post waits for the
/// write before it, so the disk is busy for at least `IN_TURN` writes.
const POSTERS: usize = 25;
const IN_TURN: usize = 20;
const POSTS: usize = POSTERS * IN_TURN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_their_pace_while_posts_wait_on_a_slow_disk() {
    let scratch = scratch();
    let dir = scratch.path();
    let file = dir.join("history.jsonl");
    let bridge = start(&[
        "--heartbeat-interval",
        "0.25",
        "--history-file",
        file.to_str().unwrap(),
        "--history-fsync",
        "--history-per-channel",
        "1000",
    ])
    .await;
    let http = reqwest::Client::new();
    let fault = http
        .put(url(&bridge, "/internal/disk-fault"))
        .json(&serde_json::json!({ "delay_ms": 100 }))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 200);
    let mut stream = Stream::open(&bridge, "/api/channels/watch/events", None).await;
    stream.next().await; // the opening status
    let posters: Vec<_> = (0..POSTERS)
        .map(|poster| {
            let (http, url) = (http.clone(), url(&bridge, "/api/channels/general/messages"));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for n in 0..IN_TURN {
                    let body = serde_json::json!({
                        "author": "load", "content": format!("post {n}"),
                        "client_id": format!("slow-{poster}-{n}")
                    });
                    let sent = http.post(url.clone()).json(&body).send().await;
                    statuses.push(sent.map(|r| r.status().as_u16()));
                }
                statuses
            })
        })
        .collect();
    // Heartbeats while the posts queue on the disk: posts are stored in
    // groups, but each poster's next post waits for its last, so there are at
    // least 20 writes of 100 ms, 2 s of writing.
    let began = Instant::now();
    let mut last = Instant::now();
    let mut gaps = Vec::new();
    while began.elapsed() < Duration::from_secs(2) {
        let frame = stream.next().await;
        if frame.event.as_deref() == Some("heartbeat") {
            gaps.push(last.elapsed());
            last = Instant::now();
        }
    }
    let mut stored = 0;
    for poster in posters {
        for status in poster.await.unwrap() {
            assert_eq!(status.unwrap(), 201);
            stored += 1;
        }
    }
    assert_eq!(stored, POSTS);
    let widest = gaps.iter().max().copied().unwrap_or_default();
    println!(
        "slow disk: {POSTS} posts in {} writes, {} heartbeats in 2 s, widest gap {} ms (interval 250 ms)",
        bridge.hub.history_writes(),
        gaps.len(),
        widest.as_millis()
    );
    assert!(
        widest <= Duration::from_millis(500),
        "a heartbeat gap of {} ms: the posts held the stream's threads",
        widest.as_millis()
    );
    let ids = client(&bridge).history_ids("general").await.unwrap();
    assert_eq!(ids.len(), POSTS, "each post stored once");
}
