//! Posts are stored in groups (issue 32): with a history file, the posts that
//! wait while one write (and its sync) is under way go to the file together
//! in the next, each answered once its group is on the disk; ids, the file's
//! order and every stream's order stay one order. Without a history file a
//! post is stored and broadcast in its request's own poll, with no hop to
//! another thread.

mod support;

use clap::Parser;
use futures_util::FutureExt;
use mock_bridge::config::Config;
use mock_bridge::hub::Hub;
use mock_bridge::message::NewMessage;
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;
use tokio_util::sync::CancellationToken;

fn new_message(content: &str) -> NewMessage {
    NewMessage {
        author: "tester".into(),
        content: content.into(),
        ..Default::default()
    }
}

/// Without a history file there is nothing to wait for: a post, a message
/// from the control API and a change are made in the request's own poll
/// (before, each went through `spawn_blocking`: a thread hop per post, and
/// the answer queued behind the streams the post woke).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_history_file_a_post_is_stored_in_its_own_poll() {
    let config = Config::parse_from(["mock-bridge"]);
    let hub = Arc::new(Hub::new(config, CancellationToken::new()).unwrap());
    let published = hub
        .publish_async("c".into(), new_message("one"))
        .now_or_never();
    assert!(
        matches!(published, Some(Ok(_))),
        "a message from the control API waited for another thread: {published:?}"
    );
    let posted = (hub.post_async("c".into(), new_message("two"), "p-1".into())).now_or_never();
    assert!(
        matches!(posted, Some(Ok((_, true)))),
        "a reader's post waited for another thread: {posted:?}"
    );
}

/// Readers' posts through the API, `count` of them at once: each answer's
/// status and body.
async fn post_all(
    bridge: &mock_bridge::RunningBridge,
    bodies: Vec<(String, Value)>,
) -> Vec<(u16, Value)> {
    let http = reqwest::Client::new();
    let posts: Vec<_> = bodies
        .into_iter()
        .map(|(channel, body)| {
            let request =
                (http.post(url(bridge, &format!("/api/channels/{channel}/messages")))).json(&body);
            tokio::spawn(answer(request))
        })
        .collect();
    let mut answers = Vec::new();
    for post in posts {
        answers.push(post.await.unwrap());
    }
    answers
}

fn reply(n: usize) -> Value {
    json!({ "author": "load", "content": format!("post {n}"), "client_id": format!("burst-{n}") })
}

/// 64 posts at once against a disk that takes 50 ms a write: they wait for
/// the first write together and go to the file in a few writes, each synced
/// once, not 64. Every post is stored once and answered 201.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_posts_is_written_and_synced_in_groups() {
    const POSTS: usize = 64;
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap(), "--history-fsync"];
    let bridge = start(&args).await;
    let (status, _) = call(
        &bridge,
        reqwest::Method::PUT,
        "/internal/disk-fault",
        Some(json!({ "delay_ms": 50 })),
    )
    .await;
    assert_eq!(status, 200);
    let bodies = (0..POSTS)
        .map(|n| ("general".to_owned(), reply(n)))
        .collect();
    let answers = post_all(&bridge, bodies).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 201),
        "{answers:?}"
    );
    let writes = bridge.hub.history_writes();
    println!("{POSTS} posts at once: {writes} writes to the history file");
    assert!(
        writes <= (POSTS / 4) as u64,
        "{POSTS} posts took {writes} writes (and syncs) of the history file"
    );
    let ids = client(&bridge).history_ids("general").await.unwrap();
    assert_eq!(ids.len(), POSTS, "each post stored once");
}

/// The ids of the message lines of a history file, in file order.
fn file_ids(path: &std::path::Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("content").is_some())
        .filter_map(|line| line["id"].as_str()?.parse().ok())
        .collect()
}

