//! Table tests of the races between pages and live events: a page is
//! computed by the bridge at one moment and taken in after live events of a
//! later one. Whatever came live in between must survive the page.

use super::tests::{fetch_after, fetch_request, Harness};
use super::*;
use crate::message::{Deletion, Reaction, ReactionChange};
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
            ..Reaction::default()
        }]),
        version: Some(MessageId(version)),
        ..ReactionChange::default()
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

/// Found by `engine::model`: an older page asked for below the oldest held
/// message comes after live messages made the store evict that one (and
/// more): joined to what is held now, it would leave a hole where the
/// evicted messages were, never filled.
#[test]
fn an_older_page_that_no_longer_joins_the_held_window_is_dropped() {
    let mut h = Harness::new(); // room for 30, pages of 10
    let stream = h.live_with((21..=49).map(message).collect());
    let request = (h.step(Event::OlderWanted).iter())
        .find_map(|c| match c {
            Command::FetchOlder {
                request, before, ..
            } => Some((*request, before.0)),
            _ => None,
        })
        .expect("asks for older");
    assert_eq!(request.1, 21);
    for id in 50..=51 {
        h.step(Event::Received(stream, Incoming::Message(message(id))));
    }
    assert_eq!(h.ids(), (25..=51).collect::<Vec<_>>(), "21 to 24 evicted");
    h.step(Event::OlderLoaded(
        request.0,
        (11..=20).map(message).collect(),
    ));
    assert_eq!(h.ids(), (25..=51).collect::<Vec<_>>(), "no hole below 25");
}

/// Found by `engine::model` against the first fix of item 8: a message
/// that came live while the reload was on its way, and was deleted before
/// the page was computed (its deletion not heard yet), is not in the page,
/// which holds a newer one: the page says it is gone.
#[test]
fn a_reload_drops_a_live_message_its_page_says_is_gone() {
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
    let reload = fetch_request(&h.step(Event::ChangesLoaded(catch_up, gap))).unwrap();
    h.step(Event::Received(stream, Incoming::Message(message(4))));
    // 4 is deleted (change 5), 6 is posted; then the page is computed.
    let page: Vec<Message> = [1, 2, 3, 6].map(message).to_vec();
    h.step(Event::HistoryLoaded(reload, page));
    assert_eq!(h.ids(), [1, 2, 3, 6], "4 is gone");
}

/// Found by `engine::model`: a reload's page was computed after the point
/// the stream has reached, and the stream then delivers the creation of a
/// message deleted before the page was computed. The page holds every
/// message from its oldest to its newest: one missing from it is gone, and
/// must not come back (its deletion may never come: the stream may lag,
/// and the next catch-up starts after the page's newest).
#[test]
fn a_stale_creation_after_a_reload_does_not_bring_back_what_its_page_left_out() {
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
    let reload = fetch_request(&h.step(Event::ChangesLoaded(catch_up, gap))).unwrap();
    // Computed once 4 was posted and deleted, and 6 posted.
    h.step(Event::HistoryLoaded(
        reload,
        [1, 2, 3, 6].map(message).to_vec(),
    ));
    // The stream, behind, delivers the creation of 4.
    h.step(Event::Received(stream, Incoming::Message(message(4))));
    assert_eq!(h.ids(), [1, 2, 3, 6], "4 is gone");
    h.step(Event::Received(stream, Incoming::Message(message(7))));
    assert_eq!(h.ids(), [1, 2, 3, 6, 7], "7 is new");
}

