//! Where the reader stopped: the read marker kept by the bridge per person and
//! channel, the divider before the first unread message, and the marks this
//! panel sends.
//!
//! - The **marker** is the id of the newest message the reader has read. The
//!   bridge keeps it (`GET`/`PUT …/read`) and tells the reader's other tabs and
//!   devices (`read` events on their own streams). It only moves forward,
//!   unless the reader marks a message unread, which sets it exactly.
//! - A message is **unread** when it is newer than the marker and the reader
//!   did not write it. The count is a function of what is held and the
//!   marker, so edits and reactions never raise it and a deletion (the
//!   message is no longer held) lowers it.
//! - A reader the bridge has no marker for (a first visit) starts with
//!   everything held at the open read, and tells the bridge so (the
//!   reader's other devices then count from there): what comes after
//!   counts.
//! - The **divider** is placed when the panel opens (the history and the
//!   marker both known) before the first unread message, and stays there while
//!   the reader reads; only the next open, or marking a message unread, moves
//!   it.
//! - **Marks** go at most once per [`MARK_EVERY_MS`], newest intention only;
//!   one whose answer is lost is sent again. After the reader marks a message
//!   unread, seeing messages marks nothing until they send a message or open
//!   the channel again (otherwise the message they marked would be read again
//!   at once, being on screen).

use crate::json::{self, Error};
use crate::message::{Message, MessageId};
use crate::payload::{id, optional_id};

/// The unread count, the first unread message and the divider's message,
/// as the engine shows them (`Engine::unread`).
pub type Unread = (usize, Option<MessageId>, Option<MessageId>);

/// At most one mark per second.
pub const MARK_EVERY_MS: u64 = 1_000;

/// A `read` event: `{"channel_id", "last_read"}`.
pub fn read_event(data: &str) -> Result<(String, MessageId), Error> {
    let f = json::parse(data)?.fields("", &["channel_id", "last_read"])?;
    let read = (f.string("channel_id"), id(&f, "last_read"));
    f.done(read)
}

/// The answer of `GET` or `PUT …/read`: `{"last_read": "<id>" | null}`.
pub fn read_answer(data: &str) -> Result<Option<MessageId>, Error> {
    let f = json::parse(data)?.fields("", &["last_read"])?;
    let marker = optional_id(&f, "last_read");
    f.done(marker)
}

/// The reader's read state in one channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadMarker {
    /// The marker as this panel knows it (`None`: not known yet).
    last_read: Option<MessageId>,
    /// The bridge answered `GET …/read` (or a `read` event came).
    loaded: bool,
    /// The divider's message: the first unread one when the panel opened.
    divider: Option<MessageId>,
    /// The divider was placed for this open.
    placed: bool,
    /// Marked unread: seeing marks nothing until the reader sends or reopens.
    held: bool,
    /// The marker could not be asked for: the open is not a first visit to
    /// tell the bridge of (its marker, not known, is left alone).
    unknown: bool,
    /// The mark to send, and whether it is exact (mark unread).
    pending: Option<(MessageId, bool)>,
    /// A mark is on its way: its id and whether it was exact.
    sending: Option<(MessageId, bool)>,
    /// When the last mark went (ms).
    sent_at: Option<u64>,
    /// Marks lost in a row: each doubles the wait before the next (to a minute).
    failures: u32,
}

impl ReadMarker {
    /// The marker as this panel knows it.
    pub fn last_read(&self) -> Option<MessageId> {
        self.last_read
    }

    /// The message the divider stands before, if any.
    pub fn divider(&self) -> Option<MessageId> {
        self.divider
    }

    /// Whether `message` is unread by `reader`.
    fn unread(&self, message: &Message, reader: Option<&str>) -> bool {
        self.last_read.is_some_and(|last| message.id > last)
            && reader != Some(message.author.as_str())
    }

