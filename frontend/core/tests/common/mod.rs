//! Helpers the share machine's test files have in common.

use panel_core::share::{Relay, ShareCommand};

/// The relays a step posts to the other tabs.
pub fn posts(commands: &[ShareCommand]) -> Vec<&Relay> {
    commands
        .iter()
        .filter_map(|c| match c {
            ShareCommand::Post(relay) => Some(relay),
            _ => None,
        })
        .collect()
}

/// A message as the bridge writes it (the panel reads JSON, never writes
/// it, so a test that plays the bridge writes its own).
#[allow(dead_code)]
pub fn message_json(m: &panel_core::Message) -> String {
    let id = |id: Option<panel_core::MessageId>| id.map(|v| v.to_string());
    let mut message = serde_json::json!({
        "id": m.id.to_string(),
        "channel_id": m.channel_id,
        "author": m.author,
        "content": m.content,
        "timestamp": m.timestamp,
        "reactions": reactions_json(&m.reactions),
    });
    let optional = [
        ("client_id", m.client_id.clone()),
        ("edited_at", m.edited_at.clone()),
        ("version", id(m.version)),
        ("reactions_version", id(m.reactions_version)),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            message[name] = value.into();
        }
    }
    message.to_string()
}

/// Reactions as the bridge writes them.
#[allow(dead_code)]
pub fn reactions_json(reactions: &[panel_core::Reaction]) -> serde_json::Value {
    (reactions.iter())
        .map(|r| serde_json::json!({"emoji": r.emoji, "count": r.count, "users": r.users, "me": r.me}))
        .collect()
}
