//! Long polling (`GET /api/poll`): the stream's events as JSON, answered at
//! once when anything follows the cursor, else when something happens or at
//! a heartbeat, else after the poll's wait with nothing (no sign of life it
//! did not have); a cursor older than what is retained gets `resync`.

mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::*;

async fn poll(bridge: &mock_bridge::RunningBridge, query: &str) -> (u16, Value) {
    call(
        bridge,
        reqwest::Method::GET,
        &format!("/api/poll?{query}"),
        None,
    )
    .await
}

/// The events' names, but `presence`: every answer with events carries
/// each channel's (after the `status`; `tests/presence.rs` checks them).
fn names(answer: &Value) -> Vec<String> {
    (answer["events"].as_array().unwrap().iter())
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .filter(|name| name != "presence")
        .collect()
}

#[tokio::test]
async fn a_poll_answers_with_what_follows_its_cursor() {
    let bridge = start(&[
        "--poll-wait",
        "0.3",
        "--history-per-channel",
        "3",
        "--heartbeat-interval",
        "30",
    ])
    .await;
    let first = inject(&bridge, "general", "one").await;
    let second = inject(&bridge, "design", "two").await;
    // Behind: the replay, at once, in id order, after the status.
    let (status, answer) = poll(&bridge, &format!("channels=general,design&after={first}")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(names(&answer), ["status", "message"]);
    let events = answer["events"].as_array().unwrap();
    let at = events.iter().position(|e| e["event"] == "message").unwrap();
    let message: Value = serde_json::from_str(events[at]["data"].as_str().unwrap()).unwrap();
    assert_eq!(message["content"], "two");
    assert_eq!(events[at]["id"], second.as_str());
    assert_eq!(answer["cursor"], second.as_str());
    // Nothing new and no heartbeat within the poll's wait: no events at
    // all (no sign of life), the cursor kept.
    let began = Instant::now();
    let (_, quiet) = poll(&bridge, &format!("channels=general,design&after={second}")).await;
    assert!(
        began.elapsed() >= Duration::from_millis(250),
        "answered before its wait"
    );
    assert_eq!(names(&quiet), Vec::<String>::new());
    assert_eq!(quiet["cursor"], second.as_str());
    // A first poll (`wait=0`) answers at once, with the status.
    let began = Instant::now();
    let (_, opening) = poll(&bridge, &format!("channels=general&after={second}&wait=0")).await;
    assert!(began.elapsed() < Duration::from_millis(250), "it waited");
    assert_eq!(names(&opening), ["status"]);
    assert_eq!(poll(&bridge, "channels=general&wait=soon").await.0, 400);
    // Too far behind (3 retained): resync.
    let mut newest = String::new();
    for n in 0..4 {
        newest = inject(&bridge, "general", &format!("more {n}")).await;
    }
    let (_, behind) = poll(&bridge, &format!("channels=general&after={first}")).await;
    assert_eq!(names(&behind), ["status", "resync"]);
    // Past the gap: the next poll from its cursor waits for news, rather
    // than answering `resync` again at once (a client would spin).
    assert_eq!(behind["cursor"], newest.as_str(), "{behind}");
    let cursor = behind["cursor"].as_str().unwrap().to_owned();
    let (_, next) = poll(&bridge, &format!("channels=general&after={cursor}")).await;
    assert_eq!(names(&next), Vec::<String>::new());
    let (status, _) = poll(&bridge, "channels=bad%20name").await;
    assert_eq!(status, 400);
}

/// A waiting poll also returns at the stream's heartbeat: a client polls
/// about as often as a stream would show a sign of life, and its watchdog
/// (sized by the advertised heartbeat interval) holds on either transport.
#[tokio::test]
async fn a_waiting_poll_returns_at_the_streams_heartbeat() {
    let bridge = start(&["--poll-wait", "20", "--heartbeat-interval", "0.2"]).await;
    let last = inject(&bridge, "general", "before").await;
    let began = Instant::now();
    let (_, answer) = poll(&bridge, &format!("channels=general&after={last}")).await;
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "it waited {:?}",
        began.elapsed()
    );
    assert_eq!(names(&answer)[0], "status");
    assert_eq!(answer["cursor"], last.as_str());
}

