//! The `DiscussionPanel` component: header with the connection status, the
//! message list, the composer, and the error line with Retry when the panel
//! has stopped.

use crate::auth::Auth;
use crate::browser::{log_warn, Dom, Listener};
use crate::composer::{Actions, Composer};
use crate::connection::{known, Connection, Endpoint, Notice, Outputs};
use crate::header::Header;
use crate::message_list::{MessageList, RowActions};
use gloo_timers::callback::Timeout;
use leptos::html::Ol;
use leptos::prelude::*;
use panel_core::announce::Announcer;
use panel_core::people::Presence;
use panel_core::reading::Changed;
use panel_core::{
    Event, Label, Message, MessageId, Options, Outgoing, Target, Theme, Transport, ViewState,
};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

/// A host's `send()` that goes nothing: empty, from a panel that cannot
/// reply, or through a handle whose panel is gone.
pub(crate) const NOT_SENT: &str = "send(): not sent: empty, or no panel that can reply";

/// How close to the bottom (in CSS pixels) still counts as "at the bottom".
const STICKY_BOTTOM_PX: i32 = 24;

/// What the host hears when the connection's state changes.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusChange {
    pub label: Label,
    /// Why the panel stopped (the sentence it shows), when it did.
    pub reason: Option<String>,
    /// How it reaches the bridge: `EventSource`, or `Polling` behind a
    /// proxy that buffers streams.
    pub transport: Transport,
}

/// Replies a host sends on the reader's behalf (`send(text)`): each is sent
/// once, in the order sent. Those sent before the panel has its connection
/// wait in a queue, which it empties, in order, when it has one; after that
/// each goes at once (not through a signal, whose writes before an effect
/// runs would collapse into the last).
#[derive(Clone, Default)]
pub struct Replies(Rc<RefCell<(Vec<String>, Option<Sink>)>>);

/// Where the panel takes replies once it is connected. It gives a reply
/// back when its connection is no longer the panel's (the host switched the
/// channel or the bridge in this task, and the panel's effect has not run
/// yet): the reply then waits for the next connection.
type Sink = Rc<dyn Fn(String) -> Option<String>>;

impl Replies {
    pub fn new() -> Self {
        Replies::default()
    }

    /// Sends a reply (or queues it, until the panel is connected to the
    /// channel shown now). The borrow ends before the send: a host may send
    /// from a panel's event.
    pub fn send(&self, text: String) {
        let sink = self.0.borrow().1.clone();
        let back = match sink {
            Some(send) => send(text),
            None => Some(text),
        };
        if let Some(text) = back {
            let mut inner = self.0.borrow_mut();
            inner.1 = None;
            inner.0.push(text);
        }
    }

    /// From now on replies go to `send`; those waiting go now, in order.
    fn connect(&self, send: Sink) {
        let waiting = {
            let mut inner = self.0.borrow_mut();
            inner.1 = Some(send);
            std::mem::take(&mut inner.0)
        };
        waiting.into_iter().for_each(|text| self.send(text));
    }
}

/// A text prop that may change: a fixed string, or a signal's value, read
/// (and tracked) where the panel needs it.
///
/// Not Leptos' `Signal<String>`: reading one instantiates its every kind
/// (memo, derived, stored, read signal), about 1 KB of the panel-only build's
/// wasm, which only ever passes a string and an `RwSignal`. Here each kind is
/// a conversion, compiled only where a host uses it.
#[derive(Clone)]
pub struct Text(Arc<dyn Fn() -> String + Send + Sync>);

impl Text {
    /// A value computed by `read`, which the panel follows when it reads
    /// signals (a closure over anything else is read once per change of
    /// the other props). A constructor, not a `From` of every closure:
    /// with Leptos' `nightly` feature signals are closures themselves.
    pub fn derive(read: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Text(Arc::new(read))
    }

    /// The value, tracked when read in an effect.
    pub fn get(&self) -> String {
        (self.0)()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text(Arc::new(move || text.clone()))
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        text.to_owned().into()
    }
}

impl From<RwSignal<String>> for Text {
    fn from(signal: RwSignal<String>) -> Self {
        Text(Arc::new(move || signal.get()))
    }
}

impl From<ReadSignal<String>> for Text {
    fn from(signal: ReadSignal<String>) -> Self {
        Text(Arc::new(move || signal.get()))
    }
}

impl From<Memo<String>> for Text {
    fn from(memo: Memo<String>) -> Self {
        Text(Arc::new(move || memo.get()))
    }
}

impl From<Signal<String>> for Text {
    fn from(signal: Signal<String>) -> Self {
        Text(Arc::new(move || signal.get()))
    }
}

