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
//! The first message of each day carries the day (`data-day`: "Today",
//! "Yesterday", or the date), which the style sheet shows above it; each
//! time's tooltip is the full date and time, in the reader's own format.

use panel_core::rows::{reconcile, RowStep};
use panel_core::{Message, MessageId};
use std::collections::VecDeque;
use std::sync::Arc;
use wasm_bindgen::JsValue;
use web_sys::{Document, Element};

/// The rows inside one `<ol>`, in id order.
pub struct MessageList {
    list: Element,
    document: Document,
    /// Each row with its message's local day (`yyyymmdd`, 0 if unreadable)
    /// and whether it carries the day's mark now.
    rows: VecDeque<(MessageId, Element, u32, bool)>,
    /// The day the marks were written on.
    labelled_on: u32,
}

impl MessageList {
    /// Takes charge of `list`'s children (it must start empty).
    pub fn new(list: Element) -> Option<MessageList> {
        let document = list.owner_document()?;
        Some(MessageList {
            list,
            document,
            rows: VecDeque::new(),
            labelled_on: 0,
        })
    }

    /// The oldest row's message id.
    pub fn first(&self) -> Option<MessageId> {
        self.rows.front().map(|(id, _, _, _)| *id)
    }

    /// Makes the rows match `messages` (ordered by id, as the store holds them).
    /// Kept rows are moved, not touched; a history page that fills a hole
    /// mid-list gets its rows created in place.
    pub fn show(&mut self, messages: &[Arc<Message>]) {
        let held: Vec<MessageId> = self.rows.iter().map(|(id, _, _, _)| *id).collect();
        let wanted: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let mut old = std::mem::take(&mut self.rows).into_iter().peekable();
        let mut rows = VecDeque::with_capacity(messages.len());
        for step in reconcile(&held, &wanted) {
            match step {
                RowStep::Keep => rows.extend(old.next()),
                RowStep::Remove => {
                    if let Some((_, row, _, _)) = old.next() {
                        row.remove();
                    }
                }
                RowStep::Insert(index) => {
                    let message = &messages[index];
                    // Cannot fail for literal tag names; if it did, the message
                    // would get its row on the next update.
                    let Some(row) = self.row(message) else {
                        continue;
                    };
                    // Before the row under the cursor, or at the end.
                    let before = old.peek().map(|(_, next, _, _)| next.as_ref());
                    let _ = self.list.insert_before(&row, before);
                    let day = day_of(&js_sys::Date::new(&JsValue::from_str(&message.timestamp)));
                    rows.push_back((message.id, row, day, false));
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
        for (_, row, day, marked) in self.rows.iter_mut() {
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
        let full = js_sys::Date::new(&JsValue::from_str(&message.timestamp));
        if day_of(&full) != 0 {
            let full: String = full.to_locale_string("default", &JsValue::UNDEFINED).into();
            time.set_attribute("title", &full).ok()?;
        }
        meta.append_child(&author).ok()?;
        meta.append_child(&time).ok()?;
        let content = self.element("p", "dp-content")?;
        content.set_text_content(Some(&message.content));
        row.append_child(&meta).ok()?;
        row.append_child(&content).ok()?;
        Some(row)
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

/// `HH:MM` in the reader's time zone, or nothing for an unreadable timestamp.
fn local_time(timestamp: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(timestamp));
    let (hours, minutes) = (date.get_hours(), date.get_minutes());
    if hours > 23 || minutes > 59 {
        return String::new(); // NaN date
    }
    format!("{hours:02}:{minutes:02}")
}
