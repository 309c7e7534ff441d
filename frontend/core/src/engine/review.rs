//! An adversarial reading of issue 31's store and catch-up half: each test
//! shows one way the panel lies, dies or leaks. They fail on purpose (the
//! branch `review-store` holds them; the fixes are the authors').

use super::tests::{fetch_request, Harness};
use super::*;
use crate::message::{Reaction, ReactionChange};
use crate::protocol::Target;
use crate::store::message;
use crate::wire::ChangePage;

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

fn held(h: &Harness, id: u64) -> Option<Message> {
    (h.engine.messages())
        .find(|m| m.id.0 == id)
        .map(|m| (**m).clone())
}

/// Message `id`'s reactions as `(emoji, count, the reader's own)`.
fn own(h: &Harness, id: u64) -> Vec<(String, u32, bool)> {
    let message = held(h, id).expect("held");
    (message.reactions.iter())
        .map(|r| (r.emoji.clone(), r.count, r.me))
        .collect()
}

fn sent(commands: &[Command]) -> Option<(RequestId, String, Option<Target>)> {
    commands.iter().find_map(|c| match c {
        Command::ChangeMessage {
            request,
            client_id,
            target,
            ..
        } => Some((*request, client_id.clone(), Some(*target))),
        Command::PostMessage {
            request, client_id, ..
        } => Some((*request, client_id.clone(), None)),
        _ => None,
    })
}

/// Someone else's `reaction` event on message `id` (a new bridge: `user`
/// and `added` set), as change `version`, with the message's whole list.
fn others_reaction(id: u64, version: u64, emoji: &str, all: Vec<Reaction>) -> Incoming {
    let changed = all.iter().find(|r| r.emoji == emoji).cloned().unwrap();
    Incoming::Reaction(ReactionChange {
        message_id: MessageId(id),
        channel_id: "general".into(),
        emoji: emoji.into(),
        count: changed.count,
        users: changed.users,
        reactions: Some(all),
        version: Some(MessageId(version)),
        user: Some("ann".into()),
        added: Some(true),
    })
}

/// Runs a reload: a `resync`, a catch-up the bridge answers `resync`, and
/// the reload it leads to, answered with `page`.
fn reload(h: &mut Harness, stream: StreamId, page: Vec<Message>) {
    let lagged = Incoming::Resync {
        reason: "lagged".into(),
    };
    let catch_up = fetch_request(&h.step(Event::Received(stream, lagged))).unwrap();
    let gap = ChangePage {
        resync: Some("history_gap".into()),
        ..ChangePage::default()
    };
    let request = fetch_request(&h.step(Event::ChangesLoaded(catch_up, gap))).unwrap();
    h.step(Event::HistoryLoaded(request, page));
}

/// LIE. The reader reacted 👍 to their own message (history computed for
/// them says `me`, as of change 5); someone else reacts 👍 too (change 6:
/// the reader's own state stays, known as of 5). The reader then edits the
/// message: the PATCH answer is the message as its `message_update` event
/// carries it (mock-bridge `changes.rs` `answer`: `change.event().1`), with
/// `reactions_version` 6 and no `me`, as no answer for the reader has it.
/// `post_answered` hands it to `store.update` as it is (the stream's
/// `Update` has its `reactions_version` taken away first, this one not), so
/// `own_as_of_version` reads its `me: false` as the reader's own state as
/// of change 6, newer than 5: the reader's chip is let go. Past the 20
/// names the bridge sends, nothing else says it is theirs.
#[test]
fn the_readers_own_edit_answer_does_not_unpress_their_reaction() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    let first = Message {
        author: "dee".into(),
        reactions: vec![entry("👍", 21, true)],
        reactions_version: Some(MessageId(5)),
        ..message(1)
    };
    let stream = h.live_with(vec![first]);
    h.step(Event::Received(
        stream,
        others_reaction(1, 6, "👍", vec![entry("👍", 22, false)]),
    ));
    assert_eq!(own(&h, 1), [("👍".to_string(), 22, true)], "still theirs");
    let edit = h.step(Event::Change {
        client_id: "e-1".into(),
        target: Target::Edit(MessageId(1)),
        content: "fixed a typo".into(),
    });
    let (request, ..) = sent(&edit).expect("the edit goes while Live");
    // The PATCH answer: the message as it now is, as its event shows it.
    let answer = Message {
        author: "dee".into(),
        content: "fixed a typo".into(),
        edited_at: Some("2026-12-05T00:00:07Z".into()),
        version: Some(MessageId(7)),
        reactions: vec![entry("👍", 22, false)],
        reactions_version: Some(MessageId(6)),
        ..message(1)
    };
    h.step(Event::PostAnswered(request, PostOutcome::Stored(answer)));
    assert_eq!(held(&h, 1).unwrap().content, "fixed a typo");
    assert_eq!(
        own(&h, 1),
        [("👍".to_string(), 22, true)],
        "the reader's own 👍 is let go by their own edit's answer"
    );
}

