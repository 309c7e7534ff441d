//! A chat message and its validation.

use crate::error::ApiError;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest message content accepted, in characters.
pub const MAX_CONTENT_CHARS: usize = 4_000;

/// A stored message, serialised exactly as clients receive it (id as a string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(with = "id_as_string")]
    pub id: u64,
    pub channel_id: String,
    pub author: String,
    pub content: String,
    pub timestamp: String,
    /// The id the posting client gave it, so that a retried post finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// What changed since it was created: edits and reactions.
    #[serde(flatten)]
    pub revision: Revision,
    /// Mentions' names, the message it replies to, its files.
    #[serde(flatten)]
    pub extras: Extras,
}

/// A message's changes since its creation, as clients see them: absent
/// fields when it has none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// When it was last edited (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// The change id of its newest edit.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_id_as_string"
    )]
    pub version: Option<u64>,
    /// Its reactions, in the order they were first added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// The change id of its newest reaction change (an extension of the
    /// contract: it orders a message's reactions the way `version` orders
    /// its content, so a late answer never undoes a newer reaction).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_id_as_string"
    )]
    pub reactions_version: Option<u64>,
}

/// A change to a channel after a message's creation, with its own id from
/// the bridge's one increasing id space (a creation's change id is the
/// message's id). Kept for replays and written to the history file as it
/// serialises: each holds what replays, retries and a restart need of it,
/// never a message's reactions (their state is the message's own; see
/// [`crate::reactions`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A message edited: the message as the edit made it, without its
    /// reactions (what a retry answers; a replay shows the message as it
    /// now is).
    Update {
        #[serde(with = "id_as_string")]
        id: u64,
        // Boxed: the other changes are kept at the size of their own fields.
        message: Box<Message>,
        /// The reader's id for this change, so that a retry answers as
        /// this one did, also after a restart.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// A message deleted.
    Delete {
        #[serde(with = "id_as_string")]
        id: u64,
        #[serde(with = "id_as_string")]
        message_id: u64,
        channel_id: String,
        /// As [`Change::Update`]'s.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// `user` added (`added`) or took back their reaction `emoji`: the
    /// delta alone (the whole state on every change would grow the file
    /// quadratically, and the memory kept for replays with it).
    #[serde(rename = "react")]
    Reaction {
        #[serde(with = "id_as_string")]
        id: u64,
        #[serde(with = "id_as_string")]
        message_id: u64,
        channel_id: String,
        emoji: String,
        user: String,
        added: bool,
    },
}

impl Change {
    /// Its change id.
    pub fn id(&self) -> u64 {
        match self {
            Change::Update { id, .. } | Change::Delete { id, .. } | Change::Reaction { id, .. } => {
                *id
            }
        }
    }

    /// The reader's id for it, if a reader gave one.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            Change::Update { client_id, .. } | Change::Delete { client_id, .. } => {
                client_id.as_deref()
            }
            Change::Reaction { .. } => None,
        }
    }

    /// The channel of the message it changes.
    pub fn channel_id(&self) -> &str {
        match self {
            Change::Update { message, .. } => &message.channel_id,
            Change::Delete { channel_id, .. } | Change::Reaction { channel_id, .. } => channel_id,
        }
    }

    /// The message it changes.
    pub fn message_id(&self) -> u64 {
        match self {
            Change::Update { message, .. } => message.id,
            Change::Delete { message_id, .. } | Change::Reaction { message_id, .. } => *message_id,
        }
    }
}

/// Most reactors named in a reaction entry on the wire: the newest.
pub const SHOWN_REACTORS: usize = 20;

/// One emoji's reactions to a message, as the wire shows them: the exact
/// `count`, and the newest [`SHOWN_REACTORS`] names in the order they
/// reacted (every reactor is held beside the message, see
/// [`crate::reactions::Reactors`]). A message line of the history file may
/// hold them all, read back once at start.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub count: usize,
    pub users: Vec<String>,
}

impl Reaction {
    /// The names shown: the newest [`SHOWN_REACTORS`], oldest of them first.
    pub fn shown_users(&self) -> &[String] {
        &self.users[self.users.len().saturating_sub(SHOWN_REACTORS)..]
    }
}

impl Serialize for Reaction {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut entry = serializer.serialize_struct("Reaction", 3)?;
        entry.serialize_field("emoji", &self.emoji)?;
        entry.serialize_field("count", &self.count)?;
        entry.serialize_field("users", self.shown_users())?;
        entry.end()
    }
}

