//! Discord's markdown: any text up to a message's length parses without a
//! panic into events that nest properly, no deeper than their bound, with
//! links only to the web and mail, times a JavaScript date holds, at most
//! `MAX_TOKENS` tokens, and nothing shown that was not in the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panel_core::format::{allowed, parse, text_of, Event, Tag, MAX_DEPTH, MAX_TOKENS, MAX_UNIX};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if text.chars().count() > 4_000 {
        return;
    }
    let events = parse(text);
    // Styles nest up to MAX_DEPTH; a list and its item, and a link, add three.
    let (mut open, mut tokens) = (0usize, 0);
    for event in &events {
        match event {
            Event::Open(tag) => {
                open += 1;
                assert!(open <= MAX_DEPTH + 3, "nested {open} deep");
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
    let shown = text_of(&events);
    let mut source = text.chars();
    assert!(
        shown.chars().all(|c| source.any(|s| s == c)),
        "showed what was not there"
    );
});
