//! The composer and the replies on their way, built on the DOM directly.
//!
//! Like the message rows (`message_list`), these are plain elements rather
//! than a Leptos view: a view with this many reactive parts costs about 9 KB
//! of wasm (gzipped), this about a third of it.
//!
//! Enter sends, Shift+Enter is a new line (and an input method's Enter stays
//! its own); a counter shows what is left near the limit
//! (`panel_core::compose` decides both). Up in an empty composer edits the
//! reader's last message, as in Discord and Slack (Edit on a message does
//! the same for that one): the composer holds its text, Enter saves it,
//! Escape gives up (`data-editing` on the form meanwhile).
//! Reply text goes in with `textContent`: never parsed as HTML.

use crate::browser::{element, flag_property, key_of, property, set_property, Dom, Listener};
use panel_core::{compose, MessageId, Outgoing, Target};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement};

/// What the composer asks of the panel.
pub struct Actions {
    pub send: Box<dyn Fn(String)>,
    pub edit: Box<dyn Fn(String)>,
    pub discard: Box<dyn Fn(String)>,
    /// Scroll the list to its newest message.
    pub jump: Box<dyn Fn()>,
    /// Save the reader's edit of their message.
    pub save: Box<dyn Fn(MessageId, String)>,
    /// The reader's newest message, to edit: its id and text.
    pub last_own: Box<dyn Fn() -> Option<(MessageId, String)>>,
    /// The reader types a reply (not an edit) that is not empty.
    pub typing: Box<dyn Fn()>,
}

/// The composer's elements and listeners; dropped with the panel.
pub struct Composer {
    document: Document,
    /// "N new messages", shown while messages arrive below the reader.
    jump: Element,
    outbox: Element,
    /// Who else is typing (`data-typing`, a polite live region).
    typing: Element,
    /// The draft's `<textarea>` (its `value` read and set by name).
    input: Element,
    counter: Element,
    send: Element,
    form: Element,
    /// "Editing your message", while the composer holds an edit.
    editing_note: Element,
    /// The message being edited, if one is.
    editing: Cell<Option<MessageId>>,
    /// How many replies shown were refused.
    failed: Cell<usize>,
    can_reply: bool,
    _listeners: Vec<Listener>,
}

