//! The browser side of the connection engine.
//!
//! [`Connection`] turns browser events (EventSource callbacks, timers, fetch
//! results, `online`, `visibilitychange`) into [`Event`]s for the pure
//! [`Engine`], and carries out the [`Command`]s it returns. It decides nothing
//! itself. Dropping a `Connection` unmounts the engine and releases everything:
//! the EventSource, every timer, every listener, an in-flight fetch.

use crate::auth::{with_access_token, Auth, Hung};
use crate::browser::{
    log_info, log_warn, now_ms, open_source, open_trial, property, random, remember_transport,
    remembered_polling, set_property, text, text_property, Listener, OwnedEventSource, Request,
    Source, StreamSignal,
};
use crate::identity::{person, whoami, OutboxKey, Whoami};
use crate::panel::Local;
use crate::share::{self, ShareLink};
use gloo_timers::callback::Timeout;
use leptos::prelude::{LocalStorage, Notify, StoredValue, Trigger, WithValue};
use panel_core::number::{digits, hex_digits, parse_u64, push_digits};
use panel_core::people::Presence;
use panel_core::protocol::RequestId;
use panel_core::reading::{arrived, changed, Changed};
use panel_core::share::{PanelId, ShareEvent};
use panel_core::vecmap::VecMap;
use panel_core::wire::decode_changes;
use panel_core::{
    decode, decode_at, decode_history, error_sentence, post_answer, Command, Engine, Event,
    Incoming, Message, MessageId, Options, Outgoing, PostAnswer, PostOutcome, ReadyState, StreamId,
    Target, Timer, Transport,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortController;

/// Where the panel gets its data.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Base URL of the bridge without a trailing slash; empty for same origin.
    pub bridge_url: String,
    /// The channel shown.
    pub channel: String,
    /// How the panel signs in.
    pub auth: Auth,
}

/// The signals the view renders, and what the host hears.
#[derive(Clone, Copy)]
pub struct Outputs {
    /// Notified when the connection's state (`Local::view`) changes.
    pub status: Trigger,
    /// Notified when the held messages (`Local::messages`) change: a signal
    /// of their own was its own copy of Leptos' signal code.
    pub messages: Trigger,
    /// The panel's own state, of which the connection sets `loading` (one
    /// stored value for the panel: a `StoredValue<bool>` of its own was its
    /// own copy of Leptos' stored-value code).
    pub local: StoredValue<Local, LocalStorage>,
    /// Notified when there is text for the composer (`Local::draft`: a
    /// refused reply taken back to edit), and when the replies not yet
    /// confirmed (`Local::outbox`) change.
    pub draft: Trigger,
}

impl Outputs {
    /// What the view and the host hear beside the signals (the panel's
    /// `Local::notice`; nothing once the panel is gone).
    fn notice(&self, notice: Notice) {
        self.local
            .try_with_value(|l| l.notice.borrow().as_ref().map(|hear| hear(notice)));
    }
}

/// The reader's name as the `reader` signal holds it: empty is no one.
pub fn known(reader: String) -> Option<String> {
    Some(reader).filter(|name| !name.is_empty())
}

/// What a panel's connection tells its view, through one callback: each
/// `Callback<T>` type was its own copy of Leptos' stored-value code.
pub enum Notice {
    /// Messages new to the reader (see `panel_core::reading`), oldest first.
    Arrived(Vec<Arc<Message>>),
    /// Held messages edited or reacted to, oldest first.
    Changed(Vec<Changed>),
    /// Held messages deleted.
    Deleted(Vec<MessageId>),
    /// What is shown was reloaded rather than caught up.
    Discontinuity,
    /// The bridge refused the panel's sign-in (401).
    AuthExpired,
    /// Who is in the channel (`None`: not known, the panel stopped).
    Presence(Option<Presence>),
    /// Who else is typing, in the order they started.
    Typing(Vec<String>),
    /// The unread count, the first unread message and the divider's
    /// message (`Engine::unread`).
    Unread(panel_core::read::Unread),
}

/// How a panel's engine reaches a stream.
enum Link {
    /// An EventSource of its own.
    Own,
    /// Tabs share streams, per person: waiting to know who the reader is,
    /// with the virtual stream the engine opened meanwhile, if any.
    Waiting(Option<StreamId>),
    /// A place in the sharing of the reader's tabs. The engine's streams are
    /// virtual, answered by the shared one.
    Joined(ShareLink),
}

/// One panel's live connection. Drop it to end it.
pub struct Connection {
    inner: Rc<RefCell<Inner>>,
    /// Events raised while the engine is busy: carrying out a command can
    /// raise one at once (`open_stream` sends `StreamError` from inside
    /// `execute` when the browser refuses to create the EventSource), and the
    /// running step handles it after the commands it is carrying out.
    queue: Rc<RefCell<VecDeque<Event>>>,
}

struct Inner {
    engine: Engine,
    endpoint: Endpoint,
    /// Whom replies are from without a sign-in (the `author` option).
    options_author: String,
    outputs: Outputs,
    stream: Option<(StreamId, Source)>,
    /// How streams are carried now (`Command::UseTransport`; `None` before
    /// the engine started).
    transport: Option<Transport>,
    /// How long a stream has to deliver its first event (`first_byte_ms`),
    /// and how often a stream is tried again while polling (`probe_ms`).
    first_byte_ms: u64,
    probe_ms: u64,
    /// A trial EventSource while polling, and its deadline.
    probe: Option<(OwnedEventSource, Timeout)>,
    /// How the engine's streams are carried.
    link: Link,
    /// Who the reader is (`identity::person`), once known.
    person: Option<String>,
    /// When this panel last told the bridge the reader types (ms).
    typed_at: Option<u64>,
    /// Where unsent replies are saved, once the reader is known.
    outbox_key: Option<OutboxKey>,
    /// A `/api/me` request is under way…
    asking: bool,
    /// …and the sign-in changed since it was sent: its answer is stale.
    ask_again: bool,
    timers: VecMap<Timer, Timeout>,
    fetch: Option<AbortController>,
    /// Whether the first Live was marked on the performance timeline.
    marked_live: bool,
    /// Whether who is here was asked since the panel joined its tabs' stream.
    presence_asked: bool,
    /// Whether the first history load was taken in: from then on, messages
    /// shown for the first time are new to the reader.
    baseline: bool,
    /// `online`, `visibilitychange`, `pageshow` (from the cache) and `resume`.
    _page_listeners: Vec<Listener>,
}

