//! A message's content as elements and text nodes (never HTML), from the
//! events of [`panel_core::format::parse`], and the dates the rows show.
//!
//! Nothing here may throw out of the wasm module on anything from the wire:
//! every date is checked before a JavaScript API that throws on an invalid
//! one (`toISOString`, `Intl.RelativeTimeFormat.format`), and formatting
//! goes through calls that catch. `Intl` formatters are built once per
//! style for the page's life: building one costs far more than using it,
//! and a message of relative timestamps once built thousands per render and
//! per tick, freezing the page.

use crate::browser::Dom;
use js_sys::Date;
use panel_core::format::{Event, Mention, Tag};
use panel_core::message::Mentions;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element};

/// Appends a message's `events` (of [`panel_core::format::parse`], or of
/// `preview` for a reply's line) to `parent` as elements and text:
/// `strong`, `em`, `u`, `s`, `code`, `pre` (its language in `data-lang`),
/// `blockquote`, `h3`–`h5`, `small` (subtext), lists (`ol` from its first
/// number), links that open apart (to `http(s)` or `mailto` only, their
/// address as a tooltip), mentions by the name `mentions` gives
/// (`data-me` for the `reader`'s own), `time` elements, and spoilers: a
/// button (`data-spoiler`, `role="button"`, `aria-expanded="false"`), a
/// block when it holds blocks, that hides what is inside (see [`reveal`]).
pub fn render(
    document: &Document,
    parent: &Element,
    events: Vec<Event>,
    mentions: &Mentions,
    reader: Option<&str>,
) -> Option<()> {
    let element = |tag, class| crate::browser::element(document, tag, class);
    // The elements open, innermost last.
    let mut open = vec![parent.clone()];
    for event in events {
        let child = match event {
            Event::Close => {
                if open.len() > 1 {
                    open.pop();
                }
                continue;
            }
            Event::Text(text) | Event::Emoji(text) => {
                open.last()?.append_with_str_1(text).ok()?;
                continue;
            }
            Event::Open(tag) => {
                let child = opened(document, tag)?;
                open.last()?.add(&child)?;
                // A spoiler's text goes in an element of its own, hidden
                // with it: the button's name ("Spoiler") then holds all the
                // text it shows, and none of what it hides.
                let child = match tag {
                    Tag::Spoiler(block) => {
                        let inner = element(if block { "div" } else { "span" }, "")?;
                        child.add(&inner)?;
                        inner
                    }
                    _ => child,
                };
                open.push(child);
                continue;
            }
            Event::Code(code) => {
                let child = element("code", "")?;
                child.set_text_content(Some(code));
                child
            }
            Event::Block { lang, code } => {
                let pre = element("pre", "")?;
                if !lang.is_empty() {
                    pre.attr("data-lang", lang)?;
                }
                let inner = element("code", "")?;
                inner.set_text_content(Some(code));
                pre.add(&inner)?;
                pre
            }
            // By the name the message carries; the reader's own stands out.
            Event::Mention(kind, id) => {
                let (sigil, unknown) = match kind {
                    Mention::User => ("@", "unknown-user"),
                    Mention::Role => ("@", "unknown-role"),
                    Mention::Channel => ("#", "unknown-channel"),
                };
                let name = mentions.get(id).map_or(unknown, String::as_str);
                let child = element("span", "dp-mention")?;
                child.attr("data-mention", id)?;
                if kind == Mention::User && reader == Some(name) {
                    child.attr("data-me", "")?;
                }
                child.append_with_str_1(sigil).ok()?;
                child.append_with_str_1(name).ok()?;
                child
            }
            Event::Time(unix, style) => {
                let date = Date::new(&JsValue::from_f64(unix as f64 * 1000.0));
                // The parser keeps only dates JavaScript holds; an invalid
                // one would make `toISOString` throw.
                if date.get_time().is_nan() {
                    continue;
                }
                let child = element("time", "dp-stamp")?;
                child.attr("datetime", &write_date(b'I', &date))?;
                child.attr("title", &write_date(b'L', &date))?;
                let text = match style {
                    b'R' => relative(&date),
                    style => write_date(style, &date),
                };
                // A relative one keeps its words in `data-relative` too, for
                // the tick to compare (see [`tick`]).
                if style == b'R' {
                    child.attr("data-relative", &text)?;
                }
                child.set_text_content(Some(&text));
                child
            }
        };
        open.last()?.add(&child)?;
    }
    Some(())
}