impl Message {
    /// A copy without its reactions: what an edit keeps of it (see
    /// [`Change::Update`]).
    pub fn without_reactions(&self) -> Message {
        let revision = &self.revision;
        Message {
            id: self.id,
            channel_id: self.channel_id.clone(),
            author: self.author.clone(),
            content: self.content.clone(),
            timestamp: self.timestamp.clone(),
            client_id: self.client_id.clone(),
            revision: Revision {
                edited_at: revision.edited_at.clone(),
                version: revision.version,
                reactions: Vec::new(),
                reactions_version: None,
            },
            extras: self.extras.clone(),
        }
    }

    /// How many bytes it takes in JSON without its reactions.
    pub fn json_bytes_without_reactions(&self) -> usize {
        let mut counted = Counted(0);
        let revision = &self.revision;
        let bare = Message {
            revision: Revision {
                reactions: Vec::new(),
                reactions_version: None,
                ..revision.clone()
            },
            ..self.clone()
        };
        // Serialising into a counter cannot fail.
        let _ = serde_json::to_writer(&mut counted, &bare);
        counted.0
    }
}

/// Most bytes a message takes in JSON without its reactions (its text,
/// author, mentions, reply and files together, and its ids and times): with
/// the bounds on reactions (twenty emoji of twenty names each, see
/// [`crate::reactions`] and [`check_name`]), what keeps every event the
/// bridge sends for one message within the panel's 64 KiB (each
/// `message_update` carries the message and its reactions).
pub const MAX_MESSAGE_JSON_BYTES: usize = 24 * 1024;

/// Refuses a message larger than [`MAX_MESSAGE_JSON_BYTES`] (413).
pub fn check_size(message: &Message) -> Result<(), ApiError> {
    let bytes = message.json_bytes_without_reactions();
    if bytes > MAX_MESSAGE_JSON_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "this message would take {bytes} bytes as JSON (its text, author, mentions, reply \
                 and files together); the most is {MAX_MESSAGE_JSON_BYTES}"
            ),
        ));
    }
    Ok(())
}

/// Counts the bytes written to it.
struct Counted(usize);

impl std::io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Most characters in a person's name: a message's author, a reacting user,
/// the reader an answer is for (`as=`), a signed-in user. Discord's own
/// names are at most 32 characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Most bytes (UTF-8) in a person's name: with [`MAX_NAME_CHARS`], a name
/// takes at most 84 bytes in JSON (a quote or backslash takes two, and no
/// control character is allowed, which would take six), so a reaction
/// entry's twenty names stay under 1.8 KB.
pub const MAX_NAME_BYTES: usize = 64;

/// Whether `name` is a person's name: 1 to [`MAX_NAME_CHARS`] characters and
/// at most [`MAX_NAME_BYTES`] bytes, none of them a control character, not
/// blank.
pub fn is_person_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control)
}

/// Checks a person's name (see [`is_person_name`]); `what` says whose, for
/// the sentence.
pub fn check_name(name: &str, what: &str) -> Result<(), ApiError> {
    if is_person_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what} must be a name of 1 to {MAX_NAME_CHARS} characters and at most \
             {MAX_NAME_BYTES} bytes, none of them control characters, not blank"
        )))
    }
}

mod opt_id_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => serializer.collect_str(id),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<u64>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => super::parse_id(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("version must be a decimal u64 string")),
        }
    }
}

pub(crate) mod id_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_id(&text)
            .ok_or_else(|| serde::de::Error::custom("id must be a decimal u64 string"))
    }
}

/// Parses a message id: plain decimal digits of an unsigned 64-bit number.
pub fn parse_id(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whether `text` is 1 to 64 ASCII letters, digits, `_` or `-`: the shape
/// of channel names and of clients' ids for their messages.
fn is_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && (text.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks a channel name against `^[A-Za-z0-9_-]{1,64}$`.
pub fn validate_channel(channel: &str) -> Result<(), ApiError> {
    if is_name(channel) {
        Ok(())
    } else {
        let shown: String = channel.chars().take(80).collect();
        Err(ApiError::bad_request(format!(
            "channel name {shown:?} is invalid: use 1 to 64 letters, digits, '_' or '-'"
        )))
    }
}

/// Checks a client's id for its message: 1 to 64 letters, digits, `-` or `_`
/// (a UUID, say).
pub fn validate_client_id(id: &str) -> Result<(), ApiError> {
    if is_name(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "client_id must be 1 to 64 letters, digits, '-' or '_' (a UUID, say)",
        ))
    }
}

