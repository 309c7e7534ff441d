//! One event stream per browser profile and bridge, shared by every tab and
//! every panel in them: the decisions, free of any browser API.
//!
//! Browsers give an origin six HTTP/1.1 connections, and an `EventSource`
//! holds one for its whole life: a seventh tab of the editor would hang. So
//! the tabs elect one **holder** (the glue uses the Web Locks API; this machine
//! only hears [`ShareEvent::LockGranted`] and [`ShareEvent::LockLost`]). The
//! holder opens one multi-channel stream for the union of the channels that
//! every tab shows and relays its state and events to the others over a
//! `BroadcastChannel` ([`Relay`]). Every panel's [`crate::Engine`] is
//! unchanged: it opens and closes *virtual* streams, and this machine answers
//! them with the relayed `open`, `error` and events, exactly as an
//! `EventSource` would. So each panel keeps its own watchdog, label and
//! catch-up, and a holder that froze looks to the others like a silent
//! stream: the first panel to notice takes the lock over (`steal`).
//!
//! Which stream an event belongs to is a [`Source`]: a holder's epoch (past
//! any seen and the wall clock when it took the lock, so a new holder
//! outranks the old one, even one that froze and wakes up still relaying)
//! and its stream number. An epoch more than [`EPOCH_AHEAD_MS`] past the
//! wall clock is no holder's: a line from elsewhere on the origin cannot
//! outrank every holder to come. A holder hears only its own. A panel
//! hears only the newest source; when the source changes under an open
//! virtual stream, the panel sees what a browser reconnect looks like (an
//! `error` while connecting, then `open`), and catches up over history. A
//! switch of the union (a tab opened another channel) keeps virtual streams
//! open: the new stream resumes from the newest id relayed, so nothing falls
//! in between.

use crate::carrier::Carrier;
use crate::message::{is_valid_channel, MessageId};
use crate::number::{digits, parse_u64};
use crate::protocol::{Event, ReadyState, StreamId, Transport};
use crate::vecmap::VecMap;
use crate::wire::{decode, decode_at, is_change, resync_channels, Incoming};

/// One tab (one `Share`), chosen at random by the glue.
pub type TabId = u64;

/// One panel in a tab, numbered by the glue.
pub type PanelId = u64;

/// Which stream of which holder. Later sources outrank earlier ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    /// One more than any epoch seen when its holder took the lock.
    pub epoch: u64,
    /// The holder's stream number.
    pub stream: u64,
}

/// A shared stream's state, as its holder relays it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shared {
    /// Opening, or reopening on its own.
    Connecting,
    Open,
    /// The browser gave up on it; the holder reopens when a panel asks again.
    Closed,
}

/// What tabs tell each other over the `BroadcastChannel`, as a line of text
/// ([`Relay::encode`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Relay {
    /// The channels a tab's panels show: on a change, when asked, and when a
    /// panel waits for a stream that is not open. `waiting`: a panel there
    /// has a virtual stream (one that gave up has none): only then does a
    /// holder without a stream open one for it.
    Wants {
        tab: TabId,
        channels: Vec<String>,
        waiting: bool,
    },
    /// A tab is going away (closed, hidden for good, frozen).
    Bye { tab: TabId },
    /// A new holder asks every tab for its channels.
    Who { tab: TabId },
    /// The holder's stream changed state. `seamless`: it replaces an open
    /// stream of the same holder for a new set of channels, from the newest
    /// id, so open virtual streams stay open. `channels`: what the stream
    /// carries; a panel opens only on a stream that carries its channel.
    /// `status`: the latest `status` event's data, for panels that subscribe
    /// later (the current connection's: a stream that drops has none until
    /// it delivers one again). `transport`: how the holder carries it, which
    /// is what every panel shows.
    State {
        source: Source,
        state: Shared,
        seamless: bool,
        channels: Vec<String>,
        status: Option<String>,
        transport: Transport,
    },
    /// An event of the holder's stream. `to`: the channels it concerns
    /// (`None`: every panel); `id`: a message's id.
    Event {
        source: Source,
        name: String,
        data: String,
        to: Option<Vec<String>>,
        id: Option<u64>,
    },
}

/// What happened, as the glue reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum ShareEvent {
    /// A panel of this tab shows `channel`.
    PanelMounted { panel: PanelId, channel: String },
    /// A panel went away (its virtual stream with it).
    PanelUnmounted { panel: PanelId },
    /// A panel's engine opened a virtual stream.
    Subscribe { panel: PanelId, stream: StreamId },
    /// A panel's engine closed its virtual stream.
    Unsubscribe { panel: PanelId, stream: StreamId },
    /// A panel's engine found its virtual stream silent (it unsubscribes next).
    Silent { panel: PanelId, stream: StreamId },
    /// This tab holds the lock now; `now` is the wall clock (`Date.now()`),
    /// which all tabs share.
    LockGranted { now: u64 },
    /// The lock was taken from this tab (`steal`).
    LockLost,
    /// Another tab said something, heard at `now` (the wall clock).
    Relayed(Relay, u64),
    /// This tab carries the real stream this way from now on, when it holds
    /// it (the glue's choice: see [`crate::carrier`]).
    Carried(Transport),
    /// The holder's real EventSource `stream` opened.
    StreamOpened(u64),
    /// The holder's real EventSource reported an error, in this state.
    StreamError(u64, ReadyState),
    /// An event arrived on the holder's real EventSource; `last_event_id` is
    /// the `MessageEvent`'s.
    StreamEvent {
        stream: u64,
        name: String,
        data: String,
        last_event_id: String,
    },
    /// The page is going away or being frozen (`pagehide`, `freeze`).
    Suspend,
    /// The page is back (`pageshow` from the back/forward cache, `resume`).
    Resume,
    /// The prune timer fired: the holder forgets the tabs that did not
    /// answer its last `Who`, and asks again.
    PruneTimer,
    /// The real stream's first-byte deadline passed ([`ShareCommand::FirstByte`]).
    FirstByteMissed,
}

