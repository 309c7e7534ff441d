//! The message list's DOM, updated incrementally.
//!
//! A keyed list re-diffed as a whole costs time in proportion to its length:
//! with thousands of messages held, evicting the oldest shifted every key and
//! one new message blocked the page for about 50 ms. Here the held messages and
//! the rendered rows are both ordered by id, so one merge walk finds exactly the
//! rows to add and remove: the walk compares ids in Rust (microseconds for
//! thousands), and the DOM is touched only for rows that changed. The usual
//! update — a new message appended — touches one row; the store evicts in
//! batches, so rows leave a tenth of the bound at a time.
//!
//! Author and content go in with `textContent`: never parsed as HTML.

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

    /// Makes the rows match `messages` (ordered by id, as the store holds them)
    /// in one walk over both sequences. Kept rows are moved, not touched; only
    /// rows that leave are removed and only messages that arrive are created,
    /// each in its place (a history page can fill a hole mid-list).
    pub fn show(&mut self, messages: &[Arc<Message>]) {
        let mut old = std::mem::take(&mut self.rows).into_iter().peekable();
        let mut rows = VecDeque::with_capacity(messages.len());
        for message in messages {
            // Rows older than this message that are no longer held (evicted).
            while let Some((_, row)) = old.next_if(|(id, _)| *id < message.id) {
                row.remove();
            }
            match old.next_if(|(id, _)| *id == message.id) {
                Some(kept) => rows.push_back(kept),
                None => {
                    let Some(row) = self.row(message) else {
                        continue; // cannot happen for literal tag names; retried next time
                    };
                    // Before the next kept row, or at the end when there is none.
                    let before = old.peek().map(|(_, next)| next.as_ref());
                    let _ = self.list.insert_before(&row, before);
                    rows.push_back((message.id, row));
                }
            }
        }
        for (_, row) in old {
            row.remove();
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