/// Found by `engine::model`: an older page asked for before a reload was
/// computed before it, maybe before a deletion the reload stands for (the
/// stream lost it): it is dropped, and the reader's next scroll asks again.
#[test]
fn an_older_page_asked_before_a_reload_is_dropped() {
    let mut h = Harness::new();
    let stream = h.live_with((4..=6).map(message).collect());
    let older = |commands: &[Command]| {
        commands.iter().find_map(|c| match c {
            Command::FetchOlder { request, .. } => Some(*request),
            _ => None,
        })
    };
    let request = older(&h.step(Event::OlderWanted)).expect("asks for older");
    // Its page is computed now: 3 is there. Then 3 is deleted, and the
    // stream loses that: the bridge cannot replay it, the panel reloads.
    let page = vec![message(3)];
    let resync = Incoming::Resync {
        reason: "lagged".into(),
    };
    let catch_up = fetch_request(&h.step(Event::Received(stream, resync))).unwrap();
    let gap = ChangePage {
        resync: Some("history_gap".into()),
        ..ChangePage::default()
    };
    let reload = fetch_request(&h.step(Event::ChangesLoaded(catch_up, gap))).unwrap();
    h.step(Event::HistoryLoaded(reload, (4..=6).map(message).collect()));
    h.step(Event::OlderLoaded(request, page));
    assert_eq!(h.ids(), [4, 5, 6], "3 is gone");
    assert!(older(&h.step(Event::OlderWanted)).is_some(), "asks again");
}

/// One emoji's entry as a bridge sends it: `count` exact, the names cut.
fn entry(emoji: &str, count: u32, me: bool) -> Reaction {
    Reaction {
        emoji: emoji.into(),
        count,
        users: vec!["ann".into()],
        me,
        ..Reaction::default()
    }
}

/// Message 1's reactions as `(emoji, count, the reader's own)`.
fn own(h: &Harness) -> Vec<(String, u32, bool)> {
    let message = held(h, 1).unwrap();
    (message.reactions.iter())
        .map(|r| (r.emoji.clone(), r.count, r.me))
        .collect()
}

/// Issue 31, item 11: the reader's own state stays exact while the names
/// are cut: `me` from answers computed for the reader, then, from each
/// `reaction` event, only the reader's own change of that one emoji; a
/// late answer computed before a change of the reader's own does not undo
/// it. Without the fields (an older bridge), nothing is claimed.
#[test]
fn the_readers_own_reactions_follow_their_own_changes_only() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    let first = Message {
        reactions: vec![entry("👍", 25, true), entry("🎉", 1, false)],
        reactions_version: Some(MessageId(5)),
        ..message(1)
    };
    let stream = h.live_with(vec![first]);
    let event = |version: u64, emoji: &str, user: Option<&str>, added: bool, all: Vec<Reaction>| {
        let changed = all
            .iter()
            .find(|r| r.emoji == emoji)
            .cloned()
            .unwrap_or_default();
        Event::Received(
            stream,
            Incoming::Reaction(ReactionChange {
                message_id: MessageId(1),
                channel_id: "general".into(),
                emoji: emoji.into(),
                count: changed.count,
                users: changed.users,
                reactions: Some(all),
                version: Some(MessageId(version)),
                user: user.map(Into::into),
                added: user.map(|_| added),
            }),
        )
    };
    let shown = |list: &[(&str, u32, bool)]| -> Vec<(String, u32, bool)> {
        list.iter()
            .map(|(e, c, m)| (e.to_string(), *c, *m))
            .collect()
    };
    // Someone else adds 👍: the reader's own states stay.
    let all = vec![entry("👍", 26, false), entry("🎉", 1, false)];
    h.step(event(6, "👍", Some("bob"), true, all));
    assert_eq!(own(&h), shown(&[("👍", 26, true), ("🎉", 1, false)]));
    // The reader adds 🎉: that one alone becomes theirs.
    let all = vec![entry("👍", 26, false), entry("🎉", 2, false)];
    h.step(event(7, "🎉", Some("dee"), true, all));
    assert_eq!(own(&h), shown(&[("👍", 26, true), ("🎉", 2, true)]));
    // The reader takes back 👍.
    let all = vec![entry("👍", 25, false), entry("🎉", 2, false)];
    h.step(event(8, "👍", Some("dee"), false, all));
    assert_eq!(own(&h), shown(&[("👍", 25, false), ("🎉", 2, true)]));
    // A catch-up computed at change 6 comes late: it changes nothing.
    let resync = Incoming::Resync {
        reason: "lagged".into(),
    };
    let catch_up = fetch_request(&h.step(Event::Received(stream, resync))).unwrap();
    let late = Message {
        reactions: vec![entry("👍", 26, true), entry("🎉", 1, false)],
        reactions_version: Some(MessageId(6)),
        ..message(1)
    };
    let page = ChangePage {
        messages: vec![late],
        last: Some(MessageId(6)),
        ..ChangePage::default()
    };
    h.step(Event::ChangesLoaded(catch_up, page));
    assert_eq!(own(&h), shown(&[("👍", 25, false), ("🎉", 2, true)]));
    // An older bridge says nothing of whose change it was: nothing moves.
    let all = vec![entry("👍", 25, false), entry("🎉", 3, false)];
    h.step(event(9, "🎉", None, true, all));
    assert_eq!(own(&h), shown(&[("👍", 25, false), ("🎉", 3, true)]));
}