/// What the glue must do.
// One is made, carried out and dropped at a time: boxing the events it
// carries would cost an allocation each, for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ShareCommand {
    /// Ask for the lock; `steal` takes it from a holder that stopped relaying.
    RequestLock { steal: bool },
    /// Give up the lock, held or asked for.
    ReleaseLock,
    /// Tell the other tabs.
    Post(Relay),
    /// Open the real multi-channel EventSource (holder only).
    OpenStream {
        stream: u64,
        channels: Vec<String>,
        last_event_id: Option<MessageId>,
    },
    /// Close it.
    CloseStream(u64),
    /// Hand an event to a panel's engine, as its virtual stream's.
    Deliver { panel: PanelId, event: Event },
    /// Fire [`ShareEvent::PruneTimer`] after this many ms.
    ArmPruneTimer(u64),
    /// Fire [`ShareEvent::FirstByteMissed`] after this many ms (`None`:
    /// not at all: it delivered, failed, closed or went to another tab).
    FirstByte(Option<u64>),
    /// Two real streams in a row delivered nothing: a proxy holds them
    /// back, and this bridge's streams go by polling from now on.
    Poll,
    /// A line for the console.
    Log(String),
    /// A line for the console, as a warning: a payload was dropped.
    Warn(String),
    /// The shared stream is full ([`MAX_STREAM_CHANNELS`]) without this
    /// panel's channel: the panel has left this machine, and joins the next
    /// group of tabs' sharing (another lock, another stream) with its virtual
    /// stream `stream`, if it has one, subscribed there.
    Overflow {
        panel: PanelId,
        channel: String,
        stream: Option<StreamId>,
    },
}

/// The most channels one stream carries (the bridge refuses more). Past it,
/// the channels that sort last go to another group's stream
/// ([`ShareCommand::Overflow`]), so no panel is left without one.
pub const MAX_STREAM_CHANNELS: usize = 64;

/// How long a new holder waits for answers to its `Who` before it forgets
/// tabs that did not answer (they crashed without a `Bye`).
pub const PRUNE_AFTER_MS: u64 = 1_000;

/// How often a holder asks every tab again, and forgets those that did not
/// answer the time before: channels that no tab shows any more (a tab gone
/// without a word, or a line from elsewhere on the origin) leave the stream.
pub const ASK_AGAIN_MS: u64 = 60_000;

/// How far past the wall clock a holder's epoch may be: a lock taken many
/// times in one millisecond, or a clock set back a little, is that much
/// ahead at most. A relay further ahead is refused.
pub const EPOCH_AHEAD_MS: u64 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// No panels, or suspended: not in the running.
    Off,
    /// Waiting for the lock.
    Candidate,
    /// Holding it, with this epoch.
    Holder { epoch: u64 },
}

#[derive(Debug)]
struct Panel {
    channel: String,
    sub: Option<Sub>,
}

/// A panel's virtual stream.
#[derive(Debug)]
struct Sub {
    stream: StreamId,
    /// The source it is open on, if open.
    open_on: Option<Source>,
    /// The newest source known when it subscribed or opened: a silence is
    /// acted on only if no newer stream came since.
    seen: Option<Source>,
}

/// The holder's real stream.
#[derive(Debug)]
struct Real {
    id: u64,
    source: Source,
    channels: Vec<String>,
    state: Shared,
    /// It replaces an open stream for a new set of channels, and has not
    /// opened yet.
    seamless: bool,
    /// It replaced one seamlessly without an id to resume from: once open,
    /// the panels are told to catch up (a `resync`).
    catch_up: bool,
    /// It reported an error since it last opened (the browser is retrying it,
    /// or gave up).
    failed: bool,
}

impl Real {
    /// Whether a panel's new attempt should get a fresh EventSource rather
    /// than wait on this one: the browser gave up on it or is retrying it
    /// (perhaps on its own slow schedule), as a panel on its own would.
    fn stale(&self) -> bool {
        self.failed && self.state != Shared::Open
    }
}

#[derive(Debug)]
struct Peer {
    channels: Vec<String>,
    /// Answered since the last `Who`.
    confirmed: bool,
}

/// One tab's share of the stream.
#[derive(Debug)]
pub struct Share {
    tab: TabId,
    role: Role,
    suspended: bool,
    panels: VecMap<PanelId, Panel>,
    peers: VecMap<TabId, Peer>,
    /// The highest epoch seen, from any tab.
    epoch: u64,
    /// The newest source heard of, its state, the channels it carries and
    /// its latest status data.
    current: Option<Source>,
    state: Shared,
    carried: Vec<String>,
    status: Option<String>,
    /// The newest message id relayed: where a new stream resumes.
    cursor: Option<u64>,
    real: Option<Real>,
    next_real: u64,
    /// How this tab carries the real stream when it holds it, and how the
    /// panels were last told the stream they share is carried.
    transport: Transport,
    told: Option<Transport>,
    /// What the real streams showed of a buffering proxy.
    carrier: Carrier,
}

