//! The JavaScript API, for pages that are not Leptos apps: the
//! `<discussion-panel>` custom element, and `mountDiscussionPanel`.
//!
//! ```js
//! import init, { mountDiscussionPanel } from "/discussion-panel.js";
//! await init(); // defines <discussion-panel> too
//! const panel = mountDiscussionPanel(element, { bridgeUrl: "", channel: "general" });
//! panel.addEventListener("unreadchange", (e) => badge(e.detail.count));
//! panel.setChannel("design");
//! panel.unmount();
//! ```
//!
//! A panel mounted from script stays mounted until `unmount()` or until its
//! element leaves the document (having been in it): the page keeps its
//! handle until then (`keep`), so a host that does not (the one-liner above
//! without `const panel =`) loses nothing when its garbage is collected.
//!
//! Both report to the host with bubbling, composed `CustomEvent`s dispatched on
//! the element they render into: `statuschange` `{status, reason, transport}`, `message`
//! `{message}`, `messageupdate` `{message}`, `messagedelete` `{id, channel_id}`,
//! `reaction` `{message_id, channel_id, reactions}`, `discontinuity`
//! `{channel_id}`, `unreadchange` `{count, first_unread_id}`, `authexpired`, `presencechange`
//! `{users, count}` and `typingchange` `{users}`.

use crate::auth::{Auth, Token};
use crate::browser::{log_warn, property, set_property};
use crate::panel::{DiscussionPanel, Replies, StatusChange, Text, Unread};
use leptos::prelude::*;
use panel_core::{Message, MessageId, Options};
use std::any::Any;
use std::sync::{Arc, Mutex};
use wasm_bindgen::prelude::*;

// The page keeps it while its panel is mounted (see `keep`).
/// A mounted panel.
#[wasm_bindgen]
pub struct PanelHandle {
    /// The mount; dropping it unmounts the panel and releases its connection.
    mounted: Option<Box<dyn Any>>,
    /// The element it renders into, which its events are dispatched on.
    element: web_sys::HtmlElement,
    /// The channel shown, settable from JavaScript.
    channel: Shown,
    retry: Trigger,
    /// Replies the host sends on the reader's behalf.
    outgoing: Replies,
    auth: Auth,
    /// Aborted with its panel: the listeners added through this handle go
    /// (a later panel on the same element is not theirs).
    listening: Option<web_sys::AbortController>,
}

#[wasm_bindgen]
impl PanelHandle {
    /// Removes the panel and closes its stream, timers and listeners (once:
    /// a handle whose panel went, replaced on its element, forgets nothing).
    pub fn unmount(&mut self) {
        if self.mounted.take().is_some() {
            forget(&self.element);
        }
        if let Some(listening) = &self.listening {
            listening.abort();
        }
    }

    /// Switches the panel to another channel.
    #[wasm_bindgen(js_name = setChannel)]
    pub fn set_channel(&self, channel: String) {
        self.channel.set(channel);
    }

    /// Tries again now, as the Retry button does (after the host refreshed
    /// its sign-in, say).
    pub fn retry(&self) {
        self.retry.notify();
    }

    /// Sends a reply, as if the reader had typed it (it goes through the
    /// outbox: once Live, once stored, shown once).
    pub fn send(&self, text: String) {
        if self.mounted.is_none() {
            return log_warn(crate::panel::NOT_SENT);
        }
        self.outgoing.send(text);
    }

    /// Replaces the token: a string, or a function returning one (or a
    /// promise of one), called before every request to the bridge.
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: JsValue) {
        self.auth.set_token(Token::from_js(&token));
    }

    /// Listens for the panel's events (`statuschange`, `message`,
    /// `unreadchange`, `authexpired`) on the element it renders into.
    /// (Typed by the event map in frontend/discussion-panel.d.ts.)
    #[wasm_bindgen(js_name = addEventListener, skip_typescript)]
    pub fn add_event_listener(&self, kind: &str, listener: &js_sys::Function) {
        if let Some(listening) = &self.listening {
            listen(&self.element, kind, listener, &listening.signal());
        }
    }

    #[wasm_bindgen(js_name = removeEventListener, skip_typescript)]
    pub fn remove_event_listener(&self, kind: &str, listener: &js_sys::Function) {
        let _ = (self.element).remove_event_listener_with_callback(kind, listener);
    }
}

