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
use panel_core::format::{self, Mention, Node, Style};
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
    /// Clicks on reaction chips.
    _clicks: Listener,
    /// Keeps relative timestamps ("3 minutes ago") current.
    _ticks: gloo_timers::callback::Interval,
}

impl MessageList {
    /// Takes charge of `list`'s children (it must start empty).
    pub fn new(list: Element, actions: RowActions) -> Option<MessageList> {
        let document = list.owner_document()?;
        let clicks = Listener::new(list.as_ref(), "click", move |event| {
            let target = event.target().and_then(|t| t.dyn_into::<Element>().ok());
            // A reply's line goes to what it answers, when it is held.
            let reply = target
                .as_ref()
                .and_then(|t| t.closest("[data-reply-to]").ok().flatten());
            if let Some(id) = reply.and_then(|r| r.get_attribute("data-reply-to")) {
                let list = event
                    .current_target()
                    .and_then(|t| t.dyn_into::<Element>().ok());
                let selector = format!("li[data-message-id=\"{id}\"]");
                let original = list.and_then(|l| l.query_selector(&selector).ok().flatten());
                if let Some(original) = original {
                    original.scroll_into_view();
                    let _ = original.set_attribute("data-flash", "");
                }
                return;
            }
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
        let ticking = list.clone();
        let ticks = gloo_timers::callback::Interval::new(RELATIVE_TICK_MS, move || tick(&ticking));
        Some(MessageList {
            _ticks: ticks,
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
                            row.grouped = false;
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
                        grouped: false,
                    });
                }
            }
        }
        self.rows = rows;
        self.mark_days();
        self.group();
    }

    /// Marks each row that continues its author's run (`data-grouped`: the
    /// style sheet leaves its header out): same author as the row before,
    /// within [`GROUP_MS`], on the same day, and not a reply. Only rows whose
    /// mark changes are touched.
    fn group(&mut self) {
        let mut previous: Option<(String, f64, u32)> = None;
        for row in self.rows.iter_mut() {
            let at = js_sys::Date::parse(&row.message.timestamp);
            let grouped = previous.as_ref().is_some_and(|(author, before, day)| {
                *author == row.message.author
                    && *day == row.day
                    && at - before < GROUP_MS
                    && at >= *before
                    && row.message.referenced_message.is_none()
            });
            previous = Some((row.message.author.clone(), at, row.day));
            if grouped != std::mem::replace(&mut row.grouped, grouped) {
                let _ = match grouped {
                    true => row.element.set_attribute("data-grouped", ""),
                    false => row.element.remove_attribute("data-grouped"),
                };
            }
        }
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
        // What it answers: the author and first words; a click goes there.
        if let Some(original) = &message.referenced_message {
            let reply = self.element("div", "dp-reply")?;
            reply
                .set_attribute("data-reply-to", &original.id.to_string())
                .ok()?;
            let who = self.element("span", "dp-reply-author")?;
            who.set_text_content(Some(&format!("@{}", original.author)));
            let words = self.element("span", "dp-reply-text")?;
            words.set_text_content(Some(&original.content));
            reply.append_with_node_2(&who, &words).ok()?;
            row.append_child(&reply).ok()?;
        }
        // An avatar of initials, in a colour of its author's own.
        let avatar = self.element("span", "dp-avatar")?;
        avatar.set_attribute("aria-hidden", "true").ok()?;
        let hue = (message.author.bytes())
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
            % 360;
        avatar
            .set_attribute("style", &format!("--dp-hue:{hue}"))
            .ok()?;
        avatar.set_text_content(Some(&initials(&message.author)));
        row.append_child(&avatar).ok()?;
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
        self.render(&content, &format::parse(&message.content), message)?;
        row.append_child(&meta).ok()?;
        row.append_child(&content).ok()?;
        // Files: a link each, with its size.
        let files: Vec<_> = (message.attachments.iter())
            .filter(|a| format::allowed(&a.url))
            .collect();
        if !files.is_empty() {
            let list = self.element("ul", "dp-attachments")?;
            for file in files {
                let item = self.element("li", "")?;
                let link = self.element("a", "")?;
                link.set_attribute("href", &file.url).ok()?;
                link.set_attribute("target", "_blank").ok()?;
                link.set_attribute("rel", "noopener noreferrer nofollow")
                    .ok()?;
                link.set_text_content(Some(&file.filename));
                item.append_child(&link).ok()?;
                item.append_with_str_1(&format!(" ({})", size(file.size)))
                    .ok()?;
                list.append_child(&item).ok()?;
            }
            row.append_child(&list).ok()?;
        }
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
    fn render(&self, parent: &Element, nodes: &[Node], message: &Message) -> Option<()> {
        for node in nodes {
            let child = match node {
                Node::Text(text) => {
                    parent.append_with_str_1(text).ok()?;
                    continue;
                }
                Node::Emoji(name) => {
                    parent.append_with_str_1(&format!(":{name}:")).ok()?;
                    continue;
                }
                // By the name the message carries; the reader's own stands out.
                Node::Mention { kind, id } => {
                    let (sigil, unknown) = match kind {
                        Mention::User => ("@", "unknown-user"),
                        Mention::Role => ("@", "unknown-role"),
                        Mention::Channel => ("#", "unknown-channel"),
                    };
                    let name = message.mentions.get(id).map_or(unknown, String::as_str);
                    let element = self.element("span", "dp-mention")?;
                    element.set_attribute("data-mention", id).ok()?;
                    if *kind == Mention::User && self.reader.as_deref() == Some(name) {
                        element.set_attribute("data-me", "").ok()?;
                    }
                    element.set_text_content(Some(&format!("{sigil}{name}")));
                    element
                }
                Node::Time { unix, style } => {
                    let element = self.element("time", "dp-stamp")?;
                    let date = js_sys::Date::new(&JsValue::from_f64(*unix as f64 * 1000.0));
                    let iso: String = date.to_iso_string().into();
                    element.set_attribute("datetime", &iso).ok()?;
                    element
                        .set_attribute("title", &full_time(&iso).unwrap_or_default())
                        .ok()?;
                    if *style == 'R' {
                        element.set_attribute("data-relative", "").ok()?;
                    }
                    element.set_text_content(Some(&stamp(&date, *style)));
                    element
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
                    self.render(&element, inner, message)?;
                    element
                }
                Node::Quote(inner) => {
                    let element = self.element("blockquote", "")?;
                    self.render(&element, inner, message)?;
                    element
                }
                Node::List { ordered, items } => {
                    let list = self.element(if *ordered { "ol" } else { "ul" }, "")?;
                    for item in items {
                        let element = self.element("li", "")?;
                        self.render(&element, item, message)?;
                        list.append_child(&element).ok()?;
                    }
                    list
                }
                Node::Heading(level, inner) => {
                    let tag = ["h3", "h4", "h5"][(*level as usize).clamp(1, 3) - 1];
                    let element = self.element(tag, "dp-heading")?;
                    self.render(&element, inner, message)?;
                    element
                }
                Node::Link { href, children } => {
                    let element = self.element("a", "")?;
                    element.set_attribute("href", href).ok()?;
                    element.set_attribute("target", "_blank").ok()?;
                    element
                        .set_attribute("rel", "noopener noreferrer nofollow")
                        .ok()?;
                    self.render(&element, children, message)?;
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
            // Exact from a bridge that says so (`me`); else among the names.
            let mine =
                reaction.me || (self.reader.as_ref()).is_some_and(|me| reaction.users.contains(me));
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

/// A Discord timestamp in the reader's locale and time zone, in one of
/// Discord's styles: `t` 16:20, `T` 16:20:30, `d` 20/04/2021, `D` 20 April
/// 2021, `f` 20 April 2021 16:20, `F` Tuesday, 20 April 2021 16:20, `R`
/// "in 2 hours" or "3 days ago" (kept current by [`MessageList::tick`]).
fn stamp(date: &js_sys::Date, style: char) -> String {
    if style == 'R' {
        return relative(date);
    }
    let options = js_sys::Object::new();
    let set = |key: &str, value: &str| {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    };
    match style {
        't' => set("timeStyle", "short"),
        'T' => set("timeStyle", "medium"),
        'd' => set("dateStyle", "short"),
        'D' => set("dateStyle", "long"),
        'F' => {
            set("dateStyle", "full");
            set("timeStyle", "short");
        }
        _ => {
            set("dateStyle", "long");
            set("timeStyle", "short");
        }
    }
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &options);
    format
        .format()
        .call1(&format, date)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// Up to two initials of a name ("Ann Lee" → "AL", "bob" → "B"; only
/// ASCII letters are capitalised: Unicode's case tables would cost the wasm
/// kilobytes).
fn initials(name: &str) -> String {
    (name.split_whitespace())
        .filter_map(|word| word.chars().next())
        .take(2)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A file's size as people read it: 980 B, 12.1 KB, 3.4 MB (whole
/// numbers only: formatting floats would cost the wasm kilobytes).
fn size(bytes: u64) -> String {
    let (unit, scale) = match bytes {
        0..=999 => return format!("{bytes} B"),
        1_000..=999_999 => ("KB", 1_000),
        _ => ("MB", 1_000_000),
    };
    let tenths = (bytes * 10 + scale / 2) / scale;
    format!("{}.{} {unit}", tenths / 10, tenths % 10)
}

/// How often relative timestamps are written again.
const RELATIVE_TICK_MS: u32 = 10_000;

/// Writes every relative timestamp in `list` again, as of now.
fn tick(list: &Element) {
    let Ok(times) = list.query_selector_all("time[data-relative]") else {
        return;
    };
    for index in 0..times.length() {
        let Some(time) = times.item(index).and_then(|n| n.dyn_into::<Element>().ok()) else {
            continue;
        };
        let at = time.get_attribute("datetime").unwrap_or_default();
        let date = js_sys::Date::new(&JsValue::from_str(&at));
        time.set_text_content(Some(&relative(&date)));
    }
}

/// "in 2 hours", "3 days ago": the largest unit that fits.
fn relative(date: &js_sys::Date) -> String {
    let seconds = (date.get_time() - js_sys::Date::now()) / 1000.0;
    let (value, unit) = [
        (60.0, "second"),
        (3_600.0, "minute"),
        (86_400.0, "hour"),
        (2_592_000.0, "day"),
        (31_536_000.0, "month"),
        (f64::INFINITY, "year"),
    ]
    .iter()
    .zip([1.0, 60.0, 3_600.0, 86_400.0, 2_592_000.0, 31_536_000.0])
    .find(|((limit, _), _)| seconds.abs() < *limit)
    .map(|((_, unit), size)| ((seconds / size).round(), *unit))
    .unwrap_or((0.0, "second"));
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"numeric".into(), &"auto".into());
    let format = js_sys::Intl::RelativeTimeFormat::new(&js_sys::Array::new(), &options);
    format.format(value, unit).into()
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
