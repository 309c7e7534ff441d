//! Discord's markdown: any text up to a message's length parses without a
//! panic into events that nest properly, no deeper than their bound, with
//! links only to the web and mail, times a JavaScript date holds, at most
//! `MAX_TOKENS` tokens and `MAX_ELEMENTS` elements, and nothing shown that
//! was not in the text; a reply's line of it nests as properly, and one
//! cut inside a spoiler shows nothing past the bars.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panel_core::format::{
    allowed, parse, preview, text_of, Event, Tag, MAX_ELEMENTS, MAX_NESTING, MAX_TOKENS, MAX_UNIX,
};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if text.chars().count() > 4_000 {
        return;
    }
    let events = parse(text);
    let (mut open, mut tokens, mut elements) = (0usize, 0, 0);
    for event in &events {
        elements += match event {
            Event::Block { .. } | Event::Open(Tag::Spoiler(_)) => 2,
            Event::Open(_) | Event::Code(_) | Event::Mention(..) | Event::Time(..) => 1,
            _ => 0,
        };
        match event {
            Event::Open(tag) => {
                open += 1;
                assert!(open <= MAX_NESTING, "nested {open} deep");
                if let Tag::Link(href) = tag {
                    assert!(allowed(href), "a link to {href:?}");
                }
            }
            Event::Close => open = open.checked_sub(1).expect("a close with nothing open"),
            Event::Time(unix, _) => {
                assert!(unix.unsigned_abs() <= MAX_UNIX as u64, "a time of {unix}");
                tokens += 1;
            }
            Event::Mention(..) | Event::Emoji(_) => tokens += 1,
            _ => {}
        }
    }
    assert_eq!(open, 0, "elements left open");
    assert!(tokens <= MAX_TOKENS, "{tokens} tokens");
    assert!(elements <= MAX_ELEMENTS, "{elements} elements");
    // A reply's line nests as a row does; the same text cut inside one
    // spoiler (its bars the only ones, never closed) shows nothing.
    let mut open = 0usize;
    for event in preview(text) {
        match event {
            Event::Open(_) => open += 1,
            Event::Close => open -= 1,
            _ => {}
        }
        assert!(open <= MAX_NESTING, "a reply's line nests {open} deep");
    }
    assert_eq!(open, 0, "a reply's line leaves elements open");
    let cut = format!("||a{}", text.replace('|', ""));
    assert_hidden(&preview(&cut), &cut);
    // The same text as one spoiler (its bars the only ones) shows nothing.
    let hidden = format!("||a{}||", text.replace('|', ""));
    assert_hidden(&parse(&hidden), &hidden);
    let shown = text_of(&events);
    let mut source = text.chars();
    assert!(
        shown.chars().all(|c| source.any(|s| s == c)),
        "showed what was not there"
    );
});

/// Nothing of `events` shows outside a spoiler.
fn assert_hidden(events: &[Event], text: &str) {
    let mut spoilers = 0usize;
    for event in events {
        match event {
            Event::Open(Tag::Spoiler(_)) => spoilers += 1,
            Event::Open(_) if spoilers > 0 => spoilers += 1,
            Event::Close if spoilers > 0 => spoilers -= 1,
            Event::Open(_) | Event::Close => {}
            _ => assert!(
                spoilers > 0,
                "{event:?} shows outside the spoiler of {text:?}"
            ),
        }
    }
}