/// A host's callback (`on_status`, `on_message`, …): a closure taking the
/// argument, or a Leptos `Callback`. Not a `Callback` itself: each argument
/// type of those was its own copy of Leptos' stored-value code.
pub struct Hook<T>(Arc<dyn Fn(T) + Send + Sync>);

impl<T> Clone for Hook<T> {
    fn clone(&self) -> Self {
        Hook(self.0.clone())
    }
}

impl<T> Hook<T> {
    /// Calls the host.
    pub fn run(&self, value: T) {
        (self.0)(value)
    }
}

impl<T, F: Fn(T) + Send + Sync + 'static> From<F> for Hook<T> {
    fn from(run: F) -> Self {
        Hook(Arc::new(run))
    }
}

impl<T: 'static> From<Callback<T>> for Hook<T> {
    fn from(callback: Callback<T>) -> Self {
        Hook(Arc::new(move |value| callback.run(value)))
    }
}

/// A live discussion panel for one channel.
///
/// - `bridge_url`: the bridge's base URL, `""` for the page's own origin.
/// - `channel`: the channel to show. Changing it, or `bridge_url`, switches
///   streams cleanly.
/// - `options`: timing and size knobs (see [`Options`] for the defaults).
/// - `auth`: how to sign in to a bridge that runs with `--users`.
/// - `retry`: notify it to retry, as the Retry button does.
/// - `outgoing`: replies to send on the reader's behalf ([`Replies::send`]).
/// - `on_status`: each change of the label (and of why it stopped).
/// - `on_message`: each message new to the reader, in id order: live ones and
///   those a catch-up brings, not the first history load.
/// - `on_unread`: how many messages the reader has not read, and the first
///   of them (see [`Unread`]): kept by the bridge per person and channel, so
///   the same in every tab and device.
/// - `on_update`: a held message was edited (it carries its new content,
///   `edited_at` and `version`).
/// - `on_delete`: a held message was deleted (it is no longer shown).
/// - `on_reaction`: a held message's reactions changed (it carries them all).
/// - `on_discontinuity`: the panel reloaded what it shows instead of catching
///   up (the bridge could not replay every change): anything the host keeps
///   about the messages may be stale.
/// - `on_auth_expired`: the bridge refused the sign-in (401); the panel stopped.
/// - `on_presence`: who is in the channel changed (the whole set, the reader
///   among them; empty once the panel stopped or switched channels).
/// - `on_typing`: who else is typing changed (in the order they started).
#[component]
#[allow(clippy::too_many_arguments)] // a component's props
pub fn DiscussionPanel(
    #[prop(into)] bridge_url: Text,
    #[prop(into)] channel: Text,
    #[prop(optional)] options: Option<Options>,
    #[prop(optional)] auth: Option<Auth>,
    #[prop(optional)] retry: Option<Trigger>,
    #[prop(optional)] outgoing: Option<Replies>,
    #[prop(optional, into)] on_status: Option<Hook<StatusChange>>,
    #[prop(optional, into)] on_message: Option<Hook<Arc<Message>>>,
    #[prop(optional, into)] on_unread: Option<Hook<Unread>>,
    #[prop(optional, into)] on_update: Option<Hook<Arc<Message>>>,
    #[prop(optional, into)] on_delete: Option<Hook<MessageId>>,
    #[prop(optional, into)] on_reaction: Option<Hook<Arc<Message>>>,
    #[prop(optional, into)] on_discontinuity: Option<Hook<()>>,
    #[prop(optional, into)] on_auth_expired: Option<Hook<()>>,
    #[prop(optional, into)] on_presence: Option<Hook<Presence>>,
    #[prop(optional, into)] on_typing: Option<Hook<Vec<String>>>,
) -> impl IntoView {
    let options = options.unwrap_or_default();
    let theme = options.theme;
    let auth = auth.unwrap_or_else(|| Auth::new(Default::default(), options.with_credentials));
    let local = StoredValue::new_local(Local {
        at_bottom: Cell::new(true),
        loading: Cell::new(true),
        ..Local::default()
    });
    let (draft, outputs_messages) = (Trigger::new(), Trigger::new());
    // The count and the first unread message, told to the host when they
    // change; the divider and the jump bar shown at the next frame.
    let unread = move |now: Option<panel_core::read::Unread>| {
        let (count, first, _) = now.unwrap_or_default();
        let told = local.try_with_value(|l| {
            l.unread.set(now);
            show_below(l);
            l.told.replace((count, first)) != (count, first)
        });
        if let (Some(true), Some(on_unread)) = (told, &on_unread) {
            on_unread.run(Unread {
                count,
                first_unread_id: first,
            });
        }
        outputs_messages.notify();
    };
    let arrived = move |messages: Vec<Arc<Message>>| {
        let now = monotonic_ms();
        local.try_with_value(|l| {
            let who = known(l.reader.borrow().clone());
            (l.announcer.borrow_mut()).arrived(&messages, who.as_deref(), now)
        });
        announce_when_due(local);
        if let Some(on_message) = &on_message {
            for message in &messages {
                on_message.run(message.clone());
            }
        }
    };
    let changed = move |changes: Vec<Changed>| {
        for change in changes {
            if let (true, Some(on_update)) = (change.edited, &on_update) {
                on_update.run(change.message.clone());
            }
            if let (true, Some(on_reaction)) = (change.reacted, &on_reaction) {
                on_reaction.run(change.message);
            }
        }
    };
    let deleted = move |ids: Vec<MessageId>| {
        if let Some(on_delete) = &on_delete {
            ids.into_iter().for_each(|id| on_delete.run(id));
        }
    };
    // Who is here and who types: shown, and told to the host, when they
    // change (and emptied when the panel switches channels).
    let people = move |presence: Option<Presence>| {
        let changed = local.try_with_value(|l| {
            (l.header.borrow_mut().as_mut()).is_some_and(|h| h.show_people(presence.as_ref()))
        });
        if let (Some(true), Some(on_presence)) = (changed, &on_presence) {
            on_presence.run(presence.unwrap_or_default());
        }
    };
    // The host hears of a change of typists (the engine says only those),
    // and of the line emptied by a switch when it held anyone.
    let typists = move |users: Vec<String>| {
        let changed = local.try_with_value(|l| {
            (l.composer.borrow().as_ref()).is_some_and(|c| c.show_typing(&users))
        });
        if let (true, Some(on_typing)) = (changed == Some(true) || !users.is_empty(), &on_typing) {
            on_typing.run(users);
        }
    };
    let unread_switched = unread.clone();
    let notice = move |notice: Notice| match notice {
        Notice::Presence(presence) => people(presence),
        Notice::Typing(users) => typists(users),
        Notice::Arrived(messages) => arrived(messages),
        Notice::Changed(changes) => changed(changes),
        Notice::Deleted(ids) => deleted(ids),
        Notice::Unread(now) => unread(Some(now)),
        Notice::Discontinuity => {
            if let Some(on_discontinuity) = &on_discontinuity {
                on_discontinuity.run(());
            }
        }
        Notice::AuthExpired => {
            if let Some(on_auth_expired) = &on_auth_expired {
                on_auth_expired.run(());
            }
        }
    };
    let outputs = Outputs {
        status: Trigger::new(),
        messages: outputs_messages,
        local,
        draft,
    };
    // Who replies: the token's user, or the `author` option without sign-in.
    let can_reply = auth.has_token() || !options.author.is_empty();
    let send_text = move |text: String| with_connection(local, Act::Send(text));

    let header_channel = channel.clone();
    let bridge = bridge_url;
    effect(Box::new(move |_| {
        let channel_now = channel.get();
        let bridge_url = trimmed(bridge.get());
        let (endpoint_channel, endpoint_bridge) = (channel_now.clone(), bridge_url.clone());
        // Drop the old connection before opening the new: never two streams.
        let old = local.try_with_value(|l| l.connection.take());
        drop(old);
        // Nobody here or typing until the new channel's stream says.
        local.try_with_value(|l| {
            if let Some(hear) = &*l.notice.borrow() {
                hear(Notice::Presence(None));
                hear(Notice::Typing(Vec::new()));
            }
            // Where the reader stopped is asked for again: the list opens
            // at the new channel's divider.
            l.opened.set(false);
        });
        unread_switched(None);
        // Another channel's pending replies are its own (kept in the tab),
        // and a burst not yet announced is not news in this one. (One read
        // of the panel's state: each read is code of its own.)
        local.try_with_value(|l| {
            l.messages.take();
            l.outbox.take();
            l.announcer.take();
            l.announce_timer.take()
        });
        outputs.messages.notify();
        outputs.draft.notify();
        let endpoint = Endpoint {
            bridge_url,
            channel: channel_now,
            auth: auth.clone(),
        };
        let started = Connection::start(endpoint, options.clone(), outputs);
        local.try_with_value(|l| l.connection.replace(Some(started)));
        if let Some(outgoing) = &outgoing {
            let (now_channel, now_bridge) = (channel.clone(), bridge.clone());
            outgoing.connect(Rc::new(move |text: String| {
                // Unmounted (its state is gone): the reply waits, and this
                // sink reaches into nothing that went with the panel (a
                // later panel with these `Replies` takes it). Only this
                // panel's sink: another may have connected them since.
                if local.try_with_value(|_| ()).is_none() {
                    return Some(text);
                }
                let moved = untrack(|| {
                    now_channel.get() != endpoint_channel
                        || trimmed(now_bridge.get()) != endpoint_bridge
                });
                if moved {
                    return Some(text);
                }
                // Past the limit it goes, and its refusal shows why; empty,
                // or from a panel that cannot reply, there is nothing to show.
                // (A token set after a mount without one does not: the
                // connection's person would switch, and with it its outbox.)
                if can_reply && !text.trim().is_empty() {
                    send_text(text);
                } else {
                    log_warn(NOT_SENT);
                }
                None
            }));
        }
    }));
    let retry_now = move || with_connection(local, Act::Retry);
    if let Some(retry) = retry {
        effect(Box::new(move |first: bool| {
            retry.track();
            if !first {
                retry_now();
            }
        }));
    }
    if let Some(on_status) = on_status {
        effect(Box::new(move |_| {
            outputs.status.track();
            let Some(view) = local.try_with_value(|l| l.view.borrow().clone()) else {
                return;
            };
            on_status.run(StatusChange {
                label: view.label,
                reason: view.error,
                transport: view.transport,
            });
        }));
    }
    let list = NodeRef::<Ol>::new();
    // The reader is back on the page, or in the window, or left: what they
    // see of the list is read (or no longer).
    let page = document();
    let glance = move |_| {
        if let Some(list) = list.get_untracked() {
            look(local, &list, false);
        }
    };
    let listener = [
        Listener::new(page.as_ref(), "visibilitychange", glance),
        Listener::new(window().as_ref(), "focus", glance),
        Listener::new(window().as_ref(), "blur", glance),
    ];
    // Removed when the panel unmounts (the stored value is dropped with it).
    // The notices' closure is stored here too: one write of the panel's
    // state for both (each is code of its own; nothing hears a notice
    // before the effects run).
    local.try_with_value(|l| {
        l.notice.replace(Some(Box::new(notice)));
        l.listener.replace(Some(listener))
    });

    // Busy while the page comes (the frame after it takes that off).
    let older = move || {
        with_connection(local, Act::Older);
        if let (Some(true), Some(list)) = (
            local.try_with_value(|l| l.loading.get()),
            list.get_untracked(),
        ) {
            <web_sys::Element as Dom>::attr(&list, "aria-busy", "true");
        }
    };
    // Whether held messages wait for the next frame to be shown. A page that
    // came but is not shown yet leaves the list at the top until that frame,
    // and the browser runs scroll events just before it: asking for older
    // messages then would fetch a second page the reader did not scroll to.
    // The frame asks instead, once the rows are in step (`older_deferred`).
    let on_scroll = move |_: web_sys::Event| {
        let Some(list) = list.get_untracked() else {
            return;
        };
        // Hidden by its host, the list has nothing to scroll: only what the
        // reader sees of it changed.
        if list.client_height() > 0 {
            // Near the top: the page before, kept in view as it comes.
            let near_top = list.scroll_top() < STICKY_BOTTOM_PX;
            let ask = local.try_with_value(|l| {
                let pending = near_top && l.frame_pending.get();
                if pending {
                    l.older_deferred.set(true);
                }
                near_top && !pending
            });
            if ask != Some(false) && near_top {
                older();
            }
        }
        // (And whether the list is at its newest.)
        look(local, &list, false);
    };
    // The list's scroll listener, added with the composer (the list is in
    // the page then) and kept in the panel's state: a Leptos `on:scroll`
    // was its own copy of Leptos' event code.
    let mut on_scroll = Some(on_scroll);
    // The composer, made once the list is in the page, then kept in step
    // with the outbox and given back refused replies to edit (one effect:
    // each costs its own code).
    effect(Box::new(move |_| {
        draft.track();
        let Some(list) = list.get() else {
            return;
        };
        local.try_with_value(|l| {
            if let Some(on_scroll) = on_scroll.take() {
                let scroll = Listener::new(list.as_ref(), "scroll", on_scroll);
                l.scroll.replace(Some(scroll));
            }
            let c = &mut *l.composer.borrow_mut();
            if c.is_none() {
                let actions = Actions {
                    send: Box::new(send_text),
                    edit: Box::new(move |id| with_connection(local, Act::Edit(id))),
                    discard: Box::new(move |id| with_connection(local, Act::Discard(id))),
                    jump: Box::new({
                        let list = list.clone();
                        move || {
                            list.set_scroll_top(list.scroll_height());
                            crate::message_list::focus_newest(&list);
                        }
                    }),
                    save: Box::new(move |id, text| {
                        with_connection(local, Act::Change(Target::Edit(id), text))
                    }),
                    last_own: Box::new(move || {
                        let reader = reader_of(local)?;
                        (local.try_with_value(|l| newest(l, &|m| m.author == reader))).flatten()
                    }),
                    typing: Box::new(move || with_connection(local, Act::Typing)),
                };
                *c = Composer::new(&list, can_reply, actions);
            }
            if let Some(composer) = c {
                // A refusal is said politely, by the announcer.
                if let Some(note) = composer.show_outbox(&l.outbox.borrow()) {
                    if let Some(h) = &*l.header.borrow() {
                        h.say(&note);
                    }
                }
                // Taken, so that it is put in the composer once.
                let text = l.draft.take();
                if !text.is_empty() {
                    composer.take_back(&text);
                }
            }
        });
    }));
    // The rows, updated in place from the held messages, at most once a frame:
    // a burst of events between two frames costs one walk and one layout, and
    // the reader could not have seen the steps in between anyway. Then, if the
    // reader was at the bottom, follow the new messages; if they scrolled up to
    // read, leave them there.
    effect(Box::new(move |_| {
        outputs.messages.track();
        // Live comes after the history load, even an empty one: the list is
        // no longer busy then (an older page's end notifies the messages).
        outputs.status.track();
        if list.get().is_none()
            || local.try_with_value(|l| l.frame_pending.replace(true)) != Some(false)
        {
            return;
        }
        request_animation_frame(move || {
            // The panel may have been unmounted since: every handle is `try_`.
            let follow = local.try_with_value(|l| {
                l.frame_pending.set(false);
                l.at_bottom.get()
            }) == Some(true);
            let Some(element) = list.get_untracked() else {
                return;
            };
            let (height, top) = (element.scroll_height(), element.scroll_top());
            let mut grew_above = false;
            let reader = reader_of(local);
            {
                local.try_with_value(|l| {
                    let messages = &*l.messages.borrow();
                    let rows = &mut *l.rows.borrow_mut();
                    if rows.is_none() {
                        let actions = RowActions {
                            react: Box::new(move |id, emoji, add| {
                                with_connection(local, Act::Change(Target::React(id, add), emoji))
                            }),
                            // The message's own text (its markup included),
                            // not what its row shows.
                            edit: Box::new(move |id| {
                                local.try_with_value(|l| {
                                    let text = newest(l, &|m| m.id == id);
                                    if let (Some(composer), Some((_, text))) =
                                        (&*l.composer.borrow(), text)
                                    {
                                        composer.edit(id, &text);
                                    }
                                });
                            }),
                            delete: Box::new(move |id| {
                                let text = local.try_with_value(|l| newest(l, &|m| m.id == id));
                                let text = text.flatten().map(|(_, text)| text);
                                let text = text.unwrap_or_default();
                                let target = Target::Delete(id);
                                with_connection(local, Act::Change(target, text))
                            }),
                            mark_unread: Box::new(move |id| {
                                with_connection(local, Act::MarkUnread(id))
                            }),
                        };
                        *rows = MessageList::new(element.clone().into(), actions);
                        // The jump bar, before the list: to the divider
                        // when it is above the view.
                        let bar = crate::browser::element(&document(), "button", "dp-jump dp-up");
                        if let (Some(bar), Some(root)) = (bar, element.parent_element()) {
                            Dom::attr(&bar, "type", "button");
                            Dom::attr(&bar, "data-action", "jump-unread");
                            Dom::attr(&bar, "hidden", "");
                            let _ = root.insert_before(&bar, Some(&element));
                            let list = element.clone();
                            let jump = Listener::new(bar.as_ref(), "click", move |_| {
                                look(local, &list, true);
                                crate::message_list::focus_first_unread(&list);
                            });
                            l.jump.replace(Some((bar, jump)));
                            crate::embed::observe(&element);
                        }
                    }
                    if let Some(rows) = rows {
                        let first = rows.first();
                        let divider = l.unread.get().and_then(|u| u.2);
                        rows.show(messages, reader.as_deref(), divider);
                        grew_above = first.is_some() && rows.first() < first;
                    }
                });
            }
            // Busy until the rows hold what was loaded. (`Dom::attr` by
            // name: Leptos' prelude has an `attr` method too.) One read of
            // the panel's state for the busy flag, the deferred ask and
            // whether deletions emptied the list.
            let (busy, deferred, emptied) = local
                .try_with_value(|l| {
                    (
                        l.loading.get(),
                        l.older_deferred.take(),
                        l.messages.borrow().is_empty(),
                    )
                })
                .unwrap_or_default();
            match busy {
                true => Dom::attr(&**element, "aria-busy", "true"),
                false => element.unattr("aria-busy"),
            };
            if follow {
                element.set_scroll_top(element.scroll_height());
            } else if grew_above {
                // Older messages came in above: what the reader looked at stays put.
                element.set_scroll_top(top + element.scroll_height() - height);
            }
            // Opened where the reader stopped, once the divider is known
            // (when what is unread is more than the view holds); then what
            // the reader sees is read.
            let open =
                local.try_with_value(|l| l.unread.get().is_some() && !l.opened.replace(true));
            look(local, &element, open == Some(true));
            // A list that deletions emptied has no scroll to ask with: it
            // asks itself (the engine asks only when it saw messages, once
            // per point, and not past the channel's start).
            if emptied || (deferred && element.scroll_top() < STICKY_BOTTOM_PX) {
                older();
            }
        });
    }));

    // The header and the error line, kept in step with the channel and the
    // connection's state (one effect; see `header`).
    // The root is the list's parent: a second `NodeRef` type (for the
    // `section`) was its own copy of Leptos' node-reference code.
    let status = outputs.status;
    effect(Box::new(move |_| {
        let channel = header_channel.get();
        let Some(root) = list.get().and_then(|list| list.parent_element()) else {
            return;
        };
        status.track();
        local.try_with_value(|l| {
            let h = &mut *l.header.borrow_mut();
            if h.is_none() {
                *h = Header::new(&root, retry_now);
                set_theme(&root, theme);
            }
            if let Some(h) = h {
                h.show(&channel, &l.view.borrow());
            }
        });
    }));
    view! {
        <section class="discussion-panel" aria-label="Discussion">
            // The header goes first, then the rows (managed by `MessageList`,
            // not by a keyed view: see there), the pending replies and the
            // composer (see `composer`), and the error line while stopped.
            <ol class="dp-messages" node_ref=list aria-label="Messages"></ol>
        </section>
    }
}

