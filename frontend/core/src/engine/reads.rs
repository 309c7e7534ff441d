//! Where the reader stopped, as the engine keeps it: the marker asked for at
//! the open, marks sent once a second, `read` events, mark unread.

use super::tests::Harness;
use super::*;
use crate::store::message;

fn by(author: &str, id: u64) -> Message {
    let mut m = message(id);
    m.author = author.into();
    m
}

fn read_event(stream: StreamId, id: u64) -> Event {
    Event::Received(
        stream,
        Incoming::Read {
            channel_id: "general".into(),
            last_read: MessageId(id),
        },
    )
}

fn put(id: u64, unread: bool) -> Command {
    Command::PutRead {
        last_read: MessageId(id),
        unread,
    }
}

#[test]
fn the_open_asks_for_the_marker_and_places_the_divider_when_both_are_in() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    let c = h.step(Event::Mount);
    assert!(c.contains(&Command::FetchRead), "{c:?}");
    let history = vec![by("ann", 1), by("dee", 2), by("bob", 3), by("ann", 4)];
    let request = super::tests::fetch_request(&c).unwrap();
    let c = h.step(Event::HistoryLoaded(request, history));
    assert!(
        !c.contains(&Command::ShowUnread),
        "the marker is not in yet"
    );
    let c = h.step(Event::ReadLoaded(Some(MessageId(1))));
    assert!(c.contains(&Command::ShowUnread));
    assert_eq!(
        h.engine.unread(),
        (2, Some(MessageId(3)), Some(MessageId(3)))
    );
}

#[test]
fn seeing_marks_once_a_second_and_the_divider_stays() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    h.step(Event::ReadLoaded(Some(MessageId(1))));
    let stream = h.live_with(vec![by("ann", 1), by("bob", 2), by("bob", 3)]);
    assert_eq!(
        h.engine.unread(),
        (2, Some(MessageId(2)), Some(MessageId(2)))
    );
    let c = h.step(Event::Seen(MessageId(2)));
    assert!(c.contains(&put(2, false)), "{c:?}");
    assert_eq!(
        h.engine.unread(),
        (1, Some(MessageId(3)), Some(MessageId(2)))
    );
    let c = h.after(100, Event::ReadMarked(Ok(Some(MessageId(2)))));
    assert!(!c.iter().any(|c| matches!(c, Command::PutRead { .. })));
    let c = h.after(100, Event::Seen(MessageId(3)));
    assert!(
        c.contains(&Command::ArmTimer(Timer::ReadMark, 800)),
        "{c:?}"
    );
    assert_eq!(h.engine.unread(), (0, None, Some(MessageId(2))));
    let c = h.after(800, Event::TimerFired(Timer::ReadMark));
    assert!(c.contains(&put(3, false)));
    // Another device marks message 3 unread: the count follows; a live
    // message of someone else's counts, one's own does not.
    h.step(Event::ReadMarked(Ok(Some(MessageId(3)))));
    h.step(read_event(stream, 2));
    assert_eq!(h.engine.unread().0, 1);
    h.step(Event::Received(stream, Incoming::Message(by("dee", 4))));
    h.step(Event::Received(stream, Incoming::Message(by("cy", 5))));
    assert_eq!(
        h.engine.unread(),
        (2, Some(MessageId(3)), Some(MessageId(2)))
    );
}

#[test]
fn marking_unread_is_sent_exactly_and_holds_until_the_reader_sends() {
    let mut h = Harness::new();
    h.step(Event::ReadLoaded(Some(MessageId(3))));
    h.live_with(vec![by("ann", 1), by("bob", 2), by("bob", 3)]);
    assert_eq!(h.engine.unread(), (0, None, None));
    let c = h.step(Event::MarkUnread(MessageId(2)));
    assert!(c.contains(&put(1, true)), "{c:?}");
    assert!(c.contains(&Command::ShowUnread));
    assert_eq!(
        h.engine.unread(),
        (2, Some(MessageId(2)), Some(MessageId(2)))
    );
    h.after(50, Event::ReadMarked(Ok(Some(MessageId(1)))));
    let c = h.after(2_000, Event::Seen(MessageId(3)));
    assert!(
        !c.iter().any(|c| matches!(c, Command::PutRead { .. })),
        "held"
    );
    let c = h.step(Event::Send {
        client_id: "c1".into(),
        content: "hi".into(),
    });
    assert!(c.contains(&put(3, false)), "{c:?}");
    assert_eq!(h.engine.unread().0, 0);
}

#[test]
fn a_lost_mark_goes_again_later_and_a_refused_one_is_dropped() {
    let mut h = Harness::new();
    h.step(Event::ReadLoaded(Some(MessageId(1))));
    h.live_with(vec![by("ann", 1), by("bob", 2)]);
    assert!(h.step(Event::Seen(MessageId(2))).contains(&put(2, false)));
    let c = h.after(10, Event::ReadMarked(Err(true)));
    assert!(
        c.contains(&Command::ArmTimer(Timer::ReadMark, 1_990)),
        "{c:?}"
    );
    let c = h.after(1_990, Event::TimerFired(Timer::ReadMark));
    assert!(c.contains(&put(2, false)));
    let c = h.after(10, Event::ReadMarked(Err(false)));
    assert!(!c
        .iter()
        .any(|c| matches!(c, Command::ArmTimer(Timer::ReadMark, _))));
}

#[test]
fn a_message_that_comes_while_the_reader_looks_at_the_newest_is_read_at_once() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    h.step(Event::ReadLoaded(Some(MessageId(2))));
    let stream = h.live_with(vec![by("ann", 1), by("bob", 2)]);
    // Not looking (scrolled up, hidden or unfocused): it counts.
    h.step(Event::Received(stream, Incoming::Message(by("cy", 3))));
    assert_eq!(h.engine.unread(), (1, Some(MessageId(3)), None));
    // Looking at the newest: what is held is seen, and so is what comes,
    // in the same step (no count of 1 shown and taken back).
    let c = h.after(2_000, Event::Looking(true));
    assert!(c.contains(&put(3, false)), "{c:?}");
    assert_eq!(h.engine.unread().0, 0);
    h.step(Event::ReadMarked(Ok(Some(MessageId(3)))));
    let c = h.after(
        2_000,
        Event::Received(stream, Incoming::Message(by("cy", 4))),
    );
    assert!(!c.contains(&Command::ShowUnread), "{c:?}");
    assert!(c.contains(&put(4, false)), "{c:?}");
    assert_eq!(h.engine.unread().0, 0);
    // No longer looking: the next one counts.
    h.step(Event::Looking(false));
    h.step(Event::Received(stream, Incoming::Message(by("cy", 5))));
    assert_eq!(h.engine.unread().0, 1);
}

#[test]
fn looking_before_the_divider_is_placed_reads_nothing() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    h.step(Event::Looking(true));
    h.step(Event::ReadLoaded(Some(MessageId(1))));
    h.live_with(vec![by("ann", 1), by("bob", 2), by("bob", 3)]);
    // The divider stands where the reader stopped; what is on screen once
    // the list is placed is the glue's to say (`Seen`, `Looking` again).
    assert_eq!(
        h.engine.unread(),
        (2, Some(MessageId(2)), Some(MessageId(2)))
    );
}
