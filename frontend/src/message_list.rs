//! The message list's DOM, updated incrementally.
//!
//! A keyed list re-diffed as a whole costs time in proportion to its length:
//! with thousands of messages held, evicting the oldest shifted every key and
//! one new message blocked the page for about 50 ms. Here the rows follow the
//! steps of [`panel_core::rows::reconcile`] (host-tested): the DOM is touched
//! only for rows that come and go. The usual update — a new message appended —
//! touches one row; the store evicts in batches, so rows leave a tenth of the
//! bound at a time.
//!
//! The author goes in with `textContent`, the content as the elements and
//! text nodes of [`crate::content`]: never parsed as HTML; a reply's line
//! the same way, from [`format::preview`] (the style sheet flattens it).
//!
//! A message that changes (edited, reacted to) gets its row made again in
//! place: the store replaces a changed message's state, so a row whose
//! message is not the very state it was made from is stale. An edited row
//! carries `data-edited` and "(edited)" with the time as its tooltip; each
//! reaction is a chip (`data-reaction`, `data-count`, `aria-pressed` for the
//! reader's own; its text the count, the emoji drawn by the style sheet,
//! isolated) that toggles the reader's reaction. The reader's own
//! messages carry `data-own`, Edit and Delete (which asks once more). One
//! click listener on the list serves every button (and reveals spoilers),
//! one keydown listener lets Enter and Space reveal a focused spoiler.
//!
//! The first message of each day carries the day (`data-day`: "Today",
//! "Yesterday", or the date), which the style sheet shows above it; each
//! time's tooltip is the full date and time, in the reader's own format.

use crate::browser::{Dom, Listener};
use crate::content;
use panel_core::announce::reaction_name;
use panel_core::format;
use panel_core::roving::{key_move, Move};
use panel_core::rows::{reconcile, RowStep};
use panel_core::{Message, MessageId};
use std::collections::VecDeque;
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element};

/// What the rows ask of the panel.
pub struct RowActions {
    /// Toggle the reader's reaction: the message, the emoji, whether to add it.
    pub react: Box<dyn Fn(MessageId, String, bool)>,
    /// Edit the reader's message (in the composer).
    pub edit: Box<dyn Fn(MessageId)>,
    /// Delete the reader's message.
    pub delete: Box<dyn Fn(MessageId)>,
    /// Mark the message, and everything after it, unread.
    pub mark_unread: Box<dyn Fn(MessageId)>,
}

/// One rendered row.
struct Row {
    /// The state it was made from.
    message: Arc<Message>,
    element: Element,
    /// Its message's local day (`yyyymmdd`, 0 if unreadable).
    day: u32,
    /// Whether it carries the day's mark now.
    marked: bool,
    /// Whether it shares the header of the row before (`data-grouped`).
    grouped: bool,
}

/// Messages of one author this close in time share one header, as Discord
/// shows them.
const GROUP_MS: f64 = 7.0 * 60_000.0;

/// The rows inside one `<ol>`, in id order.
pub struct MessageList {
    list: Element,
    document: Document,
    rows: VecDeque<Row>,
    /// The day the marks were written on.
    labelled_on: u32,
    /// Whose reactions are highlighted (and whether chips can be pressed).
    reader: Option<String>,
    /// "New": where the reader stopped, before the first message that was
    /// unread when the panel opened (out of the list while there is none).
    divider: Element,
    /// The message the divider stands before (its row starts a group).
    divider_at: Option<MessageId>,
    /// Clicks on reaction chips, buttons, replies and spoilers.
    _clicks: Listener,
    /// Enter and Space on spoilers, the keys that move between rows.
    _keys: Listener,
    /// Keeps relative timestamps ("3 minutes ago") current.
    _ticks: gloo_timers::callback::Interval,
}

