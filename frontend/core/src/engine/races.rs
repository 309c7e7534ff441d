//! Table tests of the races between pages and live events: a page is
//! computed by the bridge at one moment and taken in after live events of a
//! later one. Whatever came live in between must survive the page.

use super::tests::{fetch_after, fetch_request, Harness};
use super::*;
use crate::message::{Reaction, ReactionChange};
use crate::store::message;
use crate::wire::ChangePage;

/// `id` as edited by change `version`.
fn edited(id: u64, version: u64) -> Message {
    Message {
        content: format!("message {id}, edited as change {version}"),
        edited_at: Some("2026-12-05T00:00:00Z".into()),
        version: Some(MessageId(version)),
        ..message(id)
    }
}

/// A `reaction` event making `emoji` on `id` be `users`, as change `version`.
fn reaction(id: u64, version: u64, emoji: &str, users: &[&str]) -> Incoming {
    let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
    let count = users.len() as u32;
    Incoming::Reaction(ReactionChange {
        message_id: MessageId(id),
        channel_id: "general".into(),
        emoji: emoji.into(),
        count,
        users: users.clone(),
        reactions: Some(vec![Reaction {
            emoji: emoji.into(),
            count,
            users,
        }]),
        version: Some(MessageId(version)),
    })
}

/// The held state of message `id`.
fn held(h: &Harness, id: u64) -> Option<Message> {
    (h.engine.messages())
        .find(|m| m.id.0 == id)
        .map(|m| (**m).clone())
}

/// Issue 31, item 8: a reload (the bridge could not replay the changes)
/// is computed before a live message and a live edit arrive, and answered
/// after them: both stay.
#[test]
fn a_reload_keeps_what_came_live_while_it_was_on_its_way() {
    let mut h = Harness::new();
    let stream = h.live_with((1..=3).map(message).collect());
    let resync = Incoming::Resync {
        reason: "lagged".into(),
    };
    let catch_up = fetch_request(&h.step(Event::Received(stream, resync))).unwrap();
    let gap = ChangePage {
        resync: Some("history_gap".into()),
        ..ChangePage::default()
    };
    let commands = h.step(Event::ChangesLoaded(catch_up, gap));
    assert_eq!(fetch_after(&commands), Some(None), "a reload");
    let reload = fetch_request(&commands).unwrap();
    // The bridge computes the page now: 4 came in the gap.
    let page: Vec<Message> = (1..=4).map(message).collect();
    // Then, live, before the answer: a new message and an edit of 2.
    h.step(Event::Received(stream, Incoming::Message(message(5))));
    h.step(Event::Received(stream, Incoming::Update(edited(2, 6))));
    h.step(Event::HistoryLoaded(reload, page));
    assert_eq!(h.ids(), [1, 2, 3, 4, 5], "the live message 5 stays");
    assert_eq!(held(&h, 2), Some(edited(2, 6)), "the live edit of 2 stays");
}

/// Issue 31, item 10: an edit and a reaction of messages below the held
/// window come live while the older page that holds them (computed
/// before) is on its way: the page must not bring their old states.
#[test]
fn an_older_page_on_its_way_does_not_undo_a_live_change_of_its_messages() {
    let mut h = Harness::new(); // room for 30, pages of 10
    let stream = h.live_with((21..=30).map(message).collect());
    let request = (h.step(Event::OlderWanted).iter())
        .find_map(|c| match c {
            Command::FetchOlder { request, .. } => Some(*request),
            _ => None,
        })
        .expect("asks for older");
    let page: Vec<Message> = (11..=20).map(message).collect();
    h.step(Event::Received(stream, Incoming::Update(edited(15, 31))));
    h.step(Event::Received(stream, reaction(12, 32, "👍", &["bob"])));
    h.step(Event::OlderLoaded(request, page));
    assert_eq!(h.ids(), (11..=30).collect::<Vec<_>>());
    assert_eq!(held(&h, 15), Some(edited(15, 31)), "the edit of 15 stays");
    let twelve = held(&h, 12).unwrap();
    assert_eq!(
        (twelve.reactions.len(), twelve.reactions_version),
        (1, Some(MessageId(32))),
        "the reaction to 12 stays: {twelve:?}"
    );
}
