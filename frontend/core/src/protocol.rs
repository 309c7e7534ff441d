//! What the engine hears ([`Event`]) and what it asks for ([`Command`]).

use crate::message::{Message, MessageId};
use crate::wire::{ChangePage, Incoming};

/// Identifies one EventSource the engine asked for; events of a stream the engine
/// already closed carry an old id and are ignored.
pub type StreamId = u64;

/// Identifies one history request; a late answer to a superseded request is ignored.
pub type RequestId = u64;

/// The EventSource's `readyState` when it reported an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadyState {
    /// The browser is reconnecting on its own.
    Connecting,
    /// Open (an error while open is unusual, but browsers may report it).
    Open,
    /// The browser gave up for good (a non-200 answer, a wrong content type).
    Closed,
}

/// The timers the engine arms. Each has at most one instance at a time; arming
/// one again replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Checks that the stream has shown a sign of life within the deadline.
    Watchdog,
    /// Ends the wait before the panel's own next connection attempt.
    Backoff,
    /// Ends the wait before retrying a failed history load.
    HistoryRetry,
    /// Ends the wait before retrying a failed post of a reply.
    PostRetry,
    /// An EventSource that has delivered nothing yet is suspect past it.
    FirstByte,
    /// On polling: time to try the EventSource again.
    Probe,
    /// A read mark waits for its turn (at most one a second, or a lost
    /// one's retry).
    ReadMark,
    /// The next typist's signal runs out.
    Typing,
}

/// A reply, an edit or deletion of one of the reader's messages, or a
/// toggle of the reader's reaction, not yet confirmed, as the view shows it
/// and the glue saves it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outgoing {
    /// The id the bridge stores it under, so a retried request finds it
    /// and is never applied twice.
    pub client_id: String,
    /// The reply's text, the message's new text, (a deletion, which
    /// sends none) the text of the message that goes, to show meanwhile, or
    /// a reaction's emoji.
    pub content: String,
    /// Why the bridge refused it, when it did (final: edit or discard).
    pub failed: Option<String>,
    /// What it changes: nothing for a new reply.
    pub target: Option<Target>,
    /// It may have been stored: sent at least once, or saved and taken
    /// back (whether it left then is not known). A reaction toggle that
    /// may have been stored is never taken back by dropping it: its undo
    /// goes too.
    pub left: bool,
}

/// The message an outgoing change is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Its content becomes the outgoing content.
    Edit(MessageId),
    /// It goes.
    Delete(MessageId),
    /// The reader's reaction (the emoji in the outgoing content) is added
    /// (`true`) or taken back.
    React(MessageId, bool),
}

impl Target {
    /// The message it changes.
    pub fn id(self) -> MessageId {
        let (Target::Edit(id) | Target::Delete(id) | Target::React(id, _)) = self;
        id
    }

    /// How a saved outbox row writes it: the message's id after a mark
    /// (none for an edit, `-` a deletion, `+`/`~` a reaction added or taken
    /// back).
    pub fn saved(self) -> String {
        let mut text = String::from(match self {
            Target::Edit(_) => "",
            Target::Delete(_) => "-",
            Target::React(_, true) => "+",
            Target::React(_, false) => "~",
        });
        text.push_str(&self.id().to_string());
        text
    }

    /// A saved row's target; `None` when unreadable. The row must then be
    /// dropped, never sent as a reply: its content may be a deleted
    /// message's text or an emoji.
    pub fn from_saved(text: &str) -> Option<Target> {
        let mark = text.chars().next().filter(|c| !c.is_ascii_digit());
        let id = text[mark.map_or(0, char::len_utf8)..].parse().ok()?;
        Some(match mark {
            None => Target::Edit(id),
            Some('-') => Target::Delete(id),
            Some('+') => Target::React(id, true),
            Some('~') => Target::React(id, false),
            Some(_) => return None,
        })
    }
}

#[cfg(test)]
mod saved {
    use super::*;

