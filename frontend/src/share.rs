//! The browser side of [`panel_core::share`]: one stream per browser profile
//! and bridge, shared by every tab and every panel in them.
//!
//! One [`Sharing`] per bridge lives in a tab while any of its panels does. It
//! turns Web Locks grants and steals, `BroadcastChannel` messages, the real
//! EventSource's callbacks and the Page Lifecycle (`pagehide`, `freeze`) into
//! [`ShareEvent`]s, and carries out the [`ShareCommand`]s (the machine's
//! [`panel_core::carrier::Carrier`] says when to poll and when to try a
//! stream again). It decides nothing itself. Each
//! panel holds a [`ShareLink`]; dropping the last one drops the `Sharing`,
//! which closes its EventSource and channel, removes its listeners and lets
//! the lock go.
//!
//! Where Web Locks or `BroadcastChannel` are missing (or the `share_across_tabs`
//! option is off), panels open a stream each, as before.

use crate::auth::{with_access_token, Auth, Hung};
use crate::browser::{
    log_info, log_warn, now_ms, open_source, open_trial, property, random, remember_transport,
    remembered_polling, set_property, text_property, transport_key, transport_of, Dom, Handler,
    Listener, OwnedEventSource, Source, StreamSignal,
};
use gloo_timers::callback::Timeout;
use js_sys::{Function, Object};
use panel_core::carrier::polls_by_memory;
use panel_core::share::{PanelId, Relay, Share, ShareCommand, ShareEvent};
use panel_core::vecmap::VecMap;
use panel_core::{Event, ReadyState};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, BroadcastChannel};

/// The attribute of `<html>` that says whether this tab holds the stream.
const ROLE_ATTRIBUTE: &str = "data-discussion-stream";

/// Hands an event to one panel's engine.
pub type Deliver = Rc<dyn Fn(Event)>;

thread_local! {
    /// The tab's `Sharing` per group (see [`Group`]), while panels use it.
    static SHARINGS: RefCell<VecMap<Group, Weak<Sharing>>> = RefCell::default();
    static NEXT_PANEL: Cell<PanelId> = const { Cell::new(1) };
}

/// Whether this browser can share a stream between tabs.
pub fn supported() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let has =
        |target: &JsValue, name: &str| property(target, name).is_some_and(|v| !v.is_undefined());
    let navigator = property(&window, "navigator").unwrap_or_default();
    has(&window, "BroadcastChannel") && has(&navigator, "locks")
}

/// Which tabs share one stream: those of one bridge, and, past the channels
/// one stream carries, one more group per full stream (`overflow`: 0, 1, …;
/// each group has its own lock, channel between tabs and stream).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Group {
    pub bridge_url: String,
    /// Whose tabs: the signed-in user's name (empty without sign-in). Tabs
    /// of two people never share a stream: each is signed in as its own.
    pub user: String,
    /// Without sign-in: whose name the stream carries (`as=`, so the bridge
    /// can say who is here); tabs of two names never share a stream.
    pub author: String,
    pub overflow: u32,
}

impl Group {
    /// The Web Locks and `BroadcastChannel` name of the group.
    fn name(&self) -> String {
        let mut name = String::from("discussion-panel ");
        name.push_str(&self.bridge_url);
        if !self.user.is_empty() {
            name.push_str(" user=");
            name.push_str(&self.user);
        }
        if !self.author.is_empty() {
            // Ended by a control character, which no name holds: the
            // author "Ann #1" is not Ann's overflow group #1.
            name.push_str(" as=");
            name.push_str(&self.author);
            name.push('\u{1}');
        }
        if self.overflow > 0 {
            name.push_str(" #");
            panel_core::number::push_digits(&mut name, self.overflow.into());
        }
        name
    }
}

/// One panel's place in its tab's `Sharing`. Dropping it unmounts the panel there.
pub struct ShareLink {
    place: Rc<RefCell<Place>>,
}

/// Where a panel is: the sharing of its group, and its number there. A full
/// stream moves it to the next group ([`ShareCommand::Overflow`]).
struct Place {
    sharing: Rc<Sharing>,
    panel: PanelId,
}