impl MessageList {
    /// Takes charge of `list`'s children (it must start empty).
    pub fn new(list: Element, actions: RowActions) -> Option<MessageList> {
        let document = list.owner_document()?;
        // The listeners' own element (their events' `currentTarget`).
        let (clicked, keyed) = (list.clone(), list.clone());
        let clicks = Listener::new(list.as_ref(), "click", move |event| {
            let target = event.target().and_then(|t| t.dyn_into::<Element>().ok());
            // A reply's line goes to what it answers, when it is held.
            let reply = target.as_ref().and_then(|t| t.ancestor("[data-reply-to]"));
            if let Some(id) = reply.and_then(|r| r.get_attribute("data-reply-to")) {
                let mut selector = String::from("li[data-message-id=\"");
                selector.push_str(&id);
                selector.push_str("\"]");
                let original = clicked.find(&selector);
                if let Some(original) = original {
                    original.scroll_into_view();
                    original.attr("data-flash", "");
                }
                return;
            }
            // A hidden spoiler shows what it hides; that click does nothing
            // else (a link inside is not followed).
            if target.as_ref().and_then(reveal).is_some() {
                event.prevent_default();
                return;
            }
            let button = target.and_then(|t| t.ancestor("button"));
            let Some(button) = button.filter(|b| !b.is("[disabled]")) else {
                return;
            };
            let row = button.ancestor("[data-message-id]");
            let id = row
                .as_ref()
                .and_then(|row| row.get_attribute("data-message-id"));
            let Some(id) = id.and_then(|id| id.parse().ok()) else {
                return;
            };
            if let Some(emoji) = button.get_attribute("data-reaction") {
                let mine = button.get_attribute("aria-pressed").as_deref() == Some("true");
                return (actions.react)(id, emoji, !mine);
            }
            match button.get_attribute("data-action").as_deref() {
                Some("edit-message") => (actions.edit)(id),
                Some("mark-unread") => (actions.mark_unread)(id),
                // A deletion asks once more, on the button itself.
                Some("delete-message") if button.is("[data-confirm]") => (actions.delete)(id),
                Some("delete-message") => {
                    button.attr("data-confirm", "");
                    button.set_text_content(Some("Delete for good?"));
                    // Its name says so too, still naming the message.
                    let name = button.get_attribute("aria-label").unwrap_or_default();
                    let mut confirm = "Delete for good?".to_owned();
                    confirm.push_str(name.strip_prefix("Delete").unwrap_or_default());
                    button.attr("aria-label", &confirm);
                }
                _ => {}
            }
        });
        // Enter or Space on a hidden spoiler (a button) reveals it; keys on
        // a row move the list's one tab stop (see `roving`).
        let keys = Listener::new(list.as_ref(), "keydown", move |event| {
            let key = crate::browser::key_of(&event);
            let target = event.target().and_then(|t| t.dyn_into::<Element>().ok());
            let (Some(key), Some(target)) = (key, target) else {
                return;
            };
            let moved = match key.as_str() {
                // Revealed, a spoiler is text again: its row keeps the focus.
                "Enter" | " " => reveal(&target).inspect(focus).is_some(),
                _ => move_tab_stop(&keyed, &target, &key),
            };
            if moved {
                event.prevent_default();
            }
        });
        let ticking = list.clone();
        let ticks =
            gloo_timers::callback::Interval::new(RELATIVE_TICK_MS, move || content::tick(&ticking));
        let divider = crate::browser::element(&document, "li", "dp-divider")?;
        divider.attr("data-unread-divider", "");
        divider.set_text_content(Some("New"));
        Some(MessageList {
            divider,
            divider_at: None,
            _ticks: ticks,
            list,
            document,
            rows: VecDeque::new(),
            labelled_on: 0,
            reader: None,
            _clicks: clicks,
            _keys: keys,
        })
    }

    /// The oldest row's message id.
    pub fn first(&self) -> Option<MessageId> {
        self.rows.front().map(|row| row.message.id)
    }