/// The element an [`Event::Open`] starts.
pub fn opened(document: &Document, tag: Tag) -> Option<Element> {
    let (name, class) = match tag {
        Tag::Strong => ("strong", ""),
        Tag::Em => ("em", ""),
        Tag::Underline => ("u", ""),
        Tag::Strike => ("s", ""),
        Tag::Spoiler(block) => (if block { "div" } else { "span" }, "dp-spoiler"),
        Tag::Quote => ("blockquote", ""),
        Tag::Heading(level) => (
            ["h3", "h4", "h5"][usize::from(level.clamp(1, 3)) - 1],
            "dp-heading",
        ),
        Tag::Subtext => ("small", "dp-subtext"),
        Tag::List(Some(_)) => ("ol", ""),
        Tag::List(None) => ("ul", ""),
        Tag::Item => ("li", ""),
        Tag::Link(_) => ("a", ""),
    };
    let element = crate::browser::element(document, name, class)?;
    let attributes: &[(&str, &str)] = match tag {
        // Where it goes, as a tooltip too: a masked link's text is anything.
        Tag::Link(href) => &[
            ("href", href),
            ("title", href),
            ("target", "_blank"),
            ("rel", "noopener noreferrer nofollow"),
        ],
        Tag::List(Some(start)) => &[("start", start)],
        // A button until revealed: its name says what it is, not what it hides.
        Tag::Spoiler(_) => &[
            ("data-spoiler", ""),
            ("role", "button"),
            ("tabindex", "0"),
            ("aria-expanded", "false"),
            ("aria-label", "Spoiler"),
        ],
        _ => &[],
    };
    for (name, value) in attributes {
        element.attr(name, value)?;
    }
    Some(element)
}

/// The attributes that make a hidden spoiler a button; revealed, it is
/// plain content again.
const SPOILER_BUTTON: [&str; 4] = ["role", "tabindex", "aria-expanded", "aria-label"];

/// Shows what a spoiler hides, if `target` is in a hidden one: answers
/// whether it was (the click or key that did it does nothing else: a link
/// inside is not followed).
pub fn reveal(target: &Element) -> bool {
    let Some(spoiler) = target.ancestor("[data-spoiler]:not([data-revealed])") else {
        return false;
    };
    spoiler.attr("data-revealed", "");
    for name in SPOILER_BUTTON {
        spoiler.unattr(name);
    }
    true
}

/// `date` as the reader's browser writes it, in one of Discord's styles
/// (`t` 16:20, `T` 16:20:30, `d` 20/04/2021, `D` 20 April 2021, `f` 20
/// April 2021 16:20, `F` Tuesday, 20 April 2021 16:20), `L` (a date and
/// time, for tooltips), `W` (a day: "Monday, 23 November") or `I` (ISO 8601,
/// `toISOString`, for `datetime`). Empty for a
/// date it cannot write (the call catches what it throws). The styles'
/// `Intl.DateTimeFormat` options, and the formatters, are the element's
/// script's (`embed::date_text`).
pub fn write_date(style: u8, date: &Date) -> String {
    crate::embed::date_text(style, date)
}

/// "in 2 hours", "3 days ago": the largest unit that fits; empty for an
/// invalid date (formatting NaN would throw).
pub fn relative(date: &Date) -> String {
    const UNITS: [(f64, f64, &str); 6] = [
        (60.0, 1.0, "second"),
        (3_600.0, 60.0, "minute"),
        (86_400.0, 3_600.0, "hour"),
        (2_592_000.0, 86_400.0, "day"),
        (31_536_000.0, 2_592_000.0, "month"),
        (f64::INFINITY, 31_536_000.0, "year"),
    ];
    let seconds = (date.get_time() - Date::now()) / 1000.0;
    if !seconds.is_finite() {
        return String::new();
    }
    let (_, size, unit) = (UNITS.iter())
        .find(|(limit, ..)| seconds.abs() < *limit)
        .unwrap_or(&UNITS[5]);
    crate::embed::relative_text((seconds / size).round(), unit)
}

/// Writes every relative timestamp in `list` again, as of now: only those
/// whose words change ("56 years ago" stays), so that a tick over
/// thousands of them touches none.
pub fn tick(list: &Element) {
    let Ok(times) = list.query_selector_all("time[data-relative]") else {
        return;
    };
    for index in 0..times.length() {
        // `time` elements, as the selector says: no check of the type.
        let Some(time) = times.item(index).map(|n| n.unchecked_into::<Element>()) else {
            continue;
        };
        let at = time.get_attribute("datetime").unwrap_or_default();
        let now = relative(&Date::new(&JsValue::from_str(&at)));
        if time.get_attribute("data-relative").as_deref() != Some(&now) {
            time.attr("data-relative", &now);
            time.set_text_content(Some(&now));
        }
    }
}