    /// How many of `messages` are unread, and the first of them.
    pub fn count<'a>(
        &self,
        messages: impl Iterator<Item = &'a Message>,
        reader: Option<&str>,
    ) -> (usize, Option<MessageId>) {
        let (mut count, mut first) = (0, None);
        for message in messages {
            if self.unread(message, reader) {
                count += 1;
                first = first.or(Some(message.id));
            }
        }
        (count, first)
    }

    /// The bridge's marker for this reader, asked for at the open (`None`:
    /// never read). A mark of this panel's that went meanwhile and is newer
    /// wins (the bridge moves forward only).
    pub fn loaded(&mut self, marker: Option<MessageId>) {
        // A `read` event, or a mark unread, is newer news.
        if !std::mem::replace(&mut self.loaded, true) && !self.held {
            self.last_read = self.last_read.max(marker);
        }
    }

    /// The marker could not be asked for (no answer, or a refusal): the
    /// open counts what is held as read, as a first visit does, but tells
    /// the bridge nothing (it may hold an older place, which stays).
    pub fn unknown(&mut self) {
        self.loaded = true;
        self.unknown = true;
    }

    /// A `read` event: the bridge's marker changed (another tab or device,
    /// or this panel's own mark coming back). It is the bridge's truth, but
    /// a forward mark of this panel's not yet answered stays ahead of it.
    pub fn heard(&mut self, marker: MessageId) {
        self.loaded = true;
        // A mark unread of this panel's waiting or on its way is newer.
        if [self.pending, self.sending].iter().flatten().any(|m| m.1) {
            return;
        }
        // Read further elsewhere: this panel's mark unread is behind them.
        if self.last_read.is_some_and(|last| marker > last) {
            self.held = false;
        }
        let ahead = self.ahead();
        self.last_read = Some(ahead.map_or(marker, |ahead| ahead.max(marker)));
    }

    /// The forward mark this panel has not heard answered, if any.
    fn ahead(&self) -> Option<MessageId> {
        let forward = |mark: Option<(MessageId, bool)>| mark.filter(|m| !m.1).map(|m| m.0);
        forward(self.pending).max(forward(self.sending))
    }

    /// Once the history and the marker are both known: a first visit
    /// starts read up to `newest` (with nothing held, everything to come
    /// counts). Whether this is that moment, when the
    /// divider is to be placed (at the first unread message, [`Self::place`]).
    pub fn settle(&mut self, newest: Option<MessageId>) -> bool {
        if self.placed || !self.loaded {
            return false;
        }
        self.placed = true;
        if self.last_read.is_none() {
            self.last_read = Some(newest.unwrap_or_default());
            // Told to the bridge, so that the reader's other devices count
            // from the same place (a channel with nothing has nothing).
            if !self.unknown {
                self.pending = newest.map(|newest| (newest, false));
            }
        }
        true
    }

    /// Places the divider before `first`, the first unread message.
    pub fn place(&mut self, first: Option<MessageId>) {
        self.divider = first;
    }

    /// The panel opens again (a channel switch, a remount): the marker is
    /// asked for again and the divider placed anew.
    pub fn reopen(&mut self) {
        *self = ReadMarker {
            pending: self.pending,
            sending: self.sending,
            sent_at: self.sent_at,
            ..ReadMarker::default()
        };
    }

    /// The reader has seen the messages up to `id` (the panel visible, the
    /// window focused, the message on screen). Whether a mark is due.
    pub fn seen(&mut self, id: MessageId) -> bool {
        // Nothing is read before the marker is known and the divider placed.
        if !self.placed || self.held || self.last_read.is_some_and(|last| id <= last) {
            return false;
        }
        self.last_read = Some(id);
        self.pending = Some((id, false));
        true
    }

    /// The reader sent a message: reading marks again, up to `id` (the
    /// newest held).
    pub fn sent(&mut self, id: Option<MessageId>) -> bool {
        self.held = false;
        id.is_some_and(|id| self.seen(id))
    }

    /// The reader marks `id` unread: the marker goes just before it, exactly,
    /// and the divider stands before it.
    pub fn mark_unread(&mut self, id: MessageId) {
        let before = MessageId(id.0.saturating_sub(1));
        self.last_read = Some(before);
        self.pending = Some((before, true));
        self.divider = Some(id);
        self.held = true;
    }

    /// The mark waiting, sent now whatever its turn (the panel unmounts).
    pub fn flush(&mut self) -> Option<(MessageId, bool)> {
        self.pending.take()
    }

    /// Whether a mark waits and none is on its way.
    pub fn waiting(&self) -> bool {
        self.pending.is_some() && self.sending.is_none()
    }

    /// The mark to send now, if one is waiting, none is on its way, and the
    /// last went at least [`MARK_EVERY_MS`] ago; else when to look again.
    pub fn due(&mut self, now: u64) -> Result<(MessageId, bool), Option<u64>> {
        let Some(mark) = self.pending else {
            return Err(None);
        };
        if self.sending.is_some() {
            return Err(None);
        }
        let wait = MARK_EVERY_MS << self.failures.min(6);
        let next = self.sent_at.map_or(0, |at| at.saturating_add(wait));
        if now < next {
            return Err(Some(next));
        }
        self.pending = None;
        self.sending = Some(mark);
        self.sent_at = Some(now);
        Ok(mark)
    }

    /// The mark on its way was answered: `Ok`, with the bridge's marker
    /// now; `Err(true)`, it was lost (it goes again, later each time,
    /// unless a newer one waits); `Err(false)`, refused (it is dropped).
    pub fn answered(&mut self, answer: Result<Option<MessageId>, bool>) {
        let sent = self.sending.take();
        match answer {
            Ok(marker) => {
                self.failures = 0;
                if let Some(marker) = marker {
                    self.heard(marker);
                }
            }
            Err(again) => {
                self.failures = self.failures.saturating_add(1);
                if again {
                    self.pending = self.pending.or(sent);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_forms_are_read_and_anything_else_refused() {
        let event = read_event(r#"{"channel_id":"general","last_read":"42"}"#);
        assert_eq!(event, Ok(("general".into(), MessageId(42))));
        assert!(read_event(r#"{"channel_id":"general"}"#).is_err());
        assert!(read_event(r#"{"channel_id":"general","last_read":"x"}"#).is_err());
        assert_eq!(read_answer(r#"{"last_read":null}"#), Ok(None));
        assert_eq!(read_answer(r#"{"last_read":"7"}"#), Ok(Some(MessageId(7))));
        assert!(read_answer(r#"{"last_read":7,"last_read":8}"#).is_err());
        assert!(read_answer("[]").is_err());
    }

    fn message(id: u64, author: &str) -> Message {
        Message {
            id: MessageId(id),
            author: author.into(),
            ..Message::default()
        }
    }

    /// What the engine does once the history is in.
    fn open(read: &mut ReadMarker, list: &[Message], reader: Option<&str>) -> bool {
        let newest = list.iter().map(|m| m.id).max();
        let settled = read.settle(newest);
        if settled {
            let first = read.count(list.iter(), reader).1;
            read.place(first);
        }
        settled
    }

    fn held(list: &[(u64, &str)]) -> Vec<Message> {
        let mut out = Vec::new();
        for (id, author) in list {
            out.push(message(*id, author));
        }
        out
    }

    #[test]
    fn the_divider_stands_before_the_first_unread_message_not_the_readers_own() {
        let list = held(&[(1, "bob"), (2, "ann"), (3, "ann"), (4, "bob"), (5, "cy")]);
        let mut read = ReadMarker::default();
        assert!(
            !open(&mut read, &list, Some("ann")),
            "not before the marker is known"
        );
        read.loaded(Some(MessageId(1)));
        assert!(open(&mut read, &list, Some("ann")));
        assert_eq!(read.divider(), Some(MessageId(4)));
        assert_eq!(
            read.count(list.iter(), Some("ann")),
            (2, Some(MessageId(4)))
        );
        // Reading moves the marker, not the divider.
        assert!(read.seen(MessageId(5)));
        assert_eq!(read.count(list.iter(), Some("ann")), (0, None));
        assert_eq!(read.divider(), Some(MessageId(4)));
        // The next open, everything read: no divider.
        read.reopen();
        read.loaded(Some(MessageId(5)));
        open(&mut read, &list, Some("ann"));
        assert_eq!(read.divider(), None);
    }

    #[test]
    fn a_first_visit_starts_read_up_to_what_is_there() {
        let list = held(&[(1, "bob"), (2, "bob")]);
        let mut read = ReadMarker::default();
        read.loaded(None);
        open(&mut read, &list, None);
        assert_eq!(
            (read.divider(), read.last_read()),
            (None, Some(MessageId(2)))
        );
        let more = held(&[(1, "bob"), (2, "bob"), (3, "cy")]);
        assert_eq!(read.count(more.iter(), None), (1, Some(MessageId(3))));
        // The bridge is told, so that the reader's other devices start
        // from the same place (and a divider shows there next time).
        assert_eq!(read.due(0), Ok((MessageId(2), false)));
        // A channel with nothing in it has nothing to have read.
        let mut empty = ReadMarker::default();
        empty.loaded(None);
        open(&mut empty, &[], None);
        assert_eq!(empty.due(0), Err(None));
    }

    #[test]
    fn a_marker_that_could_not_be_asked_for_is_left_alone_on_the_bridge() {
        let list = held(&[(1, "bob"), (2, "bob")]);
        let mut read = ReadMarker::default();
        read.unknown();
        open(&mut read, &list, None);
        assert_eq!(
            (read.divider(), read.last_read()),
            (None, Some(MessageId(2)))
        );
        // The reader's place on the bridge, not known, is not overwritten.
        assert_eq!(read.due(0), Err(None));
        // What they see from then on marks (forward only on the bridge).
        assert!(read.seen(MessageId(3)));
        assert_eq!(read.due(0), Ok((MessageId(3), false)));
    }

    #[test]
    fn marks_go_once_a_second_newest_only_and_again_when_lost() {
        let mut read = ReadMarker::default();
        read.loaded(Some(MessageId(1)));
        open(&mut read, &held(&[(1, "bob")]), None);
        assert!(read.seen(MessageId(2)));
        assert_eq!(read.due(10_000), Ok((MessageId(2), false)));
        assert!(read.seen(MessageId(3)));
        assert!(read.seen(MessageId(4)));
        assert!(!read.seen(MessageId(4)), "nothing new");
        assert_eq!(read.due(10_100), Err(None), "one on its way");
        read.answered(Ok(Some(MessageId(2))));
        assert_eq!(read.due(10_500), Err(Some(11_000)));
        assert_eq!(read.due(11_000), Ok((MessageId(4), false)), "the newest");
        read.answered(Err(true));
        assert_eq!(read.due(12_000), Err(Some(13_000)), "later after a loss");
        assert_eq!(
            read.due(13_000),
            Ok((MessageId(4), false)),
            "a lost one again"
        );
        read.answered(Ok(Some(MessageId(4))));
        assert_eq!(read.due(20_000), Err(None));
        // A refused mark is dropped.
        read.seen(MessageId(5));
        assert!(read.due(30_000).is_ok());
        read.answered(Err(false));
        assert_eq!(read.due(40_000), Err(None));
    }

    #[test]
    fn marking_unread_is_exact_and_holds_until_the_reader_sends() {
        let list = held(&[(1, "bob"), (2, "bob"), (3, "bob")]);
        let mut read = ReadMarker::default();
        read.loaded(Some(MessageId(3)));
        open(&mut read, &list, None);
        read.mark_unread(MessageId(2));
        assert_eq!(read.divider(), Some(MessageId(2)));
        assert_eq!(read.count(list.iter(), None), (2, Some(MessageId(2))));
        assert_eq!(read.due(0), Ok((MessageId(1), true)));
        assert!(!read.seen(MessageId(3)), "on screen, but held");
        assert!(read.sent(Some(MessageId(3))));
        assert_eq!(read.count(list.iter(), None), (0, None));
    }

    #[test]
    fn a_read_event_is_the_bridges_truth_but_an_unanswered_mark_stays_ahead() {
        let mut read = ReadMarker::default();
        read.loaded(Some(MessageId(5)));
        open(&mut read, &held(&[(5, "bob")]), None);
        read.heard(MessageId(3));
        assert_eq!(
            read.last_read(),
            Some(MessageId(3)),
            "marked unread elsewhere"
        );
        read.seen(MessageId(8));
        read.heard(MessageId(6));
        assert_eq!(read.last_read(), Some(MessageId(8)));
        let _ = read.due(0);
        read.heard(MessageId(7));
        assert_eq!(read.last_read(), Some(MessageId(8)), "still on its way");
        read.answered(Ok(Some(MessageId(8))));
        read.heard(MessageId(9));
        assert_eq!(read.last_read(), Some(MessageId(9)));
    }
}
