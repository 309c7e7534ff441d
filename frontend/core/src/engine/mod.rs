//! The connection state machine: `handle(event, now, random) -> commands`.
//!
//! Time (`now`, monotonic milliseconds) and randomness (`random`, uniform in
//! `[0, 1)`) come in as arguments, so every path is reproducible in a test.
//!
//! The life of a panel: load history, then open the stream with
//! `last_event_id` set to the newest message held (so the bridge replays whatever
//! arrived between the two requests), then stay live. A stream that drops gets
//! one automatic retry by the browser; past that, and after a zombie (no sign of
//! life within the watchdog deadline) or a refusal, the engine itself reopens
//! after a randomised exponential backoff. After `max_attempts` consecutive
//! failures it stops and offers Retry. Every reopen is followed by a catch-up
//! fetch of what was missed, merged by id.

mod history;
#[cfg(test)]
mod model;
mod outbox;
#[cfg(test)]
mod own;
#[cfg(test)]
mod people;
#[cfg(test)]
mod props;
#[cfg(test)]
mod races;
#[cfg(test)]
mod reads;
#[cfg(test)]
mod review;
#[cfg(test)]
mod tests;

use crate::message::{Message, MessageId};
use crate::number::digits;
use crate::options::Options;
use crate::people::{Presence, Typing};
use crate::protocol::{
    Command, Event, Gateway, Label, Outgoing, PostOutcome, ReadyState, RequestId, StreamId, Target,
    Timer, Transport, ViewState,
};
use crate::read::ReadMarker;
use crate::store::MessageStore;
use crate::vecmap::VecMap;
use crate::wire::ChangePage;
use crate::wire::Incoming;
use history::{Failed, History, Kind, Loaded};
use outbox::Outbox;
use std::sync::Arc;

/// Where the connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not mounted yet.
    Idle,
    /// Loading history before the stream is opened.
    Loading,
    /// An EventSource of ours is connecting.
    Connecting { stream: StreamId },
    /// The stream is open since `opened_at`.
    Open { stream: StreamId, opened_at: u64 },
    /// The stream dropped and the browser is reconnecting it on its own.
    BrowserRetrying { stream: StreamId },
    /// No stream; the backoff timer will open the next one.
    Waiting,
    /// Stopped trying: the reader's Retry (or the browser's `online`) restarts.
    Stopped,
    /// Unmounted: nothing more happens.
    Unmounted,
}

impl Phase {
    fn stream(self) -> Option<StreamId> {
        match self {
            Phase::Connecting { stream }
            | Phase::Open { stream, .. }
            | Phase::BrowserRetrying { stream } => Some(stream),
            _ => None,
        }
    }
}

/// How a connection attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// The stream errored or closed.
    Dropped,
    /// The watchdog found it silent.
    Silent,
}

/// One panel's connection engine and the messages it holds.
#[derive(Debug)]
pub struct Engine {
    /// Timing and size knobs.
    options: Options,
    /// The channel shown; messages of any other channel are dropped.
    channel: String,
    /// Where the connection is.
    phase: Phase,
    /// The gateway state reported on the current stream (`Unknown` until it is).
    gateway: Gateway,
    /// The bridge's advertised heartbeat interval, which sizes the watchdog.
    heartbeat_interval_ms: Option<u64>,
    /// Consecutive failed connection attempts.
    failures: u32,
    /// When the current stream last showed a sign of life.
    last_activity: u64,
    /// Armed timers and when each is due, so that a page coming back from the
    /// background can run the ones the browser throttled.
    timers: VecMap<Timer, u64>,
    /// History loading and catch-up.
    history: History,
    /// The held messages.
    store: MessageStore,
    /// Id for the next EventSource.
    next_stream: StreamId,
    /// Why the panel stopped, for the reader.
    error: Option<String>,
    /// The view state last announced with `ShowStatus`.
    shown: Option<ViewState>,
    /// Replies on their way to the bridge.
    outbox: Outbox,
    /// The older page asked for, if one is on its way, and the oldest
    /// message held then (the page is what lies below it).
    older: Option<(RequestId, MessageId)>,
    /// The bridge has nothing older than what is held.
    /// (`Some`: the oldest held when it said so; once that is evicted,
    /// there is older again.)
    older_done: Option<MessageId>,
    next_older: RequestId,
    /// How the streams are carried.
    transport: Transport,
    /// The current EventSource opened and has delivered nothing since.
    awaiting_first: bool,
    /// EventSources in a row that delivered nothing within `first_byte_ms`.
    suspect: u32,
    /// A trial EventSource is out (while polling).
    probing: bool,
    /// Started on polling from the browser's memory: a trial goes at the
    /// first Live, so a proxy that stopped buffering is found on this visit.
    trial_at_live: bool,
    /// Who the reader is: whose reaction changes are their own.
    reader: Option<String>,
    /// While the reader is not known (`whoami` answers while the history
    /// and the stream are under way): the change before the first reaction
    /// change heard that said who made it. Once the reader is known, a
    /// catch-up from there (computed for them: `me`) says which were theirs.
    unattributed: Option<MessageId>,
    /// Who is in the channel, as the bridge last said (`None`: not known,
    /// or no longer: the panel stopped).
    presence: Option<Presence>,
    /// A `presence` event came on the current stream since it opened: a
    /// presence asked for meanwhile (`PresenceLoaded`) is older news.
    presence_heard: bool,
    /// Who else is typing.
    typing: Typing,
    /// Where the reader stopped: the read marker and the divider.
    read: ReadMarker,
    /// The unread count, its first message and the divider, as last shown.
    unread_shown: (usize, Option<MessageId>, Option<MessageId>),
    /// The reader looks at the newest message (`Event::Looking`).
    looking: bool,
}

/// What the reader is told when the bridge refuses the panel's credentials.
pub const SIGN_IN_EXPIRED: &str = "Your sign-in has expired.";

/// Collects the commands of one step.
type Out = Vec<Command>;

