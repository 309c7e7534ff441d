//! An adversarial reading of the byte-level formatter (branch review-format):
//! each test is a message the panel shows other than it says. They fail on
//! the change as merged (1885e36); `cargo test -p panel-core format_review`.

use panel_core::format::{allowed, parse, Event, Tag};

/// The text each event shows, with whether it sits inside a spoiler.
fn shown(text: &str) -> Vec<(String, bool)> {
    let mut open: Vec<Tag> = Vec::new();
    let mut out = Vec::new();
    for event in parse(text) {
        let hidden = open.contains(&Tag::Spoiler);
        match event {
            Event::Open(tag) => open.push(tag),
            Event::Close => {
                open.pop();
            }
            Event::Text(t) | Event::Code(t) | Event::Emoji(t) => out.push((t.to_owned(), hidden)),
            Event::Block { code, .. } => out.push((code.to_owned(), hidden)),
            _ => {}
        }
    }
    out
}

/// Whether `secret` shows anywhere outside a spoiler.
fn in_the_clear(text: &str, secret: &str) -> bool {
    shown(text)
        .iter()
        .any(|(t, hidden)| !hidden && t.contains(secret))
}

/// `||```code```||` is how Discord users hide a code block; the fences are
/// split out before any inline rule runs, so the block shows in the clear
/// between two pairs of bars (`mod.rs` `parse`, the `fence` loop).
#[test]
fn format_review_a_spoilered_code_block_stays_hidden() {
    for text in [
        "||```the answer is 42```||",
        "||```rust\nlet answer = 42;\n```||",
    ] {
        assert!(
            !in_the_clear(text, "42"),
            "{text:?} shows its spoiler: {:?}",
            parse(text)
        );
    }
}

/// A spoiler spanning a quote, list or header line: the lines are cut into
/// blocks before inline rules run (`mod.rs` `lines`), so the bars stay text
/// and what they hide shows (Discord's spoiler rule spans any line).
#[test]
fn format_review_a_spoiler_over_a_quote_list_or_header_line_stays_hidden() {
    for text in [
        "||the killer is\n> the butler||",
        "||the killer is\n- the butler||",
        "||the killer is\n# the butler||",
        "||the killer is\n-# the butler||",
    ] {
        assert!(
            !in_the_clear(text, "butler"),
            "{text:?} shows its spoiler: {:?}",
            parse(text)
        );
    }
}

/// `||…||` in a masked link's text is shown as text, bars and all: what the
/// author hid is readable (`inline.rs` `rule`, `b'|' if … !self.in_link`).
#[test]
fn format_review_a_spoiler_in_link_text_stays_hidden() {
    let text = "[||the butler||](https://example.com/ending)";
    assert!(
        !in_the_clear(text, "butler"),
        "{text:?} shows its spoiler: {:?}",
        parse(text)
    );
}

/// "2020. What a year" becomes a list whose `<ol>` numbers it 1: the
/// number the message says is dropped (`mod.rs` `list_item`, `Tag::List`
/// carries no start). Discord keeps a list's first number.
#[test]
fn format_review_a_numbered_line_keeps_its_number() {
    for (text, number) in [("2020. What a year", "2020"), ("3. third point", "3")] {
        let events = parse(text);
        assert!(
            format!("{events:?}").contains(number),
            "{text:?} loses its number {number}: {events:?}"
        );
    }
}

/// A masked link to an address with parentheses (Wikipedia's) goes to the
/// address cut at its first `)`, and a stray `)` shows after it
/// (`inline.rs`, the `[` rule: `find(…, b')', …)`). Discord's link rule
/// takes balanced parentheses in the address.
#[test]
fn format_review_a_masked_link_keeps_parentheses_in_its_address() {
    let href = "https://en.wikipedia.org/wiki/Rust_(programming_language)";
    let text = format!("[Rust]({href})");
    let events = parse(&text);
    assert!(
        events.contains(&Event::Open(Tag::Link(href))),
        "{text:?} links elsewhere: {events:?}"
    );
}

/// A masked link whose text is itself an address shows that address and
/// opens another one, with nothing (no tooltip, no warning) saying where it
/// goes: the phishing form Discord answers with its "Leaving Discord"
/// dialog. The parser takes any label (`inline.rs`, the `[` rule).
#[test]
fn format_review_a_masked_link_does_not_pose_as_another_address() {
    let text = "[https://bank.example/login](https://evil.example/login)";
    let events = parse(text);
    let mut link = None;
    for event in &events {
        match event {
            Event::Open(Tag::Link(href)) => link = Some(*href),
            Event::Text(shown) if link.is_some() && allowed(shown) => {
                assert_eq!(Some(*shown), link, "{text:?} poses: {events:?}")
            }
            Event::Close => link = None,
            _ => {}
        }
    }
}