    /// Makes the rows match `messages` (ordered by id, as the store holds them),
    /// with `reader`'s reactions highlighted, and the divider before the
    /// message `divider`. Kept rows are moved, not
    /// touched, unless their message changed; a history page that fills a
    /// hole mid-list gets its rows created in place.
    pub fn show(
        &mut self,
        messages: &[Arc<Message>],
        reader: Option<&str>,
        divider: Option<MessageId>,
    ) {
        // Someone else reads now: which chips are pressed and which messages
        // are the reader's own changed, so every row is made again.
        let reader_changed = self.reader.as_deref() != reader;
        self.reader = reader.map(str::to_owned);
        // Push loops: each collected iterator chain compiled its own code.
        let mut held = Vec::new();
        for row in &self.rows {
            held.push(row.message.id);
        }
        let mut wanted = Vec::new();
        for message in messages {
            wanted.push(message.id);
        }
        let mut old = std::mem::take(&mut self.rows).into_iter().peekable();
        // What has the focus, and where the tab stop was if its row goes.
        let active = self.document.active_element();
        let mut lost = None;
        let mut rows = VecDeque::with_capacity(messages.len());
        // The index in `messages` of the next `Keep` or `Insert`.
        let mut next = 0;
        for step in reconcile(&held, &wanted) {
            match step {
                RowStep::Keep => {
                    let Some(mut row) = old.next() else {
                        continue;
                    };
                    let now = &messages[next];
                    next += 1;
                    let stale = !Arc::ptr_eq(&row.message, now) && *row.message != **now;
                    if stale || reader_changed {
                        if let Some(element) = self.row(now) {
                            let old = &row.element;
                            if old.get_attribute("tabindex").as_deref() == Some("0") {
                                set_tab_stop(&element, true);
                            }
                            // The text part stays as it is (what the reader
                            // revealed, a link with the focus) unless the
                            // text, or who reads it, changed.
                            let kept = !reader_changed
                                && row.message.content == now.content
                                && row.message.mentions == now.mentions;
                            let focused = active.as_ref().filter(|a| old.contains(Some(a)));
                            let place = focused.map(|f| (f, place(old, f)));
                            patch(old, &element, kept);
                            // A changed part had the focus: the same control
                            // of the new one takes it, or the row.
                            if let Some((focused, (kind, at))) = place {
                                if !focused.is_connected() {
                                    let same = (controls(old).into_iter())
                                        .filter(|c| key(c) == kind)
                                        .nth(at.unwrap_or(usize::MAX));
                                    focus(same.as_ref().unwrap_or(old));
                                }
                            }
                        }
                    }
                    row.message = now.clone();
                    rows.push_back(row);
                }
                RowStep::Remove => {
                    if let Some(row) = old.next() {
                        let focused = active
                            .as_ref()
                            .is_some_and(|a| row.element.contains(Some(a)));
                        if focused || row.element.get_attribute("tabindex").as_deref() == Some("0")
                        {
                            lost = Some((rows.len(), focused));
                        }
                        row.element.remove();
                    }
                }
                RowStep::Insert(index) => {
                    next = index + 1;
                    let message = &messages[index];
                    // Cannot fail for literal tag names; if it did, the message
                    // would get its row on the next update.
                    let Some(element) = self.row(message) else {
                        continue;
                    };
                    // Before the row under the cursor, or at the end.
                    let before = old.peek().map(|next| next.element.as_ref());
                    let _ = self.list.insert_before(&element, before);
                    let day = day_of(&js_sys::Date::new(&JsValue::from_str(&message.timestamp)));
                    rows.push_back(Row {
                        message: message.clone(),
                        element,
                        day,
                        marked: false,
                        grouped: false,
                    });
                }
            }
        }
        self.rows = rows;
        // The divider, directly before its message's row, or the next one
        // held if that one went (moved only when it is not there already);
        // out of the list without one.
        let before = (self.rows.iter()).find(|row| divider.is_some_and(|d| row.message.id >= d));
        self.divider_at = before.map(|row| row.message.id);
        match before {
            Some(row) if self.divider.next_element_sibling().as_ref() != Some(&row.element) => {
                let _ = self.list.insert_before(&self.divider, Some(&row.element));
            }
            Some(_) => {}
            None => self.divider.remove(),
        }
        self.keep_tab_stop(lost, active, held.last().copied());
        self.mark_days();
        self.group();
    }