impl Connection {
    /// Starts the connection: history, then the stream.
    pub fn start(endpoint: Endpoint, options: Options, outputs: Outputs) -> Connection {
        // A name that is not a channel joins nothing shared: the engine stops
        // the panel with a sentence, and no other tab's stream asks for it.
        let link = if options.share_across_tabs
            && share::supported()
            && panel_core::is_valid_channel(&endpoint.channel)
        {
            Link::Waiting(None)
        } else {
            Link::Own
        };
        let signs_in = endpoint.auth.has_token() || endpoint.auth.with_credentials;
        let options_author = options.author.clone();
        // A proxy that buffered this bridge's streams lately: poll at once.
        let mut options = options;
        options.remembered_polling = remembered_polling(&endpoint.bridge_url);
        let (first_byte_ms, probe_ms) = (options.first_byte_ms, options.probe_ms);
        let engine = Engine::new(endpoint.channel.clone(), options);
        let connection = Connection {
            inner: Rc::new(RefCell::new(Inner {
                engine,
                endpoint,
                options_author,
                outputs,
                stream: None,
                transport: None,
                first_byte_ms,
                probe_ms,
                probe: None,
                link,
                person: None,
                typed_at: None,
                outbox_key: None,
                asking: false,
                ask_again: false,
                timers: VecMap::new(),
                fetch: None,
                marked_live: false,
                presence_asked: false,
                baseline: false,
                _page_listeners: Vec::new(),
            })),
            queue: Rc::default(),
        };
        let inbox = connection.inbox();
        connection.inner.borrow_mut()._page_listeners = page_listeners(&inbox);
        inbox.send(Event::Mount);
        if signs_in {
            // Asked again whenever the host changes the sign-in.
            let watcher = inbox.clone();
            (connection.inner.borrow().endpoint.auth).watch(move || watcher.ask_who());
            inbox.ask_who();
        } else {
            inbox.identified(None);
        }
        connection
    }

    /// The reader pressed Retry.
    pub fn retry(&self) {
        self.inbox().send(Event::RetryPressed);
    }

    /// The reader sends a reply.
    pub fn send(&self, content: String) {
        let client_id = new_client_id();
        self.inbox().send(Event::Send { client_id, content });
    }

    /// The reader scrolled to the top: older messages, if there are any.
    pub fn older(&self) {
        self.inbox().send(Event::OlderWanted);
    }

    /// What the reader sees of the list (`Seen`, `Looking`) and their
    /// mark unread, for the read marker.
    pub fn tell(&self, event: Event) {
        self.inbox().send(event);
    }

    /// The reader takes a refused reply back to edit it.
    pub fn edit(&self, client_id: String) {
        self.inbox().send(Event::Edit(client_id));
    }

    /// The reader discards a refused reply.
    pub fn discard(&self, client_id: String) {
        self.inbox().send(Event::Discard(client_id));
    }

    /// The reader edits one of their messages (`content`: its new text)
    /// or deletes it (`content`: its text, shown while the deletion waits).
    pub fn change_message(&self, target: Target, content: String) {
        let client_id = new_client_id();
        self.inbox().send(Event::Change {
            client_id,
            target,
            content,
        });
    }

    /// The reader types a reply: the bridge hears it at most once per 3 s
    /// per person and channel, whichever of the browser's tabs types (the
    /// last signal's time is in `localStorage`). Fire and forget: a lost
    /// signal only shows the reader typing a little later.
    pub fn typing(&self) {
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            return;
        };
        // Only while Live (not stopped with a refused sign-in, say), and
        // once the reader is known: the record is theirs.
        let Some(who) = inner.person.clone() else {
            return;
        };
        if inner.engine.view().label != panel_core::Label::Live {
            return;
        }
        // One key per person (not per channel: keys would pile up), its
        // value the last signal's time and channel. This panel's own last
        // signal counts too: without storage (blocked, full) it still
        // throttles its own tab.
        let key = ["dp-typing:", &who].concat();
        let channel = &inner.endpoint.channel;
        let storage = crate::browser::storage("localStorage");
        let last = (storage.as_ref()).and_then(|s| s.get_item(&key).ok().flatten());
        let last = last.as_deref().and_then(|last| {
            let at = last.bytes().position(|b| b == b' ')?;
            Some((&last[..at], &last[at + 1..]))
        });
        let last = last.filter(|(_, was)| was == channel);
        let last = last.and_then(|(at, _)| parse_u64(at)).max(inner.typed_at);
        let now = js_sys::Date::now() as u64;
        if !panel_core::people::typing_due(last, now) {
            return;
        }
        if let Some(storage) = storage {
            let _ = storage.set_item(&key, &[&digits(now), " ", channel].concat());
        }
        inner.typed_at = Some(now);
        let request = Request::new("POST", &inner.channel_url("typing"));
        let body = js_sys::Object::new();
        if !inner.signs_in() {
            let author = &inner.options_author;
            set_property(&body, "author", &author.into());
        }
        let body = js_sys::JSON::stringify(&body).map_or(JsValue::NULL, JsValue::from);
        inner.fire(request, body, Then::Nothing);
    }

    /// The reader toggles their reaction `emoji` to message `id` (`add`:
    /// the chip they pressed was not theirs). It goes through the outbox as
    /// an edit does, and shows once the bridge's `reaction` event comes: the
    /// chip never claims what the bridge did not store.
    pub fn react(&self, id: MessageId, emoji: String, add: bool) {
        self.change_message(Target::React(id, add), emoji);
    }

    fn inbox(&self) -> Inbox {
        Inbox {
            inner: Rc::downgrade(&self.inner),
            queue: Rc::downgrade(&self.queue),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Let the engine say what to release, then drop whatever is left anyway.
        self.inbox().send(Event::Unmount);
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            inner.stream = None;
            inner.probe = None;
            inner.link = Link::Own;
            inner.outbox_key = None;
            inner.timers.clear();
            if let Some(fetch) = inner.fetch.take() {
                fetch.abort();
            }
            inner._page_listeners.clear();
        }
    }
}

/// A weak handle that callbacks use to feed events to the engine; it does
/// nothing once the connection is gone.
#[derive(Clone)]
struct Inbox {
    inner: Weak<RefCell<Inner>>,
    queue: Weak<RefCell<VecDeque<Event>>>,
}

impl Inbox {
    fn send(&self, event: Event) {
        if let Some(queue) = self.queue.upgrade() {
            queue.borrow_mut().push_back(event);
        }
        self.drain();
    }