/// What the host hears of the reader's unread messages (`on_unread`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unread {
    /// How many held messages are newer than where the reader stopped
    /// (their own not counted).
    pub count: usize,
    /// The first of them.
    pub first_unread_id: Option<MessageId>,
}

/// Where the view hears the connection's notices.
type Hear = Box<dyn Fn(Notice)>;

/// The panel's own state that no view reads, in one stored value: each
/// stored value's type made its own copy of Leptos' stored-value code
/// (docs/BENCHMARKS.md, size ledger). Everything in it is dropped when the
/// panel unmounts: the connection (closing its streams), the listener, the
/// announcer's timer. Reads take the stored value's read lock only, so they
/// nest; each field has its own cell.
#[derive(Default)]
pub struct Local {
    /// What the view and the host hear beside the signals (see
    /// `connection::Notice`): a `Callback` was its own stored value.
    pub notice: RefCell<Option<Hear>>,
    /// The messages shown, set by the connection, which then notifies
    /// `Outputs::messages`.
    pub messages: RefCell<Vec<Arc<Message>>>,
    /// The connection's state (label, error, transport), set by the
    /// connection, which then notifies `Outputs::status` (a signal of its
    /// own was its own copy of Leptos' signal code).
    pub view: RefCell<ViewState>,
    /// Who the reader is, once known (whose reactions are highlighted);
    /// empty while not (see `connection::known`). Set by the connection,
    /// which then notifies `Outputs::messages`.
    pub reader: RefCell<String>,
    /// Text for the composer (a refused reply taken back to edit), set by
    /// the connection, which then notifies `Outputs::draft`.
    pub draft: RefCell<String>,
    /// Replies not yet confirmed, set by the connection, which then notifies
    /// the `draft` signal (a signal of their own was its own copy of Leptos'
    /// signal code).
    pub outbox: RefCell<Vec<Outgoing>>,
    /// The first history load or an older page is on its way (the list is
    /// `aria-busy`): the connection's to set (see `Outputs`).
    pub loading: Cell<bool>,
    /// Whether the list is scrolled to its newest.
    at_bottom: Cell<bool>,
    /// The engine's unread count, first unread message and divider (`None`
    /// until the divider is placed), and what the host was last told.
    unread: Cell<Option<panel_core::read::Unread>>,
    told: Cell<(usize, Option<MessageId>)>,
    /// The list was opened at the divider (or found no need).
    opened: Cell<bool>,
    /// The jump bar ("N new messages since 14:05 — jump") and its click.
    jump: RefCell<Option<(web_sys::Element, Listener)>>,
    /// The count the "N new messages" button below shows: the unread ones,
    /// while the list is not at its newest.
    below: Cell<usize>,
    composer: RefCell<Option<Rc<Composer>>>,
    /// What a screen reader hears of new messages: one count a burst, said
    /// by the polite region once the burst is over (see `announce_when_due`).
    announcer: RefCell<Announcer>,
    /// The header holds the region (plain DOM: a view's node costs more).
    header: RefCell<Option<Header>>,
    announce_timer: RefCell<Option<Timeout>>,
    /// Owned by this component: dropped (closing everything) when it unmounts.
    connection: RefCell<Option<Connection>>,
    /// The visibility and focus listeners, removed when the panel unmounts.
    listener: RefCell<Option<[Listener; 3]>>,
    /// The list's scroll listener (see `on_scroll`).
    scroll: RefCell<Option<Listener>>,
    /// Whether held messages wait for the next frame to be shown (see
    /// `on_scroll`), and whether that frame asks for older ones.
    frame_pending: Cell<bool>,
    older_deferred: Cell<bool>,
    rows: RefCell<Option<MessageList>>,
}