    /// Keeps exactly one row the list's tab stop: where it was, else the
    /// row that took a deleted one's place (focused, if that one was). On
    /// the newest row (`newest`, before this update) while the reader is
    /// elsewhere, it follows the newest.
    fn keep_tab_stop(
        &self,
        lost: Option<(usize, bool)>,
        active: Option<Element>,
        newest: Option<MessageId>,
    ) {
        let (Some(last), false) = (self.rows.back(), self.rows.is_empty()) else {
            return;
        };
        let within = active.is_some_and(|a| self.list.contains(Some(&a)));
        let current = self.list.find(STOP);
        let on_newest = (current.as_ref())
            .and_then(|c| c.get_attribute("data-message-id"))
            .and_then(|id| panel_core::number::parse_u64(&id))
            .is_some_and(|id| Some(MessageId(id)) == newest);
        let wanted = match (lost, &current) {
            (Some((at, _)), _) => self.rows.get(at).unwrap_or(last).element.clone(),
            (None, Some(current)) if within || !on_newest => current.clone(),
            _ => last.element.clone(),
        };
        if current.as_ref() != Some(&wanted) {
            if let Some(current) = &current {
                set_tab_stop(current, false);
            }
            set_tab_stop(&wanted, true);
        }
        if lost.is_some_and(|(_, focused)| focused) {
            focus(&wanted);
        }
    }

    /// Marks each row that continues its author's run (`data-grouped`: the
    /// style sheet leaves its header out): same author as the row before,
    /// within [`GROUP_MS`], on the same day, not a reply, and not the first
    /// after the divider. Only rows whose
    /// mark changes are touched.
    fn group(&mut self) {
        let mut previous: Option<(String, f64, u32)> = None;
        for row in self.rows.iter_mut() {
            let at = js_sys::Date::new(&JsValue::from_str(&row.message.timestamp)).get_time();
            let grouped = previous.as_ref().is_some_and(|(author, before, day)| {
                *author == row.message.author
                    && *day == row.day
                    && at - before < GROUP_MS
                    && at >= *before
                    && row.message.referenced_message.is_none()
                    && Some(row.message.id) != self.divider_at
            });
            previous = Some((row.message.author.clone(), at, row.day));
            if grouped != std::mem::replace(&mut row.grouped, grouped) {
                match grouped {
                    true => row.element.attr("data-grouped", ""),
                    false => row.element.unattr("data-grouped"),
                };
            }
        }
    }

    /// Puts the day on the first row of each day, and takes it off the
    /// others. Only rows whose mark changes are touched: a new message
    /// appended costs one comparison per row, not a DOM write per row.
    fn mark_days(&mut self) {
        let now = js_sys::Date::new(&js_sys::Date::now().into());
        let today = day_of(&now);
        now.set_date(now.get_date() - 1);
        let yesterday = day_of(&now);
        // A new day: every label is written again (today's became yesterday).
        let relabel = std::mem::replace(&mut self.labelled_on, today) != today;
        let mut previous = None;
        for Row {
            element: row,
            day,
            marked,
            ..
        } in self.rows.iter_mut()
        {
            let first = previous != Some(*day) && *day != 0;
            previous = Some(*day);
            if first == *marked && !(first && relabel) {
                continue;
            }
            *marked = first;
            if first {
                let label = match *day {
                    d if d == today => "Today".to_owned(),
                    d if d == yesterday => "Yesterday".to_owned(),
                    d => day_label(d),
                };
                row.attr("data-day", &label);
            } else {
                row.unattr("data-day");
            }
        }
    }