/// A handle freed without `unmount()` (by `free()`, or collected) unmounts
/// its panel all the same, its listeners with it.
impl Drop for PanelHandle {
    fn drop(&mut self) {
        self.unmount();
    }
}

/// The channel a mounted panel shows: set from JavaScript, read by the
/// panel (tracked) and by its events. Not an `RwSignal<String>`: the panel
/// has no other signal of a `String`, and each type of signal is its own
/// copy of Leptos' signal code.
#[derive(Clone)]
struct Shown(Arc<Mutex<String>>, Trigger);

impl Shown {
    fn new(channel: String) -> Self {
        Shown(Arc::new(Mutex::new(channel)), Trigger::new())
    }

    fn set(&self, channel: String) {
        if let Ok(mut shown) = self.0.lock() {
            *shown = channel;
        }
        self.1.notify();
    }

    fn get_untracked(&self) -> String {
        self.0.lock().map(|shown| shown.clone()).unwrap_or_default()
    }

    /// The panel's `channel` prop: read in its effect, which then follows.
    fn text(&self) -> Text {
        let shown = self.clone();
        Text::derive(move || {
            shown.1.track();
            shown.get_untracked()
        })
    }
}

/// Mounts a panel into `element`. `options`: `channel` (required),
/// `bridgeUrl` (default: same origin), `token` (a string or a function), and
/// any knob of the README's table in camelCase (`backoffBaseMs`,
/// `withCredentials`, …). Unknown options are an error.
#[wasm_bindgen(js_name = mountDiscussionPanel, unchecked_return_type = "PanelHandle")]
pub fn mount_discussion_panel(
    element: web_sys::HtmlElement,
    #[wasm_bindgen(unchecked_param_type = "DiscussionPanelOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    mount(element, options, true)
}

