//! Owned handles on browser resources: each releases what it holds when dropped.

use gloo_timers::callback::Timeout;
use panel_core::carrier::{polls_by_memory, remembered};
use panel_core::ReadyState;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, EventTarget};

/// The one type of closure the panel's own code hands to JavaScript: each
/// type of closure is its own copy of wasm-bindgen's glue (an export, and its
/// caller in the JS), so a callback whose argument is no event (the Web
/// Locks grant, the custom element's mount) takes it as one all the same,
/// unchecked, and reads it by name.
pub type Handler = Closure<dyn FnMut(web_sys::Event)>;

/// An event listener, removed from its target on drop.
pub struct Listener {
    target: EventTarget,
    name: &'static str,
    closure: Handler,
}

impl Listener {
    /// Adds `handler` for `name` events on `target`.
    pub fn new(
        target: &EventTarget,
        name: &'static str,
        handler: impl FnMut(web_sys::Event) + 'static,
    ) -> Listener {
        Listener::boxed(target, name, Box::new(handler))
    }

    /// The one copy of the work of [`Listener::new`], whatever the handler.
    fn boxed(
        target: &EventTarget,
        name: &'static str,
        handler: Box<dyn FnMut(web_sys::Event)>,
    ) -> Listener {
        let closure = Closure::wrap(handler);
        if let Err(error) =
            target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
        {
            log_thrown(false, &["could not listen for ", name].concat(), &error);
        }
        Listener {
            target: target.clone(),
            name,
            closure,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.name, self.closure.as_ref().unchecked_ref());
    }
}

/// An EventSource and its listeners; closed, with its listeners removed, on drop.
pub struct OwnedEventSource {
    pub source: EventSource,
    /// Held only to be dropped with the source.
    _listeners: Vec<Listener>,
}

impl OwnedEventSource {
    pub fn new(source: EventSource, listeners: Vec<Listener>) -> Self {
        OwnedEventSource {
            source,
            _listeners: listeners,
        }
    }
}

/// Where a stream's signals go (one type for every caller, so that the
/// stream code is compiled once, not once per closure).
pub type OnSignal = Rc<dyn Fn(StreamSignal)>;