type Out = Vec<ShareCommand>;

impl Share {
    pub fn new(tab: TabId) -> Share {
        Share {
            tab,
            role: Role::Off,
            suspended: false,
            panels: VecMap::new(),
            peers: VecMap::new(),
            epoch: 0,
            current: None,
            state: Shared::Closed,
            carried: Vec::new(),
            status: None,
            cursor: None,
            real: None,
            next_real: 0,
            transport: Transport::EventSource,
            told: None,
            carrier: Carrier::default(),
        }
    }

    /// The holder's transport rules (deadlines, trials), for the glue.
    pub fn carrier(&mut self) -> &mut Carrier {
        &mut self.carrier
    }

    /// Whether this tab holds the stream.
    pub fn is_holder(&self) -> bool {
        matches!(self.role, Role::Holder { .. })
    }

    /// The newest stream this tab heard of, which its panels follow.
    pub fn current(&self) -> Option<Source> {
        self.current
    }

    /// Whether no panel is left (the glue may drop it).
    pub fn is_empty(&self) -> bool {
        self.panels.is_empty()
    }

    pub fn handle(&mut self, event: ShareEvent) -> Vec<ShareCommand> {
        let mut out = Vec::new();
        match event {
            ShareEvent::PanelMounted { panel, channel } => {
                // A name that is not a channel never reaches what is shared:
                // its panel stops on its own (see `Engine`), and the other
                // tabs' stream must not ask the bridge for it.
                if !is_valid_channel(&channel) {
                    out.push(ShareCommand::Log(
                        "a panel with an invalid channel name stays out of the shared stream"
                            .into(),
                    ));
                    return out;
                }
                self.panels.insert(panel, Panel { channel, sub: None });
                // It shows how the stream it joins is carried.
                if let Some(transport) = self.told {
                    out.push(ShareCommand::Deliver {
                        panel,
                        event: Event::Transport(transport),
                    });
                }
                // Into a full stream that does not carry it: straight on to
                // the next group, before this tab announces it here.
                self.overflow(&mut out);
                self.panels_changed(&mut out);
            }
            ShareEvent::PanelUnmounted { panel } => {
                if self.panels.remove(&panel).is_some() {
                    self.panels_changed(&mut out);
                }
            }
            ShareEvent::Subscribe { panel, stream } => self.subscribe(panel, stream, &mut out),
            ShareEvent::Unsubscribe { panel, stream } => {
                if let Some(p) = self.panels.get_mut(&panel) {
                    if p.sub.as_ref().is_some_and(|s| s.stream == stream) {
                        p.sub = None;
                    }
                }
            }
            ShareEvent::Silent { panel, stream } => self.silent(panel, stream, &mut out),
            ShareEvent::LockGranted { now } => self.lock_granted(now, &mut out),
            ShareEvent::LockLost => {
                if self.is_holder() {
                    self.lose_lock(&mut out);
                }
            }
            // No holder's epoch is that far ahead: a line from elsewhere
            // (refused, it cannot outrank every holder to come; one within
            // the bound costs at most a handover, see `silent`).
            ShareEvent::Relayed(Relay::State { source, .. }, now)
                if source.epoch > now.saturating_add(EPOCH_AHEAD_MS) => {}
            ShareEvent::Relayed(relay, _) => self.relayed(relay, &mut out),
            // The glue carries the real stream on from where it is: the
            // stream it replaces is no silent one, and every tab hears how
            // it goes now.
            ShareEvent::Carried(transport) if transport != self.transport => {
                self.transport = transport;
                if let Some(real) = &self.real {
                    self.carrier.let_go();
                    out.push(ShareCommand::FirstByte(None));
                    let relay = self.real_relay(real);
                    self.publish(relay, &mut out);
                }
            }
            ShareEvent::StreamOpened(id) => self.real_state(id, Shared::Open, &mut out),
            ShareEvent::StreamError(id, ready) => {
                let state = match ready {
                    ReadyState::Closed => Shared::Closed,
                    ReadyState::Connecting | ReadyState::Open => Shared::Connecting,
                };
                self.real_state(id, state, &mut out);
            }
            ShareEvent::StreamEvent {
                stream,
                name,
                data,
                last_event_id,
            } => self.real_event(stream, name, data, &last_event_id, &mut out),
            ShareEvent::Suspend => {
                self.suspended = true;
                self.step_down(&mut out);
            }
            ShareEvent::Resume => {
                self.suspended = false;
                self.announce(&mut out);
                self.run(&mut out);
            }
            ShareEvent::Carried(_) => {}
            ShareEvent::FirstByteMissed => self.count_silent(&mut out),
            ShareEvent::PruneTimer => {
                let before = self.peers.len();
                self.peers.retain(|_, peer| peer.confirmed);
                if self.peers.len() != before {
                    self.union_changed(&mut out);
                }
                if self.is_holder() {
                    self.ask(ASK_AGAIN_MS, &mut out);
                }
            }
        }
        out
    }

