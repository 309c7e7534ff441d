//! From an adversarial reading of issue 31's store and catch-up half: each
//! test is one way the panel lied, went silent or leaked before its fix
//! (docs: the README's "Edits, deletions and reactions"), and now holds.

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

/// LIE (item 10, half fixed). A bridge that keeps to the contract (a
/// `reaction` event names the one emoji, no whole `reactions` list; its
/// order is the `id:` line) reacts to message 12 while the older page that
/// holds 12 (computed before) is on its way. `MessageStore::react` keeps a
/// change of a message not held only when it is a whole state, so this
/// one is dropped, and the page brings 12 without the 👍: a wrong count
/// for good (until 12's next reaction).
#[test]
fn an_older_page_on_its_way_does_not_undo_a_contract_reaction() {
    let mut h = Harness::new(); // room for 30, pages of 10
    let stream = h.live_with((21..=30).map(message).collect());
    let request = (h.step(Event::OlderWanted).iter())
        .find_map(|c| match c {
            Command::FetchOlder { request, .. } => Some(*request),
            _ => None,
        })
        .expect("asks for older");
    let page: Vec<Message> = (11..=20).map(message).collect();
    // `id: 32` on the event: the decoder makes it the change's version.
    let contract = crate::wire::decode_at(
        "reaction",
        r#"{"message_id":"12","channel_id":"general","emoji":"👍","count":1,"users":["bob"]}"#,
        "32",
    )
    .expect("a contract reaction event");
    h.step(Event::Received(stream, contract));
    h.step(Event::OlderLoaded(request, page));
    let twelve = held(&h, 12).expect("12 is held");
    assert_eq!(
        (twelve.reactions.iter())
            .map(|r| (r.emoji.as_str(), r.count))
            .collect::<Vec<_>>(),
        [("👍", 1)],
        "bob's 👍 on 12 was lost to the older page"
    );
}

/// LIE (signed in). The reader is known only once `whoami` answers
/// (`Connection::ask_who`, async), while the history and the stream are
/// already under way: a `reaction` event of the reader's own before that
/// has its `added` taken away (`self.reader` is still `None`), and once the
/// reader is known nothing brings it back. Past the 20 names the chip
/// reads not theirs.
#[test]
fn the_readers_own_reaction_before_they_are_known_is_not_lost() {
    let mut h = Harness::new();
    let first = Message {
        reactions: vec![entry("👍", 25, false)],
        reactions_version: Some(MessageId(5)),
        ..message(1)
    };
    let stream = h.live_with(vec![first]);
    // dee adds 👍 (from their phone, say) before whoami answered here.
    let mine = Incoming::Reaction(ReactionChange {
        message_id: MessageId(1),
        channel_id: "general".into(),
        emoji: "👍".into(),
        count: 26,
        users: vec!["dee".into()],
        reactions: Some(vec![entry("👍", 26, false)]),
        version: Some(MessageId(6)),
        user: Some("dee".into()),
        added: Some(true),
    });
    h.step(Event::Received(stream, mine));
    // Once dee is known, the changes since are asked for again: the answer
    // is computed for dee, and says which reactions are theirs.
    let known = h.step(Event::Reader(Some("dee".into())));
    let request = fetch_request(&known).expect("a catch-up for the reader");
    let for_dee = ChangePage {
        messages: vec![Message {
            reactions: vec![entry("👍", 26, true)],
            reactions_version: Some(MessageId(6)),
            ..message(1)
        }],
        last: Some(MessageId(6)),
        ..ChangePage::default()
    };
    h.step(Event::ChangesLoaded(request, for_dee));
    // Then someone else: dee's name is no longer among those sent.
    h.step(Event::Received(
        stream,
        others_reaction(1, 7, "👍", vec![entry("👍", 27, false)]),
    ));
    assert_eq!(
        own(&h, 1),
        [("👍".to_string(), 27, true)],
        "dee's own 👍 is not theirs"
    );
}

