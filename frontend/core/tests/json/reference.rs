//! The decoders as they were before `panel_core::json` (commit 7150530):
//! serde's derives over serde_json, kept here as the reference the new
//! reader is compared with. The shapes and attributes are copied as they
//! were; the derived types are read into the panel's own.

use panel_core::message::{
    Attachment, Deletion, Mentions, Message, MessageId, Reaction, ReactionChange, Referenced,
};
use panel_core::protocol::Gateway;
use panel_core::wire::MAX_PAYLOAD_BYTES;
use panel_core::wire::{ChangePage, Incoming, MAX_HISTORY_BYTES, MAX_HISTORY_MESSAGES};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// `MessageId`'s old `Deserialize`: a string of decimal digits.
#[derive(Clone, Copy)]
struct Id(MessageId);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map(Id).map_err(|_| {
            serde::de::Error::custom(format!("message id \"{text}\" is not a decimal u64"))
        })
    }
}

#[derive(Deserialize)]
struct RMessage {
    id: Id,
    channel_id: String,
    author: String,
    content: String,
    timestamp: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    edited_at: Option<String>,
    #[serde(default)]
    version: Option<Id>,
    #[serde(default)]
    reactions: Vec<RReaction>,
    #[serde(default)]
    reactions_version: Option<Id>,
    #[serde(default)]
    mentions: RMentions,
    #[serde(default)]
    referenced_message: Option<RReferenced>,
    #[serde(default)]
    attachments: Vec<RAttachment>,
}

#[derive(Default)]
struct RMentions(Vec<(String, String)>);

impl<'de> Deserialize<'de> for RMentions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RMentions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of names by id")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RMentions, A::Error> {
                let mut names = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    if names.len() < 100 {
                        names.push(entry);
                    }
                }
                Ok(RMentions(names))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

#[derive(Deserialize)]
struct RReferenced {
    id: Id,
    author: String,
    content: String,
}

#[derive(Deserialize)]
struct RAttachment {
    filename: String,
    size: u64,
    url: String,
}

#[derive(Deserialize)]
struct RReaction {
    emoji: String,
    #[serde(deserialize_with = "saturating")]
    count: u32,
    #[serde(default)]
    users: Vec<String>,
    /// `null` reads as `false`, as the store's review asked (the old
    /// decoder had it too, by its `lenient` reader, before the JSON reader).
    #[serde(default, deserialize_with = "lenient")]
    me: bool,
}

fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Option::<bool>::deserialize(deserializer).map(Option::unwrap_or_default)
}

fn saturating<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    f64::deserialize(deserializer).map(|n| n as u32)
}

impl From<RReaction> for Reaction {
    fn from(r: RReaction) -> Reaction {
        Reaction {
            emoji: r.emoji,
            count: r.count,
            users: r.users,
            me: r.me,
            known: None,
        }
    }
}

impl From<RMessage> for Message {
    fn from(m: RMessage) -> Message {
        Message {
            id: m.id.0,
            channel_id: m.channel_id,
            author: m.author,
            content: m.content,
            timestamp: m.timestamp,
            client_id: m.client_id,
            edited_at: m.edited_at,
            version: m.version.map(|v| v.0),
            reactions: m.reactions.into_iter().map(Reaction::from).collect(),
            reactions_version: m.reactions_version.map(|v| v.0),
            mentions: Mentions(m.mentions.0),
            referenced_message: m.referenced_message.map(|r| Referenced {
                id: r.id.0,
                author: r.author,
                content: r.content,
            }),
            attachments: (m.attachments.into_iter())
                .map(|a| Attachment {
                    filename: a.filename,
                    size: a.size,
                    url: a.url,
                })
                .collect(),
        }
    }
}

/// The one payload type of `status`, `resync`, deletions, reactions,
/// pages of changes and error answers, as it was.
#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    heartbeat_interval_ms: Option<u64>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    channels: Option<Vec<String>>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    message_id: Option<Id>,
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    emoji: Option<String>,
    #[serde(default)]
    count: Option<f64>,
    #[serde(default)]
    users: Option<Vec<String>>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    added: Option<bool>,
    #[serde(default)]
    reactions: Option<Vec<RReaction>>,
    #[serde(default)]
    version: Option<Id>,
    #[serde(default)]
    messages: Option<Vec<RMessage>>,
    #[serde(default)]
    deleted: Option<Vec<Id>>,
    #[serde(default)]
    last: Option<Id>,
    #[serde(default)]
    more: Option<bool>,
    #[serde(default)]
    resync: Option<String>,
}