    /// The distinct channels of this tab's panels, sorted.
    fn own_channels(&self) -> Vec<String> {
        let mut set = Vec::new();
        for panel in self.panels.values() {
            insert_sorted(&mut set, &panel.channel);
        }
        set
    }

    /// What the holder's stream carries: every tab's channels, sorted, up to
    /// [`MAX_STREAM_CHANNELS`] of them.
    fn union(&self) -> Vec<String> {
        let mut set = self.own_channels();
        for peer in self.peers.values() {
            for channel in &peer.channels {
                insert_sorted(&mut set, channel);
            }
        }
        set.truncate(MAX_STREAM_CHANNELS);
        set
    }

    fn announce(&self, out: &mut Out) {
        if !self.suspended {
            out.push(ShareCommand::Post(Relay::Wants {
                tab: self.tab,
                channels: self.own_channels(),
                waiting: self.waiting(),
            }));
        }
    }

    /// Whether a panel of this tab has a virtual stream (wants a stream).
    fn waiting(&self) -> bool {
        self.panels.values().any(|p| p.sub.is_some())
    }

    /// Asks every tab for its channels, and forgets those that have not
    /// answered `after` ms from now.
    fn ask(&mut self, after: u64, out: &mut Out) {
        for peer in self.peers.values_mut() {
            peer.confirmed = false;
        }
        out.push(ShareCommand::Post(Relay::Who { tab: self.tab }));
        out.push(ShareCommand::ArmPruneTimer(after));
    }

    fn panels_changed(&mut self, out: &mut Out) {
        if self.panels.is_empty() {
            return self.step_down(out);
        }
        self.announce(out);
        self.union_changed(out);
        self.run(out);
    }

    /// Asks for the lock when this tab has panels and is not in the running.
    fn run(&mut self, out: &mut Out) {
        if self.role == Role::Off && !self.suspended && !self.panels.is_empty() {
            self.role = Role::Candidate;
            out.push(ShareCommand::RequestLock { steal: false });
        }
    }

    /// Another tab took the lock: this one closes its stream and asks for the
    /// lock again, after giving up its request (so that the stolen one's end,
    /// when the glue hears of it, is no news).
    fn lose_lock(&mut self, out: &mut Out) {
        out.push(ShareCommand::Log("another tab took the stream over".into()));
        self.let_go(out);
        self.run(out);
    }

    /// Leaves the running: says goodbye, closes the stream, lets the lock go.
    fn step_down(&mut self, out: &mut Out) {
        if self.role != Role::Off {
            out.push(ShareCommand::Post(Relay::Bye { tab: self.tab }));
            self.let_go(out);
        }
    }

    /// Closes the stream (a handover: no sign of a buffering proxy) and
    /// lets the lock go.
    fn let_go(&mut self, out: &mut Out) {
        self.carrier.let_go();
        self.close_real(out);
        out.push(ShareCommand::ReleaseLock);
        self.role = Role::Off;
    }

    fn lock_granted(&mut self, now: u64, out: &mut Out) {
        if self.role != Role::Candidate {
            // Granted after this tab left the running: let it go at once.
            return out.push(ShareCommand::ReleaseLock);
        }
        // Past every epoch seen, and past every holder's before it in time:
        // relays of a holder this tab has not heard yet are older.
        self.epoch = self.epoch.saturating_add(1).max(now);
        self.role = Role::Holder { epoch: self.epoch };
        out.push(ShareCommand::Log(
            [
                "this tab holds the shared stream now (epoch ",
                &digits(self.epoch),
                ")",
            ]
            .concat(),
        ));
        self.ask(PRUNE_AFTER_MS, out);
        // Whatever stream this tab heard of before is no more (it holds the
        // lock): a stream for the panels that want one, this tab's, or
        // another's that answers (a panel that gave up wants none).
        self.state = Shared::Closed;
        if self.waiting() {
            self.open_real(false, out);
        }
    }

    fn subscribe(&mut self, panel: PanelId, stream: StreamId, out: &mut Out) {
        let (current, state) = (self.current, self.state);
        let Some(p) = self.panels.get_mut(&panel) else {
            return;
        };
        p.sub = Some(Sub {
            stream,
            open_on: None,
            seen: current,
        });
        let carried = self.carried.contains(&p.channel);
        if state == Shared::Open && carried {
            if let Some(source) = current {
                return self.open_sub(panel, source, out);
            }
        }
        if !self.is_holder() {
            // A follower reminds the holder that it waits.
            self.announce(out);
        } else if self.real.as_ref().is_none_or(Real::stale) {
            // A panel's new attempt gets a fresh stream if this one failed.
            self.close_real(out);
            self.open_real(false, out);
        }
    }

    /// Opens a panel's virtual stream on `source`: `open`, then the latest status.
    fn open_sub(&mut self, panel: PanelId, source: Source, out: &mut Out) {
        let status = self.status.clone();
        let Some(sub) = self.panels.get_mut(&panel).and_then(|p| p.sub.as_mut()) else {
            return;
        };
        sub.open_on = Some(source);
        sub.seen = Some(source);
        let stream = sub.stream;
        out.push(ShareCommand::Deliver {
            panel,
            event: Event::StreamOpened(stream),
        });
        if let Some(Ok(incoming)) = status.map(|data| decode("status", &data)) {
            out.push(ShareCommand::Deliver {
                panel,
                event: Event::Received(stream, incoming),
            });
        }
    }