/// Posts to three channels at once, by readers and through the control API,
/// while a disk slowed to 20 ms a write makes them queue up into groups: a
/// stream of all three channels gets every message once, in increasing id
/// order, as the file holds them; after a restart each channel's history is
/// what the stream got of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_posts_keep_one_order_in_the_file_and_on_every_stream() {
    const POSTS: usize = 90;
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let args = ["--history-file", file.to_str().unwrap(), "--history-fsync"];
    let bridge = start(&args).await;
    let http = reqwest::Client::new();
    let fault = http
        .put(url(&bridge, "/internal/disk-fault"))
        .json(&json!({ "delay_ms": 20 }));
    assert_eq!(answer(fault).await.0, 200);
    let mut stream = Stream::open(&bridge, "/api/events?channels=a,b,c", None).await;
    stream.next().await; // the opening status
    let channel = |n: usize| ["a", "b", "c"][n % 3].to_owned();
    let readers = (0..POSTS / 2).map(|n| (channel(n), reply(n))).collect();
    let control: Vec<_> = (POSTS / 2..POSTS)
        .map(|n| {
            let (bridge_client, name) = (client(&bridge), channel(n));
            tokio::spawn(async move { bridge_client.inject(&name, "control", "injected").await })
        })
        .collect();
    let answers = post_all(&bridge, readers).await;
    assert!(
        answers.iter().all(|(status, _)| *status == 201),
        "{answers:?}"
    );
    for injected in control {
        injected.await.unwrap().expect("stored");
    }
    let streamed: Vec<u64> = (stream.message_ids(POSTS).await.iter())
        .map(|id| id.parse().unwrap())
        .collect();
    assert!(
        streamed.windows(2).all(|pair| pair[0] < pair[1]),
        "the stream's ids are not in increasing order: {streamed:?}"
    );
    assert_eq!(
        file_ids(&file),
        streamed,
        "the file's order is the stream's"
    );
    assert!(
        bridge.hub.history_writes() < POSTS as u64,
        "the posts were not grouped"
    );
    // One bridge on the file at a time (see mock_bridge::lock).
    stop(bridge).await;
    let again = start(&args).await;
    for name in ["a", "b", "c"] {
        let held: Vec<u64> = (client(&again).history_ids(name).await.unwrap().iter())
            .map(|id| id.parse().unwrap())
            .collect();
        let sent: Vec<u64> = (streamed.iter().copied())
            .filter(|id| held.binary_search(id).is_ok())
            .collect();
        assert_eq!(held.len(), POSTS / 3, "channel {name} after a restart");
        assert_eq!(held, sent, "channel {name} after a restart");
    }
}

/// A post sent twice at once with one client id (a double submit) lands in
/// one group: it is stored once, one answer says 201 and the other 200 with
/// the same message, and a third try after them finds it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_id_twice_in_one_group_is_stored_once() {
    let scratch = scratch();
    let file = scratch.path().join("history.jsonl");
    let bridge = start(&["--history-file", file.to_str().unwrap()]).await;
    let http = reqwest::Client::new();
    let fault = http
        .put(url(&bridge, "/internal/disk-fault"))
        .json(&json!({ "delay_ms": 300 }));
    assert_eq!(answer(fault).await.0, 200);
    // The first post holds the disk for 300 ms; the two copies queue behind it.
    let mut bodies = vec![("general".to_owned(), reply(0))];
    bodies.extend((0..2).map(|_| ("general".to_owned(), reply(1))));
    let answers = post_all(&bridge, bodies).await;
    let mut statuses: Vec<u16> = answers[1..].iter().map(|(status, _)| *status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{answers:?}");
    assert_eq!(answers[1].1["id"], answers[2].1["id"]);
    let again = post_all(&bridge, vec![("general".to_owned(), reply(1))]).await;
    assert_eq!(again[0].0, 200);
    assert_eq!(again[0].1["id"], answers[1].1["id"]);
    let ids = client(&bridge).history_ids("general").await.unwrap();
    assert_eq!(ids.len(), 2, "stored once: {ids:?}");
    assert_eq!(file_ids(&file).len(), 2);
}
