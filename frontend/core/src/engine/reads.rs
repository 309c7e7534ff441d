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

fn puts(c: &[Command]) -> Vec<Command> {
    (c.iter())
        .filter(|c| matches!(c, Command::PutRead { .. }))
        .cloned()
        .collect()
}

/// Review of issue 35, finding 1: the history in before the marker, the
/// list shown and looked at: nothing is read until the marker is known (it
/// would have been sent as the newest, and the divider lost).
#[test]
fn nothing_is_read_before_the_marker_is_known() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    let request = super::tests::fetch_request(&h.step(Event::Mount)).unwrap();
    h.step(Event::HistoryLoaded(
        request,
        vec![by("ann", 1), by("bob", 2), by("bob", 3)],
    ));
    let c = h.step(Event::Looking(true));
    let c2 = h.step(Event::Seen(MessageId(3)));
    assert!(puts(&c).is_empty() && puts(&c2).is_empty(), "{c:?} {c2:?}");
    h.step(Event::ReadLoaded(Some(MessageId(1))));
    assert_eq!(
        h.engine.unread(),
        (2, Some(MessageId(2)), Some(MessageId(2)))
    );
}

/// Finding 7: what was asked or marked before a mark unread does not undo
/// it: a late answer to the open's GET, a forward mark's answer, a read
/// event of this panel's earlier mark.
#[test]
fn a_mark_unread_is_not_undone_by_older_news() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    let stream = h.live_with(vec![by("ann", 1), by("bob", 2), by("bob", 3), by("bob", 4)]);
    // The stream's news comes first; the GET's answer later.
    h.step(read_event(stream, 1));
    assert!(!puts(&h.step(Event::Seen(MessageId(4)))).is_empty());
    h.step(Event::MarkUnread(MessageId(2)));
    assert_eq!(h.engine.unread().0, 3);
    h.step(Event::ReadLoaded(Some(MessageId(4))));
    assert_eq!(h.engine.unread().0, 3, "the GET's late answer");
    h.step(Event::ReadMarked(Ok(Some(MessageId(4)))));
    assert_eq!(h.engine.unread().0, 3, "the forward mark's answer");
    h.step(read_event(stream, 4));
    assert_eq!(h.engine.unread().0, 3, "the forward mark's read event");
    let c = h.after(1_000, Event::TimerFired(Timer::ReadMark));
    assert_eq!(puts(&c), vec![put(1, true)]);
    h.step(Event::ReadMarked(Ok(Some(MessageId(1)))));
    assert_eq!(
        h.engine.unread(),
        (3, Some(MessageId(2)), Some(MessageId(2)))
    );
}

/// Finding 8: after a mark unread, the reader reading further on another
/// device lets this panel mark again.
#[test]
fn reading_elsewhere_past_a_mark_unread_lets_marks_go_again() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    h.step(Event::ReadLoaded(Some(MessageId(4))));
    let stream = h.live_with(vec![by("ann", 1), by("bob", 2), by("bob", 3), by("bob", 4)]);
    h.step(Event::MarkUnread(MessageId(2)));
    h.step(Event::ReadMarked(Ok(Some(MessageId(1)))));
    h.step(read_event(stream, 4));
    h.step(Event::Received(stream, Incoming::Message(by("cy", 5))));
    let c = h.after(2_000, Event::Seen(MessageId(5)));
    assert_eq!(puts(&c), vec![put(5, false)]);
}

/// Finding 6: a mark waiting for its turn goes when the panel unmounts, and
/// one waiting when the panel stopped goes once it is Live again.
#[test]
fn a_waiting_mark_goes_at_unmount_and_after_a_stop() {
    let mut h = Harness::new();
    h.step(Event::ReadLoaded(Some(MessageId(1))));
    h.live_with(vec![by("ann", 1), by("bob", 2), by("bob", 3)]);
    h.step(Event::Seen(MessageId(2)));
    h.step(Event::ReadMarked(Ok(Some(MessageId(2)))));
    h.step(Event::Seen(MessageId(3)));
    let c = h.step(Event::Unmount);
    assert_eq!(puts(&c), vec![put(3, false)], "{c:?}");

    let mut h = Harness::new();
    h.step(Event::ReadLoaded(Some(MessageId(1))));
    h.live_with(vec![by("ann", 1), by("bob", 2)]);
    h.step(Event::Seen(MessageId(2)));
    h.step(Event::ReadMarked(Err(true)));
    h.step(Event::Unauthorized);
    let mut sent = Vec::new();
    let c = h.step(Event::RetryPressed);
    sent.extend(puts(&c));
    let request = super::tests::fetch_request(&c).unwrap();
    let c = h.step(Event::HistoryLoaded(
        request,
        vec![by("ann", 1), by("bob", 2)],
    ));
    sent.extend(puts(&c));
    let stream = super::tests::opened_stream(&c).unwrap();
    let c = h.step(Event::StreamOpened(stream));
    sent.extend(puts(&c));
    if let Some(request) = super::tests::fetch_request(&c) {
        sent.extend(puts(&h.step(Event::HistoryLoaded(request, vec![]))));
    }
    let c = h.after(
        5_000,
        super::tests::status(stream, Gateway::Connected, Some(1_000)),
    );
    sent.extend(puts(&c));
    if let Some(after) = c.iter().find_map(|c| match c {
        Command::ArmTimer(Timer::ReadMark, after) => Some(*after),
        _ => None,
    }) {
        sent.extend(puts(&h.after(after, Event::TimerFired(Timer::ReadMark))));
    }
    assert_eq!(sent, vec![put(2, false)]);
}

/// Finding 12: another person signs in on the same panel: their own
/// marker is asked for, the previous one's is not kept.
#[test]
fn another_reader_gets_their_own_marker() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    h.step(Event::ReadLoaded(Some(MessageId(3))));
    h.live_with(vec![by("ann", 1), by("bob", 2), by("bob", 3)]);
    let c = h.step(Event::Reader(Some("eve".into())));
    assert!(c.contains(&Command::FetchRead), "{c:?}");
    h.step(Event::ReadLoaded(Some(MessageId(1))));
    assert_eq!(
        h.engine.unread(),
        (2, Some(MessageId(2)), Some(MessageId(2)))
    );
}