#[tokio::test]
async fn a_waiting_poll_returns_as_soon_as_something_happens() {
    let bridge = start(&["--poll-wait", "20"]).await;
    let last = inject(&bridge, "general", "before").await;
    let waiting = {
        let url = url(&bridge, &format!("/api/poll?channels=general&after={last}"));
        tokio::spawn(async move {
            let began = Instant::now();
            let answer: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            (answer, began.elapsed())
        })
    };
    // Once the poll listens (and is no stream), a message answers it.
    eventually("the poll to listen", || async {
        bridge.hub.listeners("general") == 1
    })
    .await;
    assert!(
        report(&bridge).await.active.is_empty(),
        "a poll is not a stream"
    );
    let id = inject(&bridge, "general", "news").await;
    let (answer, took) = waiting.await.unwrap();
    assert_eq!(names(&answer), ["status", "message"], "{answer}");
    assert_eq!(answer["cursor"], id.as_str());
    assert!(took < Duration::from_secs(5), "it waited {took:?}");
    // And it lets go of what it listened on.
    eventually("the channel's listeners gone", || async {
        bridge.hub.listeners("general") == 0
    })
    .await;
}

/// Issue 31, defect 6: a poll without a cursor starts live, as a new stream
/// does: its cursor is the newest change id now, so the next poll does not
/// replay the whole history (nor answer `resync`).
#[tokio::test]
async fn a_poll_without_a_cursor_starts_live() {
    let bridge = start(&["--poll-wait", "0.3", "--history-per-channel", "2"]).await;
    let mut newest = String::new();
    for n in 0..4 {
        newest = inject(&bridge, "general", &format!("old {n}")).await;
    }
    let (status, first) = poll(&bridge, "channels=general,design&wait=0").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(names(&first), ["status"]);
    assert_eq!(first["cursor"], newest.as_str(), "{first}");
    let cursor = first["cursor"].as_str().unwrap();
    let (_, next) = poll(
        &bridge,
        &format!("channels=general,design&after={cursor}&wait=0"),
    )
    .await;
    assert_eq!(names(&next), ["status"], "nothing replayed: {next}");
}

/// Issue 31, defect 7: a waiting poll's answer is a sign of life only when
/// the bridge had one: with heartbeats stopped (paused, or past
/// `--ping-stop-after`), a poll that waited its whole `--poll-wait` answers
/// no events at all, not the cached status; a first poll (`wait=0`) still
/// answers at once with the status, and heartbeats back end waits again.
#[tokio::test]
async fn a_waiting_poll_shows_no_life_when_heartbeats_stop() {
    let bridge = start(&["--poll-wait", "0.4", "--heartbeat-interval", "0.1"]).await;
    let last = inject(&bridge, "general", "before").await;
    client(&bridge).pause_heartbeats(true).await.unwrap();
    let began = Instant::now();
    let (_, quiet) = poll(&bridge, &format!("channels=general&after={last}")).await;
    assert!(
        began.elapsed() >= Duration::from_millis(350),
        "it did not wait"
    );
    assert_eq!(
        names(&quiet),
        Vec::<String>::new(),
        "a zombie looks alive: {quiet}"
    );
    assert_eq!(quiet["cursor"], last.as_str());
    let (_, opening) = poll(&bridge, &format!("channels=general&after={last}&wait=0")).await;
    assert_eq!(names(&opening), ["status"]);
    client(&bridge).pause_heartbeats(false).await.unwrap();
    let (_, alive) = poll(&bridge, &format!("channels=general&after={last}")).await;
    assert_eq!(names(&alive), ["status"], "{alive}");
    // Past `--ping-stop-after`, the same.
    let stopped = start(&[
        "--poll-wait",
        "0.4",
        "--heartbeat-interval",
        "0.1",
        "--ping-stop-after",
        "0.01",
    ])
    .await;
    let (_, quiet) = poll(&stopped, "channels=general&after=1").await;
    assert_eq!(names(&quiet), Vec::<String>::new(), "{quiet}");
}

/// A poll with nothing to say waits its whole wait, even past the time a
/// request's head must arrive in (`--head-timeout`): that clock is for the
/// request, not the answer (the review of the people branch: the poll was
/// answered with a bare 408 at the head timeout, and the panel's presence
/// flapped).
#[tokio::test]
async fn an_idle_poll_outlives_the_head_timeout() {
    let bridge = start(&[
        "--poll-wait",
        "2.5",
        "--head-timeout",
        "1",
        "--heartbeat-interval",
        "30",
    ])
    .await;
    inject(&bridge, "g", "one").await;
    let (status, first) = poll(&bridge, "channels=g&as=Ann").await;
    assert_eq!(status, 200, "{first}");
    let cursor = first["cursor"].as_str().unwrap_or_default().to_owned();
    let started = Instant::now();
    let (status, answer) = poll(&bridge, &format!("channels=g&as=Ann&after={cursor}")).await;
    assert_eq!(status, 200, "after {:?}: {answer}", started.elapsed());
}