    fn silent(&mut self, panel: PanelId, stream: StreamId, out: &mut Out) {
        let Some(sub) = self.panels.get(&panel).and_then(|p| p.sub.as_ref()) else {
            return;
        };
        if sub.stream != stream || self.current > sub.seen {
            return; // a newer stream came since: it gets its own chance
        }
        out.push(ShareCommand::Log("the shared stream went silent".into()));
        if self.is_holder() {
            // Given up, as a panel's own stream would be: the next opens
            // when a panel tries again, not for nobody (a zombie bridge).
            self.give_up(out);
        } else if self.role != Role::Off {
            // Its holder may have frozen: this tab takes the stream over.
            out.push(ShareCommand::ReleaseLock);
            out.push(ShareCommand::RequestLock { steal: true });
            self.role = Role::Candidate;
        }
    }

    fn relayed(&mut self, relay: Relay, out: &mut Out) {
        match relay {
            Relay::Wants {
                tab,
                mut channels,
                waiting,
            } => {
                // Another tab (an older build, a page of another script on
                // this origin) could name anything: only channels count, no
                // more than a stream carries, and only until that tab stops
                // answering (`ask`).
                channels.retain(|channel| is_valid_channel(channel));
                channels.truncate(MAX_STREAM_CHANNELS);
                self.peers.insert(
                    tab,
                    Peer {
                        channels,
                        confirmed: true,
                    },
                );
                self.union_changed(out);
                match &self.real {
                    // A panel somewhere makes a new attempt: a failed stream reopens.
                    Some(real) if real.stale() && waiting => {
                        self.close_real(out);
                        self.open_real(false, out);
                    }
                    // A tab that just came learns where the stream is.
                    Some(real) => out.push(ShareCommand::Post(self.real_relay(real))),
                    // It gave up: a panel there waits, and asks for the next.
                    None if waiting => self.open_real(false, out),
                    None => {}
                }
            }
            Relay::Bye { tab } => {
                if self.peers.remove(&tab).is_some() {
                    self.union_changed(out);
                }
            }
            Relay::Who { .. } => self.announce(out),
            Relay::State {
                source,
                state,
                seamless,
                channels,
                status,
                transport,
            } => {
                self.state_changed(source, state, seamless, channels, status, out);
                self.tell(source, transport, out);
            }
            Relay::Event {
                source,
                name,
                data,
                to,
                id,
            } => self.event(source, &name, &data, to.as_deref(), id, None, out),
        }
    }

    /// The holder reopens its stream when the union changed; one that gave
    /// up stays closed until a panel asks again (see `real_state`).
    fn union_changed(&mut self, out: &mut Out) {
        let union = self.union();
        if !self.is_holder() || self.real.as_ref().is_none_or(|r| r.channels == union) {
            return;
        }
        // The new stream replays what followed the newest id relayed; with
        // none yet, the panels catch up once it opens.
        // A stream still opening for the last change continues what that one replaced.
        let seamless = (self.real.as_ref()).is_some_and(|r| r.state == Shared::Open || r.seamless);
        self.close_real(out);
        self.open_real(seamless, out);
    }

    fn open_real(&mut self, seamless: bool, out: &mut Out) {
        let Role::Holder { epoch } = self.role else {
            return;
        };
        let channels = self.union();
        if channels.is_empty() {
            return;
        }
        self.next_real += 1;
        let id = self.next_real;
        let source = Source { epoch, stream: id };
        out.push(ShareCommand::OpenStream {
            stream: id,
            channels: channels.clone(),
            last_event_id: self.cursor.map(MessageId),
        });
        self.real = Some(Real {
            id,
            source,
            channels: channels.clone(),
            state: Shared::Connecting,
            seamless,
            catch_up: seamless && self.cursor.is_none(),
            failed: false,
        });
        self.publish(
            Relay::State {
                source,
                state: Shared::Connecting,
                seamless,
                channels,
                status: None,
                transport: self.transport,
            },
            out,
        );
    }

    /// Where the real stream is, for a tab that just came (with the latest
    /// status) or when its transport changed.
    fn real_relay(&self, real: &Real) -> Relay {
        Relay::State {
            source: real.source,
            state: real.state,
            seamless: real.seamless,
            channels: real.channels.clone(),
            status: self.status.clone(),
            transport: self.transport,
        }
    }

    /// Closes the real stream, and every panel hears that it gave up; the
    /// next opens when a panel tries again.
    fn give_up(&mut self, out: &mut Out) {
        if let Some(real) = self.real.take() {
            out.push(ShareCommand::CloseStream(real.id));
            let relay = Relay::State {
                source: real.source,
                state: Shared::Closed,
                seamless: false,
                channels: real.channels,
                status: None,
                transport: self.transport,
            };
            self.publish(relay, out);
        }
    }

    /// The panels of this tab show how the stream of `source` is carried,
    /// if it is the one they follow.
    fn tell(&mut self, source: Source, transport: Transport, out: &mut Out) {
        if self.current != Some(source) || self.told == Some(transport) {
            return;
        }
        self.told = Some(transport);
        for &panel in self.panels.keys() {
            let event = Event::Transport(transport);
            out.push(ShareCommand::Deliver { panel, event });
        }
    }