/// Shows how many unread messages are below (the composer's button: none
/// while the list is at its newest), when that changed.
fn show_below(l: &Local) {
    let count = match l.at_bottom.get() {
        true => 0,
        false => l.unread.get().map_or(0, |u| u.0),
    };
    if let (true, Some(composer)) = (l.below.replace(count) != count, &*l.composer.borrow()) {
        composer.show_new(count);
    }
}

/// Has the header's polite region say the announcer's sentence if its
/// burst is over, else sets the timer for when it will be. The timer is the
/// panel's: it goes with it.
fn announce_when_due(local: StoredValue<Local, LocalStorage>) {
    let now = monotonic_ms();
    local.try_with_value(|l| {
        if let Some(text) = l.announcer.borrow_mut().poll(now) {
            if let Some(h) = &*l.header.borrow() {
                h.say(&text);
            }
        }
        if let Some(due) = l.announcer.borrow().due() {
            let wait = (due - now).max(0.0).ceil() as u32 + 1;
            let timeout = Timeout::new(wait, move || announce_when_due(local));
            l.announce_timer.replace(Some(timeout));
        }
    });
}

/// Runs `run` now and again whenever a signal it read changes, with whether
/// this is its first run: a Leptos effect, through one closure type for all
/// of the panel's effects (each closure of its own type made its own copy of
/// Leptos' effect code: docs/BENCHMARKS.md, size ledger).
fn effect(mut run: Box<dyn FnMut(bool)>) {
    Effect::new(move |before: Option<()>| run(before.is_none()));
}