    /// Handles the queued events, unless a step is running (it does).
    fn drain(&self) {
        let (Some(inner), Some(queue)) = (self.inner.upgrade(), self.queue.upgrade()) else {
            return;
        };
        let Ok(mut state) = inner.try_borrow_mut() else {
            return;
        }; // the running step drains the queue
        loop {
            let Some(event) = queue.borrow_mut().pop_front() else {
                break;
            };
            // A shared stream's opening `presence` went by before this
            // panel joined it: asked for once a join (the engine keeps the
            // newer; a stream reopened for every panel brings its own).
            if let (Event::StreamOpened(stream), Link::Joined(_)) = (&event, &state.link) {
                if !std::mem::replace(&mut state.presence_asked, true) {
                    state.ask_presence(*stream, self);
                }
            }
            let commands = state.engine.handle(event, now_ms(), random());
            for command in commands {
                state.execute(command, self);
            }
            if !state.baseline && state.engine.has_loaded() {
                state.baseline = true;
            }
        }
        // Loaded (an older page came, even empty, or failed): the list's
        // next frame takes `aria-busy` off, whether or not its rows changed.
        let loading = state.engine.loading();
        let was = (state.outputs.local).try_with_value(|l| l.loading.replace(loading));
        if was == Some(true) && !loading {
            state.outputs.messages.notify();
        }
    }

    /// A trial EventSource came back: it is closed, then the engine hears it.
    fn probe_done(&self, delivered: bool) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let probe = match inner.try_borrow_mut() {
            Ok(mut inner) => inner.probe.take(),
            Err(_) => None,
        };
        if probe.is_some() {
            drop(probe);
            self.send(Event::ProbeDone(delivered));
        }
    }

    /// Asks the bridge who the reader is (one request at a time), for the
    /// sharing and the saved replies (see `identity`). Without an answer
    /// (a refused sign-in, no network) the engine's own requests say what is
    /// wrong, and its next attempt asks again.
    fn ask_who(&self) {
        let inbox = self.clone();
        leptos::task::spawn_local(async move {
            let Some(inner) = inbox.inner.upgrade() else {
                return;
            };
            let (url, auth) = {
                let Ok(mut inner) = inner.try_borrow_mut() else {
                    return;
                };
                if std::mem::replace(&mut inner.asking, true) {
                    inner.ask_again = true;
                    return;
                }
                (
                    inner.endpoint.bridge_url.clone(),
                    inner.endpoint.auth.clone(),
                )
            };
            let answer = whoami(&url, &auth).await;
            let stale = match inner.try_borrow_mut() {
                Ok(mut inner) => {
                    inner.asking = false;
                    std::mem::take(&mut inner.ask_again)
                }
                Err(_) => false,
            };
            drop(inner);
            match answer {
                _ if stale => inbox.ask_who(),
                Whoami::User(user) => inbox.identified(user),
                Whoami::Refused | Whoami::Unknown => {}
            }
        });
    }

    /// The reader is known (`user`: the signed-in name, `None` without
    /// sign-in): the panel takes their saved replies and joins their tabs'
    /// sharing. Someone else than before (the host switched accounts): the
    /// waiting replies stay saved for the previous person, and the panel
    /// moves to the new one's sharing, as a stream moving between tabs.
    fn identified(&self, user: Option<String>) {
        let (Some(inner), Some(queue)) = (self.inner.upgrade(), self.queue.upgrade()) else {
            return;
        };
        {
            let Ok(mut inner) = inner.try_borrow_mut() else {
                return;
            };
            let who = person(user.as_deref(), &inner.options_author);
            if inner.person.as_ref() == Some(&who) {
                return; // a fresh token of the same person
            }
            let switched = inner.person.replace(who.clone()).is_some();
            let name = user
                .clone()
                .or_else(|| Some(inner.options_author.clone()).filter(|author| !author.is_empty()));
            queue.borrow_mut().push_back(Event::Reader(name.clone()));
            // Whose reactions are highlighted: the rows are drawn again.
            (inner.outputs.local).try_with_value(|l| l.reader.replace(name.unwrap_or_default()));
            inner.outputs.messages.notify();
            inner.outbox_key = None; // its slot is free again
            let key = OutboxKey::claim(&inner.endpoint.bridge_url, &inner.endpoint.channel, &who);
            inner.outbox_key = Some(key);
            let saved = inner.saved_outbox();
            // Queued, and handled in order after this, with what the
            // sharing delivers while joining.
            if switched {
                queue.borrow_mut().push_back(Event::OutboxSwitched(saved));
            } else if !saved.is_empty() {
                queue.borrow_mut().push_back(Event::OutboxRestored(saved));
            }
            inner.join(user.unwrap_or_default(), self, &queue);
        }
        self.drain();
    }

    /// A stream was refused: an EventSource does not say why, so a short
    /// request with the same credentials finds out whether it was the sign-in
    /// (401, which stops the panel) or anything else (the browser gave up).
    fn refused(&self, stream: StreamId) {
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let Ok(mut inner) = inner.try_borrow_mut() else {
            return self.send(Event::StreamError(stream, ReadyState::Closed));
        };
        inner.fetch_history(0, None, Page::Check(stream), 1, self);
    }
}

impl Inner {
    /// Joins the sharing of `user`'s tabs, leaving the one it was in, with
    /// the engine's virtual stream: what it delivers meanwhile is queued.
    fn join(&mut self, user: String, inbox: &Inbox, queue: &RefCell<VecDeque<Event>>) {
        let stream = match std::mem::replace(&mut self.link, Link::Own) {
            Link::Own => return,
            Link::Waiting(stream) => stream,
            Link::Joined(previous) => {
                drop(previous);
                let stream = self.engine.current_stream();
                if let Some(stream) = stream {
                    queue.borrow_mut().push_back(Event::StreamMoved(stream));
                }
                stream
            }
        };
        let deliver = inbox.clone();
        let author = match user.is_empty() {
            true => self.options_author.as_str(),
            false => "",
        };
        let link = ShareLink::join(
            &self.endpoint.bridge_url,
            (&user, author),
            &self.endpoint.channel,
            self.endpoint.auth.clone(),
            Rc::new(move |event| match event {
                Event::StreamError(stream, ReadyState::Closed) => deliver.refused(stream),
                event => deliver.send(event),
            }),
        );
        link.deadlines(self.first_byte_ms, self.probe_ms);
        self.presence_asked = false;
        link.join_transport(self.transport == Some(Transport::Polling));
        if let Some(stream) = stream {
            tell(&link, stream, subscribe);
        }
        self.link = Link::Joined(link);
    }

