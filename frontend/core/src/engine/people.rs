//! Who is here and who is typing, as the engine keeps them.

use super::tests::{status, Harness};
use super::*;
use crate::people::{Presence, TYPING_MS};
use crate::store::message;

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

fn typing(stream: StreamId, user: &str) -> Event {
    Event::Received(
        stream,
        Incoming::Typing {
            channel_id: "general".into(),
            user: user.into(),
        },
    )
}

fn said(message_author: &str, id: u64) -> Incoming {
    let mut m = message(id);
    m.author = message_author.into();
    Incoming::Message(m)
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
fn a_stopped_panel_shows_nobody_here_and_nobody_typing() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(presence(stream, "general", &["Ann"], 1));
    h.step(typing(stream, "Bob"));
    let c = h.step(Event::Unauthorized);
    assert!(c.contains(&Command::ShowPresence) && c.contains(&Command::ShowTyping));
    assert_eq!(h.engine.presence(), None);
    assert!(h.engine.typing().is_empty());
}

#[test]
fn typing_shows_others_until_eight_seconds_after_their_last_signal() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(Event::Reader(Some("Ann".into())));
    let c = h.step(typing(stream, "Ann"));
    assert!(c.is_empty(), "nobody sees their own typing: {c:?}");
    let c = h.step(typing(stream, ""));
    assert!(c.is_empty(), "a name-less signal: {c:?}");
    let c = h.step(typing(stream, "Bob"));
    assert!(c.contains(&Command::ShowTyping));
    assert!(c.contains(&Command::ArmTimer(Timer::Typing, TYPING_MS)));
    let c = h.after(5_000, typing(stream, "Bob"));
    assert!(!c.contains(&Command::ShowTyping), "the same line: {c:?}");
    assert!(c.contains(&Command::ArmTimer(Timer::Typing, TYPING_MS)));
    h.after(1_000, typing(stream, "Cy"));
    assert_eq!(h.engine.typing(), ["Bob", "Cy"]);
    let c = h.after(7_000, Event::TimerFired(Timer::Typing));
    assert!(c.contains(&Command::ShowTyping), "Bob's 8 s are over");
    assert_eq!(h.engine.typing(), ["Cy"]);
    assert!(c.contains(&Command::ArmTimer(Timer::Typing, 1_000)));
    let c = h.after(1_000, Event::TimerFired(Timer::Typing));
    assert!(c.contains(&Command::ShowTyping));
    assert!(h.engine.typing().is_empty());
    assert!(!c.iter().any(|c| matches!(c, Command::ArmTimer(..))));
}

#[test]
fn a_persons_message_ends_their_typing_at_once() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(typing(stream, "Bob"));
    h.step(typing(stream, "Cy"));
    let c = h.step(Event::Received(stream, said("Bob", 5)));
    assert!(c.contains(&Command::ShowTyping) && c.contains(&Command::ShowMessages));
    assert_eq!(h.engine.typing(), ["Cy"]);
    let c = h.step(Event::Received(stream, said("Dee", 6)));
    assert!(!c.contains(&Command::ShowTyping));
}

#[test]
fn the_readers_own_typing_heard_before_they_were_known_goes_once_they_are() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    h.step(typing(stream, "Ann"));
    h.step(typing(stream, "Bob"));
    let c = h.step(Event::Reader(Some("Ann".into())));
    assert!(c.contains(&Command::ShowTyping), "{c:?}");
    assert_eq!(h.engine.typing(), ["Bob"]);
}

#[test]
fn a_clock_set_back_never_keeps_a_typist_on_the_line() {
    let mut h = Harness::new();
    h.now = 10_000_000;
    let stream = h.live_with(vec![]);
    h.step(typing(stream, "Bob"));
    h.now -= 3_600_000;
    let c = h.after(8_000, Event::TimerFired(Timer::Typing));
    assert!(c.contains(&Command::ShowTyping), "{c:?}");
    assert!(h.engine.typing().is_empty());
}

#[test]
fn the_typing_line_holds_at_most_a_hundred_people() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![]);
    for i in 0..1_000 {
        h.step(typing(stream, &format!("p{i}")));
    }
    assert_eq!(h.engine.typing().len(), 100);
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
fn a_persons_message_brought_by_a_catch_up_ends_their_typing_too() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    h.step(typing(stream, "Bob"));
    h.step(typing(stream, "Cy"));
    let resync = Incoming::Resync {
        reason: "lagged".into(),
    };
    let c = h.step(Event::Received(stream, resync));
    let request = super::tests::fetch_request(&c).expect("a catch-up");
    let mut bobs = message(5);
    bobs.author = "Bob".into();
    // An older message of Cy's edited meanwhile says nothing of Cy's typing.
    let mut edited = message(1);
    edited.author = "Cy".into();
    edited.version = Some(MessageId(6));
    let page = crate::wire::ChangePage {
        messages: vec![edited, bobs],
        deleted: vec![],
        last: Some(MessageId(6)),
        more: false,
        resync: None,
    };
    let c = h.step(Event::ChangesLoaded(request, page));
    assert!(c.contains(&Command::ShowTyping), "{c:?}");
    assert_eq!(h.engine.typing(), ["Cy"]);
}

#[test]
fn a_message_heard_again_does_not_end_its_authors_new_typing() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    let resync = Incoming::Resync {
        reason: "lagged".into(),
    };
    let c = h.step(Event::Received(stream, resync));
    let request = super::tests::fetch_request(&c).expect("a catch-up");
    h.step(Event::Received(stream, said("Bob", 5)));
    h.step(typing(stream, "Bob"));
    // The stream replays it…
    h.step(Event::Received(stream, said("Bob", 5)));
    assert_eq!(h.engine.typing(), ["Bob"]);
    // …and the catch-up asked for before it brings it too.
    let Incoming::Message(bobs) = said("Bob", 5) else {
        unreachable!()
    };
    let page = crate::wire::ChangePage {
        messages: vec![bobs],
        deleted: vec![],
        last: Some(MessageId(5)),
        more: false,
        resync: None,
    };
    h.step(Event::ChangesLoaded(request, page));
    assert_eq!(h.engine.typing(), ["Bob"]);
}