/// What a stream (an EventSource, or a poller) reports, as the glue hands it on.
pub enum StreamSignal {
    Opened,
    /// `error`, in this `readyState`.
    Error(ReadyState),
    /// One of the bridge's named events: its name, data and `id:` line.
    Event(&'static str, String, String),
}

/// A stream to the bridge, whichever way it is carried; closed on drop.
pub enum Source {
    Events(OwnedEventSource),
    Poll(OwnedPoller),
}

/// Long polling (`GET /api/poll`) as a stream: it reports `Opened` when a
/// poll first answers, each event of each answer, and `Error` as an
/// EventSource would (`Connecting` while it tries again after a failure,
/// `Closed` when the bridge refused it with a 4xx). Stopped on drop. Like
/// an EventSource, it tries again on its own; its holder (a panel's engine,
/// or the tab's sharing) closes it when that fails too, so later attempts
/// come on the panels' backoff, and none once they all gave up.
pub struct OwnedPoller {
    stop: Rc<Cell<bool>>,
    abort: Rc<RefCell<Option<web_sys::AbortController>>>,
}

impl Drop for OwnedPoller {
    fn drop(&mut self) {
        self.stop.set(true);
        if let Some(abort) = self.abort.borrow_mut().take() {
            abort.abort();
        }
    }
}

/// The longest a poll may take before it counts as failed: the bridge
/// answers within its wait (25 s) even with nothing to say.
const POLL_TIMEOUT_MS: u32 = 40_000;

/// How long a poller waits after a failed poll (as an EventSource's `retry:`).
const POLL_RETRY_MS: u32 = 2_000;

/// Opens a stream on `url`: an EventSource, or, with `poll_after` (the
/// cursor to poll from), a poller of `url` (a `/api/poll?channels=…` URL).
pub fn open_source(
    url: &str,
    poll_after: Option<Option<u64>>,
    with_credentials: bool,
    on: OnSignal,
) -> Option<Source> {
    match poll_after {
        Some(after) => Some(Source::Poll(open_poller(
            url.to_owned(),
            after,
            with_credentials,
            on,
        ))),
        None => open_event_source(url, with_credentials, on).map(Source::Events),
    }
}

/// The transport for "polling or not".
pub fn transport_of(polling: bool) -> panel_core::Transport {
    match polling {
        true => panel_core::Transport::Polling,
        false => panel_core::Transport::EventSource,
    }
}

/// Where the transport chosen for a bridge is remembered (per browser profile).
pub fn transport_key(bridge_url: &str) -> String {
    ["discussion-panel:transport:", bridge_url].concat()
}

/// Whether the browser remembers (and not for too long, see
/// `panel_core::carrier::polls_by_memory`) that a proxy buffered a bridge's
/// streams.
pub fn remembered_polling(bridge_url: &str) -> bool {
    let storage = storage("localStorage");
    let saved = storage.and_then(|s| s.get_item(&transport_key(bridge_url)).ok().flatten());
    saved.is_some_and(|saved| polls_by_memory(&saved, now_ms()))
}

/// The window's `localStorage` or `sessionStorage`, by name, unless the
/// browser refuses it (it throws when storage is blocked): one reading for
/// both, where each getter was an import and a `catch` of its own.
#[inline(never)]
pub fn storage(name: &str) -> Option<web_sys::Storage> {
    let storage = property(web_sys::window()?.as_ref(), name)?;
    (!storage.is_null() && !storage.is_undefined()).then(|| storage.unchecked_into())
}

/// Remembers the transport for a bridge, for the next page load (and the
/// other tabs' next streams): only when the panel saw which way streams get
/// through, so that the memory's date is that of the last sighting.
pub fn remember_transport(bridge_url: &str, transport: panel_core::Transport) {
    if let Some(storage) = storage("localStorage") {
        let _ = storage.set_item(&transport_key(bridge_url), &remembered(transport, now_ms()));
    }
}

/// A request the panel makes, carried out by the browser's `fetch` through
/// the element's script (`embed::request`: one import where `RequestInit`'s
/// setters and a headers object took several, and no request builder's
/// generic and formatting code in the wasm).
pub struct Request {
    method: &'static str,
    url: String,
    /// The sign-in's token, sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// A JSON body, sent with its content type; `undefined` for none.
    pub body: JsValue,
    pub signal: Option<web_sys::AbortSignal>,
    /// Whether the browser's cookies go along (`credentials: "include"`).
    pub cookies: bool,
}

impl Request {
    pub fn new(method: &'static str, url: &str) -> Request {
        Request {
            method,
            url: url.into(),
            token: None,
            body: JsValue::UNDEFINED,
            signal: None,
            cookies: false,
        }
    }