    fn execute(&mut self, command: Command, inbox: &Inbox) {
        match command {
            Command::OpenStream {
                stream,
                last_event_id,
            } => {
                // Each attempt checks who the reader is: a token function
                // may have switched accounts without a word.
                if self.signs_in() {
                    inbox.ask_who();
                }
                match &mut self.link {
                    Link::Joined(link) => tell(link, stream, subscribe),
                    Link::Waiting(waiting) => *waiting = Some(stream),
                    Link::Own => self.open_stream(stream, last_event_id, inbox),
                }
            }
            Command::CloseStream(stream) => {
                match &mut self.link {
                    Link::Joined(link) => tell(link, stream, |panel, stream| {
                        ShareEvent::Unsubscribe { panel, stream }
                    }),
                    Link::Waiting(waiting) if *waiting == Some(stream) => *waiting = None,
                    _ => {}
                }
                if self.stream.as_ref().is_some_and(|(id, _)| *id == stream) {
                    self.stream = None;
                }
            }
            Command::StreamSilent(stream) => {
                if let Link::Joined(link) = &self.link {
                    tell(link, stream, |panel, stream| ShareEvent::Silent {
                        panel,
                        stream,
                    });
                }
            }
            Command::ArmTimer(timer, after_ms) => {
                let inbox = inbox.clone();
                let after = after_ms.min(i32::MAX as u64) as u32;
                self.timers.insert(
                    timer,
                    Timeout::new(after, move || inbox.send(Event::TimerFired(timer))),
                );
            }
            Command::CancelTimer(timer) => {
                self.timers.remove(&timer);
            }
            Command::FetchHistory {
                request,
                after,
                limit,
            } => self.fetch_history(request, after, Page::History, limit, inbox),
            Command::ShowMessages => {
                let next: Vec<Arc<Message>> = self.engine.messages().cloned().collect();
                let before = (self.outputs.local)
                    .try_with_value(|l| l.messages.replace(next.clone()))
                    .unwrap_or_default();
                let news =
                    (self.baseline).then(|| (arrived(&before, &next), changed(&before, &next)));
                self.outputs.messages.notify();
                if let Some((arrived, changed)) = news {
                    if !arrived.is_empty() {
                        self.outputs.notice(Notice::Arrived(arrived));
                    }
                    if !changed.is_empty() {
                        self.outputs.notice(Notice::Changed(changed));
                    }
                }
            }
            Command::Deleted(ids) => self.outputs.notice(Notice::Deleted(ids)),
            Command::Discontinuity => self.outputs.notice(Notice::Discontinuity),
            Command::AuthExpired => self.outputs.notice(Notice::AuthExpired),
            Command::ShowOutbox => {
                let outbox = self.engine.outbox().to_vec();
                self.save_outbox(&outbox);
                (self.outputs.local).try_with_value(|l| l.outbox.replace(outbox));
                self.outputs.draft.notify();
            }
            Command::EditDraft(text) => {
                self.outputs.local.try_with_value(|l| l.draft.replace(text));
                self.outputs.draft.notify();
            }
            Command::PostMessage {
                request,
                client_id,
                content,
            } => self.send(request, client_id, None, content, inbox),
            Command::ChangeMessage {
                request,
                client_id,
                target,
                content,
            } => self.send(request, client_id, Some(target), content, inbox),
            Command::FetchOlder {
                request,
                before,
                limit,
            } => self.fetch_history(request, None, Page::Older(before), limit, inbox),
            Command::UseTransport(transport) => {
                // The first is where the engine starts (from the options or
                // the browser's memory): only a switch is worth remembering.
                // (The engine said why.)
                let was = self.transport.replace(transport);
                if was.is_some_and(|was| was != transport) {
                    remember_transport(&self.endpoint.bridge_url, transport);
                }
                if let Link::Joined(link) = &self.link {
                    link.use_transport(transport);
                }
            }
            Command::Probe {
                last_event_id,
                first_byte_ms,
            } => match &self.link {
                // The sharing tries one stream for all its tabs; this panel
                // polls on until it hears that streams get through again.
                Link::Joined(link) => {
                    link.try_stream();
                    inbox.send(Event::ProbeDone(false));
                }
                _ => self.probe(last_event_id, first_byte_ms, inbox),
            },
            Command::ShowPresence => {
                (self.outputs).notice(Notice::Presence(self.engine.presence().cloned()))
            }
            Command::ShowTyping => self.outputs.notice(Notice::Typing(self.engine.typing())),
            Command::FetchRead => self.read_marker(None, inbox),
            Command::PutRead { last_read, unread } => {
                self.read_marker(Some((last_read, unread)), inbox)
            }
            Command::ShowUnread => self.outputs.notice(Notice::Unread(self.engine.unread())),
            Command::ShowStatus(view) => {
                if view.label == panel_core::Label::Live && !self.marked_live {
                    self.marked_live = true;
                    mark_performance("discussion-panel:live");
                }
                (self.outputs.local).try_with_value(|l| l.view.replace(view));
                self.outputs.status.notify();
            }
            Command::Log(text) => log_info(&["#", &self.endpoint.channel, ": ", &text].concat()),
        }
    }

    /// The unsent replies saved under this panel's key (the tab's session
    /// storage, so a reload sends them, once: they keep their client ids),
    /// as JSON rows `[client_id, content, failed or null, target or null]`
    /// (the target: an edited message's id; `-id` for a deletion; `+id` or
    /// `~id` for a reaction added or taken back), written and read by the
    /// browser's own JSON (no serde code for it in the wasm).
    fn saved_outbox(&self) -> Vec<Outgoing> {
        let Some(key) = &self.outbox_key else {
            return Vec::new();
        };
        let saved = session_storage().and_then(|s| s.get_item(key.as_str()).ok().flatten());
        let Some(rows) = saved.and_then(|text| js_sys::JSON::parse(&text).ok()) else {
            return Vec::new();
        };
        let Ok(rows) = rows.dyn_into::<js_sys::Array>() else {
            return Vec::new();
        };
        (rows.iter())
            .filter_map(|row| {
                let row = row.dyn_into::<js_sys::Array>().ok()?;
                // A change: the message's id, after its mark (see
                // `save_outbox`); a reply has none. A row whose target does
                // not read is dropped: sent as a reply, a deletion's row
                // would post the deleted text again.
                let saved = row.get(3);
                let target = match saved.as_string() {
                    None if saved.is_null() || saved.is_undefined() => None,
                    text => match text.as_deref().and_then(Target::from_saved) {
                        Some(target) => Some(target),
                        None => {
                            log_info("dropped an unreadable saved change");
                            return None;
                        }
                    },
                };
                Some(Outgoing {
                    client_id: row.get(0).as_string()?,
                    content: row.get(1).as_string()?,
                    failed: row.get(2).as_string(),
                    target,
                    left: true,
                })
            })
            .collect()
    }

