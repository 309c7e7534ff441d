//! An adversarial reading of issue 31's bridge half (branch review-bridge).
//! Each test here FAILS on the change as it stands: it documents a finding.
//! They drive the real `Hub` in process (and its router through `tower`),
//! so they need no sockets.

use axum::body::Body;
use clap::Parser;
use mock_bridge::config::Config;
use mock_bridge::hub::{Actor, Edit, Feed, Hub};
use mock_bridge::message::NewMessage;
use mock_bridge::streams::Listen;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The panel drops every event whose data is larger than this
/// (frontend/core/src/wire.rs, `MAX_PAYLOAD_BYTES`).
const PANEL_MAX_PAYLOAD_BYTES: usize = 64 * 1024;

fn hub(args: &[&str]) -> Arc<Hub> {
    let mut argv = vec!["mock-bridge"];
    argv.extend_from_slice(args);
    let config = Config::try_parse_from(argv).expect("valid flags");
    Arc::new(Hub::new(config, CancellationToken::new()).expect("the hub starts"))
}

fn hub_on(file: &Path, args: &[&str]) -> Arc<Hub> {
    let mut argv = vec!["--history-file", file.to_str().unwrap()];
    argv.extend_from_slice(args);
    hub(&argv)
}

fn new_message(content: &str) -> NewMessage {
    NewMessage {
        author: "ann".into(),
        content: content.into(),
        ..Default::default()
    }
}