    /// A GET of `url`, as written (its query too).
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// The answer, whatever its status, or why there is none: JavaScript's
    /// error as text (`TypeError: Failed to fetch`, `AbortError: …`).
    pub async fn send(self) -> Result<web_sys::Response, String> {
        let (token, signal) = (self.token.as_deref(), self.signal.as_ref());
        let sent = crate::embed::request(
            self.method,
            &self.url,
            token,
            &self.body,
            signal,
            self.cookies,
        );
        match wasm_bindgen_futures::JsFuture::from(sent).await {
            Ok(response) => Ok(response.unchecked_into()),
            Err(said) => Err(said.as_string().unwrap_or_default()),
        }
    }
}

/// The text of an answer, or why it could not be read (as [`Request::send`]).
pub async fn text(response: &web_sys::Response) -> Result<String, String> {
    match wasm_bindgen_futures::JsFuture::from(crate::embed::text(response)).await {
        Ok(text) => Ok(text.as_string().unwrap_or_default()),
        Err(said) => Err(said.as_string().unwrap_or_default()),
    }
}

/// Polls `url` (a `/api/poll?channels=…` URL, with its sign-in) from
/// `after` on, as [`OwnedPoller`] describes. The first poll, and the first
/// after a failure, answer at once (`wait=0`): the reader sees Live without
/// waiting for news.
pub fn open_poller(
    url: String,
    after: Option<u64>,
    with_credentials: bool,
    on: OnSignal,
) -> OwnedPoller {
    let stop = Rc::new(Cell::new(false));
    let abort = Rc::new(RefCell::new(None::<web_sys::AbortController>));
    let (stopped, aborts) = (stop.clone(), abort.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let mut cursor = after.map(panel_core::number::digits);
        let mut open = false;
        while !stopped.get() {
            let mut next = url.clone();
            if let Some(cursor) = &cursor {
                next.push_str("&after=");
                next.push_str(cursor);
            }
            if !open {
                next.push_str("&wait=0");
            }
            let began = js_sys::Date::now();
            let controller = web_sys::AbortController::new().ok();
            let signal = controller.as_ref().map(|c| c.signal());
            *aborts.borrow_mut() = controller.clone();
            let _timeout = controller
                .map(|c| gloo_timers::callback::Timeout::new(POLL_TIMEOUT_MS, move || c.abort()));
            let mut request = Request::get(&next);
            (request.signal, request.cookies) = (signal, with_credentials);
            let answer = match request.send().await {
                Ok(response) if (200..300).contains(&response.status()) => {
                    text(&response).await.ok()
                }
                Ok(response) if (400..500).contains(&response.status()) => {
                    if !stopped.get() {
                        on(StreamSignal::Error(ReadyState::Closed));
                    }
                    return;
                }
                _ => None,
            };
            if stopped.get() {
                return;
            }
            let events = answer.as_deref().and_then(poll_answer);
            let Some((events, next_cursor)) = events else {
                open = false;
                on(StreamSignal::Error(ReadyState::Connecting));
                sleep(POLL_RETRY_MS).await;
                continue;
            };
            let first = !std::mem::replace(&mut open, true);
            if first {
                on(StreamSignal::Opened);
            }
            // A bridge that answers a waiting poll at once without moving the
            // cursor (a `resync` it repeats) would make this loop spin: it
            // waits a little instead.
            let spinning = !first
                && next_cursor
                    .as_ref()
                    .is_none_or(|c| Some(c) == cursor.as_ref());
            for (name, data, id) in events {
                if stopped.get() {
                    return;
                }
                on(StreamSignal::Event(name, data, id));
            }
            cursor = next_cursor.or(cursor);
            if spinning && js_sys::Date::now() - began < 50.0 {
                sleep(POLL_RETRY_MS / 4).await;
            }
        }
    });
    OwnedPoller { stop, abort }
}