/// Mounts a panel. `strict`: a bad option is an error; otherwise (an
/// element's attributes, which a page may get wrong) it is logged and left out.
fn mount(
    element: web_sys::HtmlElement,
    options: JsValue,
    strict: bool,
) -> Result<JsValue, JsValue> {
    let read = |key: &str| {
        crate::browser::property(&options, key).filter(|v| !v.is_undefined() && !v.is_null())
    };
    let channel = (read("channel").and_then(|v| v.as_string()))
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            JsValue::from_str("mountDiscussionPanel: options.channel (a string) is required")
        })?;
    let bridge_url = read("bridgeUrl")
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let token = read("token").map_or(Token::None, |v| Token::from_js(&v));
    let mut engine_options = Options::default();
    if options.is_object() {
        for key in js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            if matches!(key.as_str(), "channel" | "bridgeUrl" | "token") {
                continue;
            }
            let Some(value) = read(&key) else {
                continue;
            };
            // Flags and numbers are written out by JavaScript (`true`, `1.5`):
            // the panel carries no float formatting of its own.
            let value = (value.as_string())
                .or_else(|| js_sys::JSON::stringify(&value).ok()?.as_string())
                .unwrap_or_default();
            match engine_options.set(&key, &value) {
                Ok(()) => {}
                Err(problem) if strict => {
                    return Err(JsValue::from_str(
                        &["mountDiscussionPanel: ", &problem].concat(),
                    ))
                }
                Err(problem) => log_warn(&["<discussion-panel>: ignored: ", &problem].concat()),
            }
        }
    }
    let auth = Auth::new(token, engine_options.with_credentials);
    // The handle's signals belong to the mount: they go when it unmounts.
    let slot = std::rc::Rc::new(std::cell::Cell::new(None));
    let give = slot.clone();
    let (mount_auth, host) = (auth.clone(), element.clone());
    // The panel replaces what the element held (a placeholder, say).
    element.set_text_content(None);
    let mounted = leptos::mount::mount_to(element.clone(), move || {
        let channel_signal = Shown::new(channel);
        let retry = Trigger::new();
        let outgoing = Replies::new();
        give.set(Some((channel_signal.clone(), retry, outgoing.clone())));
        // Each event's closure holds the element (a stored value of its
        // type was its own copy of Leptos' stored-value code).
        let host = send_wrapper::SendWrapper::new(host);
        let on_status = {
            let host = host.clone();
            move |change: StatusChange| {
                let detail = object(&[
                    ("status", change.label.as_attr().into()),
                    ("reason", change.reason.map_or(JsValue::NULL, JsValue::from)),
                    ("transport", change.transport.as_str().into()),
                ]);
                dispatch(&host, "statuschange", detail);
            }
        };
        // One closure type for both events of a whole message (each type
        // is its own copy of the hook's code).
        let whole = |kind: &'static str| {
            let host = host.clone();
            move |message: Arc<Message>| {
                let detail = object(&[("message", message_object(&message))]);
                dispatch(&host, kind, detail);
            }
        };
        let on_message = whole("message");
        let on_unread = {
            let host = host.clone();
            move |unread: Unread| {
                let first = unread.first_unread_id;
                let detail = object(&[
                    ("count", (unread.count as u32).into()),
                    (
                        "first_unread_id",
                        first.map_or(JsValue::NULL, |id| id.to_string().into()),
                    ),
                ]);
                dispatch(&host, "unreadchange", detail);
            }
        };
        let on_update = whole("messageupdate");
        let on_delete = {
            let (host, shown) = (host.clone(), channel_signal.clone());
            move |id: MessageId| {
                let channel = shown.get_untracked();
                let detail = [
                    ("id", id.to_string().into()),
                    ("channel_id", channel.into()),
                ];
                dispatch(&host, "messagedelete", object(&detail));
            }
        };
        let on_reaction = {
            let host = host.clone();
            move |message: Arc<Message>| {
                let detail = [
                    ("message_id", message.id.to_string().into()),
                    ("channel_id", message.channel_id.as_str().into()),
                    ("reactions", reactions_array(&message)),
                ];
                dispatch(&host, "reaction", object(&detail));
            }
        };
        let on_discontinuity = {
            let (host, shown) = (host.clone(), channel_signal.clone());
            move |()| {
                let channel = shown.get_untracked();
                dispatch(
                    &host,
                    "discontinuity",
                    object(&[("channel_id", channel.into())]),
                );
            }
        };
        let on_presence = {
            let host = host.clone();
            move |presence: panel_core::people::Presence| {
                let detail = [
                    ("users", names(&presence.users)),
                    ("count", presence.count.into()),
                ];
                dispatch(&host, "presencechange", object(&detail));
            }
        };
        let on_typing = {
            let host = host.clone();
            move |users: Vec<String>| {
                dispatch(&host, "typingchange", object(&[("users", names(&users))]));
            }
        };
        let on_auth_expired = move |()| dispatch(&host, "authexpired", JsValue::NULL);
        view! {
            <DiscussionPanel
                bridge_url
                channel=channel_signal.text()
                options=engine_options
                auth=mount_auth
                retry
                outgoing
                on_status
                on_message
                on_unread
                on_update
                on_delete
                on_reaction
                on_discontinuity
                on_auth_expired
                on_presence
                on_typing
            />
        }
    });
    let (channel_signal, retry, outgoing) = slot.take().expect("mounted at once");
    let handle = JsValue::from(PanelHandle {
        mounted: Some(Box::new(mounted)),
        element: element.clone(),
        channel: channel_signal,
        retry,
        outgoing,
        auth,
        listening: web_sys::AbortController::new().ok(),
    });
    keep(&handle, &element);
    Ok(handle)
}

