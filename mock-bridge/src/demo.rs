//! Demo data and behaviour for the run command: seeded channels (with an
//! edited message and reactions), a gateway that cycles through its states,
//! and a little chatter, some of it reacted to.

use crate::hub::{Actor, Edit, Gateway, Hub};
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
        let mut ids = Vec::new();
        for (_, author, content) in SEED.iter().filter(|(c, _, _)| *c == channel) {
            let new = NewMessage {
                author: (*author).into(),
                content: (*content).into(),
                ..Default::default()
            };
            match hub.publish(channel, new) {
                Ok(message) => ids.push(message.id),
                Err(error) => {
                    tracing::error!(%error, "demo seeding stopped");
                    return;
                }
            }
        }
        // What Discord's people do next: an edit, and reactions.
        if channel == "general" && ids.len() > 4 {
            let edit = Edit::Content(
                "Heads-up: the screenshots in 3.1 and 3.2 are from the old UI.".into(),
            );
            let mut changes = vec![(ids[4], edit)];
            for (at, emoji, user) in [(4, "👍", "carol"), (4, "👍", "bob"), (3, "🎉", "carol")]
            {
                let react = Edit::React {
                    emoji: emoji.into(),
                    user: user.into(),
                    add: true,
                };
                changes.push((ids[at], react));
            }
            for (id, change) in changes {
                if let Err(error) = hub.change(channel, id, change, &Actor::Control, None) {
                    tracing::error!(%error, "demo seeding stopped");
                    return;
                }
            }
            // Discord's formatting, each feature once: a reply with a
            // mention, a timestamp, markdown and a file.
            let reply = NewMessage {
                author: "erin".into(),
                content: "<@1001> **agreed**: the glossary goes last. Review call <t:1798761600:R>, notes in `onboarding.md`.".into(),
                mentions: [("1001".to_owned(), "carol".to_owned())].into(),
                referenced_message: Some(crate::message::Referenced {
                    id: ids[2].to_string(),
                    author: "carol".into(),
                    content: SEED[2].2.into(),
                }),
                attachments: vec![crate::message::Attachment {
                    filename: "glossary-draft.pdf".into(),
                    size: 184_320,
                    url: "https://example.com/glossary-draft.pdf".into(),
                }],
            };
            if let Err(error) = hub.publish(channel, reply) {
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
            ..Default::default()
        };
        let message = match hub.publish_async("general".into(), new).await {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, "demo chatter stopped");
                return;
            }
        };
        // Every other message gets a 👍 from someone else.
        if message.id % 2 == 0 {
            let react = Edit::React {
                emoji: "👍".into(),
                user: if *author == "bob" { "carol" } else { "bob" }.into(),
                add: true,
            };
            let changed =
                (hub.change_async("general".into(), message.id, react, Actor::Control, None)).await;
            if let Err(error) = changed {
                tracing::warn!(%error, "demo chatter could not react");
            }
        }
    }
}
