//! A message and its parts, read from the bridge's JSON with
//! [`crate::json`]: the rules serde's derives gave them, written out.
//!
//! What is required is refused when absent; an optional field reads null
//! as absent; a list that is absent is empty, but null is no list; unknown
//! fields are skipped, and a known field given twice is refused.

use crate::json::{collect, Error, Fields, Items, Value};
use crate::message::{Attachment, Mentions, Message, MessageId, Reaction, Referenced};

/// The most mentions a message keeps (the others are read, then dropped).
const MAX_MENTIONS: usize = 100;

const MESSAGE: &[&str] = &[
    "id",
    "channel_id",
    "author",
    "content",
    "timestamp",
    "client_id",
    "edited_at",
    "version",
    "reactions",
    "reactions_version",
    "mentions",
    "referenced_message",
    "attachments",
];

impl Message {
    /// A message as the bridge sends it (an object; ids as decimal strings).
    pub fn read(value: Value<'_>) -> Result<Message, Error> {
        let f = value.fields("message", MESSAGE)?;
        let message = Message {
            id: id(&f, "id"),
            channel_id: f.string("channel_id"),
            author: f.string("author"),
            content: f.string("content"),
            timestamp: f.string("timestamp"),
            client_id: f.optional_string("client_id"),
            edited_at: f.optional_string("edited_at"),
            version: optional_id(&f, "version"),
            reactions: f.take(collect(f.list("reactions"), Reaction::read)),
            reactions_version: optional_id(&f, "reactions_version"),
            mentions: f.take(
                f.get("mentions")
                    .map_or(Ok(Mentions::default()), Mentions::read),
            ),
            referenced_message: f
                .take((f.optional("referenced_message").map(Referenced::read)).transpose()),
            attachments: f.take(collect(f.list("attachments"), Attachment::read)),
        };
        f.done(message)
    }
}

impl Reaction {
    /// One emoji's reactions; the count saturates (see
    /// [`Value::saturated_u32`]): a count past the range is no reason to
    /// refuse a whole message or page.
    pub fn read(value: Value<'_>) -> Result<Reaction, Error> {
        let f = value.fields("reactions", &["emoji", "count", "users", "me"])?;
        let reaction = Reaction {
            emoji: f.string("emoji"),
            count: count(&f),
            users: f.take(strings(f.list("users"))),
            // `null` reads as not the reader's (store review finding 9).
            me: f.optional_bool("me").unwrap_or_default(),
            known: None,
        };
        f.done(reaction)
    }
}

impl Mentions {
    /// An object of names by id, read into a list.
    fn read(value: Value<'_>) -> Result<Mentions, Error> {
        let mut names = Vec::new();
        for (id, name) in value.object("mentions")? {
            let entry = (id.string("mentions")?, name.string("mentions")?);
            if names.len() < MAX_MENTIONS {
                names.push(entry);
            }
        }
        Ok(Mentions(names))
    }
}

impl Referenced {
    fn read(value: Value<'_>) -> Result<Referenced, Error> {
        let f = value.fields("referenced_message", &["id", "author", "content"])?;
        let referenced = Referenced {
            id: id(&f, "id"),
            author: f.string("author"),
            content: f.string("content"),
        };
        f.done(referenced)
    }
}

impl Attachment {
    fn read(value: Value<'_>) -> Result<Attachment, Error> {
        let f = value.fields("attachments", &["filename", "size", "url"])?;
        let attachment = Attachment {
            filename: f.string("filename"),
            size: f.take(f.required("size").and_then(|size| size.u64("size"))),
            url: f.string("url"),
        };
        f.done(attachment)
    }
}

/// A required message id.
pub(crate) fn id(f: &Fields<'_>, name: &str) -> MessageId {
    f.take(
        f.required(name)
            .and_then(|v| v.decimal(name))
            .map(MessageId),
    )
}

/// An optional message id (null is none).
pub(crate) fn optional_id(f: &Fields<'_>, name: &str) -> Option<MessageId> {
    f.take((f.optional(name).map(|v| v.decimal(name).map(MessageId))).transpose())
}

/// A reaction's count, saturated.
pub(crate) fn count(f: &Fields<'_>) -> u32 {
    f.take(
        f.required("count")
            .and_then(|count| count.saturated_u32("count")),
    )
}