/// A JavaScript array of these names.
fn names(names: &[String]) -> JsValue {
    let array = js_sys::Array::new();
    for name in names {
        array.push(&JsValue::from(name));
    }
    array.into()
}

/// Dispatches a bubbling, composed `CustomEvent` on `element` (through the
/// element's script: one import where the event's init and dispatch took six).
fn dispatch(element: &web_sys::HtmlElement, kind: &str, detail: JsValue) {
    fire(element, kind, &detail);
}

/// A plain JavaScript object of these fields.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        crate::browser::set_property(&object, name, value);
    }
    object.into()
}

/// A message as the bridge sends it, as a JavaScript object (ids as strings).
fn message_object(message: &Message) -> JsValue {
    object(&[
        ("id", message.id.to_string().into()),
        ("channel_id", message.channel_id.as_str().into()),
        ("author", message.author.as_str().into()),
        ("content", message.content.as_str().into()),
        ("timestamp", message.timestamp.as_str().into()),
        (
            "edited_at",
            message
                .edited_at
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from),
        ),
        (
            "version",
            message
                .version
                .map_or(JsValue::NULL, |v| v.to_string().into()),
        ),
        ("reactions", reactions_array(message)),
    ])
}

/// A message's reactions as `[{emoji, count, users}]`.
fn reactions_array(message: &Message) -> JsValue {
    let array = js_sys::Array::new();
    for reaction in &message.reactions {
        let users = names(&reaction.users);
        array.push(&object(&[
            ("emoji", reaction.emoji.as_str().into()),
            ("count", reaction.count.into()),
            ("users", users),
        ]));
    }
    array.into()
}

// The custom element is a class that extends `HTMLElement`, which only
// JavaScript can declare; it mounts and drives the panel through the API above.
// (Its comments are here, not in the script, which the page downloads.)
// - The constructor: a token set before the element was defined is an own
//   property that would hide the accessor; it takes it over.
// - attributeChangedCallback: before the element is in the page (or while it
//   upgrades) the attributes are read at connection time; a change of any
//   option but the channel mounts again, once, after this task's changes.
// - The token's setter: a first token enables replying, so it mounts again.
// - keep/forget: see the declarations below. `isConnected` is looked at
//   once a second rather than on a MutationObserver of the document: that
//   sees neither into shadow roots nor past a microtask (a move with an
//   `await` in between would look like leaving).
// - style: the document's stylesheets do not reach into a shadow root, so a
//   panel found in one (at its mount, and on each check) gives that root a
//   `<link>` to `panel.css` beside this module (`../../` from its snippet
//   folder), once, as the root's first child, so the host's own sheets in
//   the root come after it. A link rather than an adopted sheet: no fetch
//   of our own, nothing to wait for, and an adopted sheet would come after
//   the host's. Allowed by a `style-src 'self'` policy.
#[wasm_bindgen(inline_js = r#"
export function defineElement(mount, attributes) {
  if (!globalThis.customElements || customElements.get("discussion-panel")) return;
  const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  class DiscussionPanelElement extends HTMLElement {
    static get observedAttributes() { return attributes; }
    constructor() {
      super();
      if (Object.prototype.hasOwnProperty.call(this, "token")) {
        const token = this.token;
        delete this.token;
        this._token = token;
      }
    }
    connectedCallback() { this._live = true; this._start(); }
    disconnectedCallback() { this._live = false; this._stop(); }
    attributeChangedCallback(name, before, after) {
      if (before === after || !this._live) return;
      if (!this._handle) return this._start();
      if (name === "channel" && after) return this._handle.setChannel(after);
      if (this._restarting) return;
      this._restarting = true;
      queueMicrotask(() => {
        this._restarting = false;
        this._stop();
        this._start();
      });
    }
    get token() { return this._token; }
    set token(value) {
      const had = this._token != null;
      this._token = value;
      if (!this._handle) return;
      if (had) this._handle.setToken(value);
      else { this._stop(); this._start(); }
    }
    retry() { if (this._handle) this._handle.retry(); }
    send(text) {
      if (this._handle && !this._restarting) this._handle.send(text);
      else (this._early ||= []).push(text);
    }
    setChannel(name) { this.setAttribute("channel", name); }
    _start() {
      // While restarting, the restart starts it (with the replies kept).
      if (this._handle || this._restarting || !this._live || !this.getAttribute("channel")) return;
      const options = {};
      for (const name of attributes) {
        const value = this.getAttribute(name);
        if (value !== null) options[camel(name)] = value;
      }
      if (this._token !== undefined) options.token = this._token;
      const call = { element: this, options };
      try {
        mount(call);
        if ("error" in call) throw call.error;
        this._handle = call.handle;
      } catch (error) { return console.error("[discussion-panel]", error); }
      const early = this._early || [];
      this._early = null;
      early.forEach((text) => this._handle.send(text));
    }
    _stop() {
      const handle = this._handle;
      this._handle = null;
      if (handle) { handle.unmount(); handle.free(); }
    }
  }
  customElements.define("discussion-panel", DiscussionPanelElement);
}
const kept = new Map();
let watch;
const css = new URL("../../panel.css", import.meta.url).href;
const style = (root) => root.host && !root.querySelector(`link[href="${css}"]`) &&
  root.prepend(Object.assign(document.createElement("link"), { rel: "stylesheet", href: css }));
