//! The fuzz targets' seed inputs (frontend/core/fuzz/seeds/), replayed on the
//! stable toolchain: every seed must stay a *valid* input, so the fuzzer starts
//! from the shapes the bridge really sends. A crash the fuzzer finds is added
//! here as a seed once fixed, and this test keeps it fixed.

use panel_core::format::{parse, Event, MAX_NESTING};
use panel_core::{decode, decode_history, error_sentence};
use std::path::Path;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

#[test]
fn decode_seeds_are_payloads_the_panel_accepts() {
    // Same framing as the fuzz target: one byte picks the event name.
    const NAMES: [&str; 5] = ["message", "status", "heartbeat", "resync", "typing"];
    for (name, bytes) in seeds("decode") {
        let (selector, data) = bytes.split_first().expect("a selector byte");
        let event = NAMES[usize::from(*selector) % NAMES.len()];
        let data = std::str::from_utf8(data).expect("UTF-8 seed");
        assert!(decode(event, data).is_ok(), "seed {name} ({event}) refused");
    }
}

#[test]
fn history_seeds_are_a_page_and_an_error_body() {
    for (name, bytes) in seeds("history") {
        let body = std::str::from_utf8(&bytes).expect("UTF-8 seed");
        assert!(
            decode_history(body).is_ok() || error_sentence(body).is_some(),
            "seed {name} is neither a history page nor an error body"
        );
    }
}

#[test]
fn format_seeds_are_messages_that_parse_into_balanced_events() {
    for (name, bytes) in seeds("format") {
        let text = std::str::from_utf8(&bytes).expect("UTF-8 seed");
        assert!(
            text.chars().count() <= 4_000,
            "seed {name} is longer than a message"
        );
        let mut open = 0usize;
        for event in parse(text) {
            match event {
                Event::Open(_) => open += 1,
                Event::Close => open -= 1,
                _ => {}
            }
            assert!(open <= MAX_NESTING, "seed {name} nests {open} deep");
        }
        assert_eq!(open, 0, "seed {name} leaves elements open");
    }
}

#[test]
fn json_seeds_are_texts_both_readers_check_as_json() {
    for (name, bytes) in seeds("json") {
        let text = std::str::from_utf8(&bytes).expect("UTF-8 seed");
        // Their syntax is right (the seeds' edges are in what is read:
        // lone surrogates, numbers past every range), so the fuzzer starts
        // past the checker, where the two readers can differ.
        assert!(panel_core::json::parse(text).is_ok(), "seed {name} refused");
        let skipped = serde_json::from_str::<serde::de::IgnoredAny>(text);
        assert!(skipped.is_ok(), "seed {name} refused by serde_json");
    }
}
