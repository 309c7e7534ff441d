//! Demo data and behaviour for the run command: seeded channels, a gateway that
//! cycles through its states, and a little chatter.

use crate::hub::{Gateway, Hub};
use crate::message::NewMessage;
use std::sync::Arc;
use std::time::Duration;

const SEED: &[(&str, &str, &str)] = &[
    (
        "general",
        "alice",
        "Morning! I pushed the outline for the onboarding doc.",
    ),
    (
        "general",
        "bob",
        "Nice. Section 2 reads a bit long, I left comments.",
    ),
    (
        "general",
        "carol",
        "Can we keep the glossary at the end? Readers skip it otherwise.",
    ),
    ("general", "alice", "Sure, moving it now."),
    (
        "general",
        "dave",
        "Heads-up: the screenshots in 3.1 are from the old UI.",
    ),
    ("general", "bob", "I'll retake them after lunch."),
    ("design", "erin", "New colour tokens are in the Figma file."),
    ("design", "carol", "The amber looks great in dark mode."),
    (
        "design",
        "erin",
        "Contrast checks pass AA for all three states.",
    ),
    ("random", "dave", "Coffee machine on 3 is fixed \u{2615}"),
    ("random", "alice", "Finally."),
];

const CHATTER: &[(&str, &str)] = &[
    ("bob", "Retook the screenshots, have a look."),
    ("carol", "Glossary moved, thanks!"),
    ("alice", "Shall we ship this version to review?"),
    ("dave", "LGTM from my side."),
    ("erin", "I'll update the cover image too."),
];

/// Fills empty demo channels.
pub fn seed(hub: &Hub) {
    for channel in ["general", "design", "random"] {
        if !hub.is_empty(channel) {
            continue;
        }
        for (_, author, content) in SEED.iter().filter(|(c, _, _)| *c == channel) {
            let new = NewMessage {
                author: (*author).into(),
                content: (*content).into(),
            };
            if let Err(error) = hub.publish(channel, new) {
                tracing::error!(%error, "demo seeding stopped");
                return;
            }
        }
    }
    tracing::info!("demo channels seeded: general, design, random");
}

/// Cycles the gateway: connected, reconnecting, connected, disconnected, …
pub async fn flap(hub: Arc<Hub>, every: Duration) {
    let cycle = [
        Gateway::Connected,
        Gateway::Reconnecting,
        Gateway::Connected,
        Gateway::Disconnected,
    ];
    for state in cycle.iter().cycle().skip(1) {
        tokio::select! {
            _ = hub.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => hub.set_gateway(*state),
        }
    }
}

/// Posts a message to `general` now and then.
pub async fn chatter(hub: Arc<Hub>, every: Duration) {
    for (author, content) in CHATTER.iter().cycle() {
        tokio::select! {
            _ = hub.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let new = NewMessage {
            author: (*author).into(),
            content: (*content).into(),
        };
        if let Err(error) = hub.publish_blocking("general".into(), new).await {
            tracing::error!(%error, "demo chatter stopped");
            return;
        }
    }
}