    /// Closes the real stream; one that opened and delivered nothing counts
    /// as silent (a panel's watchdog may close it before its deadline).
    fn close_real(&mut self, out: &mut Out) {
        if let Some(real) = self.real.take() {
            out.push(ShareCommand::CloseStream(real.id));
            out.push(ShareCommand::FirstByte(None));
            self.count_silent(out);
        }
    }

    /// A silent stream ended (see [`Carrier::silent`]); the second in a row
    /// makes the streams poll.
    fn count_silent(&mut self, out: &mut Out) {
        if self.carrier.silent(self.transport == Transport::Polling) {
            out.push(ShareCommand::Poll);
        }
    }

    /// Posts a relay to the other tabs and acts on it here too (a
    /// `BroadcastChannel` does not echo to its sender).
    fn publish(&mut self, relay: Relay, out: &mut Out) {
        out.push(ShareCommand::Post(relay.clone()));
        self.relayed(relay, out);
    }

    fn real_state(&mut self, id: u64, state: Shared, out: &mut Out) {
        let Some(real) = self.real.as_mut().filter(|r| r.id == id) else {
            return;
        };
        // Refused, failed before it ever opened, or the browser's (or the
        // poller's) one retry failed too: closed, and the panels hear that
        // it gave up, as from a stream of their own. The next opens when a
        // panel tries again, on its backoff; when none does (they all gave
        // up), none opens.
        if state != Shared::Open {
            // An error is no silence (a bridge that is down is no proxy).
            self.carrier.let_go();
            out.push(ShareCommand::FirstByte(None));
        } else if self.transport == Transport::EventSource {
            // Opened, or again after the browser reconnected it: it must
            // deliver within the deadline (a poller opens with its answer).
            out.push(ShareCommand::FirstByte(self.carrier.opened()));
        }
        if state == Shared::Closed || (state != Shared::Open && real.state != Shared::Open) {
            return self.give_up(out);
        }
        real.state = state;
        real.failed = state != Shared::Open;
        // Only its opening continues the stream it replaced; an error does not.
        let seamless = real.seamless && state == Shared::Open;
        let catch_up = real.catch_up && state == Shared::Open;
        real.seamless = false;
        real.catch_up = false;
        let source = real.source;
        let relay = Relay::State {
            source,
            state,
            seamless,
            channels: real.channels.clone(),
            status: None,
            transport: self.transport,
        };
        self.publish(relay, out);
        if catch_up {
            let resync = Relay::Event {
                source,
                name: "resync".into(),
                data: r#"{"reason":"stream_switched"}"#.into(),
                to: None,
                id: None,
            };
            self.publish(resync, out);
        }
    }

    /// An event of the holder's own stream: decoded once, for the routing
    /// and for every panel of this tab; relayed as it came, and only when
    /// another tab has panels.
    fn real_event(&mut self, id: u64, name: String, data: String, last_id: &str, out: &mut Out) {
        let Some(real) = self.real.as_ref().filter(|r| r.id == id) else {
            return;
        };
        let source = real.source;
        if self.carrier.delivered() {
            out.push(ShareCommand::FirstByte(None));
        }
        let decoded = decode_at(&name, &data, last_id).map_err(|e| e.sentence());
        let to = match (&decoded, name.as_str()) {
            (Ok(incoming), _) if incoming.channel().is_some() => {
                incoming.channel().map(|c| vec![c.to_owned()])
            }
            (Ok(_), "resync") => resync_channels(&data),
            _ => None,
        };
        let id = if is_change(&name) {
            parse_u64(last_id)
        } else {
            None
        };
        self.event(source, &name, &data, to.as_deref(), id, Some(decoded), out);
        // Relayed even when no other tab is known: a tab's `Wants` may still
        // be on its way while that tab already listens to this stream.
        let relay = Relay::Event {
            source,
            name,
            data,
            to,
            id,
        };
        out.push(ShareCommand::Post(relay));
    }

