//! Discord's markdown: any text up to a message's length parses without a
//! panic, nests no deeper than its bound, links only to the web and mail,
//! and shows nothing that was not in the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panel_core::format::{allowed, parse, text_of, Node, MAX_DEPTH};

fn check(nodes: &[Node], depth: usize) {
    // Styles nest up to MAX_DEPTH; a quote, a header and a link add one each.
    assert!(depth <= MAX_DEPTH + 3, "nested {depth} deep");
    for node in nodes {
        match node {
            Node::Link { href, children } => {
                assert!(allowed(href), "a link to {href:?}");
                check(children, depth + 1);
            }
            Node::Styled(_, inner) | Node::Quote(inner) | Node::Heading(_, inner) => {
                check(inner, depth + 1)
            }
            Node::List { items, .. } => {
                for item in items {
                    check(item, depth + 1);
                }
            }
            Node::Text(_)
            | Node::Code(_)
            | Node::Block { .. }
            | Node::Emoji(_)
            | Node::Mention { .. }
            | Node::Time { .. } => {}
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if text.chars().count() > 4_000 {
        return;
    }
    let nodes = parse(text);
    check(&nodes, 0);
    let shown = text_of(&nodes);
    let mut source = text.chars();
    assert!(
        shown.chars().all(|c| source.any(|s| s == c)),
        "showed what was not there"
    );
});