/// The body of a message injection.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub author: String,
    pub content: String,
    /// What Discord resolves for a message: the names of the users, roles
    /// and channels it mentions, the message it replies to, its files.
    #[serde(default)]
    pub mentions: BTreeMap<String, String>,
    #[serde(default)]
    pub referenced_message: Option<Referenced>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// What Discord resolves for a message, as clients receive it (absent
/// fields when it has none): the names of the users, roles and channels
/// `<@id>`, `<@&id>` and `<#id>` in its content stand for, the message it
/// replies to, and its files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extras {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mentions: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_message: Option<Referenced>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// The message a reply answers: its id, author and the start of its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Referenced {
    pub id: String,
    pub author: String,
    pub content: String,
}

/// A file attached to a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub filename: String,
    pub size: u64,
    pub url: String,
}

impl NewMessage {
    /// Checks lengths and emptiness.
    pub fn validate(&self) -> Result<(), ApiError> {
        check_name(&self.author, "author")?;
        let content_chars = self.content.chars().count();
        if content_chars > MAX_CONTENT_CHARS {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("content is {content_chars} characters; the limit is {MAX_CONTENT_CHARS}"),
            ));
        }
        if self.content.trim().is_empty() {
            return Err(ApiError::bad_request("content must not be blank"));
        }
        let short = |text: &str, max: usize| !text.is_empty() && text.chars().count() <= max;
        let web = |url: &str| url.starts_with("https://") || url.starts_with("http://");
        if self.mentions.len() > 50
            || !(self.mentions.iter()).all(|(id, name)| short(id, 32) && short(name, 100))
        {
            return Err(ApiError::bad_request(
                "mentions: at most 50, each an id of 1 to 32 characters and a name of 1 to 100",
            ));
        }
        if let Some(reply) = &self.referenced_message {
            if !short(&reply.id, 32)
                || !short(&reply.author, 100)
                || reply.content.chars().count() > 4_000
            {
                return Err(ApiError::bad_request(
                    "referenced_message: an id, an author of 1 to 100 characters and its content",
                ));
            }
        }
        if self.attachments.len() > 10
            || !(self.attachments.iter()).all(|a| short(&a.filename, 200) && web(&a.url))
        {
            return Err(ApiError::bad_request(
                "attachments: at most 10, each with a filename of 1 to 200 characters and an http(s) url",
            ));
        }
        check_size(&self.largest())
    }

    /// The largest message this could become (see [`check_size`]): its
    /// ids as long as ids get, its channel and client id as long as they
    /// may be, and edited (an edit's own fields count too; its text is
    /// checked again).
    fn largest(&self) -> Message {
        let longest_id = Some(u64::MAX);
        Message {
            id: u64::MAX,
            channel_id: "c".repeat(64),
            author: self.author.clone(),
            content: self.content.clone(),
            timestamp: crate::clock::rfc3339_ms(0),
            client_id: Some("c".repeat(64)),
            revision: Revision {
                edited_at: Some(crate::clock::rfc3339_ms(0)),
                version: longest_id,
                ..Revision::default()
            },
            extras: Extras {
                mentions: self.mentions.clone(),
                referenced_message: self.referenced_message.clone().map(|mut reply| {
                    reply.content = cut_text(&reply.content);
                    reply
                }),
                attachments: self.attachments.clone(),
            },
        }
    }

    /// The referenced message's text as clients get it: its first 100
    /// characters, and `…` when cut.
    pub fn cut_reference(&mut self) {
        if let Some(reply) = &mut self.referenced_message {
            reply.content = cut_text(&reply.content);
        }
    }
}

/// A referenced message's text as clients get it: its first 100
/// characters, and `…` when cut.
fn cut_text(text: &str) -> String {
    if text.chars().count() > 100 {
        text.chars().take(100).collect::<String>() + "…"
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_follow_the_contract() {
        for good in ["general", "a", "A-b_9", &"x".repeat(64)] {
            assert!(validate_channel(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "has space",
            "dot.dot",
            "ünïcode",
            "a/b",
            &"x".repeat(65),
            "<script>",
        ] {
            assert_eq!(
                validate_channel(bad).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[test]
    fn ids_parse_strictly() {
        assert_eq!(parse_id("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "-1", "1e3", "18446744073709551616", " 1", "0x1"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