    /// Saves the unsent replies under this panel's key; before the reader
    /// is known there is none, and they are saved once it is.
    fn save_outbox(&self, outbox: &[Outgoing]) {
        let (Some(storage), Some(key)) = (session_storage(), &self.outbox_key) else {
            return;
        };
        let key = key.as_str();
        if outbox.is_empty() {
            let _ = storage.remove_item(key);
            return;
        }
        let rows = js_sys::Array::new();
        for reply in outbox {
            let failed = reply.failed.as_deref().map_or(JsValue::NULL, JsValue::from);
            let target = (reply.target).map_or(JsValue::NULL, |target| target.saved().into());
            let row = js_sys::Array::new();
            row.push(&reply.client_id.as_str().into());
            row.push(&reply.content.as_str().into());
            row.push(&failed);
            row.push(&target);
            rows.push(&row);
        }
        if let Some(text) = js_sys::JSON::stringify(&rows)
            .ok()
            .and_then(|t| t.as_string())
        {
            let _ = storage.set_item(key, &text);
        }
    }

    fn signs_in(&self) -> bool {
        self.endpoint.auth.has_token() || self.endpoint.auth.with_credentials
    }

    /// Sends a reply (`target` none), an edit or a deletion of the
    /// reader's message, or a toggle of their reaction (`content`: its
    /// emoji), with the same client id on every try; the answer goes back to
    /// the engine as `PostAnswered`. Signed in, it first makes sure it goes
    /// out as the person who wrote it: if the sign-in is someone else's now,
    /// it is not sent, and the switch takes it (and the others waiting) out
    /// of the outbox, saved for its writer.
    fn send(
        &mut self,
        request: RequestId,
        client_id: String,
        target: Option<Target>,
        content: String,
        inbox: &Inbox,
    ) {
        let mut leaf = String::from("messages");
        if let Some(target) = target {
            leaf.push('/');
            leaf.push_str(&target.id().to_string());
            if let Target::React(..) = target {
                leaf.push_str("/reactions/");
                leaf.push_str(&String::from(js_sys::encode_uri_component(&content)));
            }
        }
        let url = self.channel_url(&leaf);
        // What it sends: the text of a reply or an edit, its client id,
        // the author without a sign-in; written by the browser's own JSON
        // (no serializer for it in the wasm).
        let body = js_sys::Object::new();
        let set = |key: &str, value: &str| {
            set_property(&body, key, &value.into());
        };
        if matches!(target, None | Some(Target::Edit(_))) {
            set("content", &content);
        }
        set("client_id", &client_id);
        if !self.options_author.is_empty() {
            set("author", &self.options_author);
        }
        let body = js_sys::JSON::stringify(&body).map_or(JsValue::NULL, JsValue::from);
        let method = match target {
            None => "POST",
            Some(Target::Edit(_)) => "PATCH",
            Some(Target::React(_, true)) => "PUT",
            Some(Target::Delete(_) | Target::React(_, false)) => "DELETE",
        };
        let check = (self.signs_in()).then(|| {
            let bridge_url = self.endpoint.bridge_url.clone();
            (bridge_url, self.person.clone(), self.options_author.clone())
        });
        let then = Then::Post {
            request,
            target,
            check,
            inbox: inbox.clone(),
        };
        self.fire(Request::new(method, &url), body, then);
    }

    /// `&as=<author>` without a sign-in: the reader whose own reactions
    /// history and changes answers mark (`me`).
    fn reader_query(&self) -> String {
        let mut query = String::new();
        if !self.signs_in() && !self.options_author.is_empty() {
            query.push_str("&as=");
            query.push_str(&String::from(js_sys::encode_uri_component(
                &self.options_author,
            )));
        }
        query
    }

    fn channel_url(&self, leaf: &str) -> String {
        // Escaped, though the engine asks for nothing before it checked the name.
        let channel = String::from(js_sys::encode_uri_component(&self.endpoint.channel));
        [
            &self.endpoint.bridge_url,
            "/api/channels/",
            &channel,
            "/",
            leaf,
        ]
        .concat()
    }

    fn open_stream(&mut self, stream: StreamId, last_event_id: Option<MessageId>, inbox: &Inbox) {
        self.stream = None; // the engine never asks for two; make sure of it
                            // The host's token function first: a fresh token for each connection.
        let inbox = inbox.clone();
        self.endpoint.auth.with_token(Box::new(move |token| {
            let Some(inner) = inbox.inner.upgrade() else {
                return;
            };
            let Ok(mut inner) = inner.try_borrow_mut() else {
                return;
            };
            // Unless the engine moved on (or the panel went) meanwhile.
            if inner.engine.current_stream() == Some(stream) && inner.stream.is_none() {
                inner.open_stream_at(stream, last_event_id, token, &inbox);
            }
        }));
    }

    /// Opens the stream the engine wants, on the transport it wants now;
    /// without a token from the host's function, it fails as the browser's
    /// refusal would.
    fn open_stream_at(
        &mut self,
        stream: StreamId,
        last_event_id: Option<MessageId>,
        token: Result<Option<String>, Hung>,
        inbox: &Inbox,
    ) {
        let poll_after =
            (self.transport == Some(Transport::Polling)).then_some(last_event_id.map(|id| id.0));
        let url = match poll_after {
            Some(_) => {
                let channel = String::from(js_sys::encode_uri_component(&self.endpoint.channel));
                let who = self.reader_query();
                [
                    &self.endpoint.bridge_url,
                    "/api/poll?channels=",
                    &channel,
                    &who,
                ]
                .concat()
            }
            None => self.events_url(last_event_id),
        };
        let (on, channel) = (inbox.clone(), self.endpoint.channel.clone());
        let with_credentials = self.endpoint.auth.with_credentials;
        let source = token.ok().and_then(|token| {
            open_source(
                &with_access_token(&url, token.as_deref()),
                poll_after,
                with_credentials,
                Rc::new(move |signal| match signal {
                    StreamSignal::Opened => on.send(Event::StreamOpened(stream)),
                    StreamSignal::Error(ReadyState::Closed) => on.refused(stream),
                    StreamSignal::Error(state) => on.send(Event::StreamError(stream, state)),
                    StreamSignal::Event(name, data, id) => {
                        on.send(received(stream, name, &channel, &data, &id))
                    }
                }),
            )
        });
        match source {
            Some(source) => self.stream = Some((stream, source)),
            // Reported as the browser giving up, so the engine backs off; from
            // a task of its own, as the step that asked may hold the engine.
            None => {
                let inbox = inbox.clone();
                leptos::task::spawn_local(async move {
                    inbox.send(Event::StreamError(stream, ReadyState::Closed))
                });
            }
        }
    }