    /// `<li class="dp-message" data-message-id>` with author, time and content.
    fn row(&self, message: &Message) -> Option<Element> {
        let row = self.element("li", "dp-message")?;
        row.attr("data-message-id", &message.id.to_string());
        // What it answers: the author and first words; a click goes there.
        if let Some(original) = &message.referenced_message {
            let reply = self.element("div", "dp-reply")?;
            reply.attr("data-reply-to", &original.id.to_string());
            let who = self.element("span", "dp-reply-author")?;
            who.append_with_str_1("@").ok()?;
            who.append_with_str_1(&original.author).ok()?;
            // Its text as the row shows it, on one line (the style sheet
            // flattens it), spoilers hidden, even one the bridge cut; names
            // from this message's mentions (an id is one person anywhere).
            let words = self.element("span", "dp-reply-text")?;
            let events = format::preview(&original.content);
            content::render(
                &self.document,
                &words,
                events,
                &message.mentions,
                self.reader.as_deref(),
            )?;
            reply.add(&who);
            reply.add(&words);
            row.add(&reply);
        }
        // An avatar of initials, in a colour of its author's own.
        // A class of a fixed palette (panel.css): a `style` attribute would
        // be refused by a strict Content-Security-Policy (the bridge's own).
        let avatar = self.element("span", &avatar_class(&message.author))?;
        avatar.attr("aria-hidden", "true");
        avatar.set_text_content(Some(&initials(&message.author)));
        row.add(&avatar);
        let meta = self.element("div", "dp-meta")?;
        let author = self.element("span", "dp-author")?;
        author.set_text_content(Some(&message.author));
        let time = self.element("time", "dp-time")?;
        time.attr("datetime", &message.timestamp);
        time.set_text_content(Some(&local_time(&message.timestamp)));
        if let Some(full) = full_time(&message.timestamp) {
            time.attr("title", &full);
        }
        meta.add(&author);
        meta.add(&time);
        if let Some(edited_at) = &message.edited_at {
            row.attr("data-edited", edited_at);
            let edited = self.element("span", "dp-edited")?;
            edited.set_text_content(Some("(edited)"));
            let mut when = String::from("Edited ");
            when.push_str(full_time(edited_at).as_deref().unwrap_or(edited_at));
            edited.attr("title", &when);
            meta.add(&edited);
        }
        let content = self.element("div", "dp-content")?;
        let events = format::parse(&message.content);
        content::render(
            &self.document,
            &content,
            events,
            &message.mentions,
            self.reader.as_deref(),
        )?;
        // Any message: mark it (and what follows) unread.
        let unread = self.element("button", "dp-row-action")?;
        unread.attr("type", "button");
        unread.attr("data-action", "mark-unread");
        unread.set_text_content(Some("Mark unread"));
        meta.add(&unread);
        // The reader's own: Edit and Delete, named with the message they act
        // on, as its row reads (not its markup).
        if self.reader.as_deref() == Some(message.author.as_str()) {
            row.attr("data-own", "");
            let text = said(&content);
            for (action, label) in [("edit-message", "Edit"), ("delete-message", "Delete")] {
                let button = self.element("button", "dp-row-action")?;
                button.attr("type", "button");
                button.attr("data-action", action);
                button.set_text_content(Some(label));
                let mut name = label.to_owned();
                name.push_str(" your message: ");
                name.extend(text.chars().take(NAMED_CHARS));
                button.attr("aria-label", &name);
                meta.add(&button);
            }
        }
        row.add(&meta);
        row.add(&content);
        // Files: a link each (as a message's links are), with its size.
        let mut list = None;
        for file in (message.attachments.iter()).filter(|a| format::allowed(&a.url)) {
            if list.is_none() {
                list = Some(self.element("ul", "dp-attachments")?);
                row.add(list.as_ref()?);
            }
            let item = self.element("li", "")?;
            let link = content::opened(&self.document, format::Tag::Link(&file.url))?;
            link.set_text_content(Some(&file.filename));
            item.add(&link);
            // One string at a time: the same three text nodes.
            item.append_with_str_1(" (").ok()?;
            item.append_with_str_1(&format::file_size(file.size)).ok()?;
            item.append_with_str_1(")").ok()?;
            list.as_ref()?.add(&item);
        }
        if !message.reactions.is_empty() {
            let chips = self.reactions(message)?;
            row.add(&chips);
        }
        name(&row)?;
        set_tab_stop(&row, false);
        Some(row)
    }