/// What a sharing keeps of each of its panels.
struct Member {
    deliver: Deliver,
    auth: Auth,
    place: Weak<RefCell<Place>>,
}

impl ShareLink {
    /// Joins (or starts) the tab's sharing of `bridge_url` for `user` with a
    /// panel of `channel`; `deliver` takes its virtual stream's events. The
    /// shared stream signs in as the panel that joined last (all of `user`'s).
    pub fn join(
        bridge_url: &str,
        (user, author): (&str, &str),
        channel: &str,
        auth: Auth,
        deliver: Deliver,
    ) -> ShareLink {
        let group = Group {
            bridge_url: bridge_url.to_owned(),
            user: user.to_owned(),
            author: author.to_owned(),
            overflow: 0,
        };
        let place = Rc::new_cyclic(|me: &Weak<RefCell<Place>>| {
            let (sharing, panel) = enter(group, auth, deliver, me.clone());
            RefCell::new(Place { sharing, panel })
        });
        let (sharing, panel) = {
            let place = place.borrow();
            (place.sharing.clone(), place.panel)
        };
        let channel = channel.to_owned();
        sharing.send(ShareEvent::PanelMounted { panel, channel });
        ShareLink { place }
    }

    /// The panel's engine gives a stream `first_byte_ms` to deliver, and
    /// tries one again every `probe_ms` while polling.
    pub fn deadlines(&self, first_byte_ms: u64, probe_ms: u64) {
        let sharing = self.place.borrow().sharing.clone();
        let mut machine = sharing.machine.borrow_mut();
        machine.carrier().deadlines(first_byte_ms, probe_ms);
    }

    /// The panel's engine would try a stream again (while polling). One
    /// trial serves every panel of every tab: the tab holding the real
    /// stream makes it; a follower leaves it to that tab.
    pub fn try_stream(&self) {
        let sharing = self.place.borrow().sharing.clone();
        sharing.try_stream();
    }

    /// The panel's engine carries streams another way now: so does the
    /// real stream, if this tab holds it, and every panel of the tab.
    pub fn use_transport(&self, transport: panel_core::Transport) {
        let sharing = self.place.borrow().sharing.clone();
        sharing.carry_on(transport);
    }

    /// The panel joined starting on polling (`polling`), or not: this tab
    /// polls when it holds the stream if either it or the group does (every
    /// panel shows how the stream it shares is carried: the holder says).
    pub fn join_transport(&self, polling: bool) {
        let sharing = self.place.borrow().sharing.clone();
        sharing.carry_on(transport_of(polling || sharing.polling.get()));
    }

    /// Tells the sharing what the panel's engine did with its virtual stream.
    pub fn send(&self, event: impl FnOnce(PanelId) -> ShareEvent) {
        let (sharing, panel) = {
            let place = self.place.borrow();
            (place.sharing.clone(), place.panel)
        };
        sharing.send(event(panel));
    }
}

/// Adds a panel to the tab's sharing of `group`, started if need be; the
/// caller tells its machine (`PanelMounted`) once the panel's place is set.
fn enter(
    group: Group,
    auth: Auth,
    deliver: Deliver,
    place: Weak<RefCell<Place>>,
) -> (Rc<Sharing>, PanelId) {
    let existing = SHARINGS.with(|all| all.borrow().get(&group).and_then(Weak::upgrade));
    let sharing = existing.unwrap_or_else(|| {
        let sharing = Sharing::start(group.clone());
        SHARINGS.with(|all| (all.borrow_mut()).insert(group, Rc::downgrade(&sharing)));
        sharing
    });
    let panel = NEXT_PANEL.with(|next| next.replace(next.get() + 1));
    *sharing.auth.borrow_mut() = auth.clone();
    let member = Member {
        deliver,
        auth,
        place,
    };
    sharing.members.borrow_mut().insert(panel, member);
    (sharing, panel)
}