    /// Review finding 10: every target reads back as written, and what
    /// does not read is no target at all (the glue drops the row), never
    /// a reply.
    #[test]
    fn a_saved_target_reads_back_and_an_unreadable_one_is_refused() {
        let id = MessageId(u64::MAX);
        for target in [
            Target::Edit(id),
            Target::Delete(id),
            Target::React(id, true),
            Target::React(id, false),
        ] {
            assert_eq!(Target::from_saved(&target.saved()), Some(target));
        }
        for bad in [
            "",
            "-",
            "+",
            "*5",
            "--5",
            "5x",
            "+-5",
            "18446744073709551616",
            "é5",
        ] {
            assert_eq!(Target::from_saved(bad), None, "{bad:?}");
        }
    }
}

/// How a post of a reply ended, as the glue reports it.
// One per post, moved into the engine at once: a box would cost an
// allocation for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum PostOutcome {
    /// The bridge stored it (201), or had already (200): here it is (an
    /// edit: the message as it now is).
    Stored(Message),
    /// The bridge refused it (4xx), with this sentence: final.
    Refused(String),
    /// A reply stored and deleted since (410), or a deletion done: it is
    /// done, and not shown.
    Deleted,
    /// It may or may not have arrived (network, 5xx, timeout, an answer cut
    /// off): tried again with the same client id.
    Failed(String),
}

/// The bridge's upstream gateway state, as its `status` events report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gateway {
    /// Not yet reported on the current stream.
    Unknown,
    Connected,
    Reconnecting,
    Disconnected,
}

impl Gateway {
    /// Parses the contract's lowercase names.
    pub fn parse(text: &str) -> Option<Gateway> {
        match text {
            "connected" => Some(Gateway::Connected),
            "reconnecting" => Some(Gateway::Reconnecting),
            "disconnected" => Some(Gateway::Disconnected),
            _ => None,
        }
    }
}

/// The connection label: what the reader is told, and the only three values there are.
/// A panel starts Reconnecting: nothing is live before its stream says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Label {
    Live,
    #[default]
    Reconnecting,
    Disconnected,
}

impl Label {
    /// The `data-connection-status` value.
    pub fn as_attr(self) -> &'static str {
        match self {
            Label::Live => "live",
            Label::Reconnecting => "reconnecting",
            Label::Disconnected => "disconnected",
        }
    }

    /// The visible text.
    pub fn text(self) -> &'static str {
        match self {
            Label::Live => "Live",
            Label::Reconnecting => "Reconnecting",
            Label::Disconnected => "Disconnected",
        }
    }
}

/// Everything the view shows about the connection (by default, what a
/// panel shows as it starts: Reconnecting, not stopped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewState {
    /// The label.
    pub label: Label,
    /// Whether the panel has stopped trying on its own (the Retry button shows).
    pub stopped: bool,
    /// A sentence for the reader when stopped, saying what went wrong.
    pub error: Option<String>,
    /// How the panel reaches the bridge.
    pub transport: Transport,
}

/// How the panel's stream is carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// The browser's `EventSource`.
    #[default]
    EventSource,
    /// Long polling (`GET /api/poll`), for a proxy that buffers streams.
    Polling,
}

impl Transport {
    /// Its name, as the host hears it and the choice is remembered.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::EventSource => "eventsource",
            Transport::Polling => "polling",
        }
    }
}