    /// The reaction chips under a message: the emoji and its count, pressed
    /// when the reader is among those who reacted, the names as a tooltip.
    fn reactions(&self, message: &Message) -> Option<Element> {
        let chips = self.element("div", "dp-reactions")?;
        for reaction in &message.reactions {
            let chip = self.element("button", "dp-reaction")?;
            chip.attr("type", "button");
            chip.attr("data-reaction", &reaction.emoji);
            let count = panel_core::number::digits(reaction.count.into());
            chip.attr("data-count", &count);
            // Exact from a bridge that says so (`me`); else among the names.
            let mine =
                reaction.me || (self.reader.as_ref()).is_some_and(|me| reaction.users.contains(me));
            chip.attr("aria-pressed", if mine { "true" } else { "false" });
            if self.reader.is_none() {
                chip.attr("disabled", "");
            }
            if !reaction.users.is_empty() {
                chip.attr("title", &reaction.users.join(", "));
            }
            // The emoji is shown by the style sheet from `data-reaction`,
            // isolated: a bidi control in it cannot turn the count around
            // (12 read as 21).
            chip.set_text_content(Some(&count));
            chip.attr(
                "aria-label",
                &reaction_name(&reaction.emoji, &count, mine, self.reader.is_some()),
            );
            chips.add(&chip);
        }
        Some(chips)
    }

    fn element(&self, tag: &str, class: &str) -> Option<Element> {
        crate::browser::element(&self.document, tag, class)
    }
}

/// How much of a message names the buttons that act on it.
const NAMED_CHARS: usize = 40;

/// What can take the focus inside a row: in the Tab order only while the
/// row is the list's tab stop.
const CONTROLS: &str = "button, a[href], [data-spoiler]:not([data-revealed])";

/// The row that is the list's tab stop.
const STOP: &str = ":scope > [tabindex=\"0\"]";

/// Focused, a row reads as who wrote what when (see [`said`]).
fn name(row: &Element) -> Option<()> {
    let part = |selector: &str| row.find(selector);
    let mut name = part(".dp-author")?.text_content()?;
    name.push_str(", ");
    name.push_str(&part(".dp-time")?.text_content()?);
    name.push_str(": ");
    name.push_str(&said(&part(".dp-content")?));
    row.attr("aria-label", &name)
}

