//! The outbox: replies on their way to the bridge, the reader's edits
//! and deletions of their own messages, and the reader's reaction toggles,
//! which go the same way (in order with the replies, with a client id of
//! their own, so a retry is never applied twice; a reaction's retry asks
//! for the same state again).
//!
//! A reply is sent once the stream is Live, one at a time and in order, with
//! the client id the glue gave it, so a retry can never store it twice. It is
//! confirmed by the post's answer or by its own echo (on the stream, or in a
//! catch-up), whichever comes first; from then on it is a message like any
//! other. A post that failed on the way (network, 5xx, timeout, an answer
//! lost) is tried again with the same client id after a backoff; a refusal
//! (4xx) is final and the reply stays, failed, with the bridge's reason,
//! until the reader edits or discards it.

use crate::message::MessageId;
use crate::protocol::{Command, Outgoing, RequestId, Target};
use crate::Options;

#[derive(Debug, Default)]
pub(super) struct Outbox {
    items: Vec<Outgoing>,
    /// The post under way: its request and the reply's client id.
    in_flight: Option<(RequestId, String)>,
    next_request: RequestId,
    /// Consecutive failed posts, for the backoff.
    failures: u32,
    /// A retry is scheduled (the `PostRetry` timer): nothing is sent before it.
    backing_off: bool,
}

impl Outbox {
    pub(super) fn items(&self) -> &[Outgoing] {
        &self.items
    }

    /// What the outgoing item with this client id changes, if it is there.
    pub(super) fn target(&self, client_id: &str) -> Option<Target> {
        (self.items.iter())
            .find(|o| o.client_id == client_id)?
            .target
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds a reply or a change, unless one with this client id is already
    /// there. A reaction toggle coalesces (see [`Outbox::toggle`]).
    pub(super) fn push(&mut self, reply: Outgoing) -> bool {
        if self.items.iter().any(|o| o.client_id == reply.client_id) {
            return false;
        }
        if let Some(Target::React(id, add)) = reply.target {
            self.toggle(id, add, reply);
            return true;
        }
        self.items.push(reply);
        true
    }

    /// The reader toggles their reaction (`add`: the chip they pressed was
    /// not theirs). A click takes back the toggle of that emoji that waits,
    /// if it never left (neither is sent: a toggle and its undo made
    /// offline send nothing); else it asks for the opposite of the last
    /// one, if one may have been stored (on its way, failed on the way,
    /// restored), or of what the chip shows. So at most one toggle of a
    /// message's emoji waits that never left.
    fn toggle(&mut self, id: MessageId, add: bool, toggle: Outgoing) {
        let last = self.items.iter().rposition(|o| {
            matches!(o.target, Some(Target::React(of, _)) if of == id)
                && o.content == toggle.content
                && o.failed.is_none()
        });
        let wanted = match last.map(|at| (at, &self.items[at])) {
            Some((at, o)) if !o.left => return drop(self.items.remove(at)),
            Some((_, o)) => o.target != Some(Target::React(id, true)),
            None => add,
        };
        self.items.push(Outgoing {
            target: Some(Target::React(id, wanted)),
            ..toggle
        });
    }

    /// Puts another person's replies in place of these (their writer keeps
    /// them); the post under way is no longer awaited.
    pub(super) fn switch(&mut self, replies: Vec<Outgoing>) {
        self.items.clear();
        self.in_flight = None;
        for reply in replies {
            self.push(reply);
        }
    }

    /// Forgets the reply with this client id (confirmed, edited or
    /// discarded); whether there was one.
    pub(super) fn remove(&mut self, client_id: &str) -> Option<Outgoing> {
        let at = self.items.iter().position(|o| o.client_id == client_id)?;
        Some(self.items.remove(at))
    }

    /// Forgets everything `done` says is (a reply stored, say); whether
    /// any went.
    pub(super) fn confirm(&mut self, done: impl Fn(&Outgoing) -> bool) -> bool {
        let before = self.items.len();
        self.items.retain(|o| !done(o));
        before != self.items.len()
    }

    /// Whether `request` is the post under way; it is no longer.
    pub(super) fn answered(&mut self, request: RequestId) -> Option<String> {
        match &self.in_flight {
            Some((current, _)) if *current == request => self.in_flight.take().map(|(_, id)| id),
            _ => None,
        }
    }

    /// A post failed on the way: try again after a backoff (the delay to arm
    /// the retry timer with).
    pub(super) fn failed(&mut self, options: &Options, random: f64) -> u64 {
        self.failures = self.failures.saturating_add(1);
        self.backing_off = true;
        options.backoff().delay_ms(self.failures, random)
    }

    /// A post went through.
    pub(super) fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// The bridge refused the reply: it stays, failed, with the reason.
    pub(super) fn refused(&mut self, client_id: &str, reason: String) {
        if let Some(reply) = self.items.iter_mut().find(|o| o.client_id == client_id) {
            reply.failed = Some(reason);
        }
    }

    pub(super) fn retry_due(&mut self) {
        self.backing_off = false;
    }

    /// The next post to send, when `live` and nothing is under way or waiting.
    pub(super) fn next(&mut self, live: bool) -> Option<Command> {
        if !live || self.in_flight.is_some() || self.backing_off {
            return None;
        }
        let reply = self.items.iter_mut().find(|o| o.failed.is_none())?;
        reply.left = true;
        let request = self.next_request;
        self.next_request += 1;
        self.in_flight = Some((request, reply.client_id.clone()));
        let (client_id, content) = (reply.client_id.clone(), reply.content.clone());
        Some(match reply.target {
            None => Command::PostMessage {
                request,
                client_id,
                content,
            },
            Some(target) => Command::ChangeMessage {
                request,
                client_id,
                target,
                content,
            },
        })
    }

    /// Everything in flight is abandoned (the panel unmounts): late answers
    /// are ignored, but a stored reply is still found by its echo.
    pub(super) fn abandon(&mut self) {
        self.in_flight = None;
    }
}