/// The page's monotonic clock (ms since it loaded), for the announcer: a
/// wall clock set back (by the reader, or by NTP) would hold a pending
/// announcement back by as much.
fn monotonic_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// Does `act` with the panel's connection, if it has one. Nothing once the
/// panel is gone (a frame or a listener may still come after it).
/// One non-generic copy for every caller (each closure had made its own
/// copy of the read of the panel's state).
#[inline(never)]
fn with_connection(local: StoredValue<Local, LocalStorage>, act: Act) {
    local.try_with_value(|l| {
        let connection = l.connection.borrow();
        let Some(c) = connection.as_ref() else {
            return;
        };
        match act {
            Act::Send(text) => c.send(text),
            Act::Retry => c.retry(),
            Act::Older => c.older(),
            Act::Typing => c.typing(),
            Act::Seen(id) => c.tell(Event::Seen(id)),
            Act::Looking(looking) => c.tell(Event::Looking(looking)),
            Act::MarkUnread(id) => c.tell(Event::MarkUnread(id)),
            Act::Edit(client_id) => c.edit(client_id),
            Act::Discard(client_id) => c.discard(client_id),
            // A reaction's toggle too (`Connection::react`).
            Act::Change(target, text) => c.change_message(target, text),
        }
    });
}

/// What the panel asks of its connection (see `Connection`'s methods).
enum Act {
    /// What the reader sees (`Event::Seen`, `Event::Looking`), or their
    /// mark unread.
    Seen(MessageId),
    Looking(bool),
    MarkUnread(MessageId),
    Send(String),
    Retry,
    Older,
    Typing,
    Edit(String),
    Discard(String),
    Change(Target, String),
}