    fn state_changed(
        &mut self,
        source: Source,
        state: Shared,
        seamless: bool,
        channels: Vec<String>,
        status: Option<String>,
        out: &mut Out,
    ) {
        self.epoch = self.epoch.max(source.epoch);
        if let Role::Holder { epoch } = self.role {
            if source.epoch > epoch {
                // A newer holder: the lock was taken from this tab, and its
                // `LockLost` is still on the way. It follows at once, rather
                // than ignoring the new stream until its watchdog fires and
                // then stealing the lock back (a second handover).
                self.lose_lock(out);
            } else if source.epoch != epoch {
                return; // this tab holds the lock: an older holder's is stale
            }
        }
        if self.current.is_some_and(|current| source < current) {
            return; // an older holder's, or an older stream's: superseded
        }
        let newer = self.current != Some(source);
        // A status this tab did not have (it came in after the stream's own
        // `status` event went by, say) reaches the panels already open too.
        let fresh_status = (status.is_some() && status != self.status)
            .then(|| status.clone())
            .flatten();
        self.current = Some(source);
        self.state = state;
        self.carried = channels;
        // A stream that dropped has no status until it delivers one again:
        // a panel that opens on its reconnection is not told it is Live.
        if newer || status.is_some() || state != Shared::Open {
            self.status = status;
        }
        let overflowed = self.overflow(out);
        // A panel whose channel this stream does not carry waits, and its tab
        // reminds the holder: that tab's `Wants` has not reached it yet, or
        // the holder forgot a tab that stayed silent too long.
        let mut left_out = false;
        let mut panels = Vec::new();
        for &panel in self.panels.keys() {
            panels.push(panel);
        }
        for panel in panels {
            let Some(p) = self.panels.get_mut(&panel) else {
                continue;
            };
            let carried = self.carried.contains(&p.channel);
            let Some(sub) = p.sub.as_mut() else {
                continue;
            };
            let stream = sub.stream;
            match state {
                Shared::Open if !carried => {
                    left_out = true;
                    if let Some(old) = sub.open_on.take() {
                        out.push(ShareCommand::Deliver {
                            panel,
                            event: reconnect(stream, old, source),
                        });
                    }
                }
                Shared::Open if sub.open_on == Some(source) => {
                    if let Some(Ok(incoming)) = fresh_status.as_deref().map(|d| decode("status", d))
                    {
                        out.push(ShareCommand::Deliver {
                            panel,
                            event: Event::Received(stream, incoming),
                        });
                    }
                }
                Shared::Open if sub.open_on.is_some() && seamless => {
                    sub.open_on = Some(source);
                    sub.seen = Some(source);
                }
                Shared::Open => {
                    if let Some(old) = sub.open_on.take() {
                        out.push(ShareCommand::Deliver {
                            panel,
                            event: reconnect(stream, old, source),
                        });
                    }
                    self.open_sub(panel, source, out);
                }
                Shared::Connecting if seamless => {}
                Shared::Connecting => {
                    if let Some(old) = sub.open_on.take() {
                        out.push(ShareCommand::Deliver {
                            panel,
                            event: reconnect(stream, old, source),
                        });
                    }
                }
                Shared::Closed => {
                    sub.open_on = None;
                    out.push(ShareCommand::Deliver {
                        panel,
                        event: Event::StreamError(stream, ReadyState::Closed),
                    });
                }
            }
        }
        if overflowed {
            self.panels_changed(out);
        } else if left_out && !self.is_holder() {
            self.announce(out);
        }
    }

    /// Moves the panels that a full stream leaves out to the next group
    /// ([`ShareCommand::Overflow`]); returns whether any moved.
    fn overflow(&mut self, out: &mut Out) -> bool {
        if self.carried.len() < MAX_STREAM_CHANNELS {
            return false;
        }
        let mut over = Vec::new();
        for (&panel, p) in self.panels.iter() {
            if !self.carried.contains(&p.channel) {
                over.push(panel);
            }
        }
        for &panel in &over {
            let Some(p) = self.panels.remove(&panel) else {
                continue;
            };
            let stream = p.sub.as_ref().map(|sub| sub.stream);
            if let Some(stream) = p.sub.and_then(|sub| sub.open_on.map(|_| sub.stream)) {
                // What a browser reconnect looks like: it opens again there.
                out.push(ShareCommand::Deliver {
                    panel,
                    event: Event::StreamError(stream, ReadyState::Connecting),
                });
            }
            out.push(ShareCommand::Overflow {
                panel,
                channel: p.channel,
                stream,
            });
        }
        !over.is_empty()
    }

    /// Hands an event of `source` to the panels it concerns. `decoded`: the
    /// holder's own decoding, if done; otherwise it is decoded here, once.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        source: Source,
        name: &str,
        data: &str,
        to: Option<&[String]>,
        id: Option<u64>,
        mut decoded: Option<Result<Incoming, String>>,
        out: &mut Out,
    ) {
        if self.current != Some(source) {
            return;
        }
        if let Some(id) = id {
            self.cursor = Some(self.cursor.map_or(id, |c| c.max(id)));
        }
        if name == "status" {
            self.status = Some(data.to_owned());
        }
        let mut logged = false;
        for (&panel, p) in self.panels.iter() {
            let Some(sub) = p.sub.as_ref().filter(|s| s.open_on == Some(source)) else {
                continue;
            };
            if to.is_some_and(|to| !to.contains(&p.channel)) {
                continue;
            }
            let decoded = decoded.get_or_insert_with(|| {
                let id = id.map(digits).unwrap_or_default();
                decode_at(name, data, &id).map_err(|e| e.sentence())
            });
            let event = match decoded {
                Ok(incoming) => Event::Received(sub.stream, incoming.clone()),
                Err(error) => {
                    if !std::mem::replace(&mut logged, true) {
                        out.push(ShareCommand::Warn(error.clone()));
                    }
                    Event::Undecodable(sub.stream)
                }
            };
            out.push(ShareCommand::Deliver { panel, event });
        }
    }
}

/// Adds `name` to a sorted list of distinct names (a few dozen at most:
/// cheaper in code than a set, which sorts what it collects).
fn insert_sorted(set: &mut Vec<String>, name: &str) {
    // A walk, not a binary search: as fast for so few, and smaller.
    let at = set.iter().position(|held| held.as_str() >= name);
    if at.is_none_or(|at| set[at] != name) {
        set.insert(at.unwrap_or(set.len()), name.to_owned());
    }
}