impl Composer {
    /// Puts the pending replies' list and the composer right after `list`
    /// (the message list), in the panel's section.
    pub fn new(list: &Element, can_reply: bool, actions: Actions) -> Option<Rc<Composer>> {
        let document = list.owner_document()?;
        let make = |tag: &str, class: &str| element(&document, tag, class);
        let jump = make("button", "dp-jump")?;
        jump.attr("type", "button");
        jump.attr("hidden", "");
        jump.attr("data-action", "jump-to-newest");
        let outbox = make("ul", "dp-outbox")?;
        outbox.attr("aria-label", "Replies being sent");
        let form = make("form", "dp-composer")?;
        let typing = make("p", "dp-typing")?;
        typing.attr("data-typing", "");
        typing.attr("aria-live", "polite");
        let _ = list.after_with_node_4(&typing, &jump, &outbox, &form);
        let input = make("textarea", "dp-input")?;
        input.attr("data-action", "compose");
        input.attr("rows", "2");
        input.attr("aria-label", "Reply");
        if can_reply {
            input.attr("placeholder", "Reply…");
        } else {
            input.attr("disabled", "");
        }
        let bar = make("div", "dp-composer-bar")?;
        let counter = make("span", "dp-counter")?;
        counter.attr("aria-live", "polite");
        let send = make("button", "dp-send")?;
        send.attr("type", "submit");
        send.attr("data-action", "send");
        send.set_text_content(Some("Send"));
        send.attr("disabled", "");
        let editing_note = make("p", "dp-editing-note")?;
        editing_note.set_text_content(Some("Editing your message · Enter saves, Escape cancels"));
        editing_note.attr("hidden", "");
        bar.add(&counter);
        bar.add(&send);
        form.add(&editing_note);
        form.add(&input);
        form.add(&bar);
        if !can_reply {
            let note = make("p", "dp-composer-note")?;
            note.set_text_content(Some(
                "Replying needs a sign-in (a token) or an author name.",
            ));
            form.add(&note);
        }
        let actions = Rc::new(actions);
        let composer = Rc::new_cyclic(|me: &std::rc::Weak<Composer>| {
            let mut listeners = Vec::new();
            let (me_input, input_actions) = (me.clone(), actions.clone());
            listeners.push(Listener::new(input.as_ref(), "input", move |_| {
                if let Some(composer) = me_input.upgrade() {
                    composer.refresh();
                    // Nothing for an empty draft, an edit, or a reader
                    // who cannot reply.
                    let typed = composer.sendable(&composer.draft());
                    if typed && composer.editing.get().is_none() {
                        (input_actions.typing)();
                    }
                }
            }));
            let (me_key, key_actions) = (me.clone(), actions.clone());
            listeners.push(Listener::new(input.as_ref(), "keydown", move |event| {
                // No key for an event that is not a KeyboardEvent: nothing done.
                let Some(composer) = me_key.upgrade() else {
                    return;
                };
                match key_of(&event).as_deref().unwrap_or_default() {
                    "Enter"
                        if !flag_property(&event, "shiftKey")
                            && !flag_property(&event, "isComposing") =>
                    {
                        event.prevent_default();
                        composer.submit(&key_actions);
                    }
                    "Escape" if composer.editing.get().is_some() => {
                        event.prevent_default();
                        composer.stop_editing();
                    }
                    "ArrowUp" if composer.draft().is_empty() && composer.can_reply => {
                        if let Some((id, text)) = (key_actions.last_own)() {
                            event.prevent_default();
                            composer.edit(id, &text);
                        }
                    }
                    _ => {}
                }
            }));
            let (me_submit, submit_actions) = (me.clone(), actions.clone());
            listeners.push(Listener::new(form.as_ref(), "submit", move |event| {
                event.prevent_default();
                if let Some(composer) = me_submit.upgrade() {
                    composer.submit(&submit_actions);
                }
            }));
            let jump_actions = actions.clone();
            listeners.push(Listener::new(jump.as_ref(), "click", move |_| {
                (jump_actions.jump)()
            }));
            // Edit and Discard on the failed rows, by delegation.
            let (row_actions, back) = (actions.clone(), input.clone());
            listeners.push(Listener::new(outbox.as_ref(), "click", move |event| {
                let Some(button) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                    return;
                };
                let action = button.get_attribute("data-action");
                let row = button.ancestor("li[data-client-id]");
                let Some(client_id) = row.and_then(|r| r.get_attribute("data-client-id")) else {
                    return;
                };
                match action.as_deref() {
                    Some("edit") => (row_actions.edit)(client_id),
                    Some("discard") => (row_actions.discard)(client_id),
                    _ => return,
                }
                // The button goes with its row: the composer takes the focus.
                let _ = back.unchecked_ref::<HtmlElement>().focus();
            }));
            Composer {
                document: document.clone(),
                jump,
                outbox,
                typing,
                input,
                counter,
                send,
                form,
                editing_note,
                editing: Cell::new(None),
                failed: Cell::new(0),
                can_reply,
                _listeners: listeners,
            }
        });
        Some(composer)
    }

    /// "N new messages" below, or nothing for 0.
    pub fn show_new(&self, count: usize) {
        match count {
            0 => self.jump.attr("hidden", ""),
            _ => self.jump.unattr("hidden"),
        };
        let label = panel_core::announce::new_messages(count);
        self.jump.set_text_content(Some(&label));
    }

    /// Says who else is typing; the line is only touched when it changes
    /// (a live region read again for every signal would be noise).
    /// Whether it changed.
    pub fn show_typing(&self, users: &[String]) -> bool {
        let line = panel_core::people::typing_line(users);
        let changed = self.typing.text_content().as_deref() != Some(line.as_str());
        if changed {
            self.typing.set_text_content(Some(&line));
        }
        changed
    }

    /// Sends the draft (or saves the edit), if it can go, and clears it.
    fn submit(&self, actions: &Actions) {
        let text = self.draft();
        if self.sendable(&text) {
            match self.editing.get() {
                Some(id) => (actions.save)(id, text),
                None => (actions.send)(text),
            }
            self.stop_editing();
        }
    }

    /// Holds the reader's message `id` to edit, its `text` in the composer.
    pub fn edit(&self, id: MessageId, text: &str) {
        if !self.can_reply {
            return;
        }
        self.editing.set(Some(id));
        self.form.attr("data-editing", &id.to_string());
        self.editing_note.unattr("hidden");
        self.send.set_text_content(Some("Save"));
        self.set_draft(text);
        let _ = self.input.unchecked_ref::<HtmlElement>().focus();
    }

    /// Back to writing replies, with an empty draft.
    fn stop_editing(&self) {
        self.editing.set(None);
        self.form.unattr("data-editing");
        self.editing_note.attr("hidden", "");
        self.send.set_text_content(Some("Send"));
        self.set_draft("");
    }

    fn sendable(&self, text: &str) -> bool {
        self.can_reply && compose::can_send(text)
    }

    /// The draft: the `<textarea>`'s `value`.
    fn draft(&self) -> String {
        let value = property(&self.input, "value");
        value.and_then(|v| v.as_string()).unwrap_or_default()
    }

    fn set_draft(&self, text: &str) {
        set_property(&self.input, "value", &JsValue::from_str(text));
        self.refresh();
    }

    /// Puts a refused reply taken back to edit in the composer, after what
    /// the reader is writing, if anything (`compose::take_back`).
    pub fn take_back(&self, reply: &str) {
        self.set_draft(&compose::take_back(&self.draft(), reply));
    }

    /// The counter and Send, after the draft changed.
    fn refresh(&self) {
        let text = self.draft();
        self.counter
            .set_text_content(Some(&compose::counter(&text)));
        match self.sendable(&text) {
            true => self.send.unattr("disabled"),
            false => self.send.attr("disabled", ""),
        };
    }

    /// Shows the replies on their way: `li[data-client-id]` with
    /// `data-state` `pending` or `failed` (with the reason, Edit, Discard).
    /// Answers what a screen reader is to hear when one more was refused:
    /// the newest refusal's note ("Not sent: …"); the row itself appears
    /// silently.
    pub fn show_outbox(&self, outbox: &[Outgoing]) -> Option<String> {
        self.outbox.set_text_content(None);
        for reply in outbox {
            if let Some(row) = self.row(reply) {
                self.outbox.add(&row);
            }
        }
        let failed = outbox.iter().filter(|r| r.failed.is_some()).count();
        if failed <= self.failed.replace(failed) {
            return None;
        }
        let notes = (self.outbox)
            .query_selector_all("[data-state=failed] .dp-pending-note")
            .ok()?;
        notes.item(notes.length().checked_sub(1)?)?.text_content()
    }

    fn row(&self, reply: &Outgoing) -> Option<Element> {
        let element = |tag: &str, class: &str, text: &str| -> Option<Element> {
            let element = element(&self.document, tag, class)?;
            element.set_text_content(Some(text));
            Some(element)
        };
        let row = element("li", "dp-message dp-pending", "")?;
        row.attr("data-client-id", &reply.client_id);
        let state = if reply.failed.is_some() {
            "failed"
        } else {
            "pending"
        };
        row.attr("data-state", state);
        let (change, pending) = match reply.target {
            None => ("", "Sending…"),
            Some(Target::Edit(_)) => ("edit", "Saving your edit…"),
            Some(Target::Delete(_)) => ("delete", "Deleting…"),
            Some(Target::React(_, true)) => ("react", "Adding your reaction…"),
            Some(Target::React(_, false)) => ("react", "Taking back your reaction…"),
        };
        if !change.is_empty() {
            row.attr("data-change", change);
        }
        let note = match (&reply.failed, reply.target) {
            (Some(why), None) => ["Not sent: ", why].concat(),
            (Some(why), Some(_)) => ["Not saved: ", why].concat(),
            (None, _) => pending.to_owned(),
        };
        let content = element("p", "dp-content", &reply.content)?;
        let note = element("p", "dp-pending-note", &note)?;
        row.add(&content);
        row.add(&note);
        if reply.failed.is_some() {
            // A refused edit or deletion can only be given up.
            let actions: &[(&str, &str)] = match reply.target {
                None => &[("edit", "Edit"), ("discard", "Discard")],
                Some(_) => &[("discard", "Discard")],
            };
            for &(action, label) in actions {
                let button = element("button", "", label)?;
                button.attr("type", "button");
                button.attr("data-action", action);
                row.add(&button);
            }
        }
        Some(row)
    }
}