/// The old `required`.
fn need<T>(what: Option<T>, field: &str) -> Result<T, String> {
    what.ok_or_else(|| format!("missing field `{field}`"))
}

/// The old `decode_at`, its refusals as `Err` with serde's reason.
pub fn decode_at(event: &str, data: &str, last_event_id: &str) -> Result<Incoming, String> {
    if data.len() > MAX_PAYLOAD_BYTES {
        return Err("too large".into());
    }
    let e = |e: serde_json::Error| e.to_string();
    match event {
        "message" | "message_update" => serde_json::from_str::<RMessage>(data)
            .map(Message::from)
            .map(if event == "message" {
                Incoming::Message
            } else {
                Incoming::Update
            })
            .map_err(e),
        "message_delete" | "reaction" => {
            let p: Payload = serde_json::from_str(data).map_err(e)?;
            let change = last_event_id.parse().ok();
            let channel_id = need(p.channel_id, "channel_id")?;
            if event == "message_delete" {
                let id = need(p.id, "id")?.0;
                let deletion = Deletion { id, channel_id };
                return Ok(Incoming::Delete { deletion, change });
            }
            Ok(Incoming::Reaction(ReactionChange {
                message_id: need(p.message_id, "message_id")?.0,
                channel_id,
                emoji: need(p.emoji, "emoji")?,
                count: need(p.count, "count")? as u32,
                users: p.users.unwrap_or_default(),
                reactions: p
                    .reactions
                    .map(|all| all.into_iter().map(Reaction::from).collect()),
                version: p.version.map(|v| v.0).or(change),
                user: p.user,
                added: p.added,
            }))
        }
        "status" => {
            let status: Payload = serde_json::from_str(data).map_err(e)?;
            let gateway = need(status.gateway, "gateway")?;
            let gateway = Gateway::parse(&gateway).ok_or("unknown gateway state")?;
            Ok(Incoming::Status {
                gateway,
                heartbeat_interval_ms: status.heartbeat_interval_ms,
            })
        }
        "heartbeat" => serde_json::from_str::<serde::de::IgnoredAny>(data)
            .map(|_| Incoming::Heartbeat)
            .map_err(e),
        "resync" => {
            let payload: Payload = serde_json::from_str(data).map_err(e)?;
            Ok(Incoming::Resync {
                reason: payload.reason.unwrap_or_else(|| "unspecified".into()),
            })
        }
        _ => Err("unknown event".into()),
    }
}

/// The old `resync_channels`.
pub fn resync_channels(data: &str) -> Option<Vec<String>> {
    serde_json::from_str::<Payload>(data).ok()?.channels
}

/// The old `decode_history`.
pub fn decode_history(body: &str) -> Result<Vec<Message>, String> {
    if body.len() > MAX_HISTORY_BYTES {
        return Err("too large".into());
    }
    let messages = serde_json::from_str::<Vec<RMessage>>(body).map_err(|e| e.to_string())?;
    if messages.len() > MAX_HISTORY_MESSAGES {
        return Err("too many".into());
    }
    Ok(messages.into_iter().map(Message::from).collect())
}

/// The old `decode_changes`.
pub fn decode_changes(body: &str) -> Result<ChangePage, String> {
    if body.len() > MAX_HISTORY_BYTES {
        return Err("too large".into());
    }
    let p = serde_json::from_str::<Payload>(body).map_err(|e| e.to_string())?;
    let page = ChangePage {
        messages: (p.messages.unwrap_or_default().into_iter())
            .map(Message::from)
            .collect(),
        deleted: (p.deleted.unwrap_or_default().into_iter())
            .map(|id| id.0)
            .collect(),
        last: p.last.map(|id| id.0),
        more: p.more.unwrap_or_default(),
        resync: p.resync,
    };
    if page.messages.len() + page.deleted.len() > MAX_HISTORY_MESSAGES * 2 {
        return Err("too many".into());
    }
    Ok(page)
}

/// The old `error_sentence`.
pub fn error_sentence(body: &str) -> Option<String> {
    serde_json::from_str::<Payload>(body).ok()?.error
}
