//! The stream payload decoder: any event name, any data. It must never panic, and
//! what it accepts must be exactly what it would accept again after a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panel_core::wire::MAX_PAYLOAD_BYTES;
use panel_core::{decode, Incoming};

/// The names the panel reads, and one it does not know.
const UNKNOWN: &str = "typing";

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    // The browser only ever hands over UTF-8 text.
    let Ok(data) = std::str::from_utf8(rest) else {
        return;
    };
    let names = panel_core::wire::EVENT_NAMES;
    let event = names
        .get(usize::from(selector) % (names.len() + 1))
        .copied()
        .unwrap_or(UNKNOWN);
    // The event's `id:` line, when the input has one after a NUL.
    let (data, id) = data.split_once('\0').unwrap_or((data, ""));
    match panel_core::decode_at(event, data, id) {
        Ok(Incoming::Message(message)) => {
            assert!(data.len() <= MAX_PAYLOAD_BYTES);
            let again = serde_json::to_string(&message).expect("a message serialises");
            assert_eq!(
                decode("message", &again).ok(),
                Some(Incoming::Message(message))
            );
        }
        Ok(_) => assert!(data.len() <= MAX_PAYLOAD_BYTES),
        Err(error) => {
            // Every refusal names the event, for the console line.
            assert!(error.to_string().contains(event));
        }
    }
});
