//! The stream payload decoder: any event name, any data. It must never panic, and
//! what it accepts must be exactly what it would accept again after a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panel_core::wire::MAX_PAYLOAD_BYTES;
use panel_core::{decode, Incoming, Message};
use serde_json::{json, Value};

/// A message written by serde_json (the panel itself never writes one):
/// what the panel's reader accepted must read the same when written again
/// by another hand.
fn written(m: &Message) -> String {
    let mut object = json!({
        "id": m.id.to_string(),
        "channel_id": m.channel_id,
        "author": m.author,
        "content": m.content,
        "timestamp": m.timestamp,
        "client_id": m.client_id,
        "edited_at": m.edited_at,
        "version": m.version.map(|v| v.to_string()),
        "reactions_version": m.reactions_version.map(|v| v.to_string()),
        "reactions": m.reactions.iter().map(|r| json!({
            "emoji": r.emoji, "count": r.count, "users": r.users, "me": r.me,
        })).collect::<Vec<_>>(),
        "attachments": m.attachments.iter().map(|a| json!({
            "filename": a.filename, "size": a.size, "url": a.url,
        })).collect::<Vec<_>>(),
    });
    if let Some(r) = &m.referenced_message {
        object["referenced_message"] = json!({
            "id": r.id.to_string(), "author": r.author, "content": r.content,
        });
    }
    // Mentions by hand: a message may name one id twice, which a map
    // would make once.
    let mut text = object.to_string();
    text.pop();
    text.push_str(",\"mentions\":{");
    for (i, (id, name)) in m.mentions.0.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            "{}:{}",
            Value::from(id.as_str()),
            Value::from(name.as_str())
        ));
    }
    text.push_str("}}");
    text
}

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
            let again = written(&message);
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
