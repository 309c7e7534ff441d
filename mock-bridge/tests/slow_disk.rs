//! A slow disk never stalls the streams: with fsync on and every history
//! append slowed down, 500 concurrent posts leave the heartbeats of an open
//! stream on time (gaps within 2 intervals), and every post is stored once.

mod support;

use std::time::{Duration, Instant};
use support::*;

const POSTS: usize = 500;

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
        .json(&serde_json::json!({ "delay_ms": 4 }))
        .send()
        .await
        .unwrap();
    assert_eq!(fault.status(), 200);
    let mut stream = Stream::open(&bridge, "/api/channels/watch/events", None).await;
    stream.next().await; // the opening status
    let posts: Vec<_> = (0..POSTS)
        .map(|n| {
            let (http, url) = (http.clone(), url(&bridge, "/api/channels/general/messages"));
            tokio::spawn(async move {
                let body = serde_json::json!({
                    "author": "load", "content": format!("post {n}"), "client_id": format!("slow-{n}")
                });
                http.post(url).json(&body).send().await.map(|r| r.status().as_u16())
            })
        })
        .collect();
    // Heartbeats while the posts queue on the disk (500 × 4 ms ≥ 2 s of writing).
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
    for post in posts {
        assert_eq!(post.await.unwrap().unwrap(), 201);
        stored += 1;
    }
    assert_eq!(stored, POSTS);
    let widest = gaps.iter().max().copied().unwrap_or_default();
    println!(
        "slow disk: {POSTS} posts, {} heartbeats in 2 s, widest gap {} ms (interval 250 ms)",
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