/// A request through the router: its status and JSON.
async fn call(hub: &Arc<Hub>, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let router = mock_bridge::app::app(hub.clone());
    let mut request = axum::http::Request::builder().method(method).uri(path);
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let response = router.oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

fn percent(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The `data:` of every frame waiting on a feed, with its event name.
fn drain(feed: &mut Feed) -> Vec<(String, String)> {
    let mut frames = Vec::new();
    while let Ok(frame) = feed.try_recv() {
        let text = String::from_utf8_lossy(&frame.bytes).into_owned();
        let (mut name, mut data) = (String::new(), String::new());
        for line in text.lines() {
            if let Some(value) = line.strip_prefix("event: ") {
                name = value.to_owned();
            }
            if let Some(value) = line.strip_prefix("data: ") {
                data = value.to_owned();
            }
        }
        frames.push((name, data));
    }
    frames
}

/// Finding 1. Issue 31 item 3 says reaction events grew "past the panel's
/// 64 KiB event cap (then dropped by every panel: counts and edits
/// freeze)", and README says the bounds keep "a popular message's events
/// small". They do not bound the bytes: 20 emoji x 20 names shown, each
/// name up to 100 characters of anything a reader picks (without
/// `--users`, the body's `author`), each emoji up to 64 characters. Here
/// 20 readers with 100-character names (4-byte characters, or characters
/// JSON escapes) put 20 emoji on one message: every later `reaction`
/// event of it, and its `message_update`, is far past 64 KiB, so every
/// panel drops them and the message's counts and edits freeze for good.
#[tokio::test]
async fn reaction_and_update_events_of_a_message_fit_the_panels_cap() {
    let hub = hub(&[]);
    let message = hub.publish("general", new_message("react to me")).unwrap();
    let listen = Listen::Many(vec!["general".into()]);
    let mut subscription = hub.subscribe(&listen, None).unwrap();
    let readers: Vec<String> = (0..20)
        .map(|n| format!("{n:02}{}", "\"".repeat(48) + &"😀".repeat(50)))
        .collect();
    assert!(readers.iter().all(|r| r.chars().count() == 100));
    for e in 0..20 {
        let emoji = format!("{e:02}{}", "😀".repeat(62));
        assert_eq!(emoji.chars().count(), 64);
        for reader in &readers {
            let path = format!(
                "/api/channels/general/messages/{}/reactions/{}",
                message.id,
                percent(&emoji)
            );
            let (status, body) = call(&hub, "PUT", &path, Some(json!({ "author": reader }))).await;
            assert_eq!(status, 200, "{body}");
        }
        // Keep the feed from filling (its queue is 1,024 frames).
        let frames = drain(&mut subscription.live);
        let largest = frames.iter().map(|(_, d)| d.len()).max().unwrap_or(0);
        assert!(
            largest <= PANEL_MAX_PAYLOAD_BYTES,
            "after {} emoji, a `reaction` event's data is {largest} bytes: every panel drops it \
             (limit {PANEL_MAX_PAYLOAD_BYTES})",
            e + 1
        );
    }
    let path = format!("/api/channels/general/messages/{}", message.id);
    let edit = json!({ "author": "ann", "content": "edited" });
    assert_eq!(call(&hub, "PATCH", &path, Some(edit)).await.0, 200);
    let frames = drain(&mut subscription.live);
    let update = frames.iter().find(|(name, _)| name == "message_update");
    let size = update.map_or(0, |(_, data)| data.len());
    assert!(
        size <= PANEL_MAX_PAYLOAD_BYTES,
        "the edit's `message_update` is {size} bytes: every panel drops it"
    );
}

/// A history file holding one message with `reactors` reactors of 👍
/// (written as compaction writes it) and a plain one beside it.
fn file_with_a_popular_message(path: &Path, reactors: usize) -> (u64, u64) {
    let users: Vec<String> = (0..reactors).map(|n| format!("user-{n:07}")).collect();
    let shown = &users[reactors - 20..];
    let popular = json!({
        "id": "1000", "channel_id": "general", "author": "ann", "content": "popular",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "reactions": [{ "emoji": "👍", "count": reactors, "users": shown }],
        "reactions_version": "1000",
        "reactors": { "👍": users },
    });
    let plain = json!({
        "id": "1001", "channel_id": "general", "author": "ann", "content": "plain",
        "timestamp": "2026-01-01T00:00:00.000Z",
    });
    std::fs::write(path, format!("{popular}\n{plain}\n")).unwrap();
    (1000, 1001)
}

/// Finding 2. Every reactor is held (that is what keeps `count` and `me`
/// exact), and every toggle clones the whole message with all of them
/// (`reactions::toggle`: `message.clone()`, then a linear `position`),
/// under the writer lock that every post, edit and reaction of the whole
/// bridge waits on (`Hub::change`). So a reaction costs O(reactors), a
/// message's N reactions cost O(N^2), and while a popular message is being
/// reacted to, posts to every channel queue behind it. Without `--users`
/// any reader makes a new reactor per request (a new `author`). Here a
/// message with 300,000 reactors (loaded from the file, as a compaction
/// writes it; through the API that would take ~4.5e10 string copies): one
/// more reaction costs hundreds of times what it costs on a plain message.
#[test]
fn a_reaction_on_a_popular_message_costs_what_one_on_a_plain_message_does() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("history.jsonl");
    let (popular, plain) = file_with_a_popular_message(&file, 300_000);
    let hub = hub_on(&file, &[]);
    let time = |id: u64, tag: &str| {
        let began = Instant::now();
        for n in 0..20 {
            let edit = Edit::React {
                emoji: "👍".into(),
                user: format!("{tag}-{n}"),
                add: true,
            };
            hub.change("general", id, edit, &Actor::Reader(format!("{tag}-{n}")), None)
                .unwrap();
        }
        began.elapsed() / 20
    };
    let plain_cost = time(plain, "p");
    let popular_cost = time(popular, "q");
    eprintln!("one reaction: {plain_cost:?} on a plain message, {popular_cost:?} on a popular one");
    assert!(
        popular_cost < plain_cost * 20 + Duration::from_micros(500),
        "one reaction on a message with 300,000 reactors takes {popular_cost:?} under the \
         bridge-wide writer lock, {plain_cost:?} on a plain one"
    );
}

/// Finding 3. Nothing stops a second bridge (a rolling restart, a second
/// instance started by mistake, a supervisor that starts the new process
/// before the old one has finished its last requests) from opening the
/// same history file: there is no lock. Its start compacts the file to a
/// new one renamed over the path; the first bridge keeps appending to the
/// old, unlinked inode. Every message it acknowledges from then on is
/// lost at the next start, and so is every deletion (a deleted message
/// comes back).
#[test]
fn a_second_bridge_on_the_same_file_does_not_lose_what_the_first_acknowledges() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("history.jsonl");
    let old = hub_on(&file, &[]);
    let first = old.publish("general", new_message("first")).unwrap();
    let gone = old.publish("general", new_message("to delete")).unwrap();
    old.change("general", gone.id, Edit::Delete, &Actor::Control, None)
        .unwrap();
    // The new process starts (and compacts) while the old one still serves.
    let new = hub_on(&file, &[]);
    let acknowledged = old.publish("general", new_message("acknowledged")).unwrap();
    // And a deletion the old bridge answers 200 for.
    old.change("general", first.id, Edit::Delete, &Actor::Control, None)
        .unwrap();
    drop((old, new));
    let after = hub_on(&file, &[]);
    let (lost, back) = (
        !after.holds("general", acknowledged.id),
        after.holds("general", first.id),
    );
    assert!(
        !lost && !back,
        "after the next start: a message the old bridge acknowledged is lost ({lost}), \
         a message it deleted (200) is back ({back})"
    );
}

