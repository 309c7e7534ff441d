//! The panel's header (the channel and the connection's label) and its error
//! line with Retry, built on the DOM directly.
//!
//! Like the rows and the composer, these are plain elements that one effect
//! keeps in step: as a Leptos view, with a reactive attribute or text per
//! part and `<Show>` for the error line, they cost the wasm about 6 KB
//! gzipped (docs/BENCHMARKS.md). The markup is the same: the status element
//! with `data-connection-status`, `role="status"` and `aria-live="polite"`,
//! and the Retry button present exactly while the panel has stopped.

use crate::browser::{element, Dom, Listener};
use panel_core::people::Presence;
use panel_core::{Label, ViewState};
use wasm_bindgen::JsCast;
use web_sys::{Element, Text};

/// How many people's avatars the header shows (then "+N").
const SHOWN_PEOPLE: usize = 5;

/// The header and the error line; dropped with the panel.
pub struct Header {
    root: Element,
    channel: Text,
    status: Element,
    label: Text,
    /// "via polling", beside the label, while the panel polls.
    hint: Element,
    error: Element,
    error_text: Text,
    /// Who is here: an avatar per named person (`data-presence`).
    people: Element,
    people_shown: Option<Presence>,
    /// The polite region that says how many messages came (`data-announcer`,
    /// read by screen readers only).
    announcer: Element,
    /// What is on screen, so that only changes touch the DOM (and a screen
    /// reader hears the label once per change).
    shown_channel: Option<String>,
    shown: Option<ViewState>,
    _retry: Listener,
}

impl Header {
    /// Puts the header first in `root` (the panel's section); the error line
    /// goes last in it while the panel has stopped. `retry` is the button's.
    pub fn new(root: &Element, retry: impl Fn() + 'static) -> Option<Header> {
        let document = root.owner_document()?;
        let make = |tag: &str, class: &str| element(&document, tag, class);
        let header = make("header", "dp-bar dp-header")?;
        let title = make("h2", "dp-title")?;
        let hash = make("span", "dp-hash")?;
        hash.attr("aria-hidden", "true");
        hash.set_text_content(Some("#"));
        let channel = document.create_text_node("");
        title.add(&hash);
        title.add(&channel);
        let status = make("div", "dp-status")?;
        status.attr("role", "status");
        let dot = make("span", "dp-dot")?;
        dot.attr("aria-hidden", "true");
        let label_box = make("span", "dp-label")?;
        let label = document.create_text_node("");
        label_box.add(&label);
        status.add(&dot);
        status.add(&label_box);
        let hint = make("span", "dp-transport")?;
        hint.set_text_content(Some("via polling"));
        hint.attr(
            "title",
            "A proxy on the way holds the live stream back, so the panel asks for news instead (about as fast). It tries the stream again now and then.",
        );
        hint.attr("hidden", "");
        let people = make("ul", "dp-people")?;
        people.attr("data-presence", "");
        people.attr("data-count", "0");
        people.attr("aria-label", "Here now");
        header.add(&title);
        header.add(&hint);
        header.add(&people);
        header.add(&status);
        let _ = root.prepend_with_node_1(&header);
        let announcer = make("div", "dp-sr")?;
        announcer.attr("aria-live", "polite");
        announcer.attr("data-announcer", "");
        root.add(&announcer);

        let error = make("div", "dp-bar dp-error")?;
        error.attr("role", "alert");
        let text_box = make("p", "dp-error-text")?;
        let error_text = document.create_text_node("");
        text_box.add(&error_text);
        let button = make("button", "dp-retry")?;
        button.attr("type", "button");
        button.attr("data-action", "retry");
        button.set_text_content(Some("Retry"));
        error.add(&text_box);
        error.add(&button);
        let _retry = Listener::new(button.as_ref(), "click", move |_| retry());
        Some(Header {
            root: root.clone(),
            channel,
            status,
            label,
            hint,
            error,
            error_text,
            people,
            people_shown: None,
            announcer,
            shown_channel: None,
            shown: None,
            _retry,
        })
    }