/// What a message's content says, its white space as one space: its
/// text, but "spoiler" for a hidden spoiler (a name is read aloud: it must
/// not give away what the spoiler hides), and blocks (a heading, a quote,
/// an item) a word apart ("## Title" and a line are not "Titletext").
fn said(content: &Element) -> String {
    fn walk(node: &web_sys::Node, out: &mut String) {
        let children = node.child_nodes();
        for child in (0..children.length()).filter_map(|i| children.item(i)) {
            let Some(element) = child.dyn_ref::<Element>() else {
                out.push_str(&child.text_content().unwrap_or_default());
                continue;
            };
            if element.is(HIDDEN) {
                out.push_str("spoiler");
            } else {
                walk(element, out);
            }
            if element.is(BLOCKS) {
                out.push(' ');
            }
        }
    }
    let mut text = String::new();
    walk(content, &mut text);
    let mut out = String::new();
    for word in text.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A spoiler not revealed.
const HIDDEN: &str = "[data-spoiler]:not([data-revealed])";

/// The elements of a message's text that end a word (see `content`).
const BLOCKS: &str = "div, h3, h4, h5, blockquote, pre, li, small";

/// Reveals the hidden spoiler `target` is in, if it is in one, and names
/// its row again (it reads what the spoiler shows now); answers the row.
fn reveal(target: &Element) -> Option<Element> {
    if !content::reveal(target) {
        return None;
    }
    let row = target.ancestor("[data-message-id]")?;
    name(&row);
    Some(row)
}

/// Makes `old` read as `new` (its message's row made again) but keeps
/// `old` and each part of it that did not change, and its text part when
/// `kept`: the focus on the row, or in a part that stays, stays put
/// without a focus event, so that a screen reader does not read the
/// message again on each reaction. The parts keep their order; only the
/// last (files, reactions) come and go. Its name is written again.
fn patch(old: &Element, new: &Element, kept: bool) {
    for name in ["data-edited", "data-own"] {
        match new.get_attribute(name) {
            Some(value) => old.attr(name, &value),
            None => old.unattr(name),
        };
    }
    let parts = |row: &Element| {
        let children = row.children();
        let mut parts = Vec::new();
        for i in 0..children.length() {
            parts.extend(children.item(i));
        }
        parts
    };
    let (was, now) = (parts(old), parts(new));
    for i in 0..was.len().max(now.len()) {
        match (was.get(i), now.get(i)) {
            (Some(was), Some(_)) if kept && was.is(".dp-content") => {}
            (Some(was), Some(now)) if !was.is_equal_node(Some(now)) => {
                // `replaceWith`, in two calls the wasm already imports.
                let _ = old.insert_before(now, Some(was));
                was.remove();
            }
            (Some(was), None) => was.remove(),
            (None, Some(now)) => {
                old.add(now);
            }
            _ => {}
        }
    }
    name(old);
}

/// What a control is (its reaction, action or address): a control keeps
/// its identity when its row is made again, not its place among the
/// others (a chip before it may have gone).
fn key(control: &Element) -> Option<String> {
    (["data-reaction", "data-action", "href"].iter()).find_map(|name| control.get_attribute(name))
}

/// Which control of `row` `focused` is: its [`key`] and its place among
/// those of the same key (spoilers, one link twice), if it is one.
fn place(row: &Element, focused: &Element) -> (Option<String>, Option<usize>) {
    let kind = key(focused);
    let at = (controls(row).iter())
        .filter(|c| key(c) == kind)
        .position(|c| c == focused);
    (kind, at)
}

/// Makes `row` the list's one tab stop, or takes it out of the Tab order
/// (with its controls).
fn set_tab_stop(row: &Element, on: bool) {
    let index = if on { "0" } else { "-1" };
    row.attr("tabindex", index);
    for control in controls(row) {
        control.attr("tabindex", index);
    }
}

fn controls(row: &Element) -> Vec<Element> {
    let mut controls = Vec::new();
    if let Ok(found) = row.query_selector_all(CONTROLS) {
        for i in 0..found.length() {
            controls.extend(found.item(i).and_then(|n| n.dyn_into::<Element>().ok()));
        }
    }
    controls
}

/// Focuses a row or one of its controls (HTML elements all: no check of
/// the type, which was an import of its own; `focus` catches).
fn focus(element: &Element) {
    let _ = element.unchecked_ref::<web_sys::HtmlElement>().focus();
}

/// Makes `row` the list's one tab stop, taking it from whichever row has
/// it (a click may have focused another row than the stop).
fn take_stop(list: &Element, row: &Element) {
    if let Some(stop) = list.find(STOP) {
        set_tab_stop(&stop, false);
    }
    set_tab_stop(row, true);
}

/// Gives the first unread message's row (after the divider) the focus and
/// the tab stop: where the jump bar takes the reader.
pub fn focus_first_unread(list: &Element) {
    if let Some(row) = list.find("[data-unread-divider]+li") {
        take_stop(list, &row);
        focus(&row);
    }
}

/// Gives the newest row the focus (and the tab stop): where "N new
/// messages" takes the reader, as the button goes.
pub fn focus_newest(list: &Element) {
    // The last element child, as the last of the children.
    let rows = list.children();
    if let Some(row) = rows.item(rows.length().wrapping_sub(1)) {
        take_stop(list, &row);
        focus(&row);
    }
}

/// Carries out what `key` on `target` asks of the list's tab stop (see
/// [`key_move`]): answers whether it did something.
fn move_tab_stop(list: &Element, target: &Element, key: &str) -> bool {
    let rows = list.children();
    let at = (0..rows.length()).find(|&i| rows.item(i).as_ref() == Some(target));
    // Keys move between rows from a row itself; Escape leaves from anywhere.
    if at.is_none() && key != "Escape" {
        return false;
    }
    let from = at.unwrap_or(0);
    match key_move(key, from as usize, rows.length() as usize) {
        Some(Move::To(to)) => {
            // Past the divider (not a row), the way the key went.
            let mut to = to as u32;
            if rows
                .item(to)
                .is_some_and(|row| row.is("[data-unread-divider]"))
            {
                to = match to > from || to == 0 {
                    true => to + 1,
                    false => to - 1,
                };
            }
            if let Some(to) = rows.item(to) {
                take_stop(list, &to);
                focus(&to);
            }
            true
        }
        Some(Move::Composer) => {
            let input = list.parent_element().and_then(|p| p.find(".dp-input"));
            input.inspect(focus).is_some()
        }
        None => false,
    }
}

/// A date's local day as `yyyymmdd`; 0 for an unreadable one.
fn day_of(date: &js_sys::Date) -> u32 {
    let year = date.get_full_year();
    if !(1..=9999).contains(&year) {
        return 0; // NaN date
    }
    year * 10_000 + (date.get_month() + 1) * 100 + date.get_date()
}

/// A day other than today or yesterday, as the reader's browser writes it
/// ("Monday, 23 November").
fn day_label(day: u32) -> String {
    let date = js_sys::Date::new_with_year_month_day(
        day / 10_000,
        (day / 100 % 100) as i32 - 1,
        (day % 100) as i32,
    );
    content::write_date(b'W', &date)
}

/// An avatar's classes: a colour of its person's own, from a fixed palette
/// (panel.css; a `style` attribute would be refused by a strict
/// Content-Security-Policy, the bridge's own).
pub(crate) fn avatar_class(name: &str) -> String {
    let hue = (name.bytes()).fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let mut class = String::from("dp-avatar dp-h");
    class.push(char::from(b'0' + (hue % 8) as u8));
    class
}

/// Up to two initials of a name ("Ann Lee" → "AL", "bob" → "B"; only
/// ASCII letters are capitalised: Unicode's case tables would cost the wasm
/// kilobytes).
pub(crate) fn initials(name: &str) -> String {
    // One walk over the characters: `split_whitespace` compiled more.
    let (mut initials, mut taken, mut at_start) = (String::new(), 0, true);
    for c in name.chars() {
        if c.is_whitespace() {
            at_start = true;
        } else if at_start && taken < 2 {
            initials.push(c.to_ascii_uppercase());
            (taken, at_start) = (taken + 1, false);
        } else {
            at_start = false;
        }
    }
    initials
}

/// How often relative timestamps are written again.
const RELATIVE_TICK_MS: u32 = 10_000;

/// A timestamp's full local date and time, if it is readable.
fn full_time(timestamp: &str) -> Option<String> {
    let date = js_sys::Date::new(&JsValue::from_str(timestamp));
    (day_of(&date) != 0).then(|| content::write_date(b'L', &date))
}

/// `HH:MM` in the reader's time zone, or nothing for an unreadable timestamp.
pub(crate) fn local_time(timestamp: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(timestamp));
    // An invalid date's hours read as 0 through the ABI, not NaN.
    if date.get_time().is_nan() {
        return String::new();
    }
    let (hours, minutes) = (date.get_hours(), date.get_minutes());
    let mut text = String::new();
    for (n, after) in [(hours, ":"), (minutes, "")] {
        if n < 10 {
            text.push('0');
        }
        panel_core::number::push_digits(&mut text, n.into());
        text.push_str(after);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_are_the_first_letters_of_the_first_two_words() {
        assert_eq!(initials("Ann Lee"), "AL");
        assert_eq!(initials("bob"), "B");
        assert_eq!(initials("  ann   lee  zed "), "AL");
        assert_eq!(initials("émile zola"), "éZ", "only ASCII is capitalised");
        assert_eq!(initials(""), "");
        assert_eq!(initials(" \t "), "");
    }
}
