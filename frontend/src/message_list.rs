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
    rows: VecDeque<(MessageId, Element)>,
}

impl MessageList {
    /// Takes charge of `list`'s children (it must start empty).
    pub fn new(list: Element) -> Option<MessageList> {
        let document = list.owner_document()?;
        Some(MessageList {
            list,
            document,
            rows: VecDeque::new(),
        })
    }

    /// Makes the rows match `messages` (ordered by id, as the store holds them).
    /// Kept rows are moved, not touched; a history page that fills a hole
    /// mid-list gets its rows created in place.
    pub fn show(&mut self, messages: &[Arc<Message>]) {
        let held: Vec<MessageId> = self.rows.iter().map(|(id, _)| *id).collect();
        let wanted: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let mut old = std::mem::take(&mut self.rows).into_iter().peekable();
        let mut rows = VecDeque::with_capacity(messages.len());
        for step in reconcile(&held, &wanted) {
            match step {
                RowStep::Keep => rows.extend(old.next()),
                RowStep::Remove => {
                    if let Some((_, row)) = old.next() {
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
                    let before = old.peek().map(|(_, next)| next.as_ref());
                    let _ = self.list.insert_before(&row, before);
                    rows.push_back((message.id, row));
                }
            }
        }
        self.rows = rows;
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
        meta.append_child(&author).ok()?;
        meta.append_child(&time).ok()?;
        let content = self.element("p", "dp-content")?;
        content.set_text_content(Some(&message.content));
        row.append_child(&meta).ok()?;
        row.append_child(&content).ok()?;
        Some(row)
    }

    fn element(&self, tag: &str, class: &str) -> Option<Element> {
        let element = self.document.create_element(tag).ok()?;
        element.set_class_name(class);
        Some(element)
    }
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