    /// The channel's event stream, resuming after `last_event_id`.
    /// A stream's URL: after `last_event_id`, and, without a sign-in, as
    /// the `author` (who is here, and whose reactions are their own).
    fn events_url(&self, last_event_id: Option<MessageId>) -> String {
        let mut url = self.channel_url("events") + "?" + &self.reader_query();
        if let Some(id) = last_event_id {
            url.push_str("&last_event_id=");
            url.push_str(&id.to_string());
        }
        url
    }

    /// A trial EventSource (while polling), signed in like any stream:
    /// `ProbeDone(true)` at its first event, `false` on an error or after
    /// `first_byte_ms`; closed either way.
    fn probe(&mut self, last_event_id: Option<MessageId>, first_byte_ms: u64, inbox: &Inbox) {
        let url = self.events_url(last_event_id);
        let with_credentials = self.endpoint.auth.with_credentials;
        let inbox = inbox.clone();
        self.endpoint.auth.with_token(Box::new(move |token| {
            let Some(inner) = inbox.inner.upgrade() else {
                return;
            };
            if let Ok(mut inner) = inner.try_borrow_mut() {
                // Unless the panel stopped polling meanwhile (or no token came).
                if let (Some(Transport::Polling), Ok(token)) = (inner.transport, token) {
                    let url = with_access_token(&url, token.as_deref());
                    let on = inbox.clone();
                    let done = Rc::new(move |delivered| on.probe_done(delivered));
                    inner.probe = open_trial(&url, with_credentials, first_byte_ms, done);
                }
                if inner.probe.is_some() {
                    return;
                }
            }
            inbox.send(Event::ProbeDone(false));
        }));
    }

    /// Who is in the channel now, for the stream `stream` (see `drain`).
    fn ask_presence(&self, stream: StreamId, inbox: &Inbox) {
        let request = Request::get(&self.channel_url("presence"));
        let then = Then::Presence(stream, inbox.clone());
        self.fire(request, JsValue::UNDEFINED, then);
    }

    /// Asks for the reader's read marker (`mark` none) or moves it
    /// (`PUT`, exactly when marking unread). A reader the bridge cannot name
    /// (no sign-in, no `author`) keeps read state in this page only: no
    /// marker, and every mark taken as made.
    fn read_marker(&self, mark: Option<(MessageId, bool)>, inbox: &Inbox) {
        let inbox = inbox.clone();
        if !self.signs_in() && self.options_author.is_empty() {
            return inbox.send(match mark {
                None => Event::ReadLoaded(None),
                Some(_) => Event::ReadMarked(Ok(None)),
            });
        }
        let url = self.channel_url("read");
        let (request, body) = match mark {
            None => (
                Request::get(&(url + "?" + &self.reader_query())),
                JsValue::UNDEFINED,
            ),
            Some((last_read, unread)) => {
                let body = js_sys::Object::new();
                set_property(&body, "last_read", &last_read.to_string().into());
                if unread {
                    set_property(&body, "unread", &JsValue::TRUE);
                }
                if !self.signs_in() {
                    set_property(&body, "author", &self.options_author.as_str().into());
                }
                let body = js_sys::JSON::stringify(&body).map_or(JsValue::NULL, JsValue::from);
                (Request::new("PUT", &url), body)
            }
        };
        self.fire(request, body, Then::Read(inbox, mark.is_some()));
    }

    /// Sends `request` (its `body`), bounded in time like a post, and
    /// tells the engine what `then` asks of the answer. One future for the
    /// typing signal, the presence asked for, the read marker and the
    /// replies, edits, deletions and reactions: each
    /// spawned future's type is its own copy of the task code in the wasm.
    fn fire(&self, request: Request, body: JsValue, then: Then) {
        let auth = self.endpoint.auth.clone();
        leptos::task::spawn_local(async move {
            // A post signed in first makes sure it goes out as the person
            // who wrote it (see `send`).
            if let Then::Post {
                check: Some((bridge_url, writer, author)),
                inbox,
                ..
            } = &then
            {
                if let Whoami::User(user) = whoami(bridge_url, &auth).await {
                    let now = person(user.as_deref(), author);
                    let switched = writer.as_ref().is_some_and(|writer| *writer != now);
                    inbox.identified(user);
                    if switched {
                        return; // the switch took it out of the outbox
                    }
                }
            }
            let answer = send_json(request, body, &auth).await;
            let read = match &answer {
                // An unreadable one says nothing (not "no marker").
                Ok((200, text)) => panel_core::read::read_answer(text).map_err(|_| false),
                // Worth again: no answer, or one that says "later".
                Ok((status, _)) => Err(post_answer(*status) == PostAnswer::Retry),
                Err(_) => Err(true),
            };
            match (then, answer) {
                (
                    Then::Post {
                        request,
                        target,
                        inbox,
                        ..
                    },
                    answer,
                ) => {
                    let event =
                        match answer.and_then(|(status, text)| posted(target, status, &text)) {
                            Ok(outcome) => Event::PostAnswered(request, outcome),
                            Err(Load::Unauthorized) => Event::Unauthorized,
                            Err(Load::Failed(reason) | Load::Missing(reason)) => {
                                Event::PostAnswered(request, PostOutcome::Failed(reason))
                            }
                        };
                    inbox.send(event);
                }
                (Then::Presence(stream, inbox), Ok((200, text))) => {
                    if let Ok(presence) = panel_core::people::Presence::read(&text) {
                        inbox.send(Event::PresenceLoaded(stream, presence));
                    }
                }
                // Without the marker, the bridge's is left alone.
                (Then::Read(inbox, false), _) => inbox.send(match read {
                    Ok(marker) => Event::ReadLoaded(marker),
                    Err(_) => Event::ReadUnknown,
                }),
                (Then::Read(inbox, true), _) => inbox.send(Event::ReadMarked(read)),
                _ => {}
            }
        });
    }

