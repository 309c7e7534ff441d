//! Who is here, as the engine keeps it.

use super::tests::{status, Harness};
use super::*;
use crate::people::Presence;

fn presence(stream: StreamId, channel: &str, users: &[&str], count: u32) -> Event {
    Event::Received(stream, Incoming::Presence(here(channel, users, count)))
}

fn here(channel: &str, users: &[&str], count: u32) -> Presence {
    Presence {
        channel_id: channel.into(),
        users: users.iter().map(|u| u.to_string()).collect(),
        count,
    }
}

#[test]
fn presence_is_shown_as_the_bridge_says() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    assert_eq!(
        h.engine.presence(),
        None,
        "not known before the bridge says"
    );
    let c = h.step(presence(stream, "general", &["Ann", "Bob"], 3));
    assert!(c.contains(&Command::ShowPresence));
    assert_eq!(
        h.engine.presence(),
        Some(&here("general", &["Ann", "Bob"], 3))
    );
    let c = h.step(presence(stream, "random", &["Eve"], 1));
    assert!(!c.contains(&Command::ShowPresence), "another channel's");
    assert_eq!(h.engine.presence().unwrap().count, 3);
}

#[test]
fn a_presence_asked_for_yields_to_one_the_stream_brought_since_it_opened() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(presence(stream, "general", &["Ann", "Bob"], 2));
    let c = h.step(Event::PresenceLoaded(stream, here("general", &["Ann"], 1)));
    assert!(c.is_empty(), "older news: {c:?}");
    assert_eq!(h.engine.presence().unwrap().count, 2);
    // A stream that reopens starts afresh: the answer is taken, and an
    // event after it still wins.
    let stream = reopen(&mut h, stream);
    let c = h.step(Event::PresenceLoaded(stream, here("general", &["Ann"], 1)));
    assert!(c.contains(&Command::ShowPresence));
    assert_eq!(h.engine.presence().unwrap().count, 1);
    h.step(presence(stream, "general", &["Ann", "Cy"], 2));
    assert_eq!(h.engine.presence().unwrap().users, ["Ann", "Cy"]);
    let c = h.step(Event::PresenceLoaded(stream - 1, here("general", &[], 0)));
    assert!(c.is_empty(), "a closed stream's answer: {c:?}");
}

/// Drops `stream` and has the browser reopen it: the same id, opened again.
fn reopen(h: &mut Harness, stream: StreamId) -> StreamId {
    h.step(Event::StreamError(stream, ReadyState::Connecting));
    h.after(10, Event::StreamOpened(stream));
    h.step(status(stream, Gateway::Connected, Some(1_000)));
    stream
}

#[test]
fn presence_is_not_shown_while_the_panel_waits_to_reconnect() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(presence(stream, "general", &["Ann", "Bob"], 2));
    // The browser's own retry keeps it (a blip)…
    h.step(Event::StreamError(stream, ReadyState::Connecting));
    assert!(h.engine.presence().is_some());
    // …the panel's own backoff does not: nobody knows who is here.
    let c = h.step(Event::StreamError(stream, ReadyState::Closed));
    assert!(c.contains(&Command::ShowPresence), "{c:?}");
    assert_eq!(h.engine.presence(), None);
}

#[test]
fn a_stopped_panel_shows_nobody_here() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(presence(stream, "general", &["Ann"], 1));
    let c = h.step(Event::Unauthorized);
    assert!(c.contains(&Command::ShowPresence));
    assert_eq!(h.engine.presence(), None);
}
