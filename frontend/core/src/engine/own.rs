//! Table tests of the reader's own changes: reaction toggles go through the
//! outbox, and a refusal of a change to a message gone is done.

use super::tests::{status, Harness};
use super::*;
use crate::protocol::Target;
use crate::store::message;

/// The change sent, if the step sent one: its request, client id and target.
fn sent(commands: &[Command]) -> Option<(RequestId, String, Target)> {
    commands.iter().find_map(|c| match c {
        Command::ChangeMessage {
            request,
            client_id,
            target,
            ..
        } => Some((*request, client_id.clone(), *target)),
        _ => None,
    })
}

fn toggle(h: &mut Harness, client_id: &str, id: u64, emoji: &str, add: bool) -> Vec<Command> {
    h.step(Event::Change {
        client_id: client_id.into(),
        target: Target::React(MessageId(id), add),
        content: emoji.into(),
    })
}

/// What waits in the outbox: client id, target, failed.
fn waiting(h: &Harness) -> Vec<(String, Option<Target>, bool)> {
    (h.engine.outbox().iter())
        .map(|o| (o.client_id.clone(), o.target, o.failed.is_some()))
        .collect()
}

/// Issue 31, item 11: a toggle made while Reconnecting waits in the outbox
/// and goes once Live, retried with the same intent; a toggle and its undo
/// made meanwhile send nothing; one made while its opposite is on its way
/// waits behind it.
#[test]
fn reaction_toggles_go_through_the_outbox_and_coalesce() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1), message(2)]);
    h.step(Event::StreamError(stream, ReadyState::Connecting));
    assert_eq!(h.label(), Label::Reconnecting);
    // 👍 on 1, and 🎉 on 2 with its undo (the chip unchanged between).
    assert!(sent(&toggle(&mut h, "r-1", 1, "👍", true)).is_none());
    toggle(&mut h, "r-2", 2, "🎉", true);
    toggle(&mut h, "r-3", 2, "🎉", true);
    let react = |id: u64, add: bool| Some(Target::React(MessageId(id), add));
    assert_eq!(
        waiting(&h),
        [("r-1".into(), react(1, true), false)],
        "the undo took the 🎉 back"
    );
    // Live again: it goes, and a lost answer sends the same again.
    h.step(Event::StreamOpened(stream));
    let live = h.step(status(stream, Gateway::Connected, Some(1_000)));
    let (request, client_id, target) = sent(&live).expect("sent once Live");
    assert_eq!(
        (client_id.as_str(), target),
        ("r-1", Target::React(MessageId(1), true))
    );
    h.step(Event::PostAnswered(
        request,
        PostOutcome::Failed("lost".into()),
    ));
    let again = h.after(60_000, Event::TimerFired(Timer::PostRetry));
    let (request, client_id, target) = sent(&again).expect("sent again");
    assert_eq!(
        (client_id.as_str(), target),
        ("r-1", Target::React(MessageId(1), true))
    );
    // Clicked again while it is on its way (the chip not pressed yet):
    // taking it back waits behind it.
    toggle(&mut h, "r-4", 1, "👍", true);
    assert_eq!(waiting(&h)[1], ("r-4".into(), react(1, false), false));
    let done = h.step(Event::PostAnswered(request, PostOutcome::Deleted));
    let (_, client_id, target) = sent(&done).expect("the take-back goes next");
    assert_eq!(
        (client_id.as_str(), target),
        ("r-4", Target::React(MessageId(1), false))
    );
    assert_eq!(h.ids(), [1, 2], "a reaction's answer deletes nothing");
}

/// Issue 31, item 11: a deletion (or a reaction) refused with a 404 is
/// done only when the message is gone; one for a route that is missing
/// fails, and the row says so, until the message's deletion comes.
#[test]
fn a_refused_change_is_done_only_when_its_message_is_gone() {
    let mut h = Harness::new();
    let stream = h.live_with(vec![message(1), message(2)]);
    let delete = |h: &mut Harness, client_id: &str, id: u64| {
        h.step(Event::Change {
            client_id: client_id.into(),
            target: Target::Delete(MessageId(id)),
            content: String::new(),
        })
    };
    // A bridge without the route: the message is still there.
    let (request, ..) = sent(&delete(&mut h, "d-1", 1)).expect("sent while Live");
    let no_route = PostOutcome::Refused("HTTP 404: no route for /api/…".into());
    h.step(Event::PostAnswered(request, no_route.clone()));
    assert_eq!(
        waiting(&h),
        [("d-1".into(), Some(Target::Delete(MessageId(1))), true)]
    );
    assert_eq!(h.ids(), [1, 2], "not deleted");
    // Someone deletes it meanwhile: the failed row goes with it.
    let gone = Incoming::Delete {
        deletion: crate::message::Deletion {
            id: MessageId(1),
            channel_id: "general".into(),
        },
        change: Some(MessageId(3)),
    };
    h.step(Event::Received(stream, gone));
    assert!(waiting(&h).is_empty());
    // Its deletion heard first, then the 404: done.
    let gone = Incoming::Delete {
        deletion: crate::message::Deletion {
            id: MessageId(2),
            channel_id: "general".into(),
        },
        change: Some(MessageId(4)),
    };
    let (request, ..) = sent(&toggle(&mut h, "r-1", 2, "👍", true)).expect("sent");
    h.step(Event::Received(stream, gone));
    let unknown = PostOutcome::Refused("channel \"general\" holds no message 2".into());
    h.step(Event::PostAnswered(request, unknown));
    assert!(waiting(&h).is_empty(), "{:?}", waiting(&h));
}
