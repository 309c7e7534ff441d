//! Owned handles on browser resources: each releases what it holds when dropped.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, EventTarget};

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
            log_error(&format!("could not listen for {name}: {error:?}"));
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

impl Drop for OwnedEventSource {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Monotonic milliseconds (`performance.now()`), so wall-clock jumps do not
/// confuse the watchdog.
pub fn now_ms() -> u64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
        .max(0.0) as u64
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