/// Finding 4. A bulk deletion is all or nothing live (one write of all
/// its lines), but the history file keeps whatever prefix of that write
/// reached it: a crash (or a power loss without `--history-fsync`) that
/// tears the write keeps the first deletions and cuts the rest, and the
/// next start shows the bulk deletion half made. Each line is a change of
/// its own; nothing ties them together on load.
#[test]
fn a_bulk_deletion_torn_by_a_crash_is_still_all_or_nothing_after_the_restart() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("history.jsonl");
    let hub = hub_on(&file, &[]);
    let ids: Vec<u64> = (0..3)
        .map(|n| hub.publish("general", new_message(&format!("m{n}"))).unwrap().id)
        .collect();
    hub.bulk_delete("general", &ids).unwrap();
    drop(hub);
    // The crash: the last line of the one write is torn.
    let text = std::fs::read_to_string(&file).unwrap();
    let torn = text.trim_end().rfind('\n').unwrap() + 20;
    std::fs::write(&file, &text[..torn]).unwrap();
    let after = hub_on(&file, &[]);
    let held: Vec<bool> = ids.iter().map(|id| after.holds("general", *id)).collect();
    assert!(
        held.iter().all(|h| *h) || held.iter().all(|h| !*h),
        "after the restart, the bulk deletion of {ids:?} is half made: held {held:?}"
    );
}

/// A message as finding 1 makes it: 20 emoji of 64 four-byte characters,
/// each with 20 readers whose names are 100 characters (made through the
/// hub directly, as the reader's `PUT` does).
fn a_heavy_message(hub: &Hub) -> (u64, u64) {
    let message = hub.publish("general", new_message("heavy")).unwrap();
    let mut last = message.id;
    for e in 0..20 {
        for r in 0..20 {
            let reader = format!("{r:02}{}", "😀".repeat(98));
            let edit = Edit::React {
                emoji: format!("{e:02}{}", "😀".repeat(62)),
                user: reader.clone(),
                add: true,
            };
            let change = hub.change("general", message.id, edit, &Actor::Reader(reader), None);
            last = change.unwrap().id();
        }
    }
    (message.id, last)
}

/// Finding 1, in memory. Each reaction change a channel keeps for replays
/// holds its event's whole state (`ReactionsAfter::reactions`, every
/// emoji's newest 20 names), and a channel keeps `--history-per-channel`
/// (1,000) of them. One reader toggling one reaction on the message above
/// 1,000 times makes one channel hold about 1,000 full-state copies; with
/// the default 10,000 channels that is no bound at all.
#[test]
fn the_changes_a_channel_keeps_for_replays_stay_small() {
    let hub = hub(&["--max-replay", "1000000"]);
    let (id, cursor) = a_heavy_message(&hub);
    for n in 0..1_000 {
        let edit = Edit::React {
            emoji: "00".to_owned() + &"😀".repeat(62),
            user: "mallory".into(),
            add: n % 2 == 0,
        };
        hub.change("general", id, edit, &Actor::Reader("mallory".into()), None)
            .unwrap();
    }
    let listen = Listen::Many(vec!["general".into()]);
    // A client caught up to the heavy message's last reaction: the 1,000
    // toggles after it are all retained, and replayed.
    let subscription = hub.subscribe(&listen, Some(cursor)).unwrap();
    assert_eq!(subscription.replay.len(), 1_000);
    let held: usize = subscription.replay.iter().map(|r| r.frame().len()).sum();
    assert!(
        held <= 16 * 1024 * 1024,
        "one channel keeps {} MB of changes for replays, made by one reader's 1,000 toggles",
        held / (1024 * 1024)
    );
}

/// Finding 1, on disk. A reader's change remembered by its client id keeps
/// its whole answer (the message, every emoji's newest 20 names), 10,000 of
/// them, in memory and rewritten into the history file at every start.
/// Here 100 edits of the message above: the file after a restart.
#[test]
fn the_changes_remembered_for_retries_stay_small() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("history.jsonl");
    let hub = hub_on(&file, &[]);
    let (id, _) = a_heavy_message(&hub);
    for n in 0..100 {
        let edit = Edit::Content(format!("edit {n}"));
        let actor = Actor::Reader("ann".into());
        hub.change("general", id, edit, &actor, Some(format!("c{n}")))
            .unwrap();
    }
    drop(hub);
    let before = std::fs::metadata(&file).unwrap().len();
    drop(hub_on(&file, &[]));
    let after = std::fs::metadata(&file).unwrap().len();
    let each = (after as usize) / 100;
    assert!(
        each <= 8 * 1024,
        "after a restart the file is {after} bytes ({before} before): about {each} bytes per \
         remembered edit; 10,000 are remembered, so up to {} MB, in memory and rewritten at \
         every start",
        each * 10_000 / (1024 * 1024)
    );
}