/// A poll's answer (`{"events":[{"event","id","data"}],"cursor"}`), read by
/// the browser's own JSON: the events the panel knows, and the next cursor.
#[allow(clippy::type_complexity)]
fn poll_answer(text: &str) -> Option<(Vec<(&'static str, String, String)>, Option<String>)> {
    let answer = js_sys::JSON::parse(text).ok()?;
    let field = property;
    let events: js_sys::Array = field(&answer, "events")?.dyn_into().ok()?;
    let mut known = Vec::new();
    for event in events.iter() {
        let name = field(&event, "event").and_then(|n| n.as_string());
        let Some(name) =
            name.and_then(|n| panel_core::wire::EVENT_NAMES.into_iter().find(|k| *k == n))
        else {
            continue; // a newer bridge's event: ignored, as an EventSource would
        };
        let data = field(&event, "data")
            .and_then(|d| d.as_string())
            .unwrap_or_default();
        let id = field(&event, "id")
            .and_then(|i| i.as_string())
            .unwrap_or_default();
        known.push((name, data, id));
    }
    Some((known, field(&answer, "cursor").and_then(|c| c.as_string())))
}

/// An event's `key`: a KeyboardEvent's or a StorageEvent's, `None` for
/// an event without one. Read by name (see [`text_property`]): no import
/// of its own, and no check of the type (an `instanceof` import of its own).
pub fn key_of(event: &web_sys::Event) -> Option<String> {
    text_property(event, "key")
}

/// Waits `ms` milliseconds (`embed::later`).
async fn sleep(ms: u32) {
    let _ = wasm_bindgen_futures::JsFuture::from(crate::embed::later(ms)).await;
}

/// A trial EventSource on `url`: `done(true)` at its first event,
/// `done(false)` on an error or past `deadline_ms` (perhaps both: the caller
/// acts on the first). Closed when the caller drops it.
pub fn open_trial(
    url: &str,
    with_credentials: bool,
    deadline_ms: u64,
    done: Rc<dyn Fn(bool)>,
) -> Option<(OwnedEventSource, Timeout)> {
    let on = done.clone();
    let on: OnSignal = Rc::new(move |signal| match signal {
        StreamSignal::Opened => {}
        StreamSignal::Event(..) => on(true),
        StreamSignal::Error(_) => on(false),
    });
    let source = open_event_source(url, with_credentials, on)?;
    let deadline = Timeout::new(deadline_ms.min(i32::MAX as u64) as u32, move || done(false));
    Some((source, deadline))
}

/// Opens an EventSource on `url` (with the browser's cookies when
/// `with_credentials`), with listeners for `open`, `error` and the bridge's
/// named events, each handed to `on`. `None` (logged) when the browser
/// refuses to create it.
pub fn open_event_source(
    url: &str,
    with_credentials: bool,
    on: OnSignal,
) -> Option<OwnedEventSource> {
    let init = web_sys::EventSourceInit::new();
    set_property(
        &init,
        "withCredentials",
        &JsValue::from_bool(with_credentials),
    );
    let source = match EventSource::new_with_event_source_init_dict(url, &init) {
        Ok(source) => source,
        Err(error) => {
            // Not the query: it may hold a token.
            let path = url.split('?').next().unwrap_or_default();
            log_thrown(
                false,
                &["could not create an EventSource for ", path].concat(),
                &error,
            );
            return None;
        }
    };
    let target: &EventTarget = source.as_ref();
    let mut listeners = Vec::with_capacity(6);
    let opened = on.clone();
    listeners.push(Listener::new(target, "open", move |_| {
        opened(StreamSignal::Opened)
    }));
    let (failed, watched) = (on.clone(), source.clone());
    listeners.push(Listener::new(target, "error", move |_| {
        // Read by name, as `text_property` does (0 connecting, 1 open).
        let state = property(&watched, "readyState").and_then(|s| s.as_f64());
        let state = match state {
            Some(0.0) => ReadyState::Connecting,
            Some(1.0) => ReadyState::Open,
            _ => ReadyState::Closed,
        };
        failed(StreamSignal::Error(state));
    }));
    for name in panel_core::wire::EVENT_NAMES {
        let on = on.clone();
        listeners.push(Listener::new(target, name, move |event| {
            // The source is the panel's own: its named events are MessageEvents.
            let data = text_property(&event, "data").unwrap_or_default();
            let id = text_property(&event, "lastEventId").unwrap_or_default();
            on(StreamSignal::Event(name, data, id));
        }));
    }
    Some(OwnedEventSource::new(source, listeners))
}

impl Drop for OwnedEventSource {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Wall-clock milliseconds (`Date.now()`). The watchdog measures silence
/// with it: `performance.now()` stands still while a laptop sleeps on some
/// systems, so a stream that died under a closed lid would look fresh for a
/// whole deadline after waking. A clock set back only makes a silence look
/// shorter; one set forward at worst replaces a healthy stream, caught up.
pub fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

/// Uniform in `[0, 1)`.
pub fn random() -> f64 {
    js_sys::Math::random()
}

pub fn log_info(text: &str) {
    crate::embed::log(0, text, &JsValue::UNDEFINED, false);
}

pub fn log_warn(text: &str) {
    crate::embed::log(1, text, &JsValue::UNDEFINED, false);
}

pub fn log_error(text: &str) {
    crate::embed::log(2, text, &JsValue::UNDEFINED, false);
}

/// A new `tag` element of `document` with the class `class` (none if empty),
/// for the parts of the panel built on the DOM directly.
pub fn element(document: &web_sys::Document, tag: &str, class: &str) -> Option<web_sys::Element> {
    let element = document.create_element(tag).ok()?;
    if !class.is_empty() {
        element.attr("class", class);
    }
    Some(element)
}

/// The DOM calls of the panel's own DOM code, each through one copy of the
/// call and of dropping what it threw, where each caller's own `.ok()` of
/// the `Result` was both (docs/BENCHMARKS.md, size ledger).
pub trait Dom {
    /// `setAttribute`: whether it was set.
    fn attr(&self, name: &str, value: &str) -> Option<()>;
    /// `removeAttribute`.
    fn unattr(&self, name: &str) -> Option<()>;
    /// `appendChild`.
    fn add(&self, child: &web_sys::Node) -> Option<()>;
    /// `querySelector`: the first match inside, if any (and the selector valid).
    fn find(&self, selector: &str) -> Option<web_sys::Element>;
    /// `closest`: itself or its nearest ancestor that matches, if any.
    fn ancestor(&self, selector: &str) -> Option<web_sys::Element>;
    /// `matches`: false for an invalid selector too.
    fn is(&self, selector: &str) -> bool;
}

impl Dom for web_sys::Element {
    #[inline(never)]
    fn attr(&self, name: &str, value: &str) -> Option<()> {
        self.set_attribute(name, value).ok()
    }

    #[inline(never)]
    fn unattr(&self, name: &str) -> Option<()> {
        self.remove_attribute(name).ok()
    }

    #[inline(never)]
    fn add(&self, child: &web_sys::Node) -> Option<()> {
        self.append_child(child).ok().map(drop)
    }

    #[inline(never)]
    fn find(&self, selector: &str) -> Option<web_sys::Element> {
        self.query_selector(selector).ok().flatten()
    }

    #[inline(never)]
    fn ancestor(&self, selector: &str) -> Option<web_sys::Element> {
        self.closest(selector).ok().flatten()
    }

    #[inline(never)]
    fn is(&self, selector: &str) -> bool {
        self.matches(selector).unwrap_or(false)
    }
}

/// `Reflect.get(target, name)`: the property, unless reading it threw. One
/// copy of the call for every caller (see `Dom`).
#[inline(never)]
pub fn property(target: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(name)).ok()
}

/// A property that is a string, read by its name (`None` for anything
/// else): one import, `Reflect.get`, for every getter read this way, where
/// web-sys' getters (`statusText`, `lastEventId`, `key`, …) were an import
/// and its glue each.
#[inline(never)]
pub fn text_property(target: &JsValue, name: &str) -> Option<String> {
    property(target, name)?.as_string()
}

/// Whether a property, read by its name, is truthy (as [`text_property`]).
pub fn flag_property(target: &JsValue, name: &str) -> bool {
    property(target, name).is_some_and(|v| v.is_truthy())
}

/// `Reflect.set(target, name, value)`, whatever came of it.
#[inline(never)]
pub fn set_property(target: &JsValue, name: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(name), value);
}

/// Logs `text` and the value the browser threw, as the console shows it
/// (the release build does not format values with `{:?}`).
pub fn log_thrown(warn: bool, text: &str, thrown: &JsValue) {
    crate::embed::log(if warn { 1 } else { 2 }, text, thrown, true);
}
