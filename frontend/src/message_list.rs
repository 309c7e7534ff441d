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
//! Author and content go in with `textContent`: never parsed as HTML.
//!
//! A message that changes (edited, reacted to) gets its row made again in
//! place: the store replaces a changed message's state, so a row whose
//! message is not the very state it was made from is stale. An edited row
//! carries `data-edited` and "(edited)" with the time as its tooltip; each
//! reaction is a chip (`data-reaction`, `data-count`, `aria-pressed` for the
//! reader's own) that toggles the reader's reaction. The reader's own
//! messages carry `data-own`, Edit and Delete (which asks once more). One
//! click listener on the list serves every button.
//!
//! The first message of each day carries the day (`data-day`: "Today",
//! "Yesterday", or the date), which the style sheet shows above it; each
//! time's tooltip is the full date and time, in the reader's own format.

use crate::browser::Listener;
use panel_core::format::{self, Node, Style};
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
}

/// The rows inside one `<ol>`, in id order.
pub struct MessageList {
    list: Element,
    document: Document,
    rows: VecDeque<Row>,
    /// The day the marks were written on.
    labelled_on: u32,
    /// Whose reactions are highlighted (and whether chips can be pressed).
    reader: Option<String>,
    /// Clicks on reaction chips.
    _clicks: Listener,
}