/// What a panel's open virtual stream sees when the shared stream changes
/// from `old` to `new` under it: what a browser's reconnect looks like (an
/// error while connecting, then `open`), or, when another tab took the
/// stream over, a move, which is no failure of the connection.
fn reconnect(stream: StreamId, old: Source, new: Source) -> Event {
    if old.epoch == new.epoch {
        Event::StreamError(stream, ReadyState::Connecting)
    } else {
        Event::StreamMoved(stream)
    }
}

impl Relay {
    /// A compact line: a letter, the fixed fields, then the one free-form
    /// field (an event's data, a status) last, taken as it is. Channel names
    /// cannot hold `|` or `,`, and ids travel as decimal text (a JavaScript
    /// number could not hold them).
    pub fn encode(&self) -> String {
        // The fields pushed onto one line, each after a `|` but the first
        // (a `Vec` of `String`s joined made each field, the event's data
        // too, a copy of its own first).
        let mut line = String::new();
        let mut put = |field: &str| {
            if !line.is_empty() {
                line.push('|');
            }
            line.push_str(field);
        };
        match self {
            // A tab with no panel waiting says `w`.
            Relay::Wants {
                tab,
                channels,
                waiting,
            } => {
                put(if *waiting { "W" } else { "w" });
                put(&digits(*tab));
                put(&channels.join(","));
            }
            Relay::Bye { tab } | Relay::Who { tab } => {
                put(if matches!(self, Relay::Bye { .. }) {
                    "B"
                } else {
                    "H"
                });
                put(&digits(*tab));
            }
            // A polled stream's state is in capitals (`O`); a tab of a build
            // before this refuses such a line rather than misreading it.
            Relay::State {
                source,
                state,
                seamless,
                channels,
                status,
                transport,
            } => {
                let state = match (state, transport) {
                    (Shared::Connecting, Transport::EventSource) => "c",
                    (Shared::Open, Transport::EventSource) => "o",
                    (Shared::Closed, Transport::EventSource) => "x",
                    (Shared::Connecting, Transport::Polling) => "C",
                    (Shared::Open, Transport::Polling) => "O",
                    (Shared::Closed, Transport::Polling) => "X",
                };
                put("S");
                put(&digits(source.epoch));
                put(&digits(source.stream));
                put(state);
                put(if *seamless { "1" } else { "0" });
                put(&channels.join(","));
                match status {
                    Some(status) => put(&["+", status].concat()),
                    None => put("-"),
                }
            }
            Relay::Event {
                source,
                name,
                data,
                to,
                id,
            } => {
                put("E");
                put(&digits(source.epoch));
                put(&digits(source.stream));
                put(name);
                match to {
                    Some(to) => put(&to.join(",")),
                    None => put("*"),
                }
                put(&id.map_or(String::new(), digits));
                put(data);
            }
        }
        line
    }

    /// Reads [`Relay::encode`]'s line; anything else is `None`.
    pub fn decode(line: &str) -> Option<Relay> {
        let (kind, rest) = line.split_once('|')?;
        let list = |text: &str| -> Vec<String> {
            let mut list = Vec::new();
            for name in text.split(',').filter(|c| !c.is_empty()) {
                list.push(name.to_owned());
            }
            list
        };
        match kind {
            "W" | "w" => {
                let (tab, channels) = rest.split_once('|')?;
                Some(Relay::Wants {
                    tab: parse_u64(tab)?,
                    channels: list(channels),
                    waiting: kind == "W",
                })
            }
            "B" => Some(Relay::Bye {
                tab: parse_u64(rest)?,
            }),
            "H" => Some(Relay::Who {
                tab: parse_u64(rest)?,
            }),
            "S" => {
                let mut fields = rest.splitn(6, '|');
                let source = Source {
                    epoch: parse_u64(fields.next()?)?,
                    stream: parse_u64(fields.next()?)?,
                };
                let letter = fields.next()?;
                let state = match letter {
                    "c" | "C" => Shared::Connecting,
                    "o" | "O" => Shared::Open,
                    "x" | "X" => Shared::Closed,
                    _ => return None,
                };
                let transport = match letter < "a" {
                    true => Transport::Polling,
                    false => Transport::EventSource,
                };
                let seamless = match fields.next()? {
                    "0" => false,
                    "1" => true,
                    _ => return None,
                };
                let channels = list(fields.next()?);
                let status = fields.next()?;
                let status = match status.strip_prefix('+') {
                    Some(status) => Some(status.to_owned()),
                    None if status == "-" => None,
                    None => return None,
                };
                Some(Relay::State {
                    source,
                    state,
                    seamless,
                    channels,
                    status,
                    transport,
                })
            }
            "E" => {
                let mut fields = rest.splitn(6, '|');
                let source = Source {
                    epoch: parse_u64(fields.next()?)?,
                    stream: parse_u64(fields.next()?)?,
                };
                let name = fields.next()?.to_owned();
                let to = match fields.next()? {
                    "*" => None,
                    to => Some(list(to)),
                };
                let id = match fields.next()? {
                    "" => None,
                    id => Some(parse_u64(id)?),
                };
                Some(Relay::Event {
                    source,
                    name,
                    data: fields.next()?.to_owned(),
                    to,
                    id,
                })
            }
            _ => None,
        }
    }
}