/// LIE (account switch). The host switches from dee to eve. The held
/// states keep dee's `me`, and nothing takes it away: not even a reload
/// whose page is computed for eve, at the same reactions version, since
/// `Message::fold` takes the larger of `(known, me)` and `true > false`
/// breaks the tie. Eve sees dee's reaction pressed as hers (and a click
/// on it sends a take-back of a reaction she never made).
#[test]
fn an_account_switch_does_not_keep_the_previous_readers_pressed_chips() {
    let mut h = Harness::new();
    h.step(Event::Reader(Some("dee".into())));
    let first = Message {
        reactions: vec![entry("👍", 30, true)],
        reactions_version: Some(MessageId(5)),
        ..message(1)
    };
    let stream = h.live_with(vec![first]);
    h.step(Event::Reader(Some("eve".into())));
    h.step(Event::OutboxSwitched(vec![]));
    // A reload computed for eve: the same state, not hers.
    let for_eve = Message {
        reactions: vec![entry("👍", 30, false)],
        reactions_version: Some(MessageId(5)),
        ..message(1)
    };
    reload(&mut h, stream, vec![for_eve]);
    assert_eq!(
        own(&h, 1),
        [("👍".to_string(), 30, false)],
        "dee's 👍 shown pressed for eve"
    );
}

/// LOST CLICK across a reload. The reader adds 👍 (r-1 goes, the answer is
/// on its way), then takes it back (r-2 waits behind r-1, as the README
/// says). The page reloads: sessionStorage holds both rows, and
/// `OutboxRestored` pushes them back one by one through `Outbox::toggle`,
/// where nothing is in flight any more, so r-2 "takes back" r-1 and
/// neither is kept. But r-1 may well have been stored (its answer was
/// on its way): the reader's 👍 stays on the bridge, against their last
/// click, and no row ever said it failed.
#[test]
fn a_toggle_on_its_way_and_its_undo_survive_a_reload() {
    let mut h = Harness::new();
    let _stream = h.live_with(vec![message(1)]);
    let first = h.step(Event::Change {
        client_id: "r-1".into(),
        target: Target::React(MessageId(1), true),
        content: "👍".into(),
    });
    assert!(sent(&first).is_some(), "r-1 goes");
    h.step(Event::Change {
        client_id: "r-2".into(),
        target: Target::React(MessageId(1), true),
        content: "👍".into(),
    });
    let saved: Vec<Outgoing> = h.engine.outbox().to_vec();
    assert_eq!(
        saved.iter().map(|o| o.target).collect::<Vec<_>>(),
        [
            Some(Target::React(MessageId(1), true)),
            Some(Target::React(MessageId(1), false))
        ]
    );
    // The page reloads: a new engine, the saved rows restored.
    let mut after = Harness::new();
    let _stream = after.live_with(vec![message(1)]);
    after.step(Event::OutboxRestored(saved));
    let waiting: Vec<Option<Target>> = after.engine.outbox().iter().map(|o| o.target).collect();
    assert!(
        waiting.contains(&Some(Target::React(MessageId(1), false))),
        "the take-back was dropped with the add it followed: {waiting:?}"
    );
}

/// The same without a reload: r-1's answer is lost (`Failed`: it may have
/// been stored), and while it waits for its retry the reader clicks again.
/// `toggle` sees r-1 waiting, not in flight, and cancels it: nothing is
/// sent, and the 👍 that may be stored stays.
#[test]
fn an_undo_does_not_cancel_a_toggle_that_may_have_been_stored() {
    let mut h = Harness::new();
    let _stream = h.live_with(vec![message(1)]);
    let first = h.step(Event::Change {
        client_id: "r-1".into(),
        target: Target::React(MessageId(1), true),
        content: "👍".into(),
    });
    let (request, ..) = sent(&first).expect("r-1 goes");
    h.step(Event::PostAnswered(
        request,
        PostOutcome::Failed("the answer was lost".into()),
    ));
    // The chip still shows no 👍 (no event yet): the click asks to add.
    h.step(Event::Change {
        client_id: "r-2".into(),
        target: Target::React(MessageId(1), true),
        content: "👍".into(),
    });
    let waiting: Vec<Option<Target>> = h.engine.outbox().iter().map(|o| o.target).collect();
    assert!(
        !waiting.is_empty(),
        "r-1 may be stored, and nothing will take it back: {waiting:?}"
    );
}

/// HOSTILE INPUT. One `message_update` whose `version` is absurd (a broken
/// or hostile bridge, or a relay) moves the store's newest id to u64::MAX
/// (`Engine::received` advances before anything is checked), and
/// `MessageStore::merge_live` (new in this change) then drops every later
/// live message as "stale": the panel goes silent for good, and each
/// reconnect resumes after u64::MAX. Before the change a new message was
/// still shown.
#[test]
fn an_absurd_change_id_does_not_silence_the_stream() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    let absurd = Message {
        content: "edited".into(),
        version: Some(MessageId(u64::MAX)),
        ..message(1)
    };
    h.step(Event::Received(stream, Incoming::Update(absurd)));
    h.step(Event::Received(stream, Incoming::Message(message(2))));
    assert_eq!(h.ids(), [1, 2], "the next message is dropped as stale");
}

/// The same through a `reaction` event's `version` (or its `id:` line).
#[test]
fn an_absurd_reaction_version_does_not_silence_the_stream() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1)]);
    h.step(Event::Received(
        stream,
        others_reaction(1, u64::MAX, "👍", vec![entry("👍", 1, false)]),
    ));
    h.step(Event::Received(stream, Incoming::Message(message(2))));
    assert_eq!(h.ids(), [1, 2], "the next message is dropped as stale");
}