    /// The newest page (`messages`), the page before `before` (an older
    /// one), or every change after `after` (`changes`): with a bridge that
    /// has no changes route (404), the messages after it, which the engine
    /// takes as a page of creations.
    fn fetch_history(
        &mut self,
        request: u64,
        after: Option<MessageId>,
        page: Page,
        limit: u32,
        inbox: &Inbox,
    ) {
        let mut query = String::from("?limit=");
        push_digits(&mut query, limit.into());
        query.push_str(&self.reader_query());
        let mut messages = self.channel_url("messages") + &query;
        if let Page::Older(before) = page {
            messages.push_str("&before=");
            messages.push_str(&before.to_string());
        }
        let changes = after.map(|after| {
            let after = String::from("&after=") + &after.to_string();
            let changes = self.channel_url("changes") + &query + &after;
            (changes, messages.clone() + &after)
        });
        // An older page (or a check) goes beside the history fetch; a history
        // fetch supersedes the one before (the engine ignores its answer).
        let mut signal = None;
        if let Page::History = page {
            if let Some(previous) = self.fetch.take() {
                previous.abort();
            }
            self.fetch = AbortController::new().ok();
            signal = self.fetch.as_ref().map(|a| a.signal());
        }
        let (inbox, auth) = (inbox.clone(), self.endpoint.auth.clone());
        leptos::task::spawn_local(async move {
            let signal = signal.as_ref();
            // The changes first, if asked for, then (404) the messages: one
            // request in a loop, so the future awaits one load, not three.
            let (mut url, mut fallback) = match changes {
                None => (messages, None),
                Some((changes, messages)) => (changes, Some(messages)),
            };
            let answer = loop {
                let text = load_text(&url, &auth, signal).await;
                match (text, fallback.take()) {
                    (Ok(text), Some(_)) => {
                        break decode_changes(&text)
                            .map(|page| Event::ChangesLoaded(request, page))
                            .map_err(Load::Failed)
                    }
                    (Err(Load::Missing(_)), Some(messages)) => url = messages,
                    (text, _) => {
                        break text.and_then(|text| {
                            (decode_history(&text).map_err(Load::Failed))
                                .map(|page| Event::HistoryLoaded(request, page))
                        })
                    }
                }
            };
            let event = match (answer, page) {
                (Err(Load::Unauthorized), _) => Event::Unauthorized,
                (_, Page::Check(stream)) => Event::StreamError(stream, ReadyState::Closed),
                (Ok(Event::HistoryLoaded(request, messages)), Page::Older(_)) => {
                    Event::OlderLoaded(request, messages)
                }
                (Err(_), Page::Older(_)) => Event::OlderFailed(request),
                (Ok(event), _) => event,
                (Err(Load::Failed(reason) | Load::Missing(reason)), _) => {
                    log_warn(
                        &["history request ", &digits(request), " failed: ", &reason].concat(),
                    );
                    Event::HistoryFailed(request, reason)
                }
            };
            inbox.send(event);
        });
    }
}

/// Tells the sharing what the engine did with its virtual stream `stream`:
/// one copy of `ShareLink::send` for every event, where each closure of its
/// own was a copy.
#[inline(never)]
fn tell(link: &ShareLink, stream: StreamId, event: fn(PanelId, StreamId) -> ShareEvent) {
    link.send(|panel| event(panel, stream));
}

fn subscribe(panel: PanelId, stream: StreamId) -> ShareEvent {
    ShareEvent::Subscribe { panel, stream }
}

/// What a history request is for.
#[derive(Clone, Copy)]
enum Page {
    /// The newest page, or the changes after a point.
    History,
    /// The page before this message.
    Older(MessageId),
    /// Whether the sign-in is why this stream was refused (401).
    Check(StreamId),
}

/// What `Inner::fire` does with its answer.
enum Then {
    Nothing,
    /// A reply, an edit, a deletion or a reaction (`Inner::send`): the
    /// engine's request, and, signed in, who must still be the reader
    /// (the bridge's URL, the writer, the `author` option).
    Post {
        request: RequestId,
        target: Option<Target>,
        check: Option<(String, Option<String>, String)>,
        inbox: Inbox,
    },
    /// Who is here, for that stream.
    Presence(StreamId, Inbox),
    /// The read marker: `true` for a mark's answer, `false` for the open's.
    Read(Inbox, bool),
}

/// How long a post may take before it counts as failed (and is tried again).
const POST_TIMEOUT_MS: u32 = 15_000;

/// Sends `body` with the panel's credentials, at most [`POST_TIMEOUT_MS`]:
/// the answer's status and text.
async fn send_json(
    mut request: Request,
    body: JsValue,
    auth: &Auth,
) -> Result<(u16, String), Load> {
    let abort = AbortController::new().ok();
    request.signal = abort.as_ref().map(|a| a.signal());
    let _timeout = abort.map(|abort| Timeout::new(POST_TIMEOUT_MS, move || abort.abort()));
    let mut request = signed_in(request, auth).await;
    request.body = body;
    let response = request.send().await.map_err(Load::Failed)?;
    let status = response.status();
    let text = text(&response).await.map_err(Load::Failed)?;
    Ok((status, text))
}

/// What an answer of this class means for a reply, an edit or a deletion.
/// `HTTP 503`: a failed answer's reason when it says nothing better.
fn http(status: u16) -> String {
    String::from("HTTP ") + &digits(status.into())
}

fn read_answer(answer: PostAnswer, status: u16, text: &str) -> Result<PostOutcome, Load> {
    match answer {
        // The stored message, read as a stream's `message` event is.
        PostAnswer::Stored => match decode("message", text) {
            Ok(Incoming::Message(message)) => Ok(PostOutcome::Stored(message)),
            _ => Err(Load::Failed("an unreadable answer".into())),
        },
        PostAnswer::SignIn => Err(Load::Unauthorized),
        PostAnswer::Deleted => Ok(PostOutcome::Deleted),
        PostAnswer::Refused => {
            let sentence = error_sentence(text).unwrap_or_else(|| http(status));
            Ok(PostOutcome::Refused(sentence))
        }
        PostAnswer::Retry => Err(Load::Failed(http(status))),
    }
}

/// What the answer to a reply, an edit (`PATCH`), a deletion (`DELETE`)
/// or a reaction added (`PUT`) or taken back (`DELETE`) means. What the
/// answer's status means is `panel_core::post_answer`'s to say (a 404 is a
/// refusal, with its sentence, which the engine takes as done when the
/// message is gone); whatever is not an answer (network, a timeout, an
/// answer cut off) may or may not have done it, and the engine tries again
/// with the same client id.
fn posted(target: Option<Target>, status: u16, text: &str) -> Result<PostOutcome, Load> {
    let answer = post_answer(status);
    match target {
        // Done: nothing to read (a reaction's `reaction` event shows it).
        Some(Target::Delete(_) | Target::React(..))
            if matches!(answer, PostAnswer::Stored | PostAnswer::Deleted) =>
        {
            Ok(PostOutcome::Deleted)
        }
        _ => read_answer(answer, status, text),
    }
}