/// Found by `engine::props` against the first form of the fix of item 8:
/// a reply shown aside (its post's answer) before a reload was asked for,
/// and deleted before the page was computed, is no newcomer: the page
/// says it is gone.
#[test]
fn a_reload_drops_a_reply_shown_before_it_that_its_page_says_is_gone() {
    let mut h = Harness::new();
    let stream = h.live_with((1..=3).map(message).collect());
    let sent = h.step(Event::Send {
        client_id: "c-1".into(),
        content: "a reply".into(),
    });
    let request = (sent.iter())
        .find_map(|c| match c {
            Command::PostMessage { request, .. } => Some(*request),
            _ => None,
        })
        .expect("sent while Live");
    let reply = Message {
        client_id: Some("c-1".into()),
        ..message(4)
    };
    h.step(Event::PostAnswered(request, PostOutcome::Stored(reply)));
    assert_eq!(h.ids(), [1, 2, 3, 4]);
    let resync = Incoming::Resync {
        reason: "lagged".into(),
    };
    let catch_up = fetch_request(&h.step(Event::Received(stream, resync))).unwrap();
    let gap = ChangePage {
        resync: Some("history_gap".into()),
        ..ChangePage::default()
    };
    let reload = fetch_request(&h.step(Event::ChangesLoaded(catch_up, gap))).unwrap();
    h.step(Event::HistoryLoaded(reload, (1..=3).map(message).collect()));
    assert_eq!(h.ids(), [1, 2, 3], "4 was deleted");
}

/// Found by `engine::model`: a catch-up ran ahead of the stream and said
/// message 4 was deleted; the deletion is forgotten once the store heard
/// of more (here, with room for one); the stream, behind, then delivers
/// 4's creation. Nothing the stream brings at or below what was seen is
/// new: 4 stays gone.
#[test]
fn a_stream_behind_a_catch_up_brings_nothing_back() {
    let mut h = Harness::new();
    h.engine.store.set_tombstones(1);
    let stream = h.live_with((1..=3).map(message).collect());
    let resync = Incoming::Resync {
        reason: "lagged".into(),
    };
    let catch_up = fetch_request(&h.step(Event::Received(stream, resync))).unwrap();
    let page = ChangePage {
        messages: vec![message(5)],
        deleted: vec![MessageId(4), MessageId(2)],
        last: Some(MessageId(7)),
        ..ChangePage::default()
    };
    h.step(Event::ChangesLoaded(catch_up, page));
    assert_eq!(h.ids(), [1, 3, 5]);
    h.step(Event::Received(stream, Incoming::Message(message(4))));
    assert_eq!(h.ids(), [1, 3, 5], "4 is gone");
}