/// Something that happened, as the glue reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The panel was mounted: start.
    Mount,
    /// The EventSource fired `open`.
    StreamOpened(StreamId),
    /// The EventSource fired `error`, in this `readyState`.
    StreamError(StreamId, ReadyState),
    /// A stream shared between tabs moves to another tab (its holder closed,
    /// crashed or stopped relaying): it reconnects, but the connection did not
    /// fail, so it counts against no attempt. `StreamOpened` follows.
    StreamMoved(StreamId),
    /// A decoded event arrived on the stream.
    Received(StreamId, Incoming),
    /// Who is in the channel, asked for (`GET …/presence`) when that stream
    /// opened: the glue asks when its stream is shared, where the opening
    /// `presence` went by before this panel joined. Taken unless a
    /// `presence` event came on the stream since it opened (newer news).
    PresenceLoaded(StreamId, crate::people::Presence),
    /// The reader's read marker, asked for (`GET …/read`) as the panel
    /// opened: `None` when the bridge has none (or could not say).
    ReadLoaded(Option<MessageId>),
    /// The reader's read marker could not be asked for (no answer, or a
    /// refusal): the open counts what is held as read, and the bridge's
    /// marker is left as it is.
    ReadUnknown,
    /// The reader has seen the messages up to this one: the panel visible,
    /// the window focused, and it on screen.
    Seen(MessageId),
    /// The reader marks this message (and all after it) unread.
    MarkUnread(MessageId),
    /// Whether the reader looks at the newest message: the panel visible,
    /// the window focused and the list at its newest. While they do, what
    /// comes is read as it comes. Said again by the glue once the list is
    /// placed at the open (until then nothing is read by looking).
    Looking(bool),
    /// A read mark was answered: `Ok` with the bridge's marker now; `Err`,
    /// it failed, `true` when worth sending again.
    ReadMarked(Result<Option<MessageId>, bool>),
    /// Something arrived that could not be decoded (it still proves the stream alive).
    Undecodable(StreamId),
    /// A timer the engine armed has fired.
    TimerFired(Timer),
    /// A history request succeeded with these messages, oldest first.
    HistoryLoaded(RequestId, Vec<Message>),
    /// A catch-up request (`FetchHistory` with `after`) was answered.
    ChangesLoaded(RequestId, ChangePage),
    /// A history request failed.
    HistoryFailed(RequestId, String),
    /// The bridge refused the panel's credentials (HTTP 401): not transient,
    /// so the panel stops at once and asks for a new sign-in.
    Unauthorized,
    /// The reader sent a reply; `client_id` is new (a UUID, say).
    Send { client_id: String, content: String },
    /// The reader edits (`Target::Edit`, the new text in `content`) or
    /// deletes one of their messages, or toggles their reaction
    /// (`Target::React`, the emoji in `content`, `true` when the chip they
    /// pressed was not theirs); `client_id` is new.
    Change {
        client_id: String,
        target: Target,
        content: String,
    },
    /// Who the reader is (the signed-in user, or the `author`): whose
    /// reaction changes are their own.
    Reader(Option<String>),
    /// Replies saved before the page was reloaded, to send (or show failed).
    OutboxRestored(Vec<Outgoing>),
    /// The reader is someone else now (the host switched accounts): the
    /// replies waiting are the previous person's, and the glue keeps them
    /// for that person; these are the new reader's own. A post under way
    /// goes on (it was sent as its writer), but its answer is not awaited.
    OutboxSwitched(Vec<Outgoing>),
    /// A post of a reply ended.
    PostAnswered(RequestId, PostOutcome),
    /// The reader takes a refused reply back to edit it.
    Edit(String),
    /// The reader discards a refused reply.
    Discard(String),
    /// The reader scrolled to the top of the list: load older messages.
    OlderWanted,
    /// An older page came (`before=`), newest last.
    OlderLoaded(RequestId, Vec<Message>),
    /// An older page did not come (the reader can scroll up again).
    OlderFailed(RequestId),
    /// The reader pressed Retry.
    RetryPressed,
    /// The browser reports the network is back (`online`).
    Online,
    /// The page is back: visible again, restored from the back/forward
    /// cache, or resumed after a freeze. Throttled timers may be late, and a
    /// panel that stopped meanwhile tries again.
    PageVisible,
    /// The stream the panel relies on is carried this way now (a shared
    /// stream's holder switched): no reopening, only what the panel shows,
    /// and, on polling, a trial stream now and then.
    Transport(Transport),
    /// A trial EventSource (`Command::Probe`) delivered (`true`), or did
    /// not within the first-byte deadline (`false`); the glue closed it.
    ProbeDone(bool),
    /// The panel is going away.
    Unmount,
}