/// The panel leaves `sharing` after the current task: a panel that switches
/// channel drops its connection and starts the next one in the same task, so
/// the tab stays in the running (and keeps the stream, if it holds it) and the
/// switch is a seamless change of channels for every tab.
fn leave(sharing: Rc<Sharing>, panel: PanelId) {
    let mut members = sharing.members.borrow_mut();
    members.remove(&panel);
    // The stream signs in as a panel still there: the one leaving may have
    // moved to someone else's sign-in (an account switch).
    if let Some(member) = members.values().next() {
        *sharing.auth.borrow_mut() = member.auth.clone();
    }
    drop(members);
    wasm_bindgen_futures::spawn_local(async move {
        sharing.send(ShareEvent::PanelUnmounted { panel });
        if Rc::strong_count(&sharing) == 1 {
            SHARINGS.with(|all| all.borrow_mut().remove(&sharing.group));
        }
    });
}

impl Drop for ShareLink {
    fn drop(&mut self) {
        let place = self.place.borrow();
        leave(place.sharing.clone(), place.panel);
    }
}

/// One lock request and what came of it.
struct LockRequest {
    /// Aborts it while it waits (not for a steal, which never waits).
    abort: Option<AbortController>,
    /// Set once granted: calling it releases the lock.
    release: Option<Function>,
    /// Given up by this tab (released or aborted).
    given_up: bool,
}

/// A tab's share of one group's stream.
struct Sharing {
    group: Group,
    lock_name: String,
    me: Weak<Sharing>,
    machine: RefCell<Share>,
    /// Events raised while a step runs, handled after it (as in `Inbox`).
    queue: RefCell<VecDeque<ShareEvent>>,
    busy: Cell<bool>,
    members: RefCell<VecMap<PanelId, Member>>,
    channel: Option<BroadcastChannel>,
    stream: RefCell<Option<(u64, Source)>>,
    /// The real stream's channels (escaped, joined) and the newest id it
    /// carried, to carry it on the other transport from where it is.
    carried: RefCell<(String, Option<u64>)>,
    /// Whether this group's streams go by polling: remembered for the
    /// profile too, but known here without it (a browser that refuses
    /// `localStorage` still switches).
    polling: Cell<bool>,
    /// While the real stream (an EventSource) has delivered nothing: the
    /// deadline after which it is suspect.
    first_byte: RefCell<Option<Timeout>>,
    /// While the real stream is polled: a trial EventSource for the group,
    /// with its first-byte deadline.
    trial: RefCell<Option<(OwnedEventSource, Timeout)>>,
    /// The real stream the machine wants open (0: none), for a token that
    /// arrives late.
    wanted: Cell<u64>,
    auth: RefCell<Auth>,
    locks: RefCell<Vec<(u64, LockRequest)>>,
    next_lock: Cell<u64>,
    prune: RefCell<Option<Timeout>>,
    listeners: RefCell<Vec<Listener>>,
}

impl Sharing {
    fn start(group: Group) -> Rc<Sharing> {
        let name = group.name();
        let channel = BroadcastChannel::new(&name).ok();
        let tab = (random() * 9_007_199_254_740_992.0) as u64;
        let polling = remembered_polling(&group.bridge_url);
        let sharing = Rc::new_cyclic(|me| Sharing {
            group,
            lock_name: name,
            me: me.clone(),
            machine: RefCell::new(Share::new(tab)),
            queue: RefCell::default(),
            busy: Cell::new(false),
            members: RefCell::default(),
            channel,
            stream: RefCell::default(),
            carried: RefCell::default(),
            polling: Cell::new(polling),
            first_byte: RefCell::default(),
            trial: RefCell::default(),
            wanted: Cell::new(0),
            auth: RefCell::default(),
            locks: RefCell::default(),
            next_lock: Cell::new(0),
            prune: RefCell::default(),
            listeners: RefCell::default(),
        });
        sharing.listen();
        sharing
    }