/// The reader's name, once known.
fn reader_of(local: StoredValue<Local, LocalStorage>) -> Option<String> {
    known(
        local
            .try_with_value(|l| l.reader.borrow().clone())
            .unwrap_or_default(),
    )
}

/// A bridge's base URL as the panel uses it: without a trailing `/`.
fn trimmed(url: String) -> String {
    url.trim_end_matches('/').to_owned()
}

/// The newest held message that `pick` takes: its id and its text, markup
/// and all. One copy for the Edit and Delete buttons and the composer's Up.
fn newest(l: &Local, pick: &dyn Fn(&Message) -> bool) -> Option<(MessageId, String)> {
    let messages = l.messages.borrow();
    let message = messages.iter().rev().find(|m| pick(m))?;
    Some((message.id, message.content.clone()))
}

/// What the reader sees of the list (`list`): the newest message whose
/// row's end is on screen is read when the page is visible and the window
/// focused, and what
/// comes is read as it comes while they look at the newest. With `open`, a
/// divider above the view is brought to its top first. Shows the jump bar
/// while the divider is above the view: how many messages of others came
/// from there on, and since when (what was new when the list opened, as
/// the divider says, read since or not). Nothing before the list's rows and
/// bar are made.
fn look(local: StoredValue<Local, LocalStorage>, list: &web_sys::Element, open: bool) {
    let Some(Some(bar)) = local.try_with_value(|l| l.jump.borrow().as_ref().map(|j| j.0.clone()))
    else {
        return;
    };
    let sight = crate::embed::sight(list, open, &bar);
    let gap = list.scroll_height() - list.scroll_top() - list.client_height();
    let at_bottom = gap <= STICKY_BOTTOM_PX;
    let sees = sight.starts_with('v');
    // (A hidden list's scroll says nothing of where the reader was.)
    if list.client_height() > 0 {
        local.try_with_value(|l| {
            l.at_bottom.set(at_bottom);
            show_below(l)
        });
    }
    if let (true, Some(id)) = (sees, sight.get(1..).and_then(panel_core::number::parse_u64)) {
        with_connection(local, Act::Seen(MessageId(id)));
    }
    with_connection(local, Act::Looking(sees && at_bottom));
}