/// Something the glue must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Open an EventSource; `last_event_id` goes in the `?last_event_id=` query.
    OpenStream {
        stream: StreamId,
        last_event_id: Option<MessageId>,
    },
    /// Close that EventSource and drop its listeners.
    CloseStream(StreamId),
    /// That stream showed no sign of life in time and is being replaced (a
    /// `CloseStream` follows). A stream shared between tabs takes it as a
    /// sign that its holder froze.
    StreamSilent(StreamId),
    /// Arm (or re-arm) a timer to fire after `after_ms`.
    ArmTimer(Timer, u64),
    /// Cancel a timer if armed.
    CancelTimer(Timer),
    /// Without `after`: `GET …/messages?limit=` (the newest page), answered
    /// with `HistoryLoaded`. With it: `GET …/changes?after=&limit=` (every
    /// change after that id), answered with `ChangesLoaded`. Either fails
    /// with `HistoryFailed`; each answer carries `request`.
    FetchHistory {
        request: RequestId,
        after: Option<MessageId>,
        limit: u32,
    },
    /// The held messages changed: re-render them from [`crate::Engine::messages`].
    ShowMessages,
    /// These held messages were deleted (tell the host; `ShowMessages` follows).
    Deleted(Vec<MessageId>),
    /// What is shown was reloaded instead of caught up (the bridge could not
    /// replay every change, or the gap was larger than the panel holds):
    /// content may have changed under the host's feet.
    Discontinuity,
    /// `GET …/messages?limit=&before=`; answer with `OlderLoaded` or
    /// `OlderFailed` carrying `request`.
    FetchOlder {
        request: RequestId,
        before: MessageId,
        limit: u32,
    },
    /// `POST …/messages` `{content, client_id}`; answer with `PostAnswered`
    /// carrying `request`.
    PostMessage {
        request: RequestId,
        client_id: String,
        content: String,
    },
    /// `PATCH …/messages/{id}` `{content, client_id}` (an edit), `DELETE
    /// …/messages/{id}` `{client_id}`, or `PUT`/`DELETE
    /// …/messages/{id}/reactions/{emoji}` (the content); answer with
    /// `PostAnswered` carrying `request`: `Stored` with the message as it
    /// now is, `Deleted` once gone or done, `Refused` for any other 4xx
    /// (a 404 too: the engine knows whether the message is gone).
    ChangeMessage {
        request: RequestId,
        client_id: String,
        target: Target,
        content: String,
    },
    /// The outbox changed: re-render its rows from
    /// [`crate::Engine::outbox`], and save it (it survives a reload).
    ShowOutbox,
    /// Put this text back in the composer (a refused reply, to edit).
    EditDraft(String),
    /// The panel stopped because its sign-in expired: tell the host, which
    /// can refresh the token before the reader (or the host) retries.
    AuthExpired,
    /// Carry the streams from now on this way (before the next
    /// `OpenStream`), and remember the choice for the next page load.
    UseTransport(Transport),
    /// Open a trial EventSource (while on polling) resuming after
    /// `last_event_id`, and answer `ProbeDone` once it delivers an event or
    /// fails to within `first_byte_ms`; then close it. Its events are not
    /// the engine's: the stream that follows a success replays them.
    Probe {
        last_event_id: Option<MessageId>,
        first_byte_ms: u64,
    },
    /// The connection's view state changed.
    ShowStatus(ViewState),
    /// Who is in the channel changed: re-render from
    /// [`crate::Engine::presence`] and tell the host.
    ShowPresence,
    /// Who else types changed: re-render from [`crate::Engine::typing`]
    /// and tell the host.
    ShowTyping,
    /// Ask for the reader's read marker (`GET …/read`); answer with
    /// [`Event::ReadLoaded`].
    FetchRead,
    /// Send a read mark (`PUT …/read`), `unread` when it is exact (mark
    /// unread); answer with [`Event::ReadMarked`].
    PutRead { last_read: MessageId, unread: bool },
    /// The unread count, its first message or the divider changed:
    /// re-render from [`crate::Engine::unread`] and tell the host.
    ShowUnread,
    /// A line for the console, for whoever debugs the connection.
    Log(String),
}