/// A list of strings.
pub(crate) fn strings(items: Items<'_>) -> Result<Vec<String>, Error> {
    collect(items, |item| item.string("a list of names"))
}

/// A list of message ids.
pub(crate) fn ids(items: Items<'_>) -> Result<Vec<MessageId>, Error> {
    collect(items, |item| item.decimal("a list of ids").map(MessageId))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn read(text: &str) -> Result<Message, Error> {
        json::parse(text).and_then(Message::read)
    }

    #[test]
    fn a_message_reads_with_its_id_as_a_string() {
        let text = r#"{"id":"1042","channel_id":"general","author":"alice","content":"hello","timestamp":"2026-11-22T12:00:00.000Z"}"#;
        let message = read(text).unwrap();
        assert_eq!(message.id, MessageId(1042));
        assert_eq!(message.author, "alice");
        assert_eq!(message.timestamp, "2026-11-22T12:00:00.000Z");
    }

    #[test]
    fn a_numeric_id_is_refused_and_named() {
        let text = r#"{"id":1042,"channel_id":"g","author":"a","content":"c","timestamp":"t"}"#;
        assert_eq!(read(text).unwrap_err().to_string(), "`id` is not a string");
    }

    #[test]
    fn every_part_is_read() {
        let text = r#"{"id":"7","channel_id":"g","author":"a","content":"c","timestamp":"t",
            "client_id":"k","edited_at":"e","version":"9","reactions_version":"11",
            "reactions":[{"emoji":"x","count":2,"users":["b"],"me":true,"known":"3"}],
            "mentions":{"1":"one","2":"two"},
            "referenced_message":{"id":"5","author":"r","content":"q"},
            "attachments":[{"filename":"f","size":12,"url":"u"}],"extra":[1,{"a":null}]}"#;
        let message = read(text).unwrap();
        assert_eq!(message.client_id.as_deref(), Some("k"));
        assert_eq!(message.edited_at.as_deref(), Some("e"));
        assert_eq!(message.version, Some(MessageId(9)));
        assert_eq!(message.reactions_version, Some(MessageId(11)));
        let reaction = &message.reactions[0];
        assert_eq!(
            (reaction.count, reaction.me, reaction.known),
            (2, true, None)
        );
        assert_eq!(reaction.users, ["b"]);
        assert_eq!(message.mentions.get("2").map(String::as_str), Some("two"));
        let reply = message.referenced_message.unwrap();
        assert_eq!((reply.id, reply.author.as_str()), (MessageId(5), "r"));
        assert_eq!(message.attachments[0].size, 12);
    }

    #[test]
    fn nulls_are_none_for_options_and_refused_for_the_rest() {
        let base = r#""id":"7","channel_id":"g","author":"a","content":"c","timestamp":"t""#;
        let with = |more: &str| read(&format!("{{{base},{more}}}"));
        let none = with(r#""client_id":null,"version":null,"referenced_message":null"#).unwrap();
        assert_eq!((none.client_id, none.version), (None, None));
        for refused in [
            r#""reactions":null"#,
            r#""mentions":null"#,
            r#""attachments":null"#,
            r#""author":null"#,
            r#""attachments":[{"filename":"f","size":1.5,"url":"u"}]"#,
            r#""attachments":[{"filename":"f","size":-1,"url":"u"}]"#,
            r#""id":"8""#,
        ] {
            assert!(with(refused).is_err(), "{refused}");
        }
        assert_eq!(
            with(r#""author":"b""#).unwrap_err().to_string(),
            "duplicate field `author`"
        );
    }

    #[test]
    fn mentions_past_a_hundred_are_read_and_dropped() {
        let names: Vec<String> = (0..150).map(|n| format!(r#""{n}":"n{n}""#)).collect();
        let text = format!(
            r#"{{"id":"7","channel_id":"g","author":"a","content":"c","timestamp":"t","mentions":{{{}}}}}"#,
            names.join(",")
        );
        assert_eq!(read(&text).unwrap().mentions.0.len(), MAX_MENTIONS);
        let bad = text.replace(r#""n149""#, "149");
        assert!(read(&bad).is_err());
    }
}