    /// Shows who is here: the first five named people as avatars (each
    /// named for screen readers, all of them in the markup with
    /// `data-user`, past the fifth hidden) and "+N" for everyone else,
    /// named or not. Whether it changed.
    pub fn show_people(&mut self, presence: Option<&Presence>) -> bool {
        if self.people_shown.as_ref() == presence {
            return false;
        }
        self.people_shown = presence.cloned();
        let (users, count) = presence.map_or((&[][..], 0), |p| (&p.users[..], p.count));
        let people = &self.people;
        people.attr("data-count", &panel_core::number::digits(count.into()));
        people.set_text_content(None);
        let Some(document) = people.owner_document() else {
            return true;
        };
        // A chip: what is seen (initials, "+3") hidden from screen readers,
        // which hear the name ("3 more") instead.
        let chip = |class: &str, seen: &str, said: &str| {
            let chip = element(&document, "li", class)?;
            let (shown, heard) = (
                element(&document, "span", "")?,
                element(&document, "span", "dp-sr")?,
            );
            shown.attr("aria-hidden", "true");
            shown.set_text_content(Some(seen));
            heard.set_text_content(Some(said));
            chip.add(&shown);
            chip.add(&heard);
            people.add(&chip);
            Some(chip)
        };
        for (i, name) in users.iter().enumerate() {
            let class = crate::message_list::avatar_class(name);
            let initials = crate::message_list::initials(name);
            let Some(avatar) = chip(&class, &initials, name) else {
                continue;
            };
            avatar.attr("data-user", name);
            avatar.attr("title", name);
            if i >= SHOWN_PEOPLE {
                avatar.attr("hidden", "");
            }
        }
        let more = count.saturating_sub(users.len().min(SHOWN_PEOPLE) as u32);
        if more > 0 {
            // "3 more" after names; with none, "3 here".
            let said = if users.is_empty() { " here" } else { " more" };
            let more = panel_core::number::digits(more.into());
            chip(
                "dp-avatar dp-more",
                &["+", &more].concat(),
                &[&more, said].concat(),
            );
        }
        true
    }

    /// Has screen readers say `text` (politely: after what they are reading).
    pub fn say(&self, text: &str) {
        self.announcer.set_text_content(Some(text));
    }

    /// Shows `channel` and the connection's state.
    pub fn show(&mut self, channel: &str, view: &ViewState) {
        if self.shown_channel.as_deref() != Some(channel) {
            self.root.attr("data-channel", channel);
            self.channel.set_text_content(Some(channel));
            self.shown_channel = Some(channel.to_owned());
        }
        let before = self.shown.replace(view.clone());
        if before.as_ref().is_none_or(|b| b.label != view.label) {
            // Disconnected is said once, assertively: by the label, or by
            // the error line (an alert, with why) when the panel stopped;
            // the other labels politely.
            let live = match (view.label, view.stopped) {
                (Label::Disconnected, false) => "assertive",
                (Label::Disconnected, true) => "off",
                _ => "polite",
            };
            self.status.attr("aria-live", live);
            (self.status).attr("data-connection-status", view.label.as_attr());
            self.label.set_text_content(Some(view.label.text()));
        }
        if before
            .as_ref()
            .is_none_or(|b| b.transport != view.transport)
        {
            let polling = view.transport == panel_core::Transport::Polling;
            let _ = match polling {
                true => self.hint.unattr("hidden"),
                false => self.hint.attr("hidden", ""),
            };
            let _ = self.root.attr("data-transport", view.transport.as_str());
        }
        if before.as_ref().is_none_or(|b| b.error != view.error) {
            (self.error_text)
                .set_text_content(Some(view.error.as_deref().unwrap_or("Disconnected.")));
        }
        if before.as_ref().is_none_or(|b| b.stopped != view.stopped) {
            if view.stopped {
                self.root.add(&self.error);
            } else {
                // Retry had the focus, and goes with the line: the
                // composer takes it (never the page's body).
                let focused = self.error.is(":focus-within");
                self.error.remove();
                let input = self.root.find(".dp-input");
                if let (true, Some(input)) = (focused, input) {
                    let _ = input.unchecked_into::<web_sys::HtmlElement>().focus();
                }
            }
        }
    }
}