/// A request with the panel's credentials: the token as a Bearer header, and
/// the browser's cookies when asked for. When the host's token function did
/// not answer, one that fails at once, as on a network error.
pub(crate) async fn signed_in(mut request: Request, auth: &Auth) -> Request {
    match auth.token().await {
        Ok(token) => request.token = token,
        // An aborted signal, as `AbortSignal.abort()` makes.
        Err(Hung) => {
            request.signal = web_sys::AbortController::new().ok().map(|c| {
                c.abort();
                c.signal()
            })
        }
    }
    request.cookies = auth.with_credentials;
    request
}

/// A client id for a reply: a UUID where the browser has one.
fn new_client_id() -> String {
    let uuid = web_sys::window().and_then(|w| {
        let crypto = property(&w, "crypto")?;
        let make = property(&crypto, "randomUUID")?;
        let make = make.dyn_into::<js_sys::Function>().ok()?;
        make.call0(&crypto).ok()?.as_string()
    });
    uuid.unwrap_or_else(|| {
        let part = || (random() * 4_294_967_296.0) as u64;
        let (time, a, b) = (hex_digits(now_ms()), hex_digits(part()), hex_digits(part()));
        [&time, "-", &a, "-", &b].concat()
    })
}

fn session_storage() -> Option<web_sys::Storage> {
    crate::browser::storage("sessionStorage")
}

/// Why a history request brought nothing.
enum Load {
    /// 401: the bridge refused the panel's sign-in.
    Unauthorized,
    /// 404: the bridge has no such route (or channel).
    Missing(String),
    Failed(String),
}

/// Decodes one stream event. Bad input is logged once, with context, and still
/// counts as a sign of life; it never panics.
fn received(stream: StreamId, name: &str, channel: &str, data: &str, id: &str) -> Event {
    match decode_at(name, data, id) {
        Ok(incoming) => Event::Received(stream, incoming),
        Err(error) => {
            log_warn(&["#", channel, ": ", &error.sentence()].concat());
            Event::Undecodable(stream)
        }
    }
}

/// The body of a history or changes answer, bounded in size.
async fn load_text(
    url: &str,
    auth: &Auth,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<String, Load> {
    let mut request = Request::get(url);
    request.signal = signal.cloned();
    let response = match signed_in(request, auth).await.send().await {
        Ok(response) => response,
        Err(error) => return Err(Load::Failed(fetch_failure(url, error).await)),
    };
    let status = response.status();
    if status == 401 {
        return Err(Load::Unauthorized);
    }
    // A bridge that announces an absurd answer is not read at all.
    let ok = (200..300).contains(&response.status());
    if let (true, Some(length)) = (ok, crate::embed::header(&response, "content-length")) {
        panel_core::wire::check_announced_size(&length).map_err(Load::Failed)?;
    }
    // One read of the body (each await of it is code of its own).
    let body = text(&response).await;
    if !ok {
        let body = body.unwrap_or_default();
        let sentence = error_sentence(&body)
            .unwrap_or_else(|| text_property(&response, "statusText").unwrap_or_default());
        let reason = [&http(status), ": ", &sentence].concat();
        return Err(if status == 404 {
            Load::Missing(reason)
        } else {
            Load::Failed(reason)
        });
    }
    body.map_err(Load::Failed)
}

/// Why a fetch brought no answer, in a sentence. The browser says only
/// "TypeError: Failed to fetch" both when the bridge cannot be reached and
/// when it refuses this page's origin (CORS), and a page may not learn more;
/// but a `no-cors` request, whose answer the page may not read, still
/// arrives from a bridge that is up: then the origin was refused.
async fn fetch_failure(url: &str, said: String) -> String {
    let location = web_sys::window().and_then(|w| property(&w, "location"));
    let origin = (location.and_then(|l| text_property(&l, "origin"))).unwrap_or_default();
    // Same origin (the bridge on the page's own), or no network error at all.
    if !said.starts_with("TypeError") || !url.starts_with("http") || same_origin(url, &origin) {
        return said;
    }
    if wasm_bindgen_futures::JsFuture::from(crate::embed::reachable(url))
        .await
        .is_err()
    {
        return said;
    }
    [
        "This page's origin (",
        &origin,
        ") is not allowed by the bridge: not in its --allowed-origins, or, with credentials, without --allow-credentials.",
    ]
    .concat()
}

/// Whether `url` is on `origin` (scheme, host and port): `http://localhost`
/// is not the origin of `http://localhost:8787/…`.
fn same_origin(url: &str, origin: &str) -> bool {
    url.strip_prefix(origin)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Leaves a mark on the page's performance timeline (time since navigation),
/// for hosts and benchmarks that measure how fast the panel goes live.
fn mark_performance(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

fn page_listeners(inbox: &Inbox) -> Vec<Listener> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let mut listeners = Vec::new();
    let on = inbox.clone();
    listeners.push(Listener::new(window.as_ref(), "online", move |_| {
        on.send(Event::Online)
    }));
    // Restored from the back/forward cache: the page is back, as after a freeze.
    let on = inbox.clone();
    listeners.push(Listener::new(window.as_ref(), "pageshow", move |event| {
        let persisted = property(&event, "persisted").is_some_and(|v| v.is_truthy());
        if persisted {
            on.send(Event::PageVisible);
        }
    }));
    if let Some(document) = window.document() {
        let on = inbox.clone();
        listeners.push(Listener::new(document.as_ref(), "resume", move |_| {
            on.send(Event::PageVisible)
        }));
        let on = inbox.clone();
        let watched = document.clone();
        listeners.push(Listener::new(
            document.as_ref(),
            "visibilitychange",
            move |_| {
                if watched.visibility_state() == web_sys::VisibilityState::Visible {
                    on.send(Event::PageVisible);
                }
            },
        ));
    }
    listeners
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn an_origin_is_scheme_host_and_port_not_a_prefix() {
        assert!(same_origin("http://localhost/api/me", "http://localhost"));
        assert!(same_origin("https://a.example", "https://a.example"));
        assert!(!same_origin(
            "http://localhost:8787/api/me",
            "http://localhost"
        ));
        assert!(!same_origin(
            "https://editor.example.chat.net/api",
            "https://editor.example"
        ));
        assert!(!same_origin("https://a.example/api", "http://a.example"));
    }
}