/// Found by `engine::model`: the reader takes back the last reaction of an
/// emoji (it goes), someone else reacts with it again, and an answer
/// computed before all that comes late: it does not make the emoji the
/// reader's again (the emoji's going said the reader's state as of then).
#[test]
fn an_emoji_that_went_is_not_the_readers_again_by_a_late_answer() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    let first = Message {
        reactions: vec![entry("🎉", 1, true)],
        reactions_version: Some(MessageId(5)),
        ..message(1)
    };
    let stream = h.live_with(vec![first.clone()]);
    let change = |version: u64, user: &str, added: bool, all: Vec<Reaction>| {
        let count = all.first().map_or(0, |r| r.count);
        Event::Received(
            stream,
            Incoming::Reaction(ReactionChange {
                message_id: MessageId(1),
                channel_id: "general".into(),
                emoji: "🎉".into(),
                count,
                reactions: Some(all),
                version: Some(MessageId(version)),
                user: Some(user.into()),
                added: Some(added),
                ..ReactionChange::default()
            }),
        )
    };
    h.step(change(6, "dee", false, vec![]));
    h.step(change(7, "ann", true, vec![entry("🎉", 1, false)]));
    assert_eq!(own(&h), [("🎉".to_string(), 1, false)]);
    let resync = Incoming::Resync {
        reason: "lagged".into(),
    };
    let catch_up = fetch_request(&h.step(Event::Received(stream, resync))).unwrap();
    let page = ChangePage {
        messages: vec![first],
        last: Some(MessageId(5)),
        ..ChangePage::default()
    };
    h.step(Event::ChangesLoaded(catch_up, page));
    assert_eq!(own(&h), [("🎉".to_string(), 1, false)]);
}

/// A catch-up page that says more follows but moves nothing forward (an
/// empty page, or one that ends at or below where it was asked from) would
/// be asked for again and again, as fast as the bridge answers: the panel
/// takes it for a bridge that cannot page forward and reloads instead.
#[test]
fn a_catch_up_page_that_says_more_but_moves_nothing_reloads_instead_of_asking_for_ever() {
    for stuck in [
        ChangePage {
            more: true,
            ..ChangePage::default()
        },
        ChangePage {
            messages: vec![message(2)],
            last: Some(MessageId(3)),
            more: true,
            ..ChangePage::default()
        },
    ] {
        let mut h = Harness::new();
        let stream = h.live_with((1..=3).map(message).collect());
        let resync = Incoming::Resync {
            reason: "lagged".into(),
        };
        let catch_up = fetch_request(&h.step(Event::Received(stream, resync))).unwrap();
        let commands = h.step(Event::ChangesLoaded(catch_up, stuck.clone()));
        assert_eq!(
            fetch_after(&commands),
            Some(None),
            "{stuck:?} moved nothing forward: a reload, not the same page again"
        );
        let reload = fetch_request(&commands).unwrap();
        let commands = h.step(Event::HistoryLoaded(reload, (1..=4).map(message).collect()));
        assert!(fetch_request(&commands).is_none(), "and then nothing more");
        assert_eq!(h.ids(), [1, 2, 3, 4]);
    }
}

/// Every message held is deleted (the model found it): the older ones are
/// still there, and the reader gets them, asked from below the newest seen,
/// not nothing because there is no oldest held to ask below.
#[test]
fn when_every_held_message_is_deleted_the_older_ones_can_still_be_loaded() {
    let mut h = Harness::new();
    let stream = h.live_with((5..=7).map(message).collect());
    for id in 5..=7u64 {
        let deletion = Incoming::Delete {
            deletion: Deletion {
                id: MessageId(id),
                channel_id: "general".into(),
            },
            change: Some(MessageId(id + 3)),
        };
        h.step(Event::Received(stream, deletion));
    }
    assert_eq!(h.ids(), Vec::<u64>::new());
    let commands = h.step(Event::OlderWanted);
    let Some(&Command::FetchOlder {
        request, before, ..
    }) = commands
        .iter()
        .find(|c| matches!(c, Command::FetchOlder { .. }))
    else {
        panic!("nothing asked for the older messages: {commands:?}");
    };
    assert!(before > MessageId(7), "below the newest seen, not {before}");
    h.step(Event::OlderLoaded(request, (3..=4).map(message).collect()));
    assert_eq!(h.ids(), [3, 4]);
    let again = h.step(Event::OlderWanted);
    assert!(
        !again
            .iter()
            .any(|c| matches!(c, Command::FetchOlder { .. })),
        "a short page was the channel's start"
    );
}