impl Engine {
    /// A fresh engine for `channel`; nothing happens until [`Event::Mount`].
    pub fn new(channel: impl Into<String>, options: Options) -> Self {
        let options = options.normalised();
        Engine {
            store: MessageStore::new(options.max_messages),
            options,
            channel: channel.into(),
            phase: Phase::Idle,
            gateway: Gateway::Unknown,
            heartbeat_interval_ms: None,
            failures: 0,
            last_activity: 0,
            timers: VecMap::new(),
            history: History::default(),
            next_stream: 1,
            error: None,
            shown: None,
            outbox: Outbox::default(),
            older: None,
            older_done: None,
            next_older: 0,
            transport: Transport::EventSource,
            awaiting_first: false,
            suspect: 0,
            probing: false,
            trial_at_live: false,
            reader: None,
            unattributed: None,
            presence: None,
            presence_heard: false,
            typing: Typing::default(),
            read: ReadMarker::default(),
            unread_shown: (0, None, None),
            looking: false,
        }
    }

    /// Reacts to `event` at time `now` (ms), with `random` in `[0, 1)` for jitter.
    pub fn handle(&mut self, event: Event, now: u64, random: f64) -> Vec<Command> {
        let mut out = Vec::new();
        match (self.phase, event) {
            (Phase::Unmounted, _) => return out,
            (_, Event::Unmount) => self.unmount(&mut out),
            (_, Event::Send { client_id, content }) => {
                let reply = Outgoing {
                    client_id,
                    content,
                    ..Outgoing::default()
                };
                if self.outbox.push(reply) {
                    out.push(Command::ShowOutbox);
                }
                // Sending is reading: marks go again after a mark unread.
                if self.read.sent(self.store.newest_id()) {
                    self.mark_read(now, &mut out);
                }
            }
            (
                _,
                Event::Change {
                    client_id,
                    target,
                    content,
                },
            ) => {
                let change = Outgoing {
                    client_id,
                    content,
                    target: Some(target),
                    ..Outgoing::default()
                };
                if self.outbox.push(change) {
                    out.push(Command::ShowOutbox);
                }
            }
            (_, Event::Reader(reader)) => self.reader_known(reader, &mut out),
            (_, Event::ReadLoaded(marker)) => self.read.loaded(marker),
            (_, Event::ReadUnknown) => self.read.unknown(),
            // Seen up to there: a mark is due, unless nothing new was seen.
            (_, Event::Seen(id)) if self.read.seen(id) => self.mark_read(now, &mut out),
            (_, Event::Looking(looking)) => self.looking = looking,
            (_, Event::MarkUnread(id)) => {
                self.read.mark_unread(id);
                self.mark_read(now, &mut out)
            }
            (_, Event::ReadMarked(answer)) => {
                self.read.answered(answer);
                self.mark_read(now, &mut out)
            }
            (_, Event::OutboxSwitched(replies)) => {
                self.outbox.switch(replies);
                out.push(Command::ShowOutbox);
            }
            (_, Event::OutboxRestored(replies)) => {
                for reply in replies {
                    self.outbox.push(reply);
                }
                out.push(Command::ShowOutbox);
            }
            (_, Event::PostAnswered(request, outcome)) => {
                self.post_answered(request, outcome, now, random, &mut out)
            }
            (_, Event::Edit(client_id)) => {
                if let Some(reply) = self.outbox.remove(&client_id) {
                    out.push(Command::ShowOutbox);
                    out.push(Command::EditDraft(reply.content));
                }
            }
            (_, Event::Discard(client_id)) if self.outbox.remove(&client_id).is_some() => {
                out.push(Command::ShowOutbox)
            }
            (_, Event::Discard(_)) => {}
            (_, Event::OlderWanted) => self.want_older(&mut out),
            (_, Event::OlderLoaded(request, messages)) if self.asked_older(request) => {
                let before = self.older.take().map(|(_, before)| before);
                let short = messages.len() < self.options.page_limit as usize;
                let ours = self.ours(messages);
                // `None`: it no longer joins what is held (dropped).
                let merged = self.store.merge_older(before.unwrap_or_default(), ours);
                // Nothing older, unless part of the page went for room.
                let whole = merged.is_some_and(|merged| merged.cut == 0);
                self.older_done = (self.store.older_anchor()).filter(|_| short && whole);
                if merged.is_some_and(|merged| merged.changed()) {
                    out.push(Command::ShowMessages);
                }
            }
            (_, Event::OlderFailed(request)) if self.asked_older(request) => self.older = None,
            (_, Event::OlderLoaded(..) | Event::OlderFailed(_)) => {}
            (Phase::Idle, Event::Mount) => {
                if self.options.polling || self.options.remembered_polling {
                    self.transport = Transport::Polling;
                    self.arm(Timer::Probe, self.options.probe_ms, now, &mut out);
                }
                // A host that says its proxy buffers knows: no early trial.
                self.trial_at_live = self.options.remembered_polling && !self.options.polling;
                out.push(Command::UseTransport(self.transport));
                out.push(Command::FetchRead);
                self.start_loading(&mut out)
            }
            (_, Event::ProbeDone(delivered)) => self.probe_done(delivered, now, &mut out),
            (_, Event::Transport(transport)) if transport != self.transport => {
                self.transport = transport;
                match transport {
                    Transport::Polling => {
                        self.arm(Timer::Probe, self.options.probe_ms, now, &mut out)
                    }
                    Transport::EventSource => self.cancel(Timer::Probe, &mut out),
                }
            }
            (_, Event::Transport(_)) => {}
            (Phase::Idle, _) => return out,
            (Phase::Stopped, Event::RetryPressed) => self.restart(now, &mut out),
            // The reader is back (the page visible again, restored from the
            // back/forward cache, resumed after a freeze, online again): a
            // panel that gave up while they were away tries again, once per
            // coming back, with a fresh failure budget. Not one stopped by
            // what only the host or a new link can mend.
            (Phase::Stopped, Event::Online | Event::PageVisible) if self.comes_back() => {
                out.push(Command::Log("the page is back: trying again".into()));
                self.restart(now, &mut out)
            }
            (Phase::Stopped, _) => return out,
            (Phase::Waiting, Event::RetryPressed | Event::Online) => {
                self.open_stream(now, &mut out)
            }
            (_, Event::StreamOpened(stream)) if self.is_current(stream) => {
                self.opened(now, &mut out)
            }
            (_, Event::StreamError(stream, state)) if self.is_current(stream) => {
                self.stream_error(state, now, random, &mut out)
            }
            (_, Event::StreamMoved(stream)) if self.is_current(stream) => {
                self.stream_moved(now, &mut out)
            }
            (_, Event::PresenceLoaded(stream, presence))
                if self.is_current(stream) && !self.presence_heard =>
            {
                self.received(Incoming::Presence(presence), now, &mut out);
                self.presence_heard = false;
            }
            (_, Event::Received(stream, incoming)) if self.is_current(stream) => {
                self.delivered(now, &mut out);
                self.received(incoming, now, &mut out);
            }
            (_, Event::Undecodable(stream)) if self.is_current(stream) => {
                self.delivered(now, &mut out)
            }
            (_, Event::TimerFired(timer)) => self.timer_fired(timer, now, random, &mut out),
            (_, Event::HistoryLoaded(request, messages)) => {
                self.history_loaded(request, messages, now, &mut out)
            }
            (_, Event::ChangesLoaded(request, page)) => {
                self.changes_loaded(request, page, now, &mut out)
            }
            (_, Event::HistoryFailed(request, reason)) => {
                self.history_failed(request, reason, now, random, &mut out)
            }
            (_, Event::PageVisible) => self.run_overdue_timers(now, random, &mut out),
            (_, Event::Unauthorized) => {
                self.stop(SIGN_IN_EXPIRED.into(), &mut out);
                out.push(Command::AuthExpired);
            }
            _ => {}
        }
        self.pump_outbox(&mut out);
        self.show_unread(now, &mut out);
        let view = self.view();
        // A mark that waited while the panel was stopped goes once Live.
        if view.label == Label::Live
            && self.read.waiting()
            && !self.timers.contains_key(&Timer::ReadMark)
        {
            self.mark_read(now, &mut out);
        }
        if view.label == Label::Live && std::mem::take(&mut self.trial_at_live) {
            self.try_stream(&mut out);
        }
        if self.shown.as_ref() != Some(&view) && !matches!(self.phase, Phase::Unmounted) {
            self.shown = Some(view.clone());
            out.push(Command::ShowStatus(view));
        }
        out
    }

