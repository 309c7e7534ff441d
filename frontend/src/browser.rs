//! Owned handles on browser resources: each releases what it holds when dropped.

use panel_core::ReadyState;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, EventTarget, MessageEvent};

/// An event listener, removed from its target on drop.
pub struct Listener {
    target: EventTarget,
    name: &'static str,
    closure: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    /// Adds `handler` for `name` events on `target`.
    pub fn new(
        target: &EventTarget,
        name: &'static str,
        handler: impl FnMut(web_sys::Event) + 'static,
    ) -> Listener {
        let closure = Closure::<dyn FnMut(web_sys::Event)>::new(handler);
        if let Err(error) =
            target.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
        {
            log_thrown(false, &format!("could not listen for {name}"), &error);
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

/// What an EventSource reports, as the glue hands it on.
pub enum StreamSignal<'a> {
    Opened,
    /// `error`, in this `readyState`.
    Error(ReadyState),
    /// One of the bridge's named events.
    Event(&'static str, &'a MessageEvent),
}

/// Opens an EventSource on `url` (with the browser's cookies when
/// `with_credentials`), with listeners for `open`, `error` and the bridge's
/// named events, each handed to `on`. `None` (logged) when the browser
/// refuses to create it.
pub fn open_event_source(
    url: &str,
    with_credentials: bool,
    on: impl Fn(StreamSignal) + 'static,
) -> Option<OwnedEventSource> {
    let init = web_sys::EventSourceInit::new();
    init.set_with_credentials(with_credentials);
    let source = match EventSource::new_with_event_source_init_dict(url, &init) {
        Ok(source) => source,
        Err(error) => {
            // Not the query: it may hold a token.
            let path = url.split('?').next().unwrap_or_default();
            log_thrown(
                false,
                &format!("could not create an EventSource for {path}"),
                &error,
            );
            return None;
        }
    };
    let on = Rc::new(on);
    let target: &EventTarget = source.as_ref();
    let mut listeners = Vec::with_capacity(6);
    let opened = on.clone();
    listeners.push(Listener::new(target, "open", move |_| {
        opened(StreamSignal::Opened)
    }));
    let (failed, watched) = (on.clone(), source.clone());
    listeners.push(Listener::new(target, "error", move |_| {
        let state = match watched.ready_state() {
            EventSource::CONNECTING => ReadyState::Connecting,
            EventSource::OPEN => ReadyState::Open,
            _ => ReadyState::Closed,
        };
        failed(StreamSignal::Error(state));
    }));
    for name in panel_core::wire::EVENT_NAMES {
        let on = on.clone();
        listeners.push(Listener::new(target, name, move |event| {
            if let Some(event) = event.dyn_ref::<MessageEvent>() {
                on(StreamSignal::Event(name, event));
            }
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
    web_sys::console::info_1(&format!("[discussion-panel] {text}").into());
}

pub fn log_warn(text: &str) {
    web_sys::console::warn_1(&format!("[discussion-panel] {text}").into());
}

pub fn log_error(text: &str) {
    web_sys::console::error_1(&format!("[discussion-panel] {text}").into());
}

/// A new `tag` element of `document` with the class `class` (none if empty),
/// for the parts of the panel built on the DOM directly.
pub fn element(document: &web_sys::Document, tag: &str, class: &str) -> Option<web_sys::Element> {
    let element = document.create_element(tag).ok()?;
    if !class.is_empty() {
        element.set_class_name(class);
    }
    Some(element)
}

/// Logs `text` and the value the browser threw, as the console shows it
/// (the release build does not format values with `{:?}`).
pub fn log_thrown(warn: bool, text: &str, thrown: &JsValue) {
    let text = JsValue::from(format!("[discussion-panel] {text}:"));
    if warn {
        web_sys::console::warn_2(&text, thrown);
    } else {
        web_sys::console::error_2(&text, thrown);
    }
}