    /// The `BroadcastChannel` and the page's lifecycle.
    fn listen(&self) {
        let mut listeners = Vec::new();
        if let Some(channel) = &self.channel {
            let me = self.me.clone();
            listeners.push(Listener::new(channel.as_ref(), "message", move |event| {
                // The channel is the panel's own: its events are MessageEvents.
                let data = text_property(&event, "data");
                match data.as_deref().and_then(Relay::decode) {
                    Some(relay) => with(&me, |s| s.send(ShareEvent::Relayed(relay, now_ms()))),
                    None => log_warn("ignored a message on the tabs' channel that is not a relay"),
                }
            }));
        }
        if let Some(window) = web_sys::window() {
            let me = self.me.clone();
            listeners.push(Listener::new(window.as_ref(), "pagehide", move |_| {
                with(&me, |s| s.send(ShareEvent::Suspend))
            }));
            let me = self.me.clone();
            listeners.push(Listener::new(window.as_ref(), "pageshow", move |event| {
                let persisted = property(&event, "persisted").is_some_and(|v| v.is_truthy());
                if persisted {
                    with(&me, |s| s.send(ShareEvent::Resume));
                }
            }));
            if let Some(document) = window.document() {
                let me = self.me.clone();
                listeners.push(Listener::new(document.as_ref(), "freeze", move |_| {
                    with(&me, |s| s.send(ShareEvent::Suspend))
                }));
                let me = self.me.clone();
                listeners.push(Listener::new(document.as_ref(), "resume", move |_| {
                    with(&me, |s| s.send(ShareEvent::Resume))
                }));
            }
        }
        if let Some(window) = web_sys::window() {
            // Another tab chose another transport for this bridge.
            let me = self.me.clone();
            listeners.push(Listener::new(window.as_ref(), "storage", move |event| {
                // A `storage` event is a StorageEvent; another event of the
                // name (a page's own) has no `key`, so reads as no change.
                let key = crate::browser::key_of(&event);
                with(&me, |s| {
                    if key == Some(transport_key(&s.group.bridge_url)) {
                        let saved = text_property(&event, "newValue").unwrap_or_default();
                        s.carry_on(transport_of(polls_by_memory(&saved, now_ms())));
                    }
                });
            }));
        }
        *self.listeners.borrow_mut() = listeners;
    }

    fn send(&self, event: ShareEvent) {
        self.queue.borrow_mut().push_back(event);
        if self.busy.replace(true) {
            return; // the running step handles it next
        }
        loop {
            let Some(event) = self.queue.borrow_mut().pop_front() else {
                break;
            };
            let commands = self.machine.borrow_mut().handle(event);
            for command in commands {
                self.execute(command);
            }
        }
        self.busy.set(false);
        self.show_role();
    }