impl MessageList {
    /// Takes charge of `list`'s children (it must start empty).
    pub fn new(list: Element, actions: RowActions) -> Option<MessageList> {
        let document = list.owner_document()?;
        let clicks = Listener::new(list.as_ref(), "click", move |event| {
            let target = event.target().and_then(|t| t.dyn_into::<Element>().ok());
            // A spoiler shows what it hides.
            let spoiler = target
                .as_ref()
                .and_then(|t| t.closest("[data-spoiler]").ok().flatten());
            if let Some(spoiler) = spoiler {
                let _ = spoiler.set_attribute("data-revealed", "");
                return;
            }
            let button = target.and_then(|t| t.closest("button").ok().flatten());
            let Some(button) = button.filter(|b| !b.has_attribute("disabled")) else {
                return;
            };
            let row = button.closest("[data-message-id]").ok().flatten();
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
                // A deletion asks once more, on the button itself.
                Some("delete-message") if button.has_attribute("data-confirm") => {
                    (actions.delete)(id)
                }
                Some("delete-message") => {
                    let _ = button.set_attribute("data-confirm", "");
                    button.set_text_content(Some("Delete for good?"));
                }
                _ => {}
            }
        });
        Some(MessageList {
            list,
            document,
            rows: VecDeque::new(),
            labelled_on: 0,
            reader: None,
            _clicks: clicks,
        })
    }

    /// The oldest row's message id.
    pub fn first(&self) -> Option<MessageId> {
        self.rows.front().map(|row| row.message.id)
    }

    /// Makes the rows match `messages` (ordered by id, as the store holds them),
    /// with `reader`'s reactions highlighted. Kept rows are moved, not
    /// touched, unless their message changed; a history page that fills a
    /// hole mid-list gets its rows created in place.
    pub fn show(&mut self, messages: &[Arc<Message>], reader: Option<&str>) {
        // Someone else reads now: which chips are pressed and which messages
        // are the reader's own changed, so every row is made again.
        let reader_changed = self.reader.as_deref() != reader;
        self.reader = reader.map(str::to_owned);
        let held: Vec<MessageId> = self.rows.iter().map(|row| row.message.id).collect();
        let wanted: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let mut old = std::mem::take(&mut self.rows).into_iter().peekable();
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
                            let _ = row.element.replace_with_with_node_1(&element);
                            row.element = element;
                            row.marked = false;
                        }
                    }
                    row.message = now.clone();
                    rows.push_back(row);
                }
                RowStep::Remove => {
                    if let Some(row) = old.next() {
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
                    });
                }
            }
        }
        self.rows = rows;
        self.mark_days();
    }

    /// Puts the day on the first row of each day, and takes it off the
    /// others. Only rows whose mark changes are touched: a new message
    /// appended costs one comparison per row, not a DOM write per row.
    fn mark_days(&mut self) {
        let now = js_sys::Date::new_0();
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
                let _ = row.set_attribute("data-day", &label);
            } else {
                let _ = row.remove_attribute("data-day");
            }
        }
    }

    /// `<li class="dp-message" data-message-id>` with author, time and content.
    fn row(&self, message: &Message) -> Option<Element> {
        let row = self.element("li", "dp-message")?;
        row.set_attribute("data-message-id", &message.id.to_string())
            .ok()?;
        let meta = self.element("div", "dp-meta")?;
        let author = self.element("span", "dp-author")?;
        author.set_text_content(Some(&message.author));
        let time = self.element("time", "dp-time")?;
        time.set_attribute("datetime", &message.timestamp).ok()?;
        time.set_text_content(Some(&local_time(&message.timestamp)));
        if let Some(full) = full_time(&message.timestamp) {
            time.set_attribute("title", &full).ok()?;
        }
        meta.append_child(&author).ok()?;
        meta.append_child(&time).ok()?;
        if let Some(edited_at) = &message.edited_at {
            row.set_attribute("data-edited", edited_at).ok()?;
            let edited = self.element("span", "dp-edited")?;
            edited.set_text_content(Some("(edited)"));
            let when = full_time(edited_at).unwrap_or_else(|| edited_at.clone());
            edited
                .set_attribute("title", &format!("Edited {when}"))
                .ok()?;
            meta.append_child(&edited).ok()?;
        }
        // The reader's own: Edit and Delete.
        if self.reader.as_deref() == Some(message.author.as_str()) {
            row.set_attribute("data-own", "").ok()?;
            for (action, label) in [("edit-message", "Edit"), ("delete-message", "Delete")] {
                let button = self.element("button", "dp-row-action")?;
                button.set_attribute("type", "button").ok()?;
                button.set_attribute("data-action", action).ok()?;
                button.set_text_content(Some(label));
                meta.append_child(&button).ok()?;
            }
        }
        let content = self.element("div", "dp-content")?;
        self.render(&content, &format::parse(&message.content))?;
        row.append_child(&meta).ok()?;
        row.append_child(&content).ok()?;
        if !message.reactions.is_empty() {
            let chips = self.reactions(message)?;
            row.append_child(&chips).ok()?;
        }
        Some(row)
    }

    /// Appends `nodes` to `parent` as elements and text nodes (never HTML):
    /// `strong`, `em`, `u`, `s`, `code`, `pre` (its language in
    /// `data-lang`), `blockquote`, `h3`–`h5`, a spoiler (`data-spoiler`,
    /// revealed by a click) and links that open apart, to `http(s)` or
    /// `mailto` only.
    fn render(&self, parent: &Element, nodes: &[Node]) -> Option<()> {
        for node in nodes {
            let child = match node {
                Node::Text(text) => {
                    parent.append_with_str_1(text).ok()?;
                    continue;
                }
                Node::Code(code) => {
                    let element = self.element("code", "")?;
                    element.set_text_content(Some(code));
                    element
                }
                Node::Block { lang, code } => {
                    let pre = self.element("pre", "")?;
                    if !lang.is_empty() {
                        pre.set_attribute("data-lang", lang).ok()?;
                    }
                    let inner = self.element("code", "")?;
                    inner.set_text_content(Some(code));
                    pre.append_child(&inner).ok()?;
                    pre
                }
                Node::Styled(style, inner) => {
                    let (tag, class) = match style {
                        Style::Strong => ("strong", ""),
                        Style::Em => ("em", ""),
                        Style::Underline => ("u", ""),
                        Style::Strike => ("s", ""),
                        Style::Spoiler => ("span", "dp-spoiler"),
                    };
                    let element = self.element(tag, class)?;
                    if *style == Style::Spoiler {
                        element.set_attribute("data-spoiler", "").ok()?;
                        element
                            .set_attribute("title", "Spoiler: click to show")
                            .ok()?;
                    }
                    self.render(&element, inner)?;
                    element
                }
                Node::Quote(inner) => {
                    let element = self.element("blockquote", "")?;
                    self.render(&element, inner)?;
                    element
                }
                Node::Heading(level, inner) => {
                    let tag = ["h3", "h4", "h5"][(*level as usize).clamp(1, 3) - 1];
                    let element = self.element(tag, "dp-heading")?;
                    self.render(&element, inner)?;
                    element
                }
                Node::Link { href, children } => {
                    let element = self.element("a", "")?;
                    element.set_attribute("href", href).ok()?;
                    element.set_attribute("target", "_blank").ok()?;
                    element
                        .set_attribute("rel", "noopener noreferrer nofollow")
                        .ok()?;
                    self.render(&element, children)?;
                    element
                }
            };
            parent.append_child(&child).ok()?;
        }
        Some(())
    }

    /// The reaction chips under a message: the emoji and its count, pressed
    /// when the reader is among those who reacted, the names as a tooltip.
    fn reactions(&self, message: &Message) -> Option<Element> {
        let chips = self.element("div", "dp-reactions")?;
        for reaction in &message.reactions {
            let chip = self.element("button", "dp-reaction")?;
            chip.set_attribute("type", "button").ok()?;
            chip.set_attribute("data-reaction", &reaction.emoji).ok()?;
            let count = reaction.count.to_string();
            chip.set_attribute("data-count", &count).ok()?;
            let mine = (self.reader.as_ref()).is_some_and(|me| reaction.users.contains(me));
            chip.set_attribute("aria-pressed", if mine { "true" } else { "false" })
                .ok()?;
            if self.reader.is_none() {
                chip.set_attribute("disabled", "").ok()?;
            }
            if !reaction.users.is_empty() {
                chip.set_attribute("title", &reaction.users.join(", "))
                    .ok()?;
            }
            chip.set_text_content(Some(&format!("{} {count}", reaction.emoji)));
            chips.append_child(&chip).ok()?;
        }
        Some(chips)
    }

    fn element(&self, tag: &str, class: &str) -> Option<Element> {
        crate::browser::element(&self.document, tag, class)
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
    let options = js_sys::Object::new();
    for (key, value) in [("weekday", "long"), ("day", "numeric"), ("month", "long")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    date.to_locale_date_string("default", &options).into()
}

/// A timestamp's full local date and time, if it is readable.
fn full_time(timestamp: &str) -> Option<String> {
    let date = js_sys::Date::new(&JsValue::from_str(timestamp));
    (day_of(&date) != 0).then(|| date.to_locale_string("default", &JsValue::UNDEFINED).into())
}

/// `HH:MM` in the reader's time zone, or nothing for an unreadable timestamp.
fn local_time(timestamp: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(timestamp));
    let (hours, minutes) = (date.get_hours(), date.get_minutes());
    if hours > 23 || minutes > 59 {
        return String::new(); // NaN date
    }
    format!("{hours:02}:{minutes:02}")
}
