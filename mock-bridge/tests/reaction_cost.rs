//! What a reaction costs the bridge, counted rather than timed: the bytes
//! it allocates (and keeps) on the thread that makes it. A toggle runs
//! under the writer lock that every post, edit and reaction of the whole
//! bridge waits on, so it must cost the same whatever the message's number
//! of reactors. This binary counts its allocations through its own global
//! allocator (process-wide, hence a binary of its own); times are printed,
//! never asserted (the machine is shared and noisy).

use clap::Parser;
use mock_bridge::config::Config;
use mock_bridge::hub::{Actor, Edit, Hub};
use mock_bridge::message::NewMessage;
use mock_bridge::streams::Listen;
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Counts the bytes allocated and freed on each thread.
struct Counting;

thread_local! {
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
    static FREED: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator as is; the counts
// are thread-local cells (no allocation, no lock).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|n| n.set(n.get() + layout.size() as u64));
        // SAFETY: as the caller promised for `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = FREED.try_with(|n| n.set(n.get() + layout.size() as u64));
        // SAFETY: `ptr` came from `alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes allocated, and bytes still held (allocated less freed), on this
/// thread while `work` runs.
fn counted<T>(work: impl FnOnce() -> T) -> (T, u64, i64) {
    let (allocated, freed) = (ALLOCATED.get(), FREED.get());
    let value = work();
    let allocated = ALLOCATED.get() - allocated;
    let held = allocated as i64 - (FREED.get() - freed) as i64;
    (value, allocated, held)
}

fn hub(args: &[&str]) -> Arc<Hub> {
    let argv = ["mock-bridge"].into_iter().chain(args.iter().copied());
    let config = Config::try_parse_from(argv).expect("valid flags");
    Arc::new(Hub::new(config, CancellationToken::new()).expect("the hub starts"))
}

/// A history file holding two messages of the same shape as the wire shows
/// them (2,000 characters of text, 20 emoji with 20 names each): one with
/// `reactors` reactors of 👍 (written as compaction writes it), the other
/// with 20.
fn file_with_a_popular_message(path: &Path, reactors: usize) -> (u64, u64) {
    let line = |id: &str, reactors: usize| {
        let users: Vec<String> = (0..reactors).map(|n| format!("user-{n:07}")).collect();
        let mut reactions: Vec<serde_json::Value> = (0..19)
            .map(|e| json!({ "emoji": format!("e{e}"), "count": 20, "users": &users[..20] }))
            .collect();
        reactions
            .push(json!({ "emoji": "👍", "count": reactors, "users": &users[reactors - 20..] }));
        json!({
            "id": id, "channel_id": "general", "author": "ann", "content": "x".repeat(2_000),
            "timestamp": "2026-01-01T00:00:00.000Z",
            "reactions": reactions, "reactions_version": id,
            "reactors": { "👍": users },
        })
    };
    let (popular, plain) = (line("1000", reactors), line("1001", 20));
    std::fs::write(path, format!("{popular}\n{plain}\n")).unwrap();
    (1000, 1001)
}

fn react(hub: &Hub, id: u64, emoji: &str, user: &str, add: bool) {
    let edit = Edit::React {
        emoji: emoji.into(),
        user: user.into(),
        add,
    };
    hub.change("general", id, edit, &Actor::Reader(user.into()), None)
        .expect("the reaction is made");
}

/// Issue 31's review, finding 2: every toggle cloned the whole message with
/// every reactor and scanned them one by one, under the bridge-wide writer
/// lock: with 300,000 reactors one reaction took 30-90 ms (46 us on a plain
/// message), and a message's N reactions O(N^2). Now a toggle allocates
/// what it does on a message of the same shape with 20 reactors (its event,
/// its line and its delta; the message itself is changed in place), with a
/// history file as a bridge runs.
#[test]
fn a_reaction_on_a_popular_message_costs_what_one_on_a_plain_message_does() {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("history.jsonl");
    let (popular, plain) = file_with_a_popular_message(&file, 300_000);
    let hub = hub(&["--history-file", file.to_str().unwrap()]);
    let cost = |id: u64, tag: &str| {
        let began = Instant::now();
        let ((), allocated, _) = counted(|| {
            for n in 0..20 {
                react(&hub, id, "👍", &format!("{tag}-{n}"), true);
                react(&hub, id, "👍", &format!("{tag}-{n}"), false);
            }
        });
        (allocated / 40, began.elapsed() / 40)
    };
    let (plain_bytes, plain_time) = cost(plain, "p");
    let (popular_bytes, popular_time) = cost(popular, "q");
    eprintln!(
        "one reaction allocates {plain_bytes} bytes on a message with 20 reactors of 👍, \
         {popular_bytes} on one with 300,000; it took {plain_time:?} and {popular_time:?} \
         (printed, not asserted)"
    );
    assert!(
        popular_bytes <= plain_bytes + 4_096,
        "one reaction on a message with 300,000 reactors allocates {popular_bytes} bytes under \
         the bridge-wide writer lock, {plain_bytes} on one with 20"
    );
}

/// A message as a hostile crowd makes it: 20 emoji of the widest kind the
/// bridge takes, each with 20 readers whose names are the widest it takes.
fn a_heavy_message(hub: &Hub) -> (u64, u64) {
    let new = NewMessage {
        author: "ann".into(),
        content: "heavy".into(),
        ..Default::default()
    };
    let message = hub.publish("general", new).unwrap();
    for e in 0..20 {
        let emoji = format!("{e:02}{}", "\"".repeat(62));
        for r in 0..20 {
            let reader = format!("{r:02}{}", "\"".repeat(20) + &"😀".repeat(10));
            react(hub, message.id, &emoji, &reader, true);
        }
    }
    let last = hub
        .subscribe(&Listen::One("general".into()), None)
        .unwrap()
        .newest;
    (message.id, last)
}

/// Issue 31's review, finding 1 (in memory): each reaction change a channel
/// keeps for replays held its event's whole state (every emoji's newest 20
/// names), and a channel keeps `--history-per-channel` (1,000) of them: one
/// reader toggling one reaction 1,000 times on the message above made one
/// channel hold 164 MB. Now a kept change is its delta; a client resuming
/// from before the toggles is sent each as a small event, and the whole
/// state once (with the newest).
#[test]
fn the_changes_a_channel_keeps_for_replays_stay_small() {
    let hub = hub(&["--max-replay", "1000000"]);
    let (id, cursor) = a_heavy_message(&hub);
    let emoji = "00".to_owned() + &"\"".repeat(62);
    let ((), _, held) = counted(|| {
        for n in 0..1_000 {
            react(&hub, id, &emoji, "mallory", n % 2 == 0);
        }
    });
    let each = held / 1_000;
    let listen = Listen::Many(vec!["general".into()]);
    let subscription = hub.subscribe(&listen, Some(cursor)).unwrap();
    assert_eq!(subscription.replay.len(), 1_000);
    let frames: Vec<usize> = subscription
        .replay
        .iter()
        .map(|r| r.frame().len())
        .collect();
    let (sent, largest) = (frames.iter().sum::<usize>(), frames.iter().max().unwrap());
    eprintln!(
        "1,000 toggles keep {held} bytes ({each} each); a client from before them is sent \
         {sent} bytes, the largest frame {largest}"
    );
    assert!(
        each <= 1_024,
        "one channel keeps {held} bytes for 1,000 toggles of one reader ({each} bytes each)"
    );
    assert!(
        sent <= 4 * 1024 * 1024 && *largest <= 64 * 1024,
        "a replay of 1,000 toggles sends {sent} bytes, its largest frame {largest}"
    );
}