    /// `<html data-discussion-stream="holder|follower">`: which tab holds the
    /// shared stream, for whoever debugs it (and the end-to-end tests).
    fn show_role(&self) {
        let holder = self.machine.borrow().is_holder();
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element());
        if let Some(root) = root {
            let role = if holder { "holder" } else { "follower" };
            if root.get_attribute(ROLE_ATTRIBUTE).as_deref() != Some(role) {
                root.attr(ROLE_ATTRIBUTE, role);
            }
        }
    }

    fn execute(&self, command: ShareCommand) {
        match command {
            ShareCommand::RequestLock { steal } => self.request_lock(steal),
            ShareCommand::ReleaseLock => self.release_lock(),
            ShareCommand::Post(relay) => {
                if let Some(channel) = &self.channel {
                    let _ = channel.post_message(&JsValue::from_str(&relay.encode()));
                }
            }
            ShareCommand::OpenStream {
                stream,
                channels,
                last_event_id,
            } => self.open_stream(stream, &channels, last_event_id),
            ShareCommand::CloseStream(stream) => {
                if self.wanted.get() == stream {
                    self.wanted.set(0);
                }
                let mut held = self.stream.borrow_mut();
                if held.as_ref().is_some_and(|(id, _)| *id == stream) {
                    *held = None;
                }
            }
            ShareCommand::Deliver { panel, event } => {
                // Out of the map first: the panel may leave while it handles it.
                let deliver = (self.members.borrow().get(&panel)).map(|m| m.deliver.clone());
                if let Some(deliver) = deliver {
                    deliver(event);
                }
            }
            ShareCommand::Overflow {
                panel,
                channel,
                stream,
            } => self.overflow(panel, &channel, stream),
            ShareCommand::ArmPruneTimer(after) => {
                *self.prune.borrow_mut() = Some(self.timer(after, ShareEvent::PruneTimer));
            }
            ShareCommand::FirstByte(after) => {
                let timer = after.map(|after| self.timer(after, ShareEvent::FirstByteMissed));
                *self.first_byte.borrow_mut() = timer;
            }
            // Two streams in a row delivered nothing: for every tab.
            ShareCommand::Poll => {
                log_info("the shared stream delivered nothing twice: switching to long polling");
                remember_transport(&self.group.bridge_url, panel_core::Transport::Polling);
                self.carry_on(panel_core::Transport::Polling);
            }
            ShareCommand::Log(text) => log_info(&["shared stream: ", &text].concat()),
            ShareCommand::Warn(text) => log_warn(&["shared stream: ", &text].concat()),
        }
    }

    /// Moves a panel that this group's full stream leaves out to the next
    /// group, its virtual stream (if any) subscribed there.
    fn overflow(&self, panel: PanelId, channel: &str, stream: Option<panel_core::StreamId>) {
        let Some(member) = self.members.borrow_mut().remove(&panel) else {
            return;
        };
        let Some(place) = member.place.upgrade() else {
            return;
        };
        let group = Group {
            overflow: self.group.overflow + 1,
            ..self.group.clone()
        };
        log_info(
            &[
                "shared stream: #",
                channel,
                " goes to the stream of group ",
                &panel_core::number::digits(group.overflow.into()),
                ": this one is full",
            ]
            .concat(),
        );
        let (sharing, panel) = enter(group, member.auth, member.deliver, member.place);
        let next = Place {
            sharing: sharing.clone(),
            panel,
        };
        // This machine forgot the panel already; the link now holds the next.
        drop(std::mem::replace(&mut *place.borrow_mut(), next));
        let channel = channel.to_owned();
        sharing.send(ShareEvent::PanelMounted { panel, channel });
        if let Some(stream) = stream {
            sharing.send(ShareEvent::Subscribe { panel, stream });
        }
    }

    fn open_stream(
        &self,
        stream: u64,
        channels: &[String],
        last_event_id: Option<panel_core::MessageId>,
    ) {
        *self.stream.borrow_mut() = None;
        self.wanted.set(stream);
        // Valid names need no escaping; escaped all the same, so that no name
        // can ever add a parameter to the stream's URL.
        let mut list = String::new();
        for channel in channels {
            if !list.is_empty() {
                list.push(',');
            }
            list.push_str(&String::from(js_sys::encode_uri_component(channel)));
        }
        *self.carried.borrow_mut() = (list, last_event_id.map(|id| id.0));
        self.open_carried(stream);
    }

    /// Opens the real stream `stream` on the transport wanted (a proxy that
    /// buffers streams: polling), from the newest id it carried, once the
    /// token is at hand: what is wanted is read then, never before the wait.
    fn open_carried(&self, stream: u64) {
        let me = self.me.clone();
        self.auth.borrow().with_token(Box::new(move |token| {
            with(&me, |s| {
                if s.wanted.get() == stream && s.stream.borrow().is_none() {
                    s.open_stream_at(stream, token);
                }
            })
        }));
    }

    /// The real stream, if this tab holds it on the other transport,
    /// continues on this one from the newest id it carried; every panel of
    /// the tab hears how its stream is carried now.
    fn carry_on(&self, transport: panel_core::Transport) {
        let polling = transport == panel_core::Transport::Polling;
        self.polling.set(polling);
        let open = match &*self.stream.borrow() {
            Some((stream, Source::Poll(_))) if !polling => Some(*stream),
            Some((stream, Source::Events(_))) if polling => Some(*stream),
            _ => None,
        };
        if let Some(stream) = open {
            *self.stream.borrow_mut() = None;
            self.open_carried(stream);
        }
        self.send(ShareEvent::Carried(transport));
    }

    /// A trial EventSource for the group, if this tab polls the real stream,
    /// none is under way and none began within half the trial interval (each
    /// panel of the tab asks on its own timer). One that delivers brings
    /// every tab back to the EventSource.
    fn try_stream(&self) {
        let polled = matches!(&*self.stream.borrow(), Some((_, Source::Poll(_))));
        if !(self.machine.borrow_mut().carrier()).try_stream(now_ms(), polled) {
            return;
        }
        let me = self.me.clone();
        self.auth
            .borrow()
            .with_token(Box::new(move |token| with(&me, |s| s.open_trial(token))));
    }

    /// Opens the trial the carrier asked for, signed in with `token`,
    /// unless the real stream is no longer polled now that the token came
    /// (or none came).
    fn open_trial(&self, token: Result<Option<String>, Hung>) {
        let polled = matches!(&*self.stream.borrow(), Some((_, Source::Poll(_))));
        let me = self.me.clone();
        let done = Rc::new(move |delivered| with(&me, |s| s.trial_done(delivered)));
        let deadline = (self.machine.borrow_mut().carrier().first_byte_ms()).unwrap_or(u64::MAX);
        let with_credentials = self.auth.borrow().with_credentials;
        let trial = (token.ok().filter(|_| polled)).and_then(|token| {
            open_trial(&self.url(false, token), with_credentials, deadline, done)
        });
        if trial.is_none() {
            self.machine.borrow_mut().carrier().trial_done();
        }
        *self.trial.borrow_mut() = trial;
    }

    /// The trial stream delivered (streams get through again: every tab goes
    /// back to the EventSource, and the browser remembers it), failed or
    /// missed its deadline; closed.
    fn trial_done(&self, delivered: bool) {
        let trial = self.trial.borrow_mut().take();
        drop(trial);
        let under_way = self.machine.borrow_mut().carrier().trial_done();
        if under_way && delivered {
            log_info("a trial stream delivered: the shared stream goes back to the EventSource");
            remember_transport(&self.group.bridge_url, panel_core::Transport::EventSource);
            self.carry_on(panel_core::Transport::EventSource);
        }
    }

    /// Opens the real stream `stream` on the transport wanted now, from the
    /// newest id carried, signed in with `token` (without one, it fails as
    /// the browser's refusal would).
    fn open_stream_at(&self, stream: u64, token: Result<Option<String>, Hung>) {
        let polling = self.polling.get();
        let poll_after = polling.then_some(self.carried.borrow().1);
        let me = self.me.clone();
        let with_credentials = self.auth.borrow().with_credentials;
        let on = move |signal| {
            let event = match signal {
                StreamSignal::Opened => ShareEvent::StreamOpened(stream),
                StreamSignal::Error(state) => ShareEvent::StreamError(stream, state),
                StreamSignal::Event(name, data, last_event_id) => {
                    let id = panel_core::number::parse_u64(&last_event_id);
                    with(&me, |s| {
                        let mut carried = s.carried.borrow_mut();
                        carried.1 = carried.1.max(id);
                    });
                    ShareEvent::StreamEvent {
                        stream,
                        name: name.to_owned(),
                        data,
                        last_event_id,
                    }
                }
            };
            with(&me, |s| s.send(event));
        };
        let source = (token.ok()).and_then(|token| {
            open_source(
                &self.url(polling, token),
                poll_after,
                with_credentials,
                Rc::new(on),
            )
        });
        match source {
            Some(source) => *self.stream.borrow_mut() = Some((stream, source)),
            None => self.send(ShareEvent::StreamError(stream, ReadyState::Closed)),
        }
    }

    /// The group's stream, polled or not, for the channels carried and from
    /// the newest id (a poller adds its own cursor), signed in with `token`.
    fn url(&self, polling: bool, token: Option<String>) -> String {
        let (channels, after) = &*self.carried.borrow();
        let mut url = self.group.bridge_url.clone();
        url.push_str(if polling { "/api/poll" } else { "/api/events" });
        url.push_str("?channels=");
        url.push_str(channels);
        if let (false, Some(id)) = (polling, after) {
            url.push_str("&last_event_id=");
            panel_core::number::push_digits(&mut url, *id);
        }
        if !self.group.author.is_empty() {
            url.push_str("&as=");
            url.push_str(&String::from(js_sys::encode_uri_component(
                &self.group.author,
            )));
        }
        with_access_token(&url, token.as_deref())
    }

    /// A timer that hands `event` to the machine `ms` from now.
    fn timer(&self, ms: u64, event: ShareEvent) -> Timeout {
        let me = self.me.clone();
        Timeout::new(ms.min(i32::MAX as u64) as u32, move || {
            with(&me, |s| s.send(event))
        })
    }

    /// `navigator.locks.request(name, options, granted)`: `granted` holds the
    /// lock until the promise it returns resolves; the request's own promise
    /// settles when the lock is let go, aborted while waiting, or stolen.
    fn request_lock(&self, steal: bool) {
        let id = self.next_lock.get();
        self.next_lock.set(id + 1);
        let options = Object::new();
        let abort = if steal {
            set_property(&options, "steal", &JsValue::TRUE);
            None
        } else {
            let abort = AbortController::new().ok();
            if let Some(abort) = &abort {
                set_property(&options, "signal", &abort.signal());
            }
            abort
        };
        let me = self.me.clone();
        // Called with the function that lets the lock go (see `lock`).
        let granted = Handler::new(move |release: web_sys::Event| {
            let release = release.unchecked_into::<Function>();
            match me.upgrade() {
                Some(sharing) => sharing.granted(id, Some(release)),
                // Granted after this tab's sharing ended (its abort came too
                // late): nobody would ever let it go, and no other tab of
                // the group could hold the stream. Let it go at once.
                None => {
                    let _ = release.call0(&JsValue::NULL);
                }
            }
        });
        let request =
            match crate::embed::lock(&self.lock_name, &options, granted.as_ref().unchecked_ref()) {
                Ok(Some(request)) => request,
                // No Web Locks: this tab never holds the stream.
                Ok(None) => return,
                Err(_) => {
                    return log_warn(
                        "the Web Locks request failed: this tab will not hold the stream",
                    )
                }
            };
        self.locks.borrow_mut().push((
            id,
            LockRequest {
                abort,
                release: None,
                given_up: false,
            },
        ));
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let settled = wasm_bindgen_futures::JsFuture::from(request).await;
            // The grant callback lives until its request settles, even past
            // this tab's sharing: the browser may still call it until then.
            drop(granted);
            with(&me, |s| s.lock_settled(id, settled.is_err()));
        });
    }

    fn granted(&self, id: u64, release: Option<Function>) {
        let mut locks = self.locks.borrow_mut();
        let Some((_, request)) = locks.iter_mut().find(|(i, _)| *i == id) else {
            return;
        };
        if request.given_up {
            // Granted just as this tab gave it up: let it go at once.
            if let Some(release) = release {
                let _ = release.call0(&JsValue::NULL);
            }
            return;
        }
        request.release = release;
        drop(locks);
        self.send(ShareEvent::LockGranted {
            now: js_sys::Date::now() as u64,
        });
    }

    fn release_lock(&self) {
        for (_, request) in self.locks.borrow_mut().iter_mut() {
            request.given_up = true;
            if let Some(release) = request.release.take() {
                let _ = release.call0(&JsValue::NULL);
            } else if let Some(abort) = &request.abort {
                abort.abort();
            }
        }
    }

    /// A request's promise settled: a lock held and not given up that ends
    /// in an error was stolen.
    fn lock_settled(&self, id: u64, failed: bool) {
        let mut locks = self.locks.borrow_mut();
        let Some(index) = locks.iter().position(|(i, _)| *i == id) else {
            return;
        };
        let (_, request) = locks.remove(index);
        drop(locks);
        if failed && request.release.is_some() && !request.given_up {
            self.send(ShareEvent::LockLost);
        }
    }
}

impl Drop for Sharing {
    fn drop(&mut self) {
        self.release_lock();
        self.stream.borrow_mut().take();
        self.prune.borrow_mut().take();
        self.listeners.borrow_mut().clear();
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element());
        if let Some(root) = root {
            root.unattr(ROLE_ATTRIBUTE);
        }
        if let Some(channel) = &self.channel {
            channel.close();
        }
    }
}

/// Runs `f` on the sharing if it is still there.
fn with(me: &Weak<Sharing>, f: impl FnOnce(&Sharing)) {
    if let Some(sharing) = me.upgrade() {
        f(&sharing);
    }
}