const check = () => kept.forEach((e, element) => {
  if (element.isConnected) e.seen = style(element.getRootNode()) || true;
  else if (e.seen) try { e.handle.unmount(); } catch { forget(element); }
});
export function keep(handle, element) {
  try { kept.get(element)?.handle.unmount(); } catch {}
  const seen = element.isConnected;
  if (seen) style(element.getRootNode());
  kept.set(element, { handle, seen });
  setTimeout(check);
  watch ||= setInterval(check, 1000);
}
export const reachable = (url) => fetch(url, { mode: "no-cors" });
export const listen = (element, kind, listener, signal) =>
  element.addEventListener(kind, listener, { signal });
export async function request(method, url, token, body, signal, cookies) {
  try {
    const headers = {};
    if (token !== undefined) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["content-type"] = "application/json";
    const credentials = cookies ? "include" : "same-origin";
    return await fetch(new Request(url, { method, headers, body, signal, credentials }));
  } catch (e) { throw String(e); }
}
export async function text(response) {
  try { return await response.text(); } catch (e) { throw String(e); }
}
// Intl formatters are built once per style for the page's life: building
// one costs far more than using it (see content.rs).
const styles = {
  t: { timeStyle: "short" },
  T: { timeStyle: "medium" },
  d: { dateStyle: "short" },
  D: { dateStyle: "long" },
  F: { dateStyle: "full", timeStyle: "short" },
  L: { dateStyle: "medium", timeStyle: "medium" },
  W: { weekday: "long", day: "numeric", month: "long" },
};
const formats = {};
let relative;
export function dateText(style, date) {
  style = String.fromCharCode(style);
  try {
    if (style == "I") return date.toISOString();
    formats[style] ||= new Intl.DateTimeFormat([], styles[style] || { dateStyle: "long", timeStyle: "short" });
    return formats[style].format(date);
  } catch { return ""; }
}
export function relativeText(value, unit) {
  try {
    relative ||= new Intl.RelativeTimeFormat([], { numeric: "auto" });
    return relative.format(value, unit);
  } catch { return ""; }
}
export function fire(element, kind, detail) {
  try { element.dispatchEvent(new CustomEvent(kind, { bubbles: true, composed: true, detail })); } catch {}
}
// What the reader sees of a panel's list: "v" when they can (the page
// visible, the window focused) or "-"; "^" when the unread divider is above
// the view or "-"; then the id of the newest message whose row's end is on
// screen. With `open`, a divider above the view is first brought to its
// top. The jump bar (`bar`) shows while the divider is above the view: how
// many messages of others came from there on, and since when.
export function sight(list, open, bar) {
  const box = list.getBoundingClientRect(), rows = list.children;
  const divider = list.querySelector("[data-unread-divider]");
  const top = () => divider.getBoundingClientRect().top - box.top;
  if (open && divider && top() < -1) list.scrollTop += top();
  // The part of the list on screen: none when the host hides the panel or
  // scrolled it out of the page.
  const from = Math.max(box.top, 0), to = Math.min(box.bottom, innerHeight);
  let seen = "";
  for (let i = rows.length; i--; ) {
    const row = rows[i].getBoundingClientRect(), id = rows[i].dataset.messageId;
    if (id && row.bottom <= to + 2) { if (row.bottom > from) seen = id; break; }
  }
  const sees = document.visibilityState == "visible" && document.hasFocus() && to > from;
  const after = list.querySelectorAll("[data-unread-divider]~li:not([data-own])"), n = after.length;
  bar.hidden = !(divider && top() < -1 && n);
  if (n) bar.textContent = n + (n > 1 ? " new messages" : " new message") + " since " +
    after[0].querySelector(".dp-time").textContent + " — jump";
  return (sees ? "v" : "-") + seen;
}
// What the reader sees of a list changes when its panel is hidden, shown,
// or scrolled in or out of the page: the list hears a scroll then.
export const observe = (list) => new IntersectionObserver(
  () => list.dispatchEvent(new Event("scroll")), { threshold: [0, 0.5, 1] }).observe(list);