/// LIE, through a LEAK. A reload that is given up (the panel stopped, here
/// by a 401, then Retry) leaves `MessageStore::reload_from` set for good:
/// only `replace` takes it. From then on every eviction copies the evicted
/// messages into `pending` (`merge_as`, "a reload on its way may bring them
/// back"), whole, up to 64 kept for ever, and they push out the newer
/// states that wait there for a page on its way. Here: a catch-up computed
/// before message 501 was edited comes after the edit (the stream, past a
/// lag, was ahead) and after some 120 live messages: the edit waited in
/// `pending`, was pushed out by evicted copies, and 501 shows its old text
/// for good. Without the given-up reload, the edit survives.
#[test]
fn a_given_up_reload_does_not_flood_what_waits_for_a_page() {
    let options = Options {
        history_limit: 500,
        page_limit: 100,
        max_messages: 500,
        max_attempts: 3,
        ..Options::default()
    };
    let mut h = Harness {
        engine: Engine::new("general", options),
        now: 1_000,
    };
    let stream = h.live_with((1..=500).map(message).collect());
    let lagged = || Incoming::Resync {
        reason: "lagged".into(),
    };
    // A reload is asked for, and given up: the sign-in expired meanwhile.
    let catch_up = fetch_request(&h.step(Event::Received(stream, lagged()))).unwrap();
    let gap = ChangePage {
        resync: Some("history_gap".into()),
        ..ChangePage::default()
    };
    let reload = fetch_request(&h.step(Event::ChangesLoaded(catch_up, gap))).unwrap();
    h.step(Event::Unauthorized);
    h.step(Event::HistoryLoaded(reload, vec![])); // too late: ignored
                                                  // The host signs in again, the reader presses Retry: Live again.
    let commands = h.step(Event::RetryPressed);
    let request = fetch_request(&commands).expect("a catch-up");
    let commands = h.step(Event::ChangesLoaded(request, ChangePage::default()));
    let stream = (commands.iter())
        .find_map(|c| match c {
            Command::OpenStream { stream, .. } => Some(*stream),
            _ => None,
        })
        .expect("opens again");
    let request = fetch_request(&h.step(Event::StreamOpened(stream))).unwrap();
    h.step(Event::ChangesLoaded(request, ChangePage::default()));
    h.step(super::tests::status(
        stream,
        Gateway::Connected,
        Some(1_000),
    ));
    assert_eq!(h.label(), Label::Live);
    // The stream lags: a catch-up, computed now (501 as first posted)…
    let catch_up = fetch_request(&h.step(Event::Received(stream, lagged()))).unwrap();
    let page = ChangePage {
        messages: vec![message(501)],
        last: Some(MessageId(501)),
        ..ChangePage::default()
    };
    // …comes after the stream (ahead) brought 501's edit and 118 messages.
    let edit = Message {
        content: "501, edited".into(),
        edited_at: Some("2026-12-05T00:00:00Z".into()),
        version: Some(MessageId(502)),
        ..message(501)
    };
    h.step(Event::Received(stream, Incoming::Update(edit)));
    for id in 503..=620 {
        h.step(Event::Received(stream, Incoming::Message(message(id))));
    }
    h.step(Event::ChangesLoaded(catch_up, page));
    assert_eq!(
        held(&h, 501).map(|m| m.content),
        Some("501, edited".into()),
        "501's edit was lost"
    );
}

/// LIE (item 11, the 404 rule). The reader deletes their message 2; a
/// moderator deleted it already, and the stream lost that (a lag past the
/// bridge's retention): the panel reloads, and the page, without 2, makes
/// the store drop it. The panel knows 2 is gone, but `replace` does not
/// remember it as deleted, so the bridge's 404 for the reader's deletion
/// is taken as a failure: a row "Not saved: … no message 2" that stays,
/// saved in sessionStorage, across reloads, until discarded, for a
/// deletion that is done.
#[test]
fn a_deletion_answered_404_after_a_reload_dropped_its_message_is_done() {
    let mut h = Harness::new();
    let stream = h.live_with((1..=3).map(message).collect());
    let delete = h.step(Event::Change {
        client_id: "d-1".into(),
        target: Target::Delete(MessageId(2)),
        content: "message 2".into(),
    });
    let (request, ..) = sent(&delete).expect("sent while Live");
    reload(&mut h, stream, [1, 3].map(message).to_vec());
    assert_eq!(h.ids(), [1, 3], "the page says 2 is gone");
    let unknown = PostOutcome::Refused("channel \"general\" holds no message 2".into());
    h.step(Event::PostAnswered(request, unknown));
    let waiting: Vec<(String, bool)> = (h.engine.outbox().iter())
        .map(|o| (o.client_id.clone(), o.failed.is_some()))
        .collect();
    assert!(
        waiting.is_empty(),
        "the deletion shows as failed: {waiting:?}"
    );
}