/// Marks the panel with its theme for `panel.css` (`data-theme`): the
/// `theme` option, or with `auto`, `os` when the host declares no
/// `color-scheme` (so the panel follows the system, rather than the light
/// a page that says nothing gets). Looked at once, when the panel mounts.
fn set_theme(root: &web_sys::Element, theme: Theme) {
    let mut name = theme.as_str();
    if theme == Theme::Auto {
        let scheme = (window().get_computed_style(root).ok().flatten())
            .and_then(|style| style.get_property_value("color-scheme").ok())
            .unwrap_or_default();
        // `normal` is also what a `<meta name="color-scheme">` leaves
        // computed: the page's scheme then comes from the tag.
        let meta =
            (document().document_element()).and_then(|page| page.find("meta[name=color-scheme]"));
        if (scheme.is_empty() || scheme == "normal") && meta.is_none() {
            name = "os";
        }
    }
    Dom::attr(root, "data-theme", name);
}

#[cfg(test)]
mod tests {
    use super::{Hook, Text};
    use leptos::prelude::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn hooks_take_a_closure_or_a_leptos_callback() {
        let owner = Owner::new();
        owner.with(|| {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let (a, b) = (seen.clone(), seen.clone());
            let closure = Hook::from(move |n: usize| a.lock().unwrap().push(n));
            let callback: Hook<usize> =
                Callback::new(move |n: usize| b.lock().unwrap().push(n * 10)).into();
            closure.run(1);
            callback.run(2);
            closure.clone().run(3);
            assert_eq!(*seen.lock().unwrap(), [1, 20, 3]);
        });
    }

    #[test]
    fn text_props_read_every_kind_a_host_passes_and_follow_its_changes() {
        let owner = Owner::new();
        owner.with(|| {
            assert_eq!(Text::from("general").get(), "general");
            assert_eq!(Text::from("design".to_owned()).get(), "design");
            let channel = RwSignal::new("a".to_owned());
            let (read, write) = signal("b".to_owned());
            let memo = Memo::new(move |_| channel.get() + "!");
            let texts = [
                Text::from(channel),
                Text::from(read),
                Text::from(memo),
                Text::from(Signal::derive(move || read.get() + "?")),
                Text::from(Signal::stored("c".to_owned())),
                Text::derive(move || channel.get() + "/"),
            ];
            let values = || texts.iter().map(Text::get).collect::<Vec<_>>();
            assert_eq!(values(), ["a", "b", "a!", "b?", "c", "a/"]);
            channel.set("x".to_owned());
            write.set("y".to_owned());
            assert_eq!(values(), ["x", "y", "x!", "y?", "c", "x/"]);
        });
    }
}