    /// What the view shows about the connection now.
    pub fn view(&self) -> ViewState {
        let label = match (self.phase, self.gateway) {
            (Phase::Stopped | Phase::Unmounted, _) => Label::Disconnected,
            (Phase::Open { .. }, Gateway::Connected) => Label::Live,
            (Phase::Open { .. }, Gateway::Disconnected) => Label::Disconnected,
            _ => Label::Reconnecting,
        };
        let stopped = matches!(self.phase, Phase::Stopped);
        ViewState {
            label,
            stopped,
            error: if stopped { self.error.clone() } else { None },
            transport: self.transport,
        }
    }

    /// The held messages, oldest first.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &Arc<Message>> + ExactSizeIterator {
        self.store.iter()
    }

    /// The newest message id held (or ever held).
    pub fn newest_id(&self) -> Option<MessageId> {
        self.store.newest_id()
    }

    /// Whether a first history load has been taken in: from then on, what
    /// the panel shows is new to the reader (see [`crate::reading`]).
    pub fn has_loaded(&self) -> bool {
        self.history.baseline
    }

    /// Whether the list waits for messages the reader has not asked to
    /// hear: the first history load, or an older page on its way. A
    /// screen reader is told the list is busy meanwhile (`aria-busy`).
    pub fn loading(&self) -> bool {
        !self.history.baseline || self.older.is_some()
    }

    /// Replies not yet confirmed, in the order they were sent.
    pub fn outbox(&self) -> &[Outgoing] {
        self.outbox.items()
    }

    /// Who is in the channel, when known.
    pub fn presence(&self) -> Option<&Presence> {
        self.presence.as_ref()
    }

    /// How many held messages are unread (newer than the read marker, not
    /// the reader's), the first of them, and the message the divider
    /// stands before, if any.
    pub fn unread(&self) -> (usize, Option<MessageId>, Option<MessageId>) {
        self.unread_shown
    }

    /// Who else is typing, in the order they started.
    pub fn typing(&self) -> Vec<String> {
        self.typing.users()
    }

    /// The EventSource the engine currently wants open, if any.
    pub fn current_stream(&self) -> Option<StreamId> {
        self.phase.stream()
    }

    fn is_current(&self, stream: StreamId) -> bool {
        self.phase.stream() == Some(stream)
    }

    fn watchdog_ms(&self) -> u64 {
        self.options.watchdog_ms(self.heartbeat_interval_ms)
    }

    fn arm(&mut self, timer: Timer, after_ms: u64, now: u64, out: &mut Out) {
        self.timers.insert(timer, now.saturating_add(after_ms));
        out.push(Command::ArmTimer(timer, after_ms));
    }

    fn cancel(&mut self, timer: Timer, out: &mut Out) {
        if self.timers.remove(&timer).is_some() {
            out.push(Command::CancelTimer(timer));
        }
    }

    fn close_stream(&mut self, out: &mut Out) {
        if let Some(stream) = self.phase.stream() {
            out.push(Command::CloseStream(stream));
            self.mark_gap();
        }
        self.cancel(Timer::Watchdog, out);
        self.first_byte_off(out);
        self.gateway = Gateway::Unknown;
    }

    fn start_loading(&mut self, out: &mut Out) {
        if !crate::message::is_valid_channel(&self.channel) {
            self.phase = Phase::Loading; // so that `stop` reads as a stop from loading
            let shown = crate::wire::excerpt(&self.channel, 80);
            let reason = ["\"", &shown, "\" is not a valid channel name."].concat();
            return self.stop(reason, out);
        }
        self.phase = Phase::Loading;
        self.request_history(out);
    }

    /// Whether coming back to the page re-arms this stopped panel: not when
    /// its sign-in was refused (the host must refresh it) or its channel
    /// name is invalid.
    fn comes_back(&self) -> bool {
        self.error.as_deref() != Some(SIGN_IN_EXPIRED)
            && crate::message::is_valid_channel(&self.channel)
    }

    fn restart(&mut self, now: u64, out: &mut Out) {
        out.push(Command::Log("restarting: history, then the stream".into()));
        self.failures = 0;
        self.history.reset_failures();
        self.error = None;
        if self.transport == Transport::Polling {
            self.arm(Timer::Probe, self.options.probe_ms, now, out);
        }
        self.start_loading(out);
    }

    /// Opens a new EventSource that resumes after the newest message held. With
    /// nothing held it resumes after id 0, so the bridge replays whatever arrived
    /// since the (empty) history was read.
    fn open_stream(&mut self, now: u64, out: &mut Out) {
        self.cancel(Timer::Backoff, out);
        let stream = self.next_stream;
        self.next_stream += 1;
        let last_event_id = Some(self.store.newest_id().unwrap_or(MessageId(0)));
        out.push(Command::OpenStream {
            stream,
            last_event_id,
        });
        self.phase = Phase::Connecting { stream };
        self.gateway = Gateway::Unknown;
        self.last_activity = now;
        let deadline = self.watchdog_ms();
        self.arm(Timer::Watchdog, deadline, now, out);
    }

    /// The stream showed a sign of life: no longer suspect.
    fn delivered(&mut self, now: u64, out: &mut Out) {
        self.last_activity = now;
        if self.first_byte_off(out) {
            self.suspect = 0;
        }
    }

    /// Ends the first-byte deadline, if one runs (the stream delivered, or
    /// it failed, closed or moved: an error is no silence); answers whether
    /// one ran.
    fn first_byte_off(&mut self, out: &mut Out) -> bool {
        let running = std::mem::take(&mut self.awaiting_first);
        if running {
            self.cancel(Timer::FirstByte, out);
        }
        running
    }

    /// An EventSource delivered nothing within `first_byte_ms`: replaced
    /// (as a silent stream is), and the second time in a row, replaced by
    /// long polling, which a buffering proxy cannot hold back.
    fn first_byte_missed(&mut self, now: u64, random: f64, out: &mut Out) {
        let Some(stream) = self.phase.stream().filter(|_| self.awaiting_first) else {
            return;
        };
        self.first_byte_off(out);
        self.suspect += 1;
        out.push(Command::StreamSilent(stream));
        if self.suspect < 2 {
            out.push(Command::Log(
                [
                    "the stream delivered nothing in ",
                    &digits(self.options.first_byte_ms),
                    " ms: a proxy may be buffering it; trying again",
                ]
                .concat(),
            ));
            if !self.attempt_ended(Ending::Silent, out) {
                self.back_off(now, random, out);
            }
            return;
        }
        out.push(Command::Log(
            "the stream delivered nothing twice: switching to long polling".into(),
        ));
        self.switch_transport(Transport::Polling, now, out);
    }

    /// Carries the streams the other way from now on: the current one is
    /// replaced at once (the cursor makes the new one continue it).
    fn switch_transport(&mut self, transport: Transport, now: u64, out: &mut Out) {
        self.transport = transport;
        self.suspect = 0;
        out.push(Command::UseTransport(transport));
        if self.phase.stream().is_some() || matches!(self.phase, Phase::Waiting) {
            self.mark_gap();
            self.close_stream(out);
            self.open_stream(now, out);
        }
        if transport == Transport::Polling {
            self.arm(Timer::Probe, self.options.probe_ms, now, out);
        } else {
            self.cancel(Timer::Probe, out);
        }
    }

    /// A trial EventSource came back: one that delivered means streams get
    /// through again; otherwise the panel keeps polling and tries later.
    fn probe_done(&mut self, delivered: bool, now: u64, out: &mut Out) {
        if !std::mem::take(&mut self.probing) || self.transport != Transport::Polling {
            return;
        }
        if delivered && !matches!(self.phase, Phase::Stopped | Phase::Idle) {
            out.push(Command::Log(
                "a trial stream delivered: back to the EventSource".into(),
            ));
            self.switch_transport(Transport::EventSource, now, out);
        } else {
            self.arm(Timer::Probe, self.options.probe_ms, now, out);
        }
    }

    /// Every open is followed by a catch-up from the last point known complete.
    /// After the first load the bridge's replay normally covers it and the answer
    /// is empty; it is what keeps a bridge that ignores `last_event_id` honest.
    fn opened(&mut self, now: u64, out: &mut Out) {
        let Some(stream) = self.phase.stream() else {
            return;
        };
        // An EventSource has a short while from its opening to deliver (the
        // bridge sends its `status` at once): past it, a proxy may be
        // buffering it. From the opening, not from the engine's asking: the
        // host's token function may take its time before anything exists.
        // So for a reconnection by the browser (or a move to another tab's
        // stream) too: a proxy that began to buffer lets it open and holds
        // back what follows.
        if self.transport == Transport::EventSource {
            self.awaiting_first = true;
            self.arm(Timer::FirstByte, self.options.first_byte_ms, now, out);
        }
        self.phase = Phase::Open {
            stream,
            opened_at: now,
        };
        self.last_activity = now;
        self.presence_heard = false;
        self.request_catch_up(out);
    }

    fn received(&mut self, incoming: Incoming, now: u64, out: &mut Out) {
        match incoming {
            ref other if other.channel().is_some_and(|c| c != self.channel) => {
                out.push(Command::Log(
                    [
                        "ignored an event of channel \"",
                        other.channel().unwrap_or_default(),
                        "\" on the stream of \"",
                        &self.channel,
                        "\"",
                    ]
                    .concat(),
                ))
            }
            // A stream's message states are everyone's: their reactions say
            // nothing of the reader's own, so they are left to the
            // `reaction` events (in order before them) and to the answers
            // computed for the reader: without their version, they never
            // replace reactions that have one.
            Incoming::Message(mut message) => {
                message.reactions_version = None;
                // Only a new message ends its author's typing (not one
                // heard again: they may type the next one).
                if self.is_new(message.id) && self.typing.ended(&message.author) {
                    out.push(Command::ShowTyping);
                }
                if self.store.merge_live(message).changed() {
                    out.push(Command::ShowMessages);
                }
            }
            Incoming::Update(mut message) => {
                message.reactions_version = None;
                self.store.advance(message.version);
                if self.store.update(message).changed() {
                    out.push(Command::ShowMessages);
                }
            }
            Incoming::Reaction(mut change) => {
                if self.reader.is_none() && change.user.is_some() && self.unattributed.is_none() {
                    self.unattributed = Some(self.store.newest_id().unwrap_or_default());
                }
                // Only the reader's own change says what their own state is.
                if change.user.is_none() || change.user != self.reader {
                    change.added = None;
                }
                self.store.advance(change.version);
                if self.store.react(change).changed() {
                    out.push(Command::ShowMessages);
                }
            }
            Incoming::Delete { deletion, change } => {
                self.store.advance(change);
                if self.store.delete(deletion.id) {
                    out.push(Command::Deleted(vec![deletion.id]));
                    out.push(Command::ShowMessages);
                }
            }
            Incoming::Status {
                gateway,
                heartbeat_interval_ms,
            } => {
                if heartbeat_interval_ms.is_some()
                    && heartbeat_interval_ms != self.heartbeat_interval_ms
                {
                    self.heartbeat_interval_ms = heartbeat_interval_ms;
                    // The deadline changed: check it at its new time.
                    let deadline = self.watchdog_ms();
                    self.arm(Timer::Watchdog, deadline, now, out);
                }
                let recovered =
                    matches!(self.gateway, Gateway::Reconnecting | Gateway::Disconnected)
                        && gateway == Gateway::Connected;
                self.gateway = gateway;
                if recovered {
                    self.mark_gap();
                    self.request_catch_up(out);
                }
            }
            Incoming::Heartbeat => {}
            // Shown as it comes (the view compares it with what it shows).
            Incoming::Presence(presence) => {
                self.presence_heard = true;
                self.presence = Some(presence);
                out.push(Command::ShowPresence);
            }
            // Nobody sees their own typing; a name-less signal names no one.
            Incoming::Typing { user, .. }
                if user.is_empty() || Some(&user) == self.reader.as_ref() => {}
            Incoming::Typing { user, .. } => {
                if self.typing.heard(user, now) {
                    out.push(Command::ShowTyping);
                }
                self.arm_typing(now, out);
            }
            Incoming::Read { last_read, .. } => self.read.heard(last_read),
            Incoming::Resync { reason } => {
                out.push(Command::Log(
                    ["bridge asked for a resync (", &reason, "): catching up"].concat(),
                ));
                self.mark_gap();
                self.request_catch_up(out);
            }
        }
    }

    /// Who reads is known. The first known: the reaction changes heard
    /// before, whoever made them, are caught up again, as the reader's
    /// (see `unattributed`). Someone else than before (an account switch):
    /// the previous reader's own reactions are no longer the reader's.
    fn reader_known(&mut self, reader: Option<String>, out: &mut Out) {
        if reader == self.reader {
            return;
        }
        // Typing heard before the reader was known may be their own.
        if self.typing.ended(reader.as_deref().unwrap_or_default()) {
            out.push(Command::ShowTyping);
        }
        let before = std::mem::replace(&mut self.reader, reader);
        if before.is_some() {
            self.store.forget_own();
            out.push(Command::ShowMessages);
            // Someone else reads: their own marker, and the divider anew.
            self.read = ReadMarker::default();
            out.push(Command::FetchRead);
        }
        // (Set only while no one was known: now someone is.)
        if let Some(from) = self.unattributed.take() {
            self.history.mark_gap(Some(from));
            if matches!(self.phase, Phase::Open { .. }) {
                self.request_catch_up(out);
            }
        }
    }

    /// Counts the end of the current attempt, and gives up (saying why) after
    /// `max_attempts` failures in a row; answers whether it gave up.
    ///
    /// A stream that showed a sign of life at least the stability window after
    /// it opened proved the connection: the failures before it are forgotten,
    /// and its dropping is no failure. Its first events (the `status`, a
    /// replay) prove nothing: a zombie upstream sends those too. A stream that
    /// went silent is a failure however long it lived.
    fn attempt_ended(&mut self, ending: Ending, out: &mut Out) -> bool {
        let window = self.options.stability_window_ms;
        let proven = matches!(self.phase, Phase::Open { opened_at, .. }
            if self.last_activity.saturating_sub(opened_at) >= window);
        if proven {
            self.failures = 0;
        }
        if ending == Ending::Silent || !proven {
            self.failures += 1;
        }
        if self.failures < self.options.max_attempts {
            return false;
        }
        let n = digits(self.failures.into());
        let reason = match (ending, self.failures) {
            (Ending::Dropped, 1) => "Lost the connection after 1 failed attempt.".into(),
            (Ending::Dropped, _) => {
                ["Lost the connection after ", &n, " failed attempts."].concat()
            }
            (Ending::Silent, 1) => "The connection went silent.".into(),
            (Ending::Silent, _) => ["The connection went silent ", &n, " times in a row."].concat(),
        };
        self.stop(reason, out);
        true
    }

    /// The shared stream is moving to another tab: reconnecting, as after a
    /// drop, but no failure; the watchdog keeps guarding the wait.
    fn stream_moved(&mut self, now: u64, out: &mut Out) {
        self.first_byte_off(out);
        if let Phase::Open { stream, .. } = self.phase {
            self.mark_gap();
            self.phase = Phase::BrowserRetrying { stream };
            self.gateway = Gateway::Unknown;
            self.last_activity = now;
        }
    }

    fn stream_error(&mut self, state: ReadyState, now: u64, random: f64, out: &mut Out) {
        let was_open = matches!(self.phase, Phase::Open { .. });
        self.first_byte_off(out);
        if self.attempt_ended(Ending::Dropped, out) {
            return;
        }
        match (was_open, state, self.phase.stream()) {
            // A live stream dropped: the browser gets one automatic retry.
            (true, ReadyState::Connecting | ReadyState::Open, Some(stream)) => {
                self.mark_gap();
                self.phase = Phase::BrowserRetrying { stream };
                self.gateway = Gateway::Unknown;
                self.last_activity = now;
            }
            // Refused, or a retry that failed too: the panel paces the next ones.
            _ => self.back_off(now, random, out),
        }
    }

    /// Closes the stream (if any) and waits a randomised backoff before the next.
    fn back_off(&mut self, now: u64, random: f64, out: &mut Out) {
        self.close_stream(out);
        let delay = self
            .options
            .backoff()
            .delay_ms(self.failures.max(1), random);
        out.push(Command::Log(
            [
                "reconnecting in ",
                &digits(delay),
                " ms (",
                &digits(self.failures.into()),
                " consecutive failures)",
            ]
            .concat(),
        ));
        self.phase = Phase::Waiting;
        self.arm(Timer::Backoff, delay, now, out);
        self.forget_presence(out);
    }

    /// Nobody is known to be here (no stream tells): shown again by the
    /// next one. A blip the browser retries on its own keeps it.
    fn forget_presence(&mut self, out: &mut Out) {
        if self.presence.take().is_some() {
            out.push(Command::ShowPresence);
        }
    }

    fn timer_fired(&mut self, timer: Timer, now: u64, random: f64, out: &mut Out) {
        if self.timers.remove(&timer).is_none() {
            return; // cancelled or superseded meanwhile
        }
        match timer {
            Timer::Watchdog => self.check_watchdog(now, random, out),
            Timer::Backoff if matches!(self.phase, Phase::Waiting) => self.open_stream(now, out),
            Timer::Backoff => {}
            Timer::HistoryRetry => {
                let retry = self.history.retry(&self.options);
                self.fetch(retry, out)
            }
            Timer::PostRetry => self.outbox.retry_due(),
            Timer::FirstByte => self.first_byte_missed(now, random, out),
            Timer::Probe => self.try_stream(out),
            Timer::ReadMark => self.mark_read(now, out),
            Timer::Typing => {
                if self.typing.expire(now) {
                    out.push(Command::ShowTyping);
                }
                self.arm_typing(now, out);
            }
        }
    }

    /// Whether a message `id` is newer than any the panel has held.
    fn is_new(&self, id: MessageId) -> bool {
        self.store.newest_id().is_none_or(|newest| id > newest)
    }

    /// Sends the read mark that waits, if its turn has come, or arms the
    /// timer for its turn.
    fn mark_read(&mut self, now: u64, out: &mut Out) {
        match self.read.due(now) {
            Ok((last_read, unread)) => out.push(Command::PutRead { last_read, unread }),
            Err(Some(at)) => self.arm(Timer::ReadMark, at.saturating_sub(now), now, out),
            Err(None) => {}
        }
    }

    /// Tells the view when the unread count, its first message or the
    /// divider changed; places the divider once the history and the marker
    /// are known.
    fn show_unread(&mut self, now: u64, out: &mut Out) {
        if !self.history.baseline {
            return;
        }
        let newest = self.store.newest_id();
        let settled = self.read.settle(newest);
        // The list is placed anew: the glue says again what it shows.
        self.looking &= !settled;
        if let (true, Some(newest)) = (self.looking, newest) {
            if self.read.seen(newest) {
                self.mark_read(now, out);
            }
        }
        let held = self.store.iter().map(|m| &**m);
        let (count, first) = self.read.count(held, self.reader.as_deref());
        if settled {
            self.read.place(first);
            // A first visit's mark, if it is one.
            self.mark_read(now, out);
        }
        let unread = (count, first, self.read.divider());
        // Told once placed even when nothing changed: the glue opens the
        // list there, and says again what the reader sees.
        if settled || unread != self.unread_shown {
            self.unread_shown = unread;
            out.push(Command::ShowUnread);
        }
    }

    /// Arms the typing timer for the next typist to expire, if anyone types.
    fn arm_typing(&mut self, now: u64, out: &mut Out) {
        if let Some(due) = self.typing.next_due() {
            self.arm(Timer::Typing, due.saturating_sub(now), now, out);
        }
    }

    /// While polling, a trial EventSource beside the polls (one at a time).
    fn try_stream(&mut self, out: &mut Out) {
        if self.transport == Transport::Polling && !self.probing {
            self.probing = true;
            out.push(Command::Probe {
                last_event_id: self.store.newest_id(),
                first_byte_ms: self.options.first_byte_ms,
            });
        }
    }

    fn check_watchdog(&mut self, now: u64, random: f64, out: &mut Out) {
        if self.phase.stream().is_none() {
            return;
        }
        let deadline = self.watchdog_ms();
        let silent_for = now.saturating_sub(self.last_activity);
        if silent_for < deadline {
            return self.arm(Timer::Watchdog, deadline - silent_for, now, out);
        }
        // Never a sign of life since it was asked for: a stream a proxy may
        // be buffering (the watchdog came before the first-byte deadline).
        if self.awaiting_first {
            return self.first_byte_missed(now, random, out);
        }
        out.push(Command::Log(
            [
                "no sign of life for ",
                &digits(silent_for),
                " ms (deadline ",
                &digits(deadline),
                " ms): replacing the stream",
            ]
            .concat(),
        ));
        if let Some(stream) = self.phase.stream() {
            out.push(Command::StreamSilent(stream));
        }
        if self.attempt_ended(Ending::Silent, out) {
            return;
        }
        self.back_off(now, random, out);
    }

    /// Runs the timers that should have fired by now: browsers throttle timers
    /// in background tabs, so a page coming back checks at once.
    fn run_overdue_timers(&mut self, now: u64, random: f64, out: &mut Out) {
        // The watchdog first: its deadline moves with activity, so it is checked
        // against the silence itself rather than against its timer.
        if self.timers.contains_key(&Timer::Watchdog) {
            self.check_watchdog(now, random, out);
        }
        let mut overdue = Vec::new();
        for (&timer, &due) in self.timers.iter() {
            if timer != Timer::Watchdog && due <= now {
                overdue.push(timer);
            }
        }
        for timer in overdue {
            out.push(Command::CancelTimer(timer));
            self.timer_fired(timer, now, random, out);
        }
    }

    fn stop(&mut self, reason: String, out: &mut Out) {
        out.push(Command::Log(["stopped: ", &reason].concat()));
        self.release(out);
        self.phase = Phase::Stopped;
        self.error = Some(reason);
        // Who is here and who types is not known once stopped: shown
        // again by the next stream.
        self.forget_presence(out);
        if self.typing.clear() {
            out.push(Command::ShowTyping);
        }
    }

    fn unmount(&mut self, out: &mut Out) {
        // A mark waiting for its turn goes now (its answer is not heard).
        if let Some((last_read, unread)) = self.read.flush() {
            out.push(Command::PutRead { last_read, unread });
        }
        self.release(out);
        self.phase = Phase::Unmounted;
    }

    /// Closes the stream, cancels every timer and gives up any fetch (keeping
    /// the point a catch-up must resume from). Replies wait, and go first
    /// thing once Live again.
    fn release(&mut self, out: &mut Out) {
        self.close_stream(out);
        for timer in [
            Timer::Backoff,
            Timer::HistoryRetry,
            Timer::PostRetry,
            Timer::Probe,
            Timer::FirstByte,
            Timer::Typing,
            Timer::ReadMark,
        ] {
            self.cancel(timer, out);
        }
        self.probing = false;
        self.history.abandon();
        self.store.forget_reload();
        // A post under way is let go (a stored one is still found by its
        // echo); the reply goes again, with the same client id, once Live.
        self.outbox.abandon();
        self.outbox.retry_due();
    }

    /// Asks for the page below the oldest message held, unless one is on
    /// its way, there is none, or there is no room for it.
    fn want_older(&mut self, out: &mut Out) {
        let Some(before) = self.store.older_anchor() else {
            return;
        };
        let done = self.older_done == Some(before);
        if self.older.is_some() || done || !self.has_loaded() || !self.store.has_room() {
            return;
        }
        let request = self.next_older;
        self.next_older += 1;
        self.older = Some((request, before));
        out.push(Command::FetchOlder {
            request,
            before,
            limit: self.options.page_limit,
        });
    }

    /// Whether `request` is the older page on its way.
    fn asked_older(&self, request: RequestId) -> bool {
        self.older.is_some_and(|(asked, _)| asked == request)
    }

    /// Confirms replies that are held now (their echo or a catch-up brought
    /// them), and sends the next one when Live.
    fn pump_outbox(&mut self, out: &mut Out) {
        if self.outbox.is_empty() {
            return;
        }
        let store = &self.store;
        // Confirmed: a reply held, or a refused change of a message gone
        // since (its deletion came after the refusal).
        let done = |o: &Outgoing| match o.target {
            Some(target) => o.failed.is_some() && store.is_gone(target.id()),
            None => (store.iter().rev()).any(|m| m.client_id.as_ref() == Some(&o.client_id)),
        };
        if self.outbox.confirm(done) {
            out.push(Command::ShowOutbox);
        }
        let live = !matches!(self.phase, Phase::Unmounted) && self.view().label == Label::Live;
        out.extend(self.outbox.next(live));
    }

    /// The answer to a post of the reader's: a reply, or a change of
    /// theirs. Done: shown at once, as its echo would show it (a reaction
    /// by the bridge's `reaction` event). Refused: it stays, failed, with
    /// the bridge's sentence, until discarded (but a deletion or a reaction
    /// refused because its message is gone, a 404 for it, is done; a 404 for
    /// a route that is missing is not). Failed on the way: tried again with
    /// the same client id. An answer no longer awaited still shows a reply.
    fn post_answered(
        &mut self,
        request: RequestId,
        outcome: PostOutcome,
        now: u64,
        random: f64,
        out: &mut Out,
    ) {
        let current = self.outbox.answered(request);
        let target = (current.as_deref()).and_then(|id| self.outbox.target(id));
        let gone = target.is_some_and(|target| {
            !matches!(target, Target::Edit(_)) && self.store.is_gone(target.id())
        });
        let outcome = match (target, outcome) {
            // A reply stored: shown at once, in id order (catch-ups still
            // start below it), even when its answer is no longer awaited.
            (None, PostOutcome::Stored(mut message)) => {
                // As an edit's answer (below): no `me`, so no order.
                message.reactions_version = None;
                if current.is_some() {
                    self.outbox.succeeded();
                }
                let client_id = message.client_id.clone();
                if message.channel_id == self.channel && self.store.merge_aside(message).changed() {
                    out.push(Command::ShowMessages);
                }
                if client_id.is_some_and(|id| self.outbox.remove(&id).is_some()) {
                    out.push(Command::ShowOutbox);
                }
                return;
            }
            (_, outcome) => outcome,
        };
        let Some(client_id) = current else {
            return;
        };
        match outcome {
            PostOutcome::Failed(reason) => {
                let delay = self.outbox.failed(&self.options, random);
                out.push(Command::Log(
                    [
                        &client_id,
                        " did not go through (",
                        &reason,
                        "); trying again in ",
                        &digits(delay),
                        " ms",
                    ]
                    .concat(),
                ));
                return self.arm(Timer::PostRetry, delay, now, out);
            }
            PostOutcome::Refused(reason) if !gone => {
                out.push(Command::Log(
                    [&client_id, " was refused: ", &reason].concat(),
                ));
                self.outbox.refused(&client_id, reason);
                return out.push(Command::ShowOutbox);
            }
            _ => {}
        }
        self.outbox.succeeded();
        self.outbox.remove(&client_id);
        out.push(Command::ShowOutbox);
        let changed = match (target, outcome) {
            (None, _) => {
                let deleted = ["reply ", &client_id, " was stored, and deleted since"].concat();
                return out.push(Command::Log(deleted));
            }
            (Some(Target::React(..)), _) | (_, PostOutcome::Refused(_)) => false,
            (Some(Target::Edit(_)), PostOutcome::Stored(mut message)) => {
                // The answer is the message as its event has it: its
                // reactions say nothing of the reader's own (no `me`), so,
                // like a stream's state, it never replaces reactions that
                // have an order (the reader's own would be let go).
                message.reactions_version = None;
                message.channel_id == self.channel && self.store.update(message).changed()
            }
            (Some(Target::Delete(id) | Target::Edit(id)), _) => {
                let gone = self.store.delete(id);
                if gone {
                    out.push(Command::Deleted(vec![id]));
                }
                gone
            }
        };
        if changed {
            out.push(Command::ShowMessages);
        }
    }

    /// Sends a history request. A reload's page (the newest, after the
    /// first) is computed after it is asked for, maybe before live events
    /// that come meanwhile: the store keeps what they write through it.
    fn fetch(&mut self, fetch: Option<Command>, out: &mut Out) {
        if let Some(Command::FetchHistory { after: None, .. }) = fetch {
            if self.history.baseline {
                self.store.expect_reload();
            }
        }
        out.extend(fetch);
    }

    /// Loads history (the newest page the first time, then what follows what
    /// was seen).
    fn request_history(&mut self, out: &mut Out) {
        let from = self.history.resume_point(self.store.newest_id());
        out.push(self.history.request(from, &self.options));
    }

    /// Fetches what the stream may have missed (after the fetch under way, if any).
    fn request_catch_up(&mut self, out: &mut Out) {
        let from = self.history.resume_point(self.store.newest_id());
        out.extend(self.history.request_catch_up(from, &self.options));
    }

    /// Notes that messages after the newest held may be missing.
    fn mark_gap(&mut self) {
        self.history.mark_gap(self.store.newest_id());
    }

    fn history_loaded(
        &mut self,
        request: RequestId,
        messages: Vec<Message>,
        now: u64,
        out: &mut Out,
    ) {
        let Some((kind, _)) = self.history.asked(request) else {
            return;
        };
        let reloaded = kind == Kind::Reload;
        let last = messages.iter().map(|m| m.id).max();
        // A catch-up answered with messages only (a bridge without the
        // changes route): a full page means more may follow.
        let more = kind == Kind::After && messages.len() >= self.options.page_limit as usize;
        let (count, ours) = (messages.len(), self.ours(messages));
        let Some(next) = self
            .history
            .loaded(request, count, last, more, &self.options)
        else {
            return;
        };
        let outcome = if reloaded {
            out.push(Command::Log(
                "reloaded what is shown: the changes since could not be caught up".into(),
            ));
            out.push(Command::Discontinuity);
            // An older page on its way was computed against what was shown
            // before, maybe before a deletion the reload stands for; and
            // the channel's start may be far below again.
            self.older = None;
            self.older_done = None;
            self.store.replace(ours)
        } else {
            self.store.merge(ours)
        };
        if outcome.changed() {
            out.push(Command::ShowMessages);
        }
        self.after_history(next, now, out);
    }

    /// The messages of this panel's channel.
    fn ours(&self, mut messages: Vec<Message>) -> Vec<Message> {
        messages.retain(|message| message.channel_id == self.channel);
        messages
    }

    /// A page of changes came: applied, then the next page (or the reload
    /// the bridge asks for when it cannot replay them all).
    fn changes_loaded(&mut self, request: RequestId, page: ChangePage, now: u64, out: &mut Out) {
        let Some((_, after)) = self.history.asked(request) else {
            return;
        };
        if let Some(reason) = page.resync {
            out.push(Command::Log(
                [
                    "the bridge cannot replay the changes after ",
                    &after.to_string(),
                    " (",
                    &reason,
                    "): reloading",
                ]
                .concat(),
            ));
            let reload = self.history.reload(&self.options);
            return self.fetch(Some(reload), out);
        }
        let count = page.messages.len() + page.deleted.len();
        let Some(next) = self
            .history
            .loaded(request, count, page.last, page.more, &self.options)
        else {
            return;
        };
        let ours = self.ours(page.messages);
        // A message new since the catch-up's start ends its author's typing,
        // as one that comes on the stream does.
        let mut ended = false;
        for message in &ours {
            if message.id > after && self.is_new(message.id) {
                ended |= self.typing.ended(&message.author);
            }
        }
        if ended {
            out.push(Command::ShowTyping);
        }
        let mut outcome = self.store.merge_changes(ours, after, page.last);
        let mut gone = page.deleted;
        gone.retain(|&id| self.store.delete(id));
        if !gone.is_empty() {
            outcome.evicted += gone.len();
            out.push(Command::Deleted(gone));
        }
        if outcome.changed() {
            out.push(Command::ShowMessages);
        }
        self.after_history(next, now, out);
    }

    fn after_history(&mut self, next: Loaded, now: u64, out: &mut Out) {
        match (next, self.phase) {
            (Loaded::Fetch(fetch), _) => self.fetch(Some(fetch), out),
            (Loaded::Done, Phase::Loading) => self.open_stream(now, out),
            (Loaded::Done, Phase::Open { .. }) => self.history.clear_gap(),
            (Loaded::Done, _) => {}
        }
    }

    fn history_failed(
        &mut self,
        request: RequestId,
        reason: String,
        now: u64,
        random: f64,
        out: &mut Out,
    ) {
        match self.history.failed(request, &self.options, random) {
            None => {}
            Some(Failed::GiveUp) => self.stop(["Couldn't load messages: ", &reason].concat(), out),
            Some(Failed::RetryIn(delay)) => {
                out.push(Command::Log(
                    [
                        "history request failed (",
                        &reason,
                        "); retrying in ",
                        &digits(delay),
                        " ms",
                    ]
                    .concat(),
                ));
                self.arm(Timer::HistoryRetry, delay, now, out);
            }
        }
    }
}