export const log = (level, text, value, both) => {
  text = "[discussion-panel] " + text;
  level = ["info", "warn", "error"][level];
  both ? console[level](text + ":", value) : console[level](text);
};
export const header = (response, name) => response.headers.get(name);
export const later = (ms) => new Promise((done) => setTimeout(done, ms));
export const lock = (name, options, granted) =>
  navigator.locks?.request(name, options, () => new Promise(granted));
export function forget(element) {
  kept.delete(element);
  if (!kept.size) watch = clearInterval(watch);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = defineElement)]
    fn define_element(mount: &js_sys::Function, attributes: &js_sys::Array);
    /// Keeps `handle` (the page's; one per element: a second mount on it
    /// unmounts the first) until its panel is unmounted or `element` is
    /// found out of the document (in a shadow root too) on one of the
    /// checks a second apart, which unmounts it. One never in the document
    /// yet waits to be put there (a check after this task sees one put
    /// there in it); a move between two checks is no leaving. The checks
    /// stop with the last panel.
    fn keep(handle: &JsValue, element: &web_sys::HtmlElement);
    /// `element.dispatchEvent(new CustomEvent(kind, { bubbles, composed,
    /// detail }))`; what it throws is dropped, as the listeners' own errors
    /// are reported by the browser, not thrown.
    fn fire(element: &web_sys::HtmlElement, kind: &str, detail: &JsValue);
    /// Lets go of the handle of `element`'s panel (unmounted).
    fn forget(element: &web_sys::HtmlElement);
    /// What the reader sees of the list (see the script's `sight`).
    pub(crate) fn sight(list: &web_sys::Element, open: bool, bar: &web_sys::Element) -> String;
    /// Has `list` hear a scroll when it is hidden, shown, or scrolled in or
    /// out of the page (what the reader sees of it changed).
    pub(crate) fn observe(list: &web_sys::Element);
    /// `element.addEventListener(kind, listener, { signal })`.
    fn listen(
        element: &web_sys::HtmlElement,
        kind: &str,
        listener: &js_sys::Function,
        signal: &web_sys::AbortSignal,
    );
    /// A `no-cors` GET of `url`: its answer cannot be read, but it arrives
    /// (the promise resolves) from a server that is up, whatever its CORS
    /// answer (see `connection::fetch_failure`).
    pub(crate) fn reachable(url: &str) -> js_sys::Promise;
    /// `fetch` of a `Request` for `url` (made absolute, as a page's own
    /// wrapper of `fetch` may expect) with `method`, the token as a Bearer
    /// header, a JSON `body` (or `undefined`), the abort `signal`, and the
    /// browser's cookies or not (see `browser::Request`): the response,
    /// whatever its status, or a rejection with what was thrown as text
    /// (thrown at once too: nothing escapes into the wasm).
    pub(crate) fn request(
        method: &str,
        url: &str,
        token: Option<&str>,
        body: &JsValue,
        signal: Option<&web_sys::AbortSignal>,
        cookies: bool,
    ) -> js_sys::Promise;
    /// `date` written by the `Intl.DateTimeFormat` of `style` (see
    /// `content::write_date`; `f` and any other letter are a long date and a
    /// short time), built on first use; `I` is `toISOString()`. Empty if it
    /// throws.
    #[wasm_bindgen(js_name = dateText)]
    pub(crate) fn date_text(style: u8, date: &js_sys::Date) -> String;
    /// `value` `unit`s from now ("in 2 hours") by the one
    /// `Intl.RelativeTimeFormat` (`numeric: "auto"`); empty if it throws.
    #[wasm_bindgen(js_name = relativeText)]
    pub(crate) fn relative_text(value: f64, unit: &str) -> String;
    /// `console.info`, `warn` or `error` (`level` 0, 1, 2) of `text` with
    /// the panel's tag in front, as every console line has it, and, when
    /// `both`, a colon and `value` after it: one import for the four
    /// `console` calls the panel makes.
    pub(crate) fn log(level: u8, text: &str, value: &JsValue, both: bool);
    /// `response.headers.get(name)` (one import where the getter and `get`
    /// were two).
    pub(crate) fn header(response: &web_sys::Response, name: &str) -> Option<String>;
    /// A promise that resolves `ms` milliseconds from now (`setTimeout`).
    pub(crate) fn later(ms: u32) -> js_sys::Promise;
    /// `navigator.locks.request(name, options, callback)`, `None` without
    /// Web Locks. The callback holds the lock until the promise it returns
    /// resolves: it calls `granted` with that promise's `resolve`, which
    /// lets the lock go (see `share::Sharing::request_lock`; through the
    /// panel's one closure type, `browser::Handler`).
    #[wasm_bindgen(catch)]
    pub(crate) fn lock(
        name: &str,
        options: &js_sys::Object,
        granted: &js_sys::Function,
    ) -> Result<Option<js_sys::Promise>, JsValue>;
    /// `response.text()`, rejected with what was thrown as text.
    pub(crate) fn text(response: &web_sys::Response) -> js_sys::Promise;
}

/// Defines `<discussion-panel>`: every option is an attribute, in kebab-case.
pub fn define_custom_element() {
    let attributes = js_sys::Array::new();
    for name in ["channel", "bridge_url", "token"]
        .iter()
        .chain(&Options::NAMES)
    {
        attributes.push(&JsValue::from_str(&name.replace('_', "-")));
    }
    // Called with `{ element, options }`, which it answers in `handle` or
    // `error` (one closure type for the panel, see `browser::Handler`).
    let mount = crate::browser::Handler::new(|call: web_sys::Event| {
        let element = property(&call, "element").unwrap_or_default();
        let options = property(&call, "options").unwrap_or_default();
        match mount(element.unchecked_into(), options, false) {
            Ok(handle) => set_property(&call, "handle", &handle),
            Err(error) => set_property(&call, "error", &error),
        }
    });
    define_element(mount.as_ref().unchecked_ref(), &attributes);
    // Lives as long as the page: the element's class calls it on every mount.
    mount.forget();
}
